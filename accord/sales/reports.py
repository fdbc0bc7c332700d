"""How a pipeline performs over a date range: conversion, time in stage, wins and cycle.

Two sets of deals are read. The funnel (conversion between stages and the
time spent in each) follows the deals created in the range, through their
stage history. The outcomes (win rate, won deal size, sales cycle, reasons)
follow the deals closed in the range. Money is converted to the base
currency on the day the deal closed; a currency without a rate is counted
apart, never averaged in unconverted.
"""

import datetime as dt
import statistics
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.identity import visibility
from accord.identity.models import Membership
from accord.money import quantize
from accord.timezones import zone_named

from .forecast import BaseConverter, Unconverted
from .models import Deal, DealStatus, Pipeline, StageChange, StageKind
from .services import MissingRate

SECONDS_PER_DAY = Decimal(86400)
ONE_DECIMAL = Decimal("0.1")


@dataclass
class FunnelStep:
    """A stage of the funnel; all won stages of a pipeline make one last step."""

    label: str
    stage_ids: tuple[int, ...]
    reached: int = 0
    # Percentage of the deals that reached this step which reached the next;
    # None on the last step and where no deal reached this one.
    conversion: Decimal | None = None
    average_days: Decimal | None = None
    moves_out: int = 0


@dataclass
class Reason:
    text: str
    count: int


@dataclass
class PipelineReport:
    pipeline: Pipeline
    date_from: dt.date
    date_to: dt.date
    currency: str
    created: int
    steps: list[FunnelStep]
    won: int
    lost: int
    win_rate: Decimal | None
    average_won: Decimal | None
    cycle_average_days: Decimal | None
    cycle_median_days: Decimal | None
    won_reasons: list[Reason]
    lost_reasons: list[Reason]
    not_converted: dict[str, Unconverted] = field(default_factory=dict)


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(ONE_DECIMAL)


