"""The query engine: a report definition in, grouped and measured rows out, in one SQL query.

A definition is JSON:

    {"entity": "deals",
     "group_by": ["stage", "created_at:month"],     # none, one or two
     "measure": "sum:amount",                       # or "count"
     "filters": {"status": ["open"], "owner": ["@me"], "closed_on": "this_month"},
     "segment": 12,                                 # contacts of a segment
     "conditions": {"all": [...]},                  # contacts only
     "chart": "bar"}

Grouping, filtering and measuring happen in the database (values/annotate,
Trunc in the viewer's time zone); Python only labels the rows. A sum, average,
minimum or maximum of money is grouped by currency as well: amounts in
different currencies are never added together, and no exchange rate is
guessed for a report.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.errors import InvalidInput, NotPermitted
from accord.identity.models import Membership
from accord.identity.permissions import has_permission
from accord.marketing.conditions import Conditions
from accord.marketing.models import Segment
from accord.marketing.services import visible_segments
from accord.timezones import zone_named

from .entities import CHOICE, FLAG, RECORD, TEXT, USER, Dimension, Entity, entity_for
from .models import Chart

BUCKETS = {"day": _("day"), "week": _("week"), "month": _("month"),
           "quarter": _("quarter"), "year": _("year")}
FUNCTIONS = {"sum": Sum, "avg": Avg, "min": Min, "max": Max}
PERIODS = ("today", "this_week", "this_month", "this_quarter", "this_year",
           "last_7_days", "last_30_days", "last_90_days", "last_365_days")
ME = "@me"
NONE = ""  # the group of records without a value, in drill-down links and filters
MAX_GROUP_BY = 2
MAX_ROWS = 500  # groups beyond this are cut off: a chart of more is unreadable anyway
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Grouping:
    """One group-by: a dimension, or a date field cut into buckets."""

    key: str
    label: str
    dimension: Dimension | None = None
    date: str | None = None
    bucket: str | None = None
    is_datetime: bool = True
    # The date's expression when it is not a column (see entities.DateField).
    expression: object = None


@dataclass
class Row:
    keys: tuple[str, ...]  # canonical values, as drill-down links carry them
    labels: tuple[str, ...]
    value: Decimal | int | None
    currency: str = ""

    @property
    def label(self) -> str:
        parts = [*self.labels, self.currency] if self.currency else list(self.labels)
        return " · ".join(parts) or _("All")


@dataclass
class Result:
    definition: dict
    entity: Entity
    groupings: list[Grouping]
    measure_label: str
    by_currency: bool
    rows: list[Row]
    truncated: bool

    @property
    def total(self) -> Decimal | int | None:
        """The sum of the rows for a count or sum in one currency, else None."""
        currencies = {row.currency for row in self.rows}
        measure = self.definition["measure"]
        if not self.rows or len(currencies) > 1 or measure.split(":")[0] not in (
                "count", "sum"):
            return None
        return sum((row.value or 0) for row in self.rows)


# Reading a definition


def validate(definition, viewer: Membership) -> tuple[dict, Entity]:
    """The definition, clean, and its entity as `viewer` sees it.

    Raises InvalidInput naming each bad part (`entity`, `group_by`,
    `measure`, `filters.<name>`, `segment`, `conditions`, `chart`), and
    NotPermitted when the viewer's role may not see the entity's records.
    A custom field hidden from the viewer's role reads as no field at all.
    """
    if not isinstance(definition, dict):
        raise InvalidInput({"definition": _("A report definition is an object.")})
    entity = entity_for(str(definition.get("entity") or ""), viewer)
    if entity is None:
        raise InvalidInput({"entity": _("Choose what the report is about.")})
    if not has_permission(viewer, entity.permission):
        raise NotPermitted(_("Your role does not allow seeing these records."))
    errors: dict[str, str] = {}
    clean = {"entity": entity.key}

    group_by = definition.get("group_by") or []
    if not isinstance(group_by, list) or len(group_by) > MAX_GROUP_BY:
        errors["group_by"] = _("Group by at most two fields.")
        group_by = []
    for index, key in enumerate(group_by):
        if _grouping(entity, str(key)) is None:
            errors[f"group_by.{index}"] = _("This field cannot be grouped by.")
    if len(set(map(str, group_by))) < len(group_by):
        errors["group_by.1"] = _("Group by two different fields.")
    clean["group_by"] = [str(key) for key in group_by]

    measure = str(definition.get("measure") or "count")
    function, _sep, number = measure.partition(":")
    if measure != "count" and (function not in FUNCTIONS or entity.number(number) is None):
        errors["measure"] = _("Measure a count, or a sum, average, minimum or maximum of "
                              "a number field.")
    clean["measure"] = measure

    filters = definition.get("filters") or {}
    if not isinstance(filters, dict):
        errors["filters"] = _("Filters are an object keyed by field.")
        filters = {}
    clean["filters"] = {}
    for name, value in filters.items():
        try:
            clean["filters"][name] = _clean_filter(entity, name, value)
        except ValueError as exc:
            errors[f"filters.{name}"] = str(exc)

    segment = definition.get("segment")
    if segment not in (None, ""):
        if entity.contacts is None:
            errors["segment"] = _("These records have no contact to match a segment.")
        elif not str(segment).isdigit() or not visible_segments().filter(pk=int(segment)).exists():
            errors["segment"] = _("Choose one of your segments.")
        else:
            clean["segment"] = int(segment)

    conditions = definition.get("conditions")
    if conditions:
        if entity.key != "contacts":
            errors["conditions"] = _("Conditions apply to contact reports only.")
        else:
            try:
                clean["conditions"] = Conditions(viewer.organization, viewer).validate(
                    conditions)
            except InvalidInput as exc:
                errors["conditions"] = "; ".join(
                    f"{error['field']}: {error['message']}" for error in exc.errors)

    chart = str(definition.get("chart") or Chart.BAR)
    if chart not in Chart.values:
        errors["chart"] = _("Choose a bar, line or pie chart, or a table.")
    clean["chart"] = chart

    if errors:
        raise InvalidInput(errors)
    return clean, entity


def _grouping(entity: Entity, key: str) -> Grouping | None:
    dimension = entity.dimension(key)
    if dimension is not None:
        return Grouping(key, str(dimension.label), dimension=dimension)
    name, _sep, bucket = key.partition(":")
    date = entity.date(name)
    if date is None or bucket not in BUCKETS:
        return None
    return Grouping(key, f"{date.label} ({BUCKETS[bucket]})", date=name, bucket=bucket,
                    is_datetime=date.is_datetime, expression=date.expression)


def _clean_filter(entity: Entity, name: str, value):
    """The filter's values as a list of strings, or a period name for a date field."""
    date = entity.date(name)
    if date is not None:
        if value not in PERIODS:
            raise ValueError(_("Choose a period such as this_month or last_30_days."))
        return value
    dimension = entity.dimension(name)
    if dimension is None:
        raise ValueError(_("There is no field with this name."))
    values = value if isinstance(value, list) else [value]
    values = [str(item) for item in values]
    for item in values:
        if item == NONE:
            continue
        if dimension.kind == CHOICE and item not in dict(dimension.choices):
            raise ValueError(_("Choose from: %(choices)s.")
                             % {"choices": ", ".join(dict(dimension.choices))})
        if dimension.kind == FLAG and item not in ("yes", "no"):
            raise ValueError(_("Choose yes or no."))
        if dimension.kind in (USER, RECORD) and not (item.isdigit() or (
                dimension.kind == USER and item == ME)):
            raise ValueError(_("Give record ids."))
        if dimension.kind == TEXT and len(item) > 200:
            raise ValueError(_("Keep this under 200 characters."))
    return values


