"""Keyset (cursor) pagination shared by every list, in the API and the UI.

A cursor is the sort key and id of the last row of a page, signed so that a
client cannot forge one that reaches outside its query. Pages never count
rows and never use OFFSET, so page 1,000 costs what page 1 costs.
"""

import base64
import datetime as dt
import decimal
import json
from dataclasses import dataclass

from django.core import signing
from django.db.models import F, Q, QuerySet

from accord import search
from accord.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_signer = signing.Signer(salt="accord.cursor")


@dataclass(frozen=True)
class Nullable:
    """Marks an allowed ordering whose value can be NULL (a custom field, say)."""

    expression: object


@dataclass(frozen=True)
class Ordering:
    """A public ordering name bound to an ORM expression (or field name)."""

    key: str
    expression: object
    descending: bool
    nullable: bool = False


def parse_ordering(value: str | None, allowed: dict[str, object], default: str) -> Ordering:
    """Read `name` or `-name`; InvalidInput naming `ordering` when the name is not allowed."""
    value = (value or default).strip()
    descending = value.startswith("-")
    key = value.lstrip("-")
    if key not in allowed:
        raise InvalidInput(
            {"ordering": "Sort by one of: " + ", ".join(sorted(allowed)) + " (prefix - for "
             "descending)."}
        )
    expression = allowed[key]
    nullable = isinstance(expression, Nullable)
    if nullable:
        expression = expression.expression
    return Ordering(key, F(expression) if isinstance(expression, str) else expression,
                    descending, nullable)


def refuse_unknown_parameters(params, filters) -> None:
    """InvalidInput naming each query parameter the list's `filters` schema does not
    declare, so that a mistyped or unsupported filter never widens what is listed."""
    unknown = sorted(set(params) - set(type(filters).model_fields))
    if unknown:
        raise InvalidInput(dict.fromkeys(unknown, "There is no filter with this name."))


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput({"limit": f"Ask for between 1 and {MAX_LIMIT} items."})
    return limit


def _encode(value):
    if isinstance(value, dt.datetime | dt.date):
        return {"t": "dt" if isinstance(value, dt.datetime) else "d", "v": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"t": "n", "v": str(value)}
    return {"t": "s", "v": value}


def _decode(item):
    kind, value = item["t"], item["v"]
    if kind == "dt":
        return dt.datetime.fromisoformat(value)
    if kind == "d":
        return dt.date.fromisoformat(value)
    if kind == "n":
        return decimal.Decimal(value)
    return value


def make_cursor(ordering: Ordering, row_key, row_id: int) -> str:
    payload = json.dumps([ordering.key, ordering.descending, _encode(row_key), row_id])
    signed = _signer.sign(payload)
    return base64.urlsafe_b64encode(signed.encode()).decode().rstrip("=")


def read_cursor(cursor: str, ordering: Ordering):
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = _signer.unsign(base64.urlsafe_b64decode(padded.encode()).decode())
        key, descending, row_key, row_id = json.loads(payload)
        if key != ordering.key or descending != ordering.descending:
            raise ValueError("cursor for another ordering")
        return _decode(row_key), int(row_id)
    except (ValueError, TypeError, KeyError, signing.BadSignature, UnicodeDecodeError):
        raise InvalidInput(
            {"cursor": "This cursor is not valid for this list; start again without it."}
        ) from None


def ordered(queryset: QuerySet, ordering: Ordering, cursor: str | None = None) -> QuerySet:
    """`queryset` in `ordering` (ties broken by id), starting after `cursor`."""
    queryset = queryset.annotate(_sort_key=ordering.expression)
    # Null placement is spelled out only where nulls can occur: databases
    # disagree on the default, but an explicit NULLS FIRST on PostgreSQL stops
    # it from reading the order straight out of the index.
    nulls = {"nulls_last": True} if ordering.descending else {"nulls_first": True}
    if not ordering.nullable:
        nulls = {}
    if ordering.descending:
        queryset = queryset.order_by(F("_sort_key").desc(**nulls), "-id")
    else:
        queryset = queryset.order_by(F("_sort_key").asc(**nulls), "id")
    if cursor:
        key, last_id = read_cursor(cursor, ordering)
        queryset = queryset.filter(_after(key, last_id, ordering.descending))
    return queryset


def paginate(queryset: QuerySet, ordering: Ordering, *, cursor: str | None,
             limit: int) -> tuple[list, str | None]:
    """One page of `queryset` in `ordering` after `cursor`, and the next page's cursor."""
    rows = search.first_rows(ordered(queryset, ordering, cursor), limit + 1,
                             ordering.expression, descending=ordering.descending)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = make_cursor(ordering, last._sort_key, last.pk)
    return rows, next_cursor


def _after(key, last_id: int, descending: bool) -> Q:
    """Rows after (key, last_id) in the page order.

    Written as a range on the sort key minus the rows already seen, rather
    than as "greater, or equal with a greater id", so that the database can
    seek into the (organization, sort key, id) index instead of scanning it.
    """
    if key is None:
        # Nulls sort first ascending and last descending.
        if descending:
            return Q(_sort_key__isnull=True, id__lt=last_id)
        return Q(_sort_key__isnull=False) | Q(_sort_key__isnull=True, id__gt=last_id)
    if descending:
        return (Q(_sort_key__lte=key) & ~Q(_sort_key=key, id__gte=last_id)) | Q(
            _sort_key__isnull=True
        )
    return Q(_sort_key__gte=key) & ~Q(_sort_key=key, id__lte=last_id)