def _day_bounds(org, date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = zone_named(org.time_zone)
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def funnel_steps(pipeline: Pipeline) -> list[FunnelStep]:
    """The open stages of `pipeline` in their order, then one step for its won stages."""
    stages = list(pipeline.stages.exclude(kind=StageKind.LOST).order_by("position", "id"))
    steps = [FunnelStep(label=stage.name, stage_ids=(stage.pk,))
             for stage in stages if stage.kind == StageKind.OPEN]
    won = [stage for stage in stages if stage.kind == StageKind.WON]
    if won:
        label = won[0].name if len(won) == 1 else _("Won")
        steps.append(FunnelStep(label=label, stage_ids=tuple(stage.pk for stage in won)))
    return steps


def build_pipeline_report(viewer: Membership, pipeline: Pipeline, *, date_from: dt.date,
                          date_to: dt.date) -> PipelineReport:
    """The report of `pipeline` for the deals `viewer` sees that were created, and
    that closed, from `date_from` to `date_to` (both included, in the organisation's
    time zone).

    Must run inside the organisation's tenant scope.
    """
    org = viewer.organization
    deals = visibility.visible(Deal.objects.filter(pipeline=pipeline), viewer, "deals")
    start, end = _day_bounds(org, date_from, date_to)
    created = _with_start(deals).filter(started_at__gte=start, started_at__lt=end)
    steps = _funnel(created, steps=funnel_steps(pipeline))

    closed = deals.filter(closed_on__range=(date_from, date_to),
                          status__in=[DealStatus.WON, DealStatus.LOST])
    outcome = closed.aggregate(won=Count("id", filter=Q(status=DealStatus.WON)),
                               lost=Count("id", filter=Q(status=DealStatus.LOST)))
    average_won, not_converted = _average_won(org, closed.filter(status=DealStatus.WON))
    cycle = _cycle_days(org, closed.filter(status=DealStatus.WON))

    return PipelineReport(
        pipeline=pipeline, date_from=date_from, date_to=date_to, currency=org.base_currency,
        created=created.count(), steps=steps, won=outcome["won"], lost=outcome["lost"],
        win_rate=_percent(outcome["won"], outcome["won"] + outcome["lost"]),
        average_won=average_won,
        cycle_average_days=(sum(cycle, Decimal(0)) / len(cycle)).quantize(ONE_DECIMAL)
        if cycle else None,
        cycle_median_days=Decimal(statistics.median(cycle)).quantize(ONE_DECIMAL)
        if cycle else None,
        won_reasons=_reasons(closed.filter(status=DealStatus.WON)),
        lost_reasons=_reasons(closed.filter(status=DealStatus.LOST)),
        not_converted=not_converted,
    )


def _funnel(deals, *, steps: list[FunnelStep]) -> list[FunnelStep]:
    step_of = {stage_id: index for index, step in enumerate(steps)
               for stage_id in step.stage_ids}
    # A deal that skipped a stage passed it all the same: it counts as having
    # reached every step up to the furthest one it entered.
    furthest: dict[int, int] = {}
    entered = (StageChange.objects.filter(deal__in=deals, to_stage__in=list(step_of))
               .values_list("deal_id", "to_stage_id").distinct())
    for deal_id, stage_id in entered:
        furthest[deal_id] = max(furthest.get(deal_id, 0), step_of[stage_id])
    for index, step in enumerate(steps):
        step.reached = sum(1 for reached in furthest.values() if reached >= index)
    for step, following in zip(steps, steps[1:], strict=False):
        step.conversion = _percent(following.reached, step.reached)

    times = (StageChange.objects.filter(deal__in=deals, from_stage__in=list(step_of),
                                        seconds_in_from_stage__isnull=False)
             .values("from_stage_id")
             .annotate(seconds=Sum("seconds_in_from_stage"), moves=Count("id")).order_by())
    totals: dict[int, list[int]] = {}
    for row in times:
        total = totals.setdefault(step_of[row["from_stage_id"]], [0, 0])
        total[0] += row["seconds"]
        total[1] += row["moves"]
    for index, (seconds, moves) in totals.items():
        steps[index].moves_out = moves
        steps[index].average_days = (Decimal(seconds) / moves / SECONDS_PER_DAY
                                     ).quantize(ONE_DECIMAL)
    return steps


def _average_won(org, won) -> tuple[Decimal | None, dict[str, Unconverted]]:
    convert = BaseConverter(org)
    total, count = Decimal(0), 0
    not_converted: dict[str, Unconverted] = {}
    rows = (won.values(deal_currency=F("currency"), day=F("closed_on"))
            .annotate(total=Sum("amount"), deals=Count("id")).order_by())
    for row in rows:
        try:
            total += convert(row["total"], row["deal_currency"], row["day"])
        except MissingRate:
            item = not_converted.setdefault(row["deal_currency"],
                                            Unconverted(row["deal_currency"]))
            item.count += row["deals"]
            item.amount += row["total"] or Decimal(0)
            continue
        count += row["deals"]
    if not count:
        return None, not_converted
    return quantize(total / count, org.base_currency), not_converted


def _with_start(deals):
    """`deals` with `started_at`: when each began, by its row or its history if earlier.

    A deal loaded with its past carries that past in its stage history, while
    its row was written on the day of the load.
    """
    first_move = (StageChange.objects.filter(deal=OuterRef("pk"), from_stage__isnull=True)
                  .order_by("changed_at").values("changed_at")[:1])
    return deals.annotate(started_at=Least(
        F("created_at"), Coalesce(Subquery(first_move), F("created_at"))))


def _cycle_days(org, won) -> list[Decimal]:
    """Whole days from the first stage (in the organisation's time zone) to close, per deal."""
    zone = zone_named(org.time_zone)
    return [Decimal(max((closed_on - timezone.localdate(started_at, timezone=zone)).days, 0))
            for started_at, closed_on in _with_start(won).values_list("started_at",
                                                                       "closed_on")]


def _reasons(deals) -> list[Reason]:
    rows = (deals.values("close_reason").annotate(deals=Count("id"))
            .order_by("-deals", "close_reason"))
    return [Reason(text=row["close_reason"] or _("No reason given"), count=row["deals"])
            for row in rows]