# Running it


def records(definition: dict, entity: Entity, viewer: Membership) -> QuerySet:
    """The entity's records the viewer may see that the validated definition's filters,
    segment and conditions select."""
    zone = zone_named(viewer.user.time_zone)
    rows = entity.visible(entity.model.objects.all(), viewer)
    for name, value in definition["filters"].items():
        date = entity.date(name)
        if date is not None:
            start, end = period_bounds(value, zone)
            rows = _in_dates(rows, name, date.expression, start, end, date.is_datetime, zone)
        else:
            rows = _filter_dimension(rows, entity.dimension(name), value, viewer)
    if definition.get("segment"):
        from accord.marketing.services import members

        segment = Segment.objects.get(pk=definition["segment"])
        rows = rows.filter(entity.contacts(members(viewer.organization, segment, viewer)))
    if definition.get("conditions"):
        conditions = Conditions(viewer.organization, viewer)
        rows = rows.filter(conditions.compile(definition["conditions"], seen_by=(viewer,)))
    return rows


def run(definition, viewer: Membership) -> Result:
    """The rows of the report for `viewer`, grouped and measured in one query.

    Validates first (see `validate`). Call inside the tenant scope.
    """
    definition, entity = validate(definition, viewer)
    zone = zone_named(viewer.user.time_zone)
    groupings = [_grouping(entity, key) for key in definition["group_by"]]
    function, _sep, number_key = definition["measure"].partition(":")
    number = entity.number(number_key) if number_key else None
    by_currency = bool(number and number.currency)

    rows = records(definition, entity, viewer)
    columns = {}
    for index, grouping in enumerate(groupings):
        columns[f"g{index}"] = _group_expression(grouping, zone)
    if by_currency:
        columns["in_currency"] = _as_expression(number.currency)
    aggregate = Count("pk") if number is None else FUNCTIONS[function](number.expression)
    if columns:
        query = rows.order_by().values(**columns)
        if by_currency:
            # An amount without a currency is no amount (a money value in JSON
            # holds both); such records are left out of the figure.
            query = query.filter(in_currency__isnull=False)
        query = query.annotate(value=aggregate).order_by(*columns)
        found = list(query[:MAX_ROWS + 1])
    else:
        found = [rows.aggregate(value=aggregate)]

    labellers = [_labeller(grouping, viewer) for grouping in groupings]
    result_rows = []
    for item in found[:MAX_ROWS]:
        raw = [_plain(item[f"g{index}"], zone) for index in range(len(groupings))]
        result_rows.append(Row(
            keys=tuple(_key(value) for value in raw),
            labels=tuple(labeller(value) for labeller, value in zip(labellers, raw, strict=True)),
            value=_rounded(item["value"], function),
            currency=item.get("in_currency") or "",
        ))
    sorters = [_sorter(grouping) for grouping in groupings]
    result_rows.sort(key=lambda row: tuple(
        sorter(key) for sorter, key in zip(sorters, row.keys, strict=True)))
    measure_label = _("Count") if number is None else f"{_measure_words()[function]} " \
        f"{number.label}"
    return Result(definition, entity, groupings, measure_label, by_currency, result_rows,
                  truncated=len(found) > MAX_ROWS)


