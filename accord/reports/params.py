"""A report definition as URL query parameters, so that builder, drill-down and export
links carry the whole report and work on a full reload.

    entity=deals&group=stage&group=created_at:month&measure=sum:amount
    &f.status=open&f.owner=@me&f.closed_on=this_month&segment=3&chart=bar

A contact report's conditions travel as JSON in `conditions`.
"""

import json

from django.http import QueryDict

FILTER_PREFIX = "f."


def definition_from_params(params: QueryDict) -> dict:
    """The raw definition the parameters describe, to be validated by the engine."""
    definition = {
        "entity": params.get("entity", ""),
        "group_by": [key for key in params.getlist("group") if key][:3],
        "measure": params.get("measure") or "count",
        "chart": params.get("chart") or "bar",
        "filters": {},
    }
    for name in params:
        if not name.startswith(FILTER_PREFIX):
            continue
        values = params.getlist(name)
        if values == [""]:
            continue
        definition["filters"][name.removeprefix(FILTER_PREFIX)] = (
            values[0] if len(values) == 1 else values)
    if params.get("segment"):
        definition["segment"] = params["segment"]
    if params.get("conditions", "").strip():
        try:
            definition["conditions"] = json.loads(params["conditions"])
        except ValueError:
            definition["conditions"] = "unreadable"
    return definition


def definition_to_params(definition: dict) -> QueryDict:
    """The parameters of a validated definition."""
    params = QueryDict(mutable=True)
    params["entity"] = definition["entity"]
    params.setlist("group", list(definition.get("group_by", [])))
    params["measure"] = definition.get("measure", "count")
    params["chart"] = definition.get("chart", "bar")
    for name, value in definition.get("filters", {}).items():
        params.setlist(FILTER_PREFIX + name, value if isinstance(value, list) else [value])
    if definition.get("segment"):
        params["segment"] = str(definition["segment"])
    if definition.get("conditions"):
        params["conditions"] = json.dumps(definition["conditions"])
    return params
