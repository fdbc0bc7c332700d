"""Value types, their operators, and how one typed comparison becomes SQL.

A condition compares a value stored on a contact (or its company) with the
value in the tree. Where the stored value lives is a `Target`: a model field
path, or an SQL expression such as a custom field read out of its JSON. The
operator decides the shape of the tree's value:

- "none": no value (`is_empty`, `has_open`...);
- "one": one value of the subject's type;
- "two": a pair [low, high], both included (`between`);
- "list": a non-empty list of choices (`in`, `has_any`...);
- "days": a whole number of days counted back from today (`in_last_days`) or
  forward from it (`in_next_days`).
"""

import datetime as dt
import decimal
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Exists, Q
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

MAX_TEXT = 200
MAX_DAYS = 3660  # ten years; a longer look back is a typo
MAX_DIGITS = 18
# Custom number fields hold at most 15 whole digits and 6 decimals; a wider
# number in a condition could match nothing and only risks overflowing a cast.
MAX_WHOLE_DIGITS = 15
MAX_DECIMALS = 6
# Day ranges add a day to their end, which must stay a valid date.
FIRST_YEAR, LAST_YEAR = 1000, 9000


class ValueType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    DATE = "date"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    BOOLEAN = "boolean"


class Shape(StrEnum):
    NONE = "none"
    ONE = "one"
    TWO = "two"
    LIST = "list"
    DAYS = "days"


@dataclass(frozen=True)
class Operator:
    name: str
    label: str
    shape: Shape
    # How a condition with this operator reads in a sentence: %(subject)s,
    # %(value)s and, for kinds, their parameters by name.
    sentence: str = ""


def _op(name, label, shape, sentence) -> Operator:
    return Operator(name, label, Shape(shape), sentence)


IS_EMPTY = _op("is_empty", _("is empty"), "none", _("%(subject)s is empty"))
IS_NOT_EMPTY = _op("is_not_empty", _("is not empty"), "none", _("%(subject)s is not empty"))

TYPE_OPERATORS: dict[ValueType, list[Operator]] = {
    ValueType.TEXT: [
        _op("equals", _("is"), "one", _("%(subject)s is %(value)s")),
        _op("not_equals", _("is not"), "one", _("%(subject)s is not %(value)s")),
        _op("contains", _("contains"), "one", _("%(subject)s contains %(value)s")),
        _op("not_contains", _("does not contain"), "one",
            _("%(subject)s does not contain %(value)s")),
        _op("starts_with", _("starts with"), "one", _("%(subject)s starts with %(value)s")),
        IS_EMPTY, IS_NOT_EMPTY,
    ],
    ValueType.NUMBER: [
        _op("eq", _("="), "one", _("%(subject)s is %(value)s")),
        _op("lt", _("<"), "one", _("%(subject)s is less than %(value)s")),
        _op("gt", _(">"), "one", _("%(subject)s is more than %(value)s")),
        _op("between", _("between"), "two", _("%(subject)s is between %(value)s")),
        IS_EMPTY, IS_NOT_EMPTY,
    ],
    ValueType.DATE: [
        _op("eq", _("is on"), "one", _("%(subject)s is on %(value)s")),
        _op("lt", _("is before"), "one", _("%(subject)s is before %(value)s")),
        _op("gt", _("is after"), "one", _("%(subject)s is after %(value)s")),
        _op("between", _("is between"), "two", _("%(subject)s is between %(value)s")),
        _op("in_last_days", _("is in the last N days"), "days",
            _("%(subject)s is in the last %(value)s days")),
        _op("in_next_days", _("is in the next N days"), "days",
            _("%(subject)s is in the next %(value)s days")),
        IS_EMPTY, IS_NOT_EMPTY,
    ],
    ValueType.CHOICE: [
        _op("in", _("is any of"), "list", _("%(subject)s is %(value)s")),
        _op("not_in", _("is none of"), "list", _("%(subject)s is not %(value)s")),
        IS_EMPTY, IS_NOT_EMPTY,
    ],
    ValueType.MULTI_CHOICE: [
        _op("has_any", _("has any of"), "list", _("%(subject)s has any of %(value)s")),
        _op("has_all", _("has all of"), "list", _("%(subject)s has all of %(value)s")),
        IS_EMPTY, IS_NOT_EMPTY,
    ],
    ValueType.BOOLEAN: [
        _op("is", _("is"), "one", _("%(subject)s is %(value)s")),
    ],
}
TYPE_OPERATORS[ValueType.MONEY] = TYPE_OPERATORS[ValueType.NUMBER]


class BadValue(ValueError):
    """A value that does not fit its type; the message is shown next to it."""


def _choices_of(choices) -> list[tuple[str, str]]:
    return list(choices() if callable(choices) else choices or [])