def drill_down(definition, viewer: Membership, keys: list[str],
               currency: str = "") -> QuerySet:
    """The records behind one row of the report: its filters plus the row's group values.

    InvalidInput when `keys` does not match the report's groupings.
    """
    definition, entity = validate(definition, viewer)
    zone = zone_named(viewer.user.time_zone)
    groupings = [_grouping(entity, key) for key in definition["group_by"]]
    if len(keys) != len(groupings):
        raise InvalidInput({"g": _("Give one value per grouping of the report.")})
    rows = records(definition, entity, viewer)
    for grouping, key in zip(groupings, keys, strict=True):
        if grouping.dimension is not None:
            if grouping.dimension.kind in (USER, RECORD) and key and not key.isdigit():
                raise InvalidInput({"g": _("Give record ids.")})
            rows = _filter_dimension(rows, grouping.dimension, [key], viewer)
        else:
            try:
                start = dt.date.fromisoformat(key)
            except ValueError:
                raise InvalidInput({"g": _("Give the first day of the period.")}) from None
            rows = _in_dates(rows, grouping.date, grouping.expression, start,
                             bucket_end(start, grouping.bucket), grouping.is_datetime, zone)
    if currency:
        number = entity.number(definition["measure"].partition(":")[2])
        if number is not None and number.currency:
            rows = rows.alias(report_currency=_as_expression(number.currency)).filter(
                report_currency=currency)
    return rows


# Pieces


def _measure_words() -> dict[str, str]:
    return {"sum": _("Sum of"), "avg": _("Average"), "min": _("Lowest"),
            "max": _("Highest")}


def _group_expression(grouping: Grouping, zone):
    if grouping.dimension is not None:
        return _as_expression(grouping.dimension.expression)
    source = grouping.expression if grouping.expression is not None else grouping.date
    if grouping.is_datetime:
        return Trunc(source, grouping.bucket, tzinfo=zone)
    return Trunc(source, grouping.bucket)


def _as_expression(expression):
    return F(expression) if isinstance(expression, str) else expression


def _filter_dimension(rows: QuerySet, dimension: Dimension, values: list[str],
                      viewer: Membership) -> QuerySet:
    """`rows` whose value of `dimension` is one of `values`."""
    wanted = Q()
    for value in values:
        wanted |= _dimension_is(dimension, value, viewer)
    if not isinstance(dimension.expression, str):
        rows = rows.alias(**{_alias(dimension): dimension.expression})
    return rows.filter(wanted)


def _alias(dimension: Dimension) -> str:
    return f"report_{dimension.key}"


def _dimension_is(dimension: Dimension, value: str, viewer: Membership) -> Q:
    path = (dimension.expression if isinstance(dimension.expression, str)
            else _alias(dimension))
    if value == NONE:
        empty = Q(**{f"{path}__isnull": True})
        return empty | Q(**{path: ""}) if dimension.kind in (CHOICE, TEXT) else empty
    if dimension.kind == USER:
        return Q(**{path: viewer.user_id if value == ME else int(value)})
    if dimension.kind == RECORD:
        return Q(**{path: int(value)})
    if dimension.kind == FLAG:
        return Q(**{path: value == "yes"})
    return Q(**{path: value})


