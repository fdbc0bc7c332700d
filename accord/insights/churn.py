"""The arithmetic of churn risk: factors in bands, weights learnt from history, reasons.

A customer is described by a few factors (months as a customer, plan,
monthly revenue, days to renewal, recent tickets, poor satisfaction ratings,
days since they last used the product, failed payments), each put into a
band such as "under 6 months". The model is a scorecard: every band carries
a weight of evidence, the log of how much more often customers in that band
left than stayed in the organisation's own history, and a customer's risk is
the base rate's log odds plus the weights of their bands. Because the risk
is a sum, each band's weight is exactly its share of the number, which is
what the reasons show.

Nothing here touches the database: `accord.insights.services` builds the
factors from Accord's records and the evaluation in `bench/` from a file.
"""

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# A band seen this few times in history says little; its counts are pulled
# towards the base rate by this many imaginary customers.
SMOOTHING = 2.0
MIN_EACH_OUTCOME = 20  # customers who left and who stayed, before weights mean anything
TOP_FACTORS = 3
MISSING = "none"


@dataclass(frozen=True)
class Factor:
    key: str
    label: object
    # Upper bounds (exclusive) of the numeric bands, or None for a category.
    edges: tuple | None = None
    unit: object = ""

    def band(self, value) -> str:
        """The band a raw value falls in; MISSING when there is no value."""
        if value is None or value == "":
            return MISSING
        if self.edges is None:
            return str(value)[:60]
        for edge in self.edges:
            if value < edge:
                return f"<{edge}"
        return f">={self.edges[-1]}"

    def describe(self, band: str) -> str:
        """The band in words, such as "Months as a customer: 6 to 12"."""
        if band == MISSING:
            return f"{self.label}: {_('none')}"
        if self.edges is None:
            return f"{self.label}: {band}"
        if band.startswith(">="):
            return f"{self.label}: {band[2:]}{self.unit} {_('or more')}"
        upper = band[1:]
        index = [str(edge) for edge in self.edges].index(upper)
        lower = self.edges[index - 1] if index else None
        if lower is None:
            return f"{self.label}: {_('under')} {upper}{self.unit}"
        return f"{self.label}: {lower} {_('to')} {upper}{self.unit}"


FACTORS = (
    Factor("tenure_months", _("Months as a customer"), (3, 6, 12, 24, 48)),
    Factor("plan", _("Plan")),
    Factor("mrr", _("Monthly revenue"), (20, 40, 60, 80, 100, 200, 1000)),
    Factor("days_to_renewal", _("Days to renewal"), (31, 91, 366)),
    Factor("tickets_90d", _("Tickets in the last 90 days"), (1, 2, 4)),
    Factor("poor_ratings", _("Poor satisfaction ratings in a year"), (1, 2)),
    Factor("days_since_use", _("Days since last used"), (8, 31, 91)),
    Factor("failed_payments_90d", _("Failed payments in the last 90 days"), (1, 2)),
)
BY_KEY = {factor.key: factor for factor in FACTORS}


@dataclass
class Model:
    """What was learnt: the base log odds and each factor band's weight."""

    base: float
    weights: dict  # factor key -> band -> weight
    left: int
    stayed: int

    def as_dict(self) -> dict:
        return {"base": self.base, "weights": self.weights, "left": self.left,
                "stayed": self.stayed}

    @classmethod
    def from_dict(cls, data: dict) -> "Model":
        return cls(base=data["base"], weights=data["weights"], left=data["left"],
                   stayed=data["stayed"])


class NotEnoughHistory(Exception):
    def __init__(self, left: int, stayed: int):
        super().__init__(f"{left} customers left and {stayed} stayed; "
                         f"{MIN_EACH_OUTCOME} of each are needed.")
        self.left = left
        self.stayed = stayed


def bands(row: dict) -> dict[str, str]:
    """The band of every factor for one customer's raw values."""
    return {factor.key: factor.band(row.get(factor.key)) for factor in FACTORS}


def train(rows: list[dict], left: list[bool]) -> Model:
    """Learn each band's weight of evidence from customers whose outcome is known.

    `rows` are raw factor values, `left[i]` whether customer i left. Raises
    NotEnoughHistory when either outcome has fewer than MIN_EACH_OUTCOME.
    """
    total_left = sum(left)
    total_stayed = len(left) - total_left
    if total_left < MIN_EACH_OUTCOME or total_stayed < MIN_EACH_OUTCOME:
        raise NotEnoughHistory(total_left, total_stayed)
    counts: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for row, went in zip(rows, left, strict=True):
        for key, band in bands(row).items():
            counts[key][band][went] += 1
    weights = {}
    for key, by_band in counts.items():
        if len(by_band) < 2:
            continue  # everyone in one band: the factor tells nothing here
        weights[key] = {}
        for band, outcome in by_band.items():
            share_left = (outcome[True] + SMOOTHING * total_left / len(left)) / total_left
            share_stayed = ((outcome[False] + SMOOTHING * total_stayed / len(left))
                            / total_stayed)
            weights[key][band] = round(math.log(share_left / share_stayed), 4)
    base = math.log(total_left / total_stayed)
    return Model(base=round(base, 4), weights=weights, left=total_left, stayed=total_stayed)


def score(model: Model, row: dict) -> tuple[int, list[dict]]:
    """A customer's churn risk 0..100 and every factor's part in it, largest first.

    A band the model never saw adds nothing. Each part is
    `{"factor", "band", "weight", "text"}`; a positive weight raises the risk.
    """
    logit = model.base
    parts = []
    for key, band in bands(row).items():
        weight = model.weights.get(key, {}).get(band)
        if weight is None:
            continue
        logit += weight
        parts.append({"factor": key, "band": band, "weight": weight,
                      "text": BY_KEY[key].describe(band)})
    parts.sort(key=lambda part: -part["weight"])
    risk = 1 / (1 + math.exp(-max(-30.0, min(30.0, logit))))
    return round(risk * 100), parts


def top_reasons(parts: list[dict], limit: int = TOP_FACTORS) -> list[dict]:
    """The factors that raise the risk most, at most `limit` of them."""
    return [part for part in parts if part["weight"] > 0][:limit]


def band_of_risk(risk: int) -> str:
    if risk >= 60:
        return "high"
    if risk >= 30:
        return "medium"
    return "low"


def roc_auc(scores: list[float], outcomes: list[bool]) -> float:
    """The chance that a random customer who left scored above one who stayed (ties half)."""
    ranked = sorted(zip(scores, outcomes, strict=True), key=lambda pair: pair[0])
    rank_sum, position, i = 0.0, 0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        middle = position + (j - i + 1) / 2
        rank_sum += middle * sum(1 for _score, went in ranked[i:j] if went)
        position += j - i
        i = j
    positives = sum(outcomes)
    negatives = len(outcomes) - positives
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def top_decile_lift(scores: list[float], outcomes: list[bool]) -> float:
    """The churn rate of the riskiest tenth divided by the churn rate of everyone."""
    ranked = sorted(zip(scores, outcomes, strict=True), key=lambda pair: -pair[0])
    tenth = ranked[:max(1, len(ranked) // 10)]
    rate_top = sum(went for _score, went in tenth) / len(tenth)
    rate_all = sum(outcomes) / len(outcomes)
    return rate_top / rate_all
