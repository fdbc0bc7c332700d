"""The report builder's controls for one entity: groupings, measures, filters, charts.

The builder is a GET form whose parameters are the definition itself (see
`params`), so every state of it is a link that works on a full reload.
"""

from django.utils.translation import gettext as _

from accord.identity.models import Membership
from accord.marketing.services import visible_segments

from .engine import BUCKETS, FUNCTIONS, ME, NONE, PERIODS
from .entities import CHOICE, FLAG, RECORD, TEXT, USER, Entity, entity_labels
from .models import Chart
from .params import FILTER_PREFIX


def period_labels() -> dict[str, str]:
    return {
        "today": _("Today"), "this_week": _("This week"), "this_month": _("This month"),
        "this_quarter": _("This quarter"), "this_year": _("This year"),
        "last_7_days": _("Last 7 days"), "last_30_days": _("Last 30 days"),
        "last_90_days": _("Last 90 days"), "last_365_days": _("Last 365 days"),
    }


def _error_key(field: str) -> str:
    return field.replace(".", "_")


def flat_errors(errors: list[dict]) -> dict[str, str]:
    """Service errors keyed for templates: `filters.status` becomes `filters_status`."""
    return {_error_key(error["field"]): error["message"] for error in errors}


def controls(entity: Entity | None, viewer: Membership, params, errors: dict) -> dict:
    """What the builder form shows for `entity`, with the values in `params` selected."""
    context = {
        "entities": entity_labels(viewer),
        "entity": entity,
        "charts": Chart.choices,
        "chart": params.get("chart") or Chart.BAR,
        "errors": errors,
    }
    if entity is None:
        return context
    groups = [*params.getlist("group"), "", ""]
    context["groupings"] = [(dimension.key, str(dimension.label))
                            for dimension in entity.dimensions] + [
        (f"{date.key}:{bucket}", f"{date.label} ({label})")
        for date in entity.dates for bucket, label in BUCKETS.items()]
    context["group_choices"] = [
        {"name": "group", "id": f"group-{index}", "value": groups[index],
         "error": errors.get(f"group_by_{index}") or (errors.get("group_by") if index == 0
                                                       else ""),
         "label": _("Group by") if index == 0 else _("then by")}
        for index in range(2)]
    words = {"sum": _("Sum of"), "avg": _("Average"), "min": _("Lowest"), "max": _("Highest")}
    context["measures"] = [("count", _("Count of records"))] + [
        (f"{function}:{number.key}", f"{words[function]} {number.label}")
        for number in entity.numbers for function in FUNCTIONS]
    context["measure"] = params.get("measure") or "count"
    context["filters"] = [_filter_control(entity, dimension, viewer, params, errors)
                          for dimension in entity.dimensions]
    context["periods"] = [
        {"name": FILTER_PREFIX + date.key, "id": f"period-{date.key}", "label": date.label,
         "value": params.get(FILTER_PREFIX + date.key, ""),
         "options": list(period_labels().items()),
         "error": errors.get(f"filters_{date.key}", "")}
        for date in entity.dates]
    if entity.contacts is not None:
        context["segments"] = list(visible_segments().order_by("name").values_list("pk", "name"))
        context["segment"] = params.get("segment", "")
    context["conditions"] = params.get("conditions", "")
    return context


def _filter_control(entity: Entity, dimension, viewer: Membership, params, errors) -> dict:
    name = FILTER_PREFIX + dimension.key
    control = {"name": name, "id": f"filter-{dimension.key}", "label": dimension.label,
               "kind": dimension.kind, "selected": params.getlist(name),
               "value": params.get(name, ""),
               "error": errors.get(f"filters_{dimension.key}", "")}
    if dimension.kind == CHOICE:
        control["options"] = [*dimension.choices, (NONE, _("(none)"))]
    elif dimension.kind == FLAG:
        control["options"] = [("yes", _("Yes")), ("no", _("No"))]
    elif dimension.kind == USER:
        members = Membership.unscoped.filter(organization_id=viewer.organization_id
                                             ).select_related("user").order_by("user__email")
        control["options"] = [(ME, _("Me")), *[
            (str(member.user_id), member.user.full_name or member.user.email)
            for member in members], (NONE, _("(none)"))]
    elif dimension.kind == RECORD:
        control["options"] = [(str(pk), label) for pk, label in dimension.records()]
    elif dimension.kind == TEXT:
        control["options"] = None
    return control


__all__ = ["PERIODS", "controls", "flat_errors", "period_labels"]
