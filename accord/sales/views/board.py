"""The board of a pipeline: a column per stage with its totals, cards, and moving cards.

A column shows its first CARDS_PER_COLUMN cards and links to the rest; its
count and totals cover every deal in it that the filters keep. Moving a card
posts to `deal_move` with the version the board showed, by drag and drop
(static/sales/board.js) or by the "Move to" form on each card.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.db.models import Count, F, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accord.activities.models import Activity, Kind
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.models import Membership, Team
from accord.identity.permissions import permission_required
from accord.identity.visibility import require_visible, visible, with_seen
from accord.pagination import Ordering, paginate

from .. import services
from ..forms import BoardFilterForm, MoveForm
from ..models import Deal, Pipeline, Stage, StageKind
from .common import can, query_string, safe_next

CARDS_PER_COLUMN = 50  # a long column stays quick to draw; "More" loads the next ones
CARD_ORDER = Ordering("id", F("id"), descending=False)


@dataclass
class Column:
    stage: Stage
    cards: list[Deal]
    next_cursor: str | None
    count: int = 0
    total: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)
    # (currency, number of deals) left out of the totals for want of a rate.
    unconverted: list[tuple[str, int]] = field(default_factory=list)


def filter_deals(deals, values: dict):
    """`deals` narrowed by the board filters in `values` (as BoardFilterForm gives them)."""
    if "owner" in values:
        deals = deals.filter(owner_id=values["owner"])
    if "team" in values:
        members = Membership.objects.filter(team_id=values["team"], is_active=True)
        deals = deals.filter(owner_id__in=members.values("user_id"))
    if "close_from" in values:
        deals = deals.filter(expected_close_date__gte=values["close_from"])
    if "close_to" in values:
        deals = deals.filter(expected_close_date__lte=values["close_to"])
    if "status" in values:
        deals = deals.filter(status=values["status"])
    return deals


def column_totals(org, deals, stages: list[Stage], on: dt.date) -> dict[int, Column]:
    """Count, total and weighted total per stage in the base currency, one grouped query.

    A currency without a rate on or before `on` is left out of the totals
    and named in the column's `unconverted`, so that no sum mixes currencies.
    """
    probability = {stage.pk: stage.probability for stage in stages}
    columns = {stage.pk: Column(stage=stage, cards=[], next_cursor=None) for stage in stages}
    rates: dict[str, Decimal | None] = {}
    rows = (deals.order_by().values("stage_id", "currency")
            .annotate(count=Count("id"), total=Sum("amount")))
    for row in rows:
        column = columns.get(row["stage_id"])
        if column is None:
            continue
        column.count += row["count"]
        currency = row["currency"]
        if currency not in rates:
            try:
                rates[currency] = services.rate_on(org, currency, on)
            except services.MissingRate:
                rates[currency] = None
        if rates[currency] is None:
            column.unconverted.append((currency, row["count"]))
            continue
        amount = (row["total"] or Decimal(0)) * rates[currency]
        column.total += amount
        column.weighted += amount * probability[column.stage.pk] / 100
    return columns


def _annotate_cards(cards: list[Deal], stage: Stage, now: dt.datetime) -> None:
    """Set `next_task` (the earliest due open task) and `is_rotting` on each card."""
    tasks = (Activity.objects.filter(deal_id__in=[card.pk for card in cards], kind=Kind.TASK,
                                     completed_at__isnull=True)
             .order_by(F("due_at").asc(nulls_last=True), "id"))
    first: dict[int, Activity] = {}
    for task in tasks:
        first.setdefault(task.deal_id, task)
    for card in cards:
        card.next_task = first.get(card.pk)
        card.is_rotting = bool(
            card.is_open and stage.rot_after_days
            and card.last_activity_at < now - dt.timedelta(days=stage.rot_after_days)
        )


class Board:
    """One pipeline's board as the request asks for it: its filters, columns and links."""

    def __init__(self, request, pipeline: Pipeline):
        self.request = request
        self.pipeline = pipeline
        self.teams = list(Team.objects.order_by("name"))
        self.filter_form = BoardFilterForm(request.GET or None, org=request.organization,
                                           teams=self.teams)
        self.filters = self.filter_form.values() if request.GET else {}
        self.stages = list(pipeline.stages.order_by("position", "id"))
        self.query = query_string(request.GET, drop=("cursor", "next"))

    def deals(self):
        deals = visible(Deal.objects.filter(pipeline=self.pipeline), self.request.membership,
                        "deals").select_related("company", "owner")
        return filter_deals(deals, self.filters)

    def columns(self, only: Stage | None = None, cursor: str | None = None) -> list[Column]:
        org = self.request.organization
        deals = self.deals()
        stages = [only] if only is not None else self.stages
        if only is not None:
            deals = deals.filter(stage=only)
        columns = column_totals(org, deals, stages, timezone.localdate())
        now = timezone.now()
        for stage in stages:
            column = columns[stage.pk]
            # Only the cards name their company; the totals need not know it.
            cards = with_seen(deals.filter(stage=stage), self.request.membership, "company",
                              "companies")
            column.cards, column.next_cursor = paginate(
                cards, CARD_ORDER, cursor=cursor, limit=CARDS_PER_COLUMN)
            _annotate_cards(column.cards, stage, now)
        return [columns[stage.pk] for stage in stages]

    def context(self, columns: list[Column]) -> dict:
        return {
            "pipeline": self.pipeline,
            "pipelines": list(Pipeline.objects.filter(is_active=True).order_by("position", "id")),
            "stages": self.stages,
            "columns": columns,
            "filter_form": self.filter_form,
            "board_query": self.query,
            "base_currency": self.request.organization.base_currency,
            "can_move": can(self.request, "deals.change"),
            "can_add": can(self.request, "deals.add"),
            "here": self.request.get_full_path(),
        }


