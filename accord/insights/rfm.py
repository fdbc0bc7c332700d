"""The arithmetic of RFM: quintile scores, the segment they make, and the reasons in words.

Nothing here touches the database except `reasons_for`, which reads the
organisation's stored scores to say how one customer compares.
"""

from collections import Counter
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import RfmScore, Segment

SCORES = 5  # quintiles


def percent_ranks(values: list) -> list[float]:
    """Each value's place among all of them, 0..1 exclusive, higher for a larger value.

    Ties share the middle of the places they take (the mid-rank), so equal
    values always get equal scores and a field where everyone is equal
    lands in the middle rather than at the bottom.
    """
    counts = Counter(values)
    below = 0
    place = {}
    for value in sorted(counts):
        place[value] = (below + counts[value] / 2) / len(values)
        below += counts[value]
    return [place[value] for value in values]


def quintile_scores(values: list, *, higher_is_better: bool = True) -> list[int]:
    """A score 1..5 for each value: its quintile among all of them, 5 the best."""
    ranks = percent_ranks(values)
    if not higher_is_better:
        ranks = [1 - rank for rank in ranks]
    return [min(SCORES, int(rank * SCORES) + 1) for rank in ranks]


def segment_for(r: int, f: int, m: int) -> str:
    """The segment of a customer from their recency, frequency and monetary scores.

    Frequency and monetary are averaged (rounding half up) into one value
    score `fm`:

    =========  =========  ==================================================
    r          fm         segment
    =========  =========  ==================================================
    4-5        4-5        Champions
    3          4-5        Loyal
    3-5        3          Loyal
    1-2        4-5        Can't lose them (were among the best, gone quiet)
    1-2        3          At risk
    4-5        1-2        New when f is 1-2 (recent, few orders yet),
                          otherwise Potential loyalist
    3          1-2        Potential loyalist
    2          1-2        Hibernating
    1          1-2        Lost
    =========  =========  ==================================================
    """
    fm = (f + m + 1) // 2
    if r >= 4 and fm >= 4:
        return Segment.CHAMPIONS
    if r <= 2 and fm >= 4:
        return Segment.CANT_LOSE
    if r >= 3 and fm >= 3:
        return Segment.LOYAL
    if r <= 2 and fm == 3:
        return Segment.AT_RISK
    if r >= 4 and f <= 2:
        return Segment.NEW
    if r >= 3:
        return Segment.POTENTIAL_LOYALIST
    return Segment.HIBERNATING if r == 2 else Segment.LOST


def reasons_for(score: RfmScore) -> list[str]:
    """Three sentences saying where each of the contact's numbers comes from.

    The share of customers beaten is taken from the organisation's scores as
    stored, so it matches the moment the scores were computed.
    """
    others = RfmScore.objects.aggregate(
        total=Count("id"),
        older=Count("id", filter=Q(recency_days__gt=score.recency_days)),
        fewer=Count("id", filter=Q(frequency__lt=score.frequency)),
        less=Count("id", filter=Q(monetary__lt=score.monetary)),
        same_recency=Count("id", filter=Q(recency_days=score.recency_days)),
        same_frequency=Count("id", filter=Q(frequency=score.frequency)),
        same_monetary=Count("id", filter=Q(monetary=score.monetary)),
    )
    total = others["total"] or 1

    def share(count: int) -> int:
        return round(Decimal(100 * count) / total)

    def level(same: int) -> str:
        # Customers tied with this one get the middle score of the places
        # they share, so "more than 0 %" alone would not explain a 3.
        others_level = same - 1
        if others_level <= 0:
            return ""
        return _(", level with %(share)s %%") % {"share": share(others_level)}

    if score.recency_days == 0:
        recency = _("Bought today (recency %(r)s of 5: more recent than %(share)s %% of "
                    "customers%(level)s)") % {"r": score.r, "share": share(others["older"]),
                                              "level": level(others["same_recency"])}
    else:
        recency = ngettext(
            "Last bought %(days)s day ago (recency %(r)s of 5: more recent than %(share)s %% "
            "of customers%(level)s)",
            "Last bought %(days)s days ago (recency %(r)s of 5: more recent than %(share)s %% "
            "of customers%(level)s)", score.recency_days) % {
            "days": score.recency_days, "r": score.r, "share": share(others["older"]),
            "level": level(others["same_recency"])}
    frequency = ngettext(
        "%(count)s order (frequency %(f)s of 5: more than %(share)s %% of customers%(level)s)",
        "%(count)s orders (frequency %(f)s of 5: more than %(share)s %% of customers%(level)s)",
        score.frequency) % {
        "count": score.frequency, "f": score.f, "share": share(others["fewer"]),
        "level": level(others["same_frequency"])}
    monetary = _(
        "Spent %(amount)s %(currency)s net (monetary %(m)s of 5: more than %(share)s %% of "
        "customers%(level)s)") % {
        "amount": number_format(score.monetary, 2, force_grouping=True),
        "currency": score.currency, "m": score.m, "share": share(others["less"]),
        "level": level(others["same_monetary"])}
    return [recency, frequency, monetary]