def clean_scalar(value_type: ValueType, value, choices=None):
    """`value` in its stored JSON form for `value_type`; BadValue says why it does not fit."""
    if value_type == ValueType.TEXT:
        if not isinstance(value, str) or not value.strip():
            raise BadValue(_("Enter some text."))
        if "\x00" in value:
            raise BadValue(_("The text holds a NUL character; remove it."))
        if len(value) > MAX_TEXT:
            raise BadValue(_("Keep the text under %(limit)s characters.") % {"limit": MAX_TEXT})
        return value.strip()
    if value_type in (ValueType.NUMBER, ValueType.MONEY):
        return clean_number(value)
    if value_type == ValueType.DATE:
        return clean_date(value).isoformat()
    if value_type in (ValueType.CHOICE, ValueType.MULTI_CHOICE):
        known = {str(key) for key, _label in _choices_of(choices)}
        if not isinstance(value, str | int) or isinstance(value, bool) or str(value) not in known:
            raise BadValue(_("Not one of the choices."))
        return str(value)
    if value_type == ValueType.BOOLEAN:
        return clean_boolean(value)
    raise ValueError(f"Unknown value type {value_type!r}")


def clean_number(value) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | decimal.Decimal):
        raise BadValue(_("Not a number; enter one such as 42 or 3.5."))
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise BadValue(_("Not a number; enter one such as 42 or 3.5.")) from None
    if (not number.is_finite() or len(number.as_tuple().digits) > MAX_DIGITS
            or number.adjusted() >= MAX_WHOLE_DIGITS
            or number.as_tuple().exponent < -MAX_DECIMALS):
        raise BadValue(_("Not a number; enter one such as 42 or 3.5."))
    return format(number, "f")


def clean_date(value) -> dt.date:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_date(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise BadValue(_("Not a date; enter it as YYYY-MM-DD."))
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise BadValue(_("Give a date between the years %(first)s and %(last)s.")
                       % {"first": FIRST_YEAR, "last": LAST_YEAR})
    return parsed


def clean_boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "on"}:
        return True
    if text in {"false", "no", "0", "off"}:
        return False
    raise BadValue(_("Choose yes or no."))


def clean_days(value) -> int:
    if isinstance(value, bool):
        raise BadValue(_("Give a whole number of days from 1 to %(max)s.") % {"max": MAX_DAYS})
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise BadValue(_("Give a whole number of days from 1 to %(max)s.") % {"max": MAX_DAYS})
    return days


def clean_value(operator: Operator, value_type: ValueType, value, choices=None):
    """The tree's value for `operator` in its stored form; BadValue names the problem."""
    if operator.shape == Shape.NONE:
        if value not in (None, "", []):
            raise BadValue(_("This operator takes no value."))
        return None
    if operator.shape == Shape.DAYS:
        return clean_days(value)
    if operator.shape == Shape.ONE:
        if value is None or value == "":
            raise BadValue(_("Give a value."))
        return clean_scalar(value_type, value, choices)
    if operator.shape == Shape.TWO:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise BadValue(_("Give two values: the lowest and the highest."))
        low, high = (clean_scalar(value_type, item, choices) for item in value)
        order = decimal.Decimal if value_type in (ValueType.NUMBER, ValueType.MONEY) else str
        if order(low) > order(high):
            raise BadValue(_("The first value must not be above the second."))
        return [low, high]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise BadValue(_("Choose at least one value."))
    cleaned = [clean_scalar(value_type, item, choices) for item in value]
    return list(dict.fromkeys(cleaned))


# Compiling


@dataclass(frozen=True)
class Context:
    """What compiling needs besides the tree: the organisation, its today, and the
    members whose view of related records (deals, companies, activities) counts.

    A condition about a contact's deals or company considers only the records
    every member in `seen_by` sees, so that a count never tells of a hidden
    one; with no member (the scheduler, code) every record counts.
    """

    org: object
    now: dt.datetime
    today: dt.date
    zone: dt.tzinfo
    seen_by: tuple = ()

    def seen(self, queryset, narrow: Callable):
        """`queryset` narrowed by `narrow(queryset, membership)` for every member in
        `seen_by`, or `queryset` itself when no one narrows it."""
        for membership in self.seen_by:
            if membership is not None:
                queryset = narrow(queryset, membership)
        return queryset

    def seen_in(self, queryset, area: str):
        """`queryset` (of an area's model) narrowed to the records every member sees."""
        from accord.identity.visibility import visible

        return self.seen(queryset, lambda rows, membership: visible(rows, membership, area))

    def day_start(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time.min, tzinfo=self.zone)

    def since(self, days: int) -> dt.datetime:
        """The first moment of the day `days` days before today, in the organisation's zone."""
        return self.day_start(self.today - dt.timedelta(days=days))


def exists(queryset, negate: bool = False) -> Q:
    """A condition that `queryset` (correlated with the contact) finds a row, or none."""
    return ~Q(Exists(queryset)) if negate else Q(Exists(queryset))