def _in_dates(rows: QuerySet, name: str, expression, start: dt.date, end: dt.date,
              is_datetime: bool, zone) -> QuerySet:
    """`rows` whose date `name` (a column, or `expression`) falls from `start` up to `end`."""
    if expression is not None:
        name = f"report_{name}"
        rows = rows.alias(**{name: expression})
    return rows.filter(_date_range(name, start, end, is_datetime, zone))


def _date_range(name: str, start: dt.date, end: dt.date, is_datetime: bool, zone) -> Q:
    if not is_datetime:
        return Q(**{f"{name}__gte": start, f"{name}__lt": end})
    return Q(**{f"{name}__gte": _midnight(start, zone), f"{name}__lt": _midnight(end, zone)})


def _midnight(day: dt.date, zone) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone)


def bucket_end(start: dt.date, bucket: str) -> dt.date:
    """The first day after the bucket that begins on `start`."""
    if bucket == "day":
        return start + dt.timedelta(days=1)
    if bucket == "week":
        return start + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[bucket]
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_bounds(period: str, zone, *, now: dt.datetime | None = None
                  ) -> tuple[dt.date, dt.date]:
    """The first day of `period` and the day after its last, in the zone's calendar."""
    today = (now or timezone.now()).astimezone(zone).date()
    if period.startswith("last_"):
        days = int(period.split("_")[1])
        return today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1)
    if period == "today":
        return today, today + dt.timedelta(days=1)
    if period == "this_week":
        start = today - dt.timedelta(days=today.weekday())
        return start, bucket_end(start, "week")
    if period == "this_month":
        start = today.replace(day=1)
        return start, bucket_end(start, "month")
    if period == "this_quarter":
        start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return start, bucket_end(start, "quarter")
    start = today.replace(month=1, day=1)
    return start, bucket_end(start, "year")


def _plain(value, zone):
    """A grouped value as Python: a bucket's datetime becomes its local first day."""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).date() if timezone.is_aware(value) else value.date()
    return value


def _key(value) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _rounded(value, function: str):
    """Counts and sums of whole numbers stay whole; other figures keep two places."""
    if value is None or isinstance(value, int):
        return value
    return Decimal(str(value)).quantize(TWO_PLACES)


def _labeller(grouping: Grouping, viewer: Membership):
    none = _("(none)")
    if grouping.dimension is None:
        return lambda value: _bucket_label(value, grouping.bucket) if value else none
    dimension = grouping.dimension
    if dimension.kind == CHOICE:
        names = dict(dimension.choices)
        return lambda value: names.get(value, value) if value else none
    if dimension.kind == FLAG:
        # Built-in flags are never empty; a yes/no field of a record may be.
        return lambda value: none if value is None else _("Yes") if value else _("No")
    if dimension.kind == USER:
        names = _user_names(viewer)
        return lambda value: names.get(value, _("Former member")) if value else none
    if dimension.kind == RECORD:
        names = dict(dimension.records())
        return lambda value: names.get(value, str(value)) if value else none
    return lambda value: value or none


def _user_names(viewer: Membership) -> dict[int, str]:
    members = Membership.unscoped.filter(organization_id=viewer.organization_id).select_related(
        "user")
    return {member.user_id: member.user.full_name or member.user.email for member in members}


def _bucket_label(day: dt.date, bucket: str) -> str:
    if bucket == "week":
        iso = day.isocalendar()
        return _("Week %(week)s, %(year)s") % {"week": iso.week, "year": iso.year}
    if bucket == "month":
        return day.strftime("%Y-%m")
    if bucket == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    if bucket == "year":
        return str(day.year)
    return day.isoformat()


def _sorter(grouping: Grouping):
    """The sort key of a grouping's values: choices, stages and linked records in their
    own order, members by id, dates and text as they read, the empty group last."""
    dimension = grouping.dimension
    order: list[str] = []
    if dimension is not None and dimension.kind == CHOICE:
        order = [value for value, _label in dimension.choices]
    elif dimension is not None and dimension.kind == RECORD:
        order = [str(value) for value, _label in dimension.records()]
    numeric = dimension is not None and dimension.kind in (USER, RECORD)

    def key(value: str):
        if value == NONE:
            return (1, 0, 0, "")
        number = int(value) if numeric and value.isdigit() else 0
        if order:
            # Ids missing from the order (records the viewer may not see) go last.
            return (0, order.index(value) if value in order else len(order), number, value)
        return (0, 0, number, value)

    return key
