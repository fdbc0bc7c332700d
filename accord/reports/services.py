"""Every write to saved reports and dashboards, and which of them a member may open.

A saved report keeps its definition, not its rows: whoever opens it (or
receives it by e-mail) sees it computed over the records they may see.
"""

import logging

from django.db import transaction
from django.db.models import Max, Q, QuerySet

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector, as_pk
from accord.errors import InvalidInput, NotFound, NotPermitted, StaleVersion
from accord.identity.models import Membership, Role
from accord.identity.permissions import has_permission

from . import engine
from .models import Dashboard, DashboardTile, Frequency, SavedReport

logger = logging.getLogger(__name__)

NAME_LIMIT = 120
MAX_RECIPIENTS = 50  # a wider audience is a mailing list, not a report
FIELDS = ["name", "is_shared", "definition", "frequency", "recipients"]


def readable_reports(membership: Membership) -> QuerySet:
    """The saved reports a member may open: their own and the shared ones."""
    return SavedReport.objects.filter(Q(owner_id=membership.user_id) | Q(is_shared=True))


def find_report(report_id) -> SavedReport:
    """The organisation's report with this id, whoever may open it; NotFound otherwise."""
    pk = as_pk(report_id)
    report = SavedReport.objects.filter(pk=pk).first() if pk else None
    if report is None:
        raise NotFound("No report with this id.")
    return report


def get_report(membership: Membership, report_id) -> SavedReport:
    """A report the member may open; NotFound for any other id."""
    pk = as_pk(report_id)
    report = readable_reports(membership).filter(pk=pk).first() if pk else None
    if report is None:
        raise NotFound("No report with this id.")
    return report


def _require_change(membership: Membership, report: SavedReport) -> None:
    # The owner changes their report; a shared one may also be kept by those
    # who may manage shared reports.
    if report.owner_id != membership.user_id and not has_permission(
            membership, "reports.manage"):
        raise NotPermitted("Only the owner may change this report.")