@dataclass(frozen=True)
class Target:
    """Where a typed value is stored: a field path, or an SQL expression over the row.

    `stored` says how dates are kept: "date" (a DateField), "datetime" (a
    DateTimeField, days taken in the organisation's zone), "iso_date" or
    "iso_datetime" (ISO 8601 text in JSON, the latter in UTC).
    """

    path: str | None = None
    expression: object = None
    stored: str = ""
    # Text columns keep "" for no value; JSON values are missing instead.
    blank_is_empty: bool = False
    # For multi-choice JSON lists: the list as text, searched for '"choice"'.
    list_text: object = None
    extra: dict = field(default_factory=dict)

    def q(self, lookup: str, value) -> Q:
        if self.path is not None:
            return Q(**{f"{self.path}__{lookup}": value})
        return Q(self.expression.get_lookup(lookup)(self.expression, value))

    def empty(self) -> Q:
        empty = self.q("isnull", True)
        if self.blank_is_empty:
            empty |= self.q("exact", "")
        return empty


def _bound(target: Target, ctx: Context, day: dt.date):
    """The stored form of the first moment of `day`, for range comparisons."""
    if target.stored == "date":
        return day
    if target.stored == "datetime":
        return ctx.day_start(day)
    if target.stored == "iso_date":
        return day.isoformat()
    moment = ctx.day_start(day).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _day_range(target: Target, ctx: Context, first: dt.date, last: dt.date) -> Q:
    return (target.q("gte", _bound(target, ctx, first))
            & target.q("lt", _bound(target, ctx, last + dt.timedelta(days=1))))


def compile_comparison(target: Target, value_type: ValueType, op: str, value,
                       ctx: Context) -> Q:
    """The Q for "the value at `target` <op> `value`"; `value` is already clean."""
    if op == "is_empty":
        return target.empty()
    if op == "is_not_empty":
        return ~target.empty()
    if value_type == ValueType.TEXT:
        return _text(target, op, value)
    if value_type in (ValueType.NUMBER, ValueType.MONEY):
        return _number(target, op, value)
    if value_type == ValueType.DATE:
        return _date(target, op, value, ctx)
    if value_type == ValueType.CHOICE:
        matches = target.q("in", value)
        return matches if op == "in" else ~matches | target.empty()
    if value_type == ValueType.MULTI_CHOICE:
        parts = [Q(target.list_text.get_lookup("contains")(target.list_text, f'"{choice}"'))
                 for choice in value]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined | part if op == "has_any" else combined & part
        return combined
    if value_type == ValueType.BOOLEAN:
        if value:
            return target.q("exact", True)
        # A yes/no field never set reads as "no".
        return target.q("exact", False) | target.q("isnull", True)
    raise ValueError(f"No comparison {op!r} for {value_type!r}")


_TEXT_LOOKUPS: dict[str, tuple[str, bool]] = {
    "equals": ("iexact", False), "not_equals": ("iexact", True),
    "contains": ("icontains", False), "not_contains": ("icontains", True),
    "starts_with": ("istartswith", False),
}


def _text(target: Target, op: str, value: str) -> Q:
    lookup, negate = _TEXT_LOOKUPS[op]
    matches = target.q(lookup, value)
    # An empty value neither is nor contains the text.
    return ~matches | target.empty() if negate else matches


def _number(target: Target, op: str, value) -> Q:
    if op == "between":
        low, high = (decimal.Decimal(item) for item in value)
        return target.q("gte", low) & target.q("lte", high)
    lookup = {"eq": "exact", "lt": "lt", "gt": "gt"}[op]
    return target.q(lookup, decimal.Decimal(value))


def _date(target: Target, op: str, value, ctx: Context) -> Q:
    if op == "in_last_days":
        return _day_range(target, ctx, ctx.today - dt.timedelta(days=value), ctx.today)
    if op == "in_next_days":
        return _day_range(target, ctx, ctx.today, ctx.today + dt.timedelta(days=value))
    if op == "between":
        first, last = (dt.date.fromisoformat(item) for item in value)
        return _day_range(target, ctx, first, last)
    day = dt.date.fromisoformat(value)
    if op == "eq":
        return _day_range(target, ctx, day, day)
    if op == "lt":
        return target.q("lt", _bound(target, ctx, day))
    return target.q("gte", _bound(target, ctx, day + dt.timedelta(days=1)))


# Reading


def display_value(operator: Operator, value_type: ValueType, value,
                  choices: Callable | list | None = None) -> str:
    """The tree's value as words for a sentence: labels for choices, “quotes” for text."""
    if operator.shape == Shape.NONE:
        return ""
    if operator.shape == Shape.DAYS:
        return str(value)
    labels = dict(_choices_of(choices)) if value_type in (
        ValueType.CHOICE, ValueType.MULTI_CHOICE) else {}

    def one(item) -> str:
        if value_type == ValueType.TEXT:
            return f"“{item}”"
        if value_type == ValueType.BOOLEAN:
            return str(_("yes") if item else _("no"))
        return str(labels.get(str(item), item))

    if operator.shape == Shape.TWO:
        return str(_("%(low)s and %(high)s") % {"low": one(value[0]), "high": one(value[1])})
    if operator.shape == Shape.LIST:
        words = [one(item) for item in value]
        if len(words) == 1:
            return words[0]
        joiner = _("or") if operator.name in ("in", "not_in", "has_any") else _("and")
        return ", ".join(words[:-1]) + f" {joiner} " + words[-1]
    return one(value)
