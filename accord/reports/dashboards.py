"""Dashboards: the tiles each role starts from on the home page, and members' own boards.

Every tile but two is a report definition run by the engine for the viewer.
The two others read figures the engine does not hold: the quarter's forecast
against quota (accord.sales.forecast, which converts currencies at the
closing day's rate) and the sizes of segments (one engine count per segment).
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext as _

from accord.errors import InvalidInput, NotPermitted
from accord.identity.models import Membership, Role
from accord.identity.permissions import has_permission
from accord.marketing.services import visible_segments
from accord.service.models.ticket import UNRESOLVED

from . import engine
from .display import Shown, present, value_text
from .models import Dashboard

SEGMENT_TILE_LIMIT = 8  # one count query per segment; more belongs on the segment list
OPEN_TASK = {"kind": ["task"], "done": ["no"]}


@dataclass
class Tile:
    title: str
    shown: Shown | None = None
    # A plain table of (label, text, link) for the tiles the engine does not compute.
    lines: list[tuple[str, str, str]] = field(default_factory=list)
    link: str = ""
    errors: list[str] = field(default_factory=list)
    tile_id: int | None = None


def _sales() -> list[tuple[str, dict]]:
    return [
        (_("My open deals"), {"entity": "deals", "group_by": ["stage"],
                              "filters": {"status": ["open"], "owner": ["@me"]}}),
        (_("Pipeline by stage"), {"entity": "deals", "group_by": ["stage"],
                                  "measure": "sum:amount", "filters": {"status": ["open"]}}),
        (_("Won this month"), {"entity": "deals", "group_by": ["owner"],
                               "measure": "sum:amount",
                               "filters": {"status": ["won"], "closed_on": "this_month"},
                               "chart": "table"}),
        (_("My tasks due"), {"entity": "activities", "group_by": ["due_at:day"],
                             "filters": {**OPEN_TASK, "assignee": ["@me"]},
                             "chart": "table"}),
    ]


def _support() -> list[tuple[str, dict]]:
    unresolved = [str(status) for status in UNRESOLVED]
    return [
        (_("Open tickets by status and priority"),
         {"entity": "tickets", "group_by": ["status", "priority"],
          "filters": {"status": unresolved}, "chart": "table"}),
        (_("Breached SLAs"), {"entity": "tickets", "group_by": ["priority"],
                              "filters": {"status": unresolved, "sla_breached": ["yes"]}}),
        (_("My queue"), {"entity": "tickets", "group_by": ["status"],
                         "filters": {"status": unresolved, "assignee": ["@me"]}}),
    ]


def _marketing() -> list[tuple[str, dict]]:
    return [
        (_("Contacts by lifecycle stage"), {"entity": "contacts",
                                            "group_by": ["lifecycle_stage"], "chart": "pie"}),
        (_("New contacts per week"), {"entity": "contacts", "group_by": ["created_at:week"],
                                      "filters": {"created_at": "last_90_days"},
                                      "chart": "line"}),
    ]


def _manager() -> list[tuple[str, dict]]:
    return [
        (_("Pipeline by stage"), _sales()[1][1]),
        (_("Team activity in the last 7 days"),
         {"entity": "activities", "group_by": ["author", "kind"],
          "filters": {"occurred_at": "last_7_days",
                      "kind": ["note", "call", "meeting", "email", "task"]},
          "chart": "table"}),
    ]


def role_dashboard(membership: Membership) -> list[Tile]:
    """The home page tiles of the member's role; admins see the managers' board."""
    role = membership.role
    tiles: list[Tile] = []
    if role in (Role.MANAGER, Role.ADMIN):
        tiles.append(_forecast_tile(membership))
        definitions = _manager()
    elif role == Role.SUPPORT:
        definitions = _support()
    elif role == Role.MARKETING:
        definitions = _marketing()
    elif role == Role.SALES:
        definitions = _sales()
    else:
        definitions = [_marketing()[0], _sales()[1]]
    tiles += [_engine_tile(membership, title, definition) for title, definition in definitions]
    if role == Role.MARKETING:
        tiles.append(_segment_tile(membership))
    return [tile for tile in tiles if tile is not None]


def _engine_tile(membership: Membership, title: str, definition: dict) -> Tile | None:
    try:
        result = engine.run(definition, membership)
    except InvalidInput as exc:
        return Tile(title, errors=[error["message"] for error in exc.errors])
    except NotPermitted:
        return None
    return Tile(title, shown=present(result, title))


def _forecast_tile(membership: Membership) -> Tile | None:
    from accord.sales.forecast import Period, build_forecast, period_containing, today_for

    if not has_permission(membership, "forecast.view"):
        return None
    org = membership.organization
    period = period_containing(Period.QUARTER, today_for(org))
    totals = build_forecast(membership, period=period).totals
    currency = org.base_currency
    link = reverse("sales_insights:forecast")
    lines = [(_("Won"), value_text(totals.won, currency), link),
             (_("Commit"), value_text(totals.commit, currency), link),
             (_("Weighted pipeline"), value_text(totals.weighted, currency), link),
             (_("Quota"), value_text(totals.quota, currency), link)]
    if totals.attainment is not None:
        lines.append((_("Attainment"), f"{totals.attainment * 100:.0f} %", link))
    return Tile(_("Forecast this quarter against quota"), lines=lines, link=link)


def _segment_tile(membership: Membership) -> Tile:
    lines = []
    for segment in visible_segments().order_by("name")[:SEGMENT_TILE_LIMIT]:
        try:
            result = engine.run({"entity": "contacts", "segment": segment.pk}, membership)
            text = value_text(result.rows[0].value)
        except InvalidInput:
            text = _("Needs attention")
        lines.append((segment.name, text, segment.get_absolute_url()))
    return Tile(_("Segment sizes"), lines=lines, link=reverse("marketing:segment_list"))


def saved_tiles(dashboard: Dashboard, membership: Membership) -> list[Tile]:
    """The dashboard's reports in order, each run for the member."""
    tiles = []
    for tile in dashboard.tiles.select_related("report"):
        report = tile.report
        if report.owner_id != membership.user_id and not report.is_shared:
            # The owner made it private after it was put here.
            continue
        shown_tile = _engine_tile(membership, report.name, report.definition) or Tile(
            report.name, errors=[_("Your role may not see these records.")])
        shown_tile.link = report.get_absolute_url()
        shown_tile.tile_id = tile.pk
        tiles.append(shown_tile)
    return tiles
