"""The sales forecast of a month or quarter: won, committed, likely and weighted amounts.

Everything here reads; nothing writes. Amounts are summed in SQL per group,
currency and day, then converted to the organisation's base currency with
the rate of that day (closed_on for won deals, expected_close_date for open
ones). A currency without a rate is never summed unconverted: its deals are
counted apart as not converted.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.identity import visibility
from accord.identity.models import Membership, Team
from accord.money import quantize
from accord.timezones import zone_named

from . import services
from .models import Deal, DealStatus, ForecastCategory, Period, Pipeline, Quota
from .services import MissingRate

ZERO = Decimal(0)
HUNDRED = Decimal(100)
GROUPINGS = ("owner", "team", "pipeline")
MONTHS_IN = {Period.MONTH: 1, Period.QUARTER: 3}


@dataclass(frozen=True)
class PeriodRange:
    """A calendar month or quarter, both ends included."""

    kind: str
    starts_on: dt.date
    ends_on: dt.date

    def shifted(self, steps: int) -> "PeriodRange":
        """The period `steps` months or quarters later (earlier when negative)."""
        return period_containing(self.kind, _add_months(self.starts_on,
                                                        steps * MONTHS_IN[self.kind]))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_containing(kind: str, day: dt.date) -> PeriodRange:
    """The month or quarter (`Period`) that `day` falls in; ValueError for another kind."""
    if kind not in MONTHS_IN:
        raise ValueError(f"Unknown period {kind!r}")
    first_month = day.month if kind == Period.MONTH else (day.month - 1) // 3 * 3 + 1
    starts_on = dt.date(day.year, first_month, 1)
    ends_on = _add_months(starts_on, MONTHS_IN[kind]) - dt.timedelta(days=1)
    return PeriodRange(kind, starts_on, ends_on)


def today_for(org) -> dt.date:
    """Today's date in the organisation's time zone, where its periods begin and end."""
    return timezone.localdate(timezone=zone_named(org.time_zone))


@dataclass
class Unconverted:
    """Deals of one currency that had no rate on their day, in their own currency."""

    currency: str
    count: int = 0
    amount: Decimal = ZERO


@dataclass
class Figures:
    won: Decimal = ZERO
    commit: Decimal = ZERO
    best_case: Decimal = ZERO
    pipeline: Decimal = ZERO
    weighted: Decimal = ZERO
    quota: Decimal | None = None
    not_converted: dict[str, Unconverted] = field(default_factory=dict)

    @property
    def attainment(self) -> Decimal | None:
        """Won over quota (0.5 is half way); None without a quota above zero."""
        if not self.quota:
            return None
        return (self.won / self.quota).quantize(Decimal("0.0001"))

    @property
    def not_converted_count(self) -> int:
        return sum(item.count for item in self.not_converted.values())

    def add_unconverted(self, currency: str, count: int, amount: Decimal) -> None:
        item = self.not_converted.setdefault(currency, Unconverted(currency))
        item.count += count
        item.amount += amount

    def add(self, other: "Figures") -> None:
        for name in ("won", "commit", "best_case", "pipeline", "weighted"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.quota is not None:
            self.quota = (self.quota or ZERO) + other.quota
        for item in other.not_converted.values():
            self.add_unconverted(item.currency, item.count, item.amount)

    def rounded(self, currency: str) -> "Figures":
        """These figures rounded to the minor unit of `currency`, for showing."""
        return Figures(
            won=quantize(self.won, currency), commit=quantize(self.commit, currency),
            best_case=quantize(self.best_case, currency),
            pipeline=quantize(self.pipeline, currency),
            weighted=quantize(self.weighted, currency),
            quota=None if self.quota is None else quantize(self.quota, currency),
            not_converted=self.not_converted,
        )


@dataclass
class ForecastGroup:
    key: int | None
    label: str
    figures: Figures
    # Filters of the deals list for this group (owner=… or pipeline=…), or
    # None: the list has no team filter, and no "without owner" filter, so
    # those groups' figures link nowhere yet.
    filters: dict | None


@dataclass
class Forecast:
    period: PeriodRange
    group_by: str
    currency: str
    groups: list[ForecastGroup]
    totals: Figures


class BaseConverter:
    """`services.to_base` with each currency's rate on a day looked up once.

    Raises MissingRate, as `to_base` does, for a currency with no rate on or
    before the day.
    """

    def __init__(self, org):
        self.org = org
        self.rates: dict[tuple[str, dt.date], Decimal | None] = {}

    def __call__(self, amount: Decimal | None, currency: str, on: dt.date) -> Decimal:
        key = (currency, on)
        if key not in self.rates:
            try:
                self.rates[key] = services.rate_on(self.org, currency, on)
            except MissingRate:
                self.rates[key] = None
        if self.rates[key] is None:
            raise MissingRate(currency, on)
        return (amount or ZERO) * self.rates[key]


def _group_expression(org, group_by: str):
    if group_by == "owner":
        return F("owner")
    if group_by == "pipeline":
        return F("pipeline")
    team = Membership.objects.filter(organization=org, user=OuterRef("owner")).values("team")
    return Subquery(team[:1])


def build_forecast(viewer: Membership, *, period: PeriodRange,
                   group_by: str = "owner") -> Forecast:
    """The forecast of `period` per owner, team (the owner's) or pipeline, with totals,
    of the deals and quotas `viewer` sees.

    Must run inside the organisation's tenant scope. ValueError for an
    unknown `group_by`.
    """
    if group_by not in GROUPINGS:
        raise ValueError(f"Unknown grouping {group_by!r}")
    org = viewer.organization
    deals = visibility.visible(Deal.objects.all(), viewer, "deals")
    convert = BaseConverter(org)
    groups: dict[int | None, Figures] = defaultdict(Figures)
    key = _group_expression(org, group_by)
    money = DecimalField(max_digits=24, decimal_places=4)

    won = (deals.filter(status=DealStatus.WON,
                               closed_on__range=(period.starts_on, period.ends_on))
           .values(group_key=key, deal_currency=F("currency"), day=F("closed_on"))
           .annotate(total=Sum("amount"), deals=Count("id")).order_by())
    for row in won:
        figures = groups[row["group_key"]]
        try:
            figures.won += convert(row["total"], row["deal_currency"], row["day"])
        except MissingRate:
            figures.add_unconverted(row["deal_currency"], row["deals"], row["total"] or ZERO)

    open_deals = (deals.filter(status=DealStatus.OPEN,
                                      expected_close_date__range=(period.starts_on,
                                                                  period.ends_on))
                  .exclude(forecast_category=ForecastCategory.OMITTED)
                  .values(group_key=key, deal_currency=F("currency"),
                          day=F("expected_close_date"), category=F("forecast_category"))
                  .annotate(total=Sum("amount"), deals=Count("id"),
                            chances=Sum(F("amount") * F("stage__probability"),
                                        output_field=money))
                  .order_by())
    for row in open_deals:
        figures = groups[row["group_key"]]
        try:
            amount = convert(row["total"], row["deal_currency"], row["day"])
            weighted = convert(row["chances"], row["deal_currency"], row["day"]) / HUNDRED
        except MissingRate:
            figures.add_unconverted(row["deal_currency"], row["deals"], row["total"] or ZERO)
            continue
        figures.pipeline += amount
        figures.weighted += weighted
        if row["category"] in (ForecastCategory.COMMIT, ForecastCategory.BEST_CASE):
            figures.best_case += amount
        if row["category"] == ForecastCategory.COMMIT:
            figures.commit += amount

    quotas = quotas_for(period, holders=visibility.owners_seen(viewer, "deals"))
    if group_by == "owner":
        for user_id, amount in quotas.items():
            groups[user_id].quota = amount
    elif group_by == "team":
        teams = dict(Membership.objects.filter(organization=org)
                     .values_list("user_id", "team_id"))
        for user_id, amount in quotas.items():
            figures = groups[teams.get(user_id)]
            figures.quota = (figures.quota or ZERO) + amount

    totals = Figures()
    for figures in groups.values():
        totals.add(figures)
    if group_by == "pipeline" and quotas:
        totals.quota = sum(quotas.values(), ZERO)
    return Forecast(period=period, group_by=group_by, currency=org.base_currency,
                    groups=_label_groups(group_by, groups), totals=totals)


def quotas_for(period: PeriodRange, *, holders=None) -> dict[int, Decimal]:
    """Each salesperson's quota for `period`, by user id, of everyone or of `holders`
    (a subquery of user ids).

    A quarter without a quarterly quota takes the sum of that person's
    monthly quotas within it.
    """
    held = Quota.objects.all() if holders is None else Quota.objects.filter(user_id__in=holders)
    quotas = dict(held.filter(period=period.kind, starts_on=period.starts_on)
                  .values_list("user_id", "amount"))
    if period.kind == Period.QUARTER:
        months = (held.filter(period=Period.MONTH,
                                       starts_on__range=(period.starts_on, period.ends_on))
                  .values("user_id").annotate(total=Sum("amount")).order_by())
        for row in months:
            quotas.setdefault(row["user_id"], row["total"])
    return quotas


def _label_groups(group_by: str, groups: dict) -> list[ForecastGroup]:
    ids = [key for key in groups if key is not None]
    if group_by == "owner":
        members = Membership.objects.filter(user_id__in=ids).select_related("user")
        labels = {membership.user_id: str(membership.user) for membership in members}
        nobody = _("No owner")
    elif group_by == "team":
        labels = dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
        nobody = _("No team")
    else:
        labels = dict(Pipeline.objects.filter(pk__in=ids).values_list("pk", "name"))
        nobody = _("No pipeline")
    rows = []
    for key, figures in groups.items():
        filters = None
        if key is not None and group_by in ("owner", "pipeline"):
            filters = {group_by: key}
        label = nobody if key is None else labels.get(key, _("Former member"))
        rows.append(ForecastGroup(key=key, label=label, figures=figures, filters=filters))
    # The group without an owner, team or pipeline comes last.
    rows.sort(key=lambda row: (row.key is None, row.label.lower()))
    return rows