def clean_report(membership: Membership, data: dict, *, current: SavedReport | None = None
                 ) -> dict:
    """Validate report fields; only keys present in `data` are returned (all on create).

    The definition's errors are named `definition.<part>`. Sharing and
    e-mail schedules need `reports.manage`.
    """
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = data.get("name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name:
            errors.add("name", "Give the report a name.", "required")
        elif len(name) > NAME_LIMIT or "\x00" in name:
            errors.add("name", f"Keep the name under {NAME_LIMIT} characters.", "too_long")
        out["name"] = name
    if "definition" in data or current is None:
        try:
            out["definition"], _entity = engine.validate(data.get("definition"), membership)
        except InvalidInput as exc:
            for error in exc.errors:
                errors.add(f"definition.{error['field']}", error["message"], error["code"])
    if "is_shared" in data:
        out["is_shared"] = bool(data["is_shared"])
    if "frequency" in data:
        frequency = data.get("frequency") or ""
        if frequency not in Frequency.values:
            errors.add("frequency", "Choose daily, weekly, monthly or not sent.")
        out["frequency"] = frequency
    if "recipients" in data:
        out["recipients"] = _clean_recipients(membership, data.get("recipients"), errors)
    manages = has_permission(membership, "reports.manage")
    if not manages and (out.get("is_shared") or out.get("frequency")):
        raise NotPermitted("Your role may save private reports only; sharing and sending "
                           "reports by e-mail need the reports manager permission.")
    errors.raise_if_any()
    return out


def _clean_recipients(membership: Membership, value, errors: Collector) -> list[int]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or len(value) > MAX_RECIPIENTS:
        errors.add("recipients", f"Give at most {MAX_RECIPIENTS} member ids.")
        return []
    ids = [as_pk(item) for item in value]
    known = set(Membership.objects.filter(
        is_active=True, user_id__in=[pk for pk in ids if pk]).values_list("user_id", flat=True))
    if None in ids or set(ids) - known:
        errors.add("recipients", "Choose active members of this organisation.")
        return []
    return sorted(set(ids))


@transaction.atomic
def create_report(org, actor, membership: Membership, *, data: dict) -> SavedReport:
    """Save a new report owned by the actor."""
    values = clean_report(membership, data)

    report = SavedReport.objects.create(organization=org, owner=actor, **values)

    audit.record(org, actor, Action.CREATE, report,
                 changes=audit.diff({}, audit.snapshot(report, FIELDS)))
    logger.info("reports.report_saved",
                extra={"organization_id": org.id, "report_id": report.pk})
    return report


@transaction.atomic
def update_report(org, actor, membership: Membership, report: SavedReport, *, data: dict,
                  expected_version: int | None = None) -> SavedReport:
    """Change a report; StaleVersion when `expected_version` is not the stored one."""
    report = SavedReport.objects.select_for_update().get(pk=report.pk)
    _require_change(membership, report)
    if expected_version is not None and int(expected_version) != report.version:
        raise StaleVersion(current_version=report.version)
    values = clean_report(membership, data, current=report)

    before = audit.snapshot(report, FIELDS)
    for name, value in values.items():
        setattr(report, name, value)
    report.save_new_version()

    audit.record(org, actor, Action.UPDATE, report,
                 changes=audit.diff(before, audit.snapshot(report, FIELDS)))
    return report


@transaction.atomic
def delete_report(org, actor, membership: Membership, report: SavedReport) -> None:
    """Delete a report, its tiles on every dashboard and its delivery log."""
    _require_change(membership, report)

    audit.record(org, actor, Action.PURGE, report)
    report.delete()


# Dashboards


def get_dashboard(membership: Membership, dashboard_id) -> Dashboard:
    """One of the member's own dashboards; NotFound for any other id."""
    pk = as_pk(dashboard_id)
    dashboard = Dashboard.objects.filter(pk=pk, owner_id=membership.user_id).first() if (
        pk) else None
    if dashboard is None:
        raise NotFound("No dashboard with this id.")
    return dashboard


@transaction.atomic
def create_dashboard(org, actor, *, name: str) -> Dashboard:
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_LIMIT:
        raise InvalidInput({"name": f"Give the dashboard a name under {NAME_LIMIT} "
                                    "characters."})
    dashboard = Dashboard.objects.create(organization=org, owner=actor, name=name)
    audit.record(org, actor, Action.CREATE, dashboard)
    return dashboard


@transaction.atomic
def delete_dashboard(org, actor, dashboard: Dashboard) -> None:
    audit.record(org, actor, Action.PURGE, dashboard)
    dashboard.delete()


@transaction.atomic
def add_tile(org, actor, membership: Membership, dashboard: Dashboard, report_id
             ) -> DashboardTile:
    """Put a report the member may open at the end of the dashboard; once per report."""
    report = get_report(membership, report_id)
    tile = DashboardTile.objects.filter(dashboard=dashboard, report=report).first()
    if tile is not None:
        return tile
    last = dashboard.tiles.aggregate(last=Max("position"))["last"]
    tile = DashboardTile.objects.create(organization=org, dashboard=dashboard, report=report,
                                        position=0 if last is None else last + 1)
    audit.record(org, actor, Action.UPDATE, dashboard,
                 changes={"tiles": [None, report.pk]})
    return tile


@transaction.atomic
def remove_tile(org, actor, dashboard: Dashboard, tile_id) -> None:
    tile = dashboard.tiles.filter(pk=as_pk(tile_id)).first()
    if tile is None:
        raise NotFound("No tile with this id on the dashboard.")
    audit.record(org, actor, Action.UPDATE, dashboard, changes={"tiles": [tile.report_id, None]})
    tile.delete()


@transaction.atomic
def move_tile(org, actor, dashboard: Dashboard, tile_id, *, step: int) -> None:
    """Swap the tile with its neighbour before (step -1) or after (step 1)."""
    tiles = list(dashboard.tiles.select_for_update().order_by("position", "id"))
    index = next((i for i, tile in enumerate(tiles) if tile.pk == as_pk(tile_id)), None)
    if index is None:
        raise NotFound("No tile with this id on the dashboard.")
    other = index + step
    if not 0 <= other < len(tiles):
        return
    tiles[index], tiles[other] = tiles[other], tiles[index]
    for position, tile in enumerate(tiles):
        if tile.position != position:
            tile.position = position
            tile.save(update_fields=["position"])
    audit.record(org, actor, Action.UPDATE, dashboard,
                 changes={"tile_order": [None, [tile.report_id for tile in tiles]]})


def readable_definition(report: SavedReport, viewer: Membership | None) -> dict:
    """The report's definition as `viewer` may read it (see `readable`)."""
    return readable(report.definition or {}, viewer, written_by=report.owner_id)


def readable(definition: dict, viewer: Membership | None, *, written_by: int | None) -> dict:
    """A report definition as `viewer` may read it.

    Whole for whoever wrote it (`written_by`, a user id) and for admins, and for anyone
    else while it runs for them. One whose groups, filters or conditions name a field
    hidden from the viewer's role (or one removed since) reads as its entity alone, with
    `hidden` set: its conditions would tell which values the hidden field is compared
    with.
    """
    if viewer is None or viewer.role == Role.ADMIN or written_by == viewer.user_id:
        return definition
    try:
        engine.validate(definition, viewer)
    except (InvalidInput, NotPermitted):
        return {"entity": definition.get("entity", ""), "hidden": True}
    return definition