@permission_required("deals.view")
def deal_home(request):
    """Deals start on the board of the default pipeline."""
    pipeline = services.default_pipeline()
    if pipeline is None:
        return render(request, "sales/deal_board.html", {"pipeline": None, "can_manage":
                                                         can(request, "pipelines.manage")})
    return redirect(pipeline)


@permission_required("deals.view")
def board(request, pk: int):
    pipeline = services.get_pipeline(pk)
    view = Board(request, pipeline)
    return render(request, "sales/deal_board.html", view.context(view.columns()))


@permission_required("deals.view")
def board_column(request, pk: int, stage_pk: int):
    """One column: htmx reloads it after a move, or asks for its next cards with `cursor`."""
    pipeline = services.get_pipeline(pk)
    stage = pipeline.stages.filter(pk=stage_pk).first()
    if stage is None:
        raise NotFound("No stage with this id.")
    view = Board(request, pipeline)
    cursor = request.GET.get("cursor") or None
    try:
        columns = view.columns(only=stage, cursor=cursor)
    except InvalidInput:
        return redirect(reverse("sales:board", args=[pipeline.pk]) + "?" + view.query)
    context = view.context(columns)
    context["column"] = columns[0]
    if request.htmx and cursor:
        return render(request, "sales/deal_board.html#column-cards", context)
    if request.htmx:
        return render(request, "sales/deal_board.html#board-column", context)
    context["single_column"] = True
    return render(request, "sales/deal_board.html", context)


@require_http_methods(["GET", "POST"])
@permission_required("deals.change")
def deal_move(request, pk: int):
    """Move a deal to a stage; what the move lacks (a reason, fields to win) is asked here.

    From the board's script (htmx header): 204 when moved, 409 with the
    message when the card was stale, 422 when the form must be shown.
    """
    deal = require_visible(request.membership, services.get_deal(pk), "deals")
    form = MoveForm(request.POST or None,
                    initial={"stage": request.GET.get("stage"), "version": deal.version})
    back = safe_next(request, deal.get_absolute_url())
    stage_id = request.POST.get("stage") if request.method == "POST" else request.GET.get(
        "stage")
    stage = services.get_stage(stage_id)
    context = {"deal": deal, "stage": stage, "form": form, "next": back,
               "missing": services.missing_to_win(deal) if stage.kind == StageKind.WON
               else []}
    if request.method == "GET":
        return render(request, "sales/deal_move.html", context)

    if not form.is_valid():
        return render(request, "sales/deal_move.html", context, status=422)
    try:
        services.move_deal_to_stage(request.organization, request.user, deal, stage,
                                    expected_version=form.cleaned_data["version"],
                                    reason=form.cleaned_data["reason"])
    except StaleVersion:
        message = _("“%(name)s” was changed by someone else meanwhile; the board shows it "
                    "as it is now.") % {"name": deal}
        if request.htmx:
            return HttpResponse(message, status=409, content_type="text/plain")
        messages.error(request, message)
        return redirect(back)
    except InvalidInput as exc:
        for error in exc.errors:
            if error["field"] == "reason":
                form.add_error("reason", error["message"])
        context["missing"] = [error for error in exc.errors if error["field"] != "reason"]
        return render(request, "sales/deal_move.html", context, status=422)
    if request.htmx:
        return HttpResponse(status=204)
    messages.success(request, _("“%(name)s” moved to %(stage)s.") % {"name": deal,
                                                                   "stage": stage})
    return redirect(back)
