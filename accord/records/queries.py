"""How record lists are filtered and sorted, the same in the API, the list page and CSV.

Parameters: `q` (search words), `owner_id` (a user id, or `none`), and per
field `cf.<key>`: equals (contains for multiple choice; the linked id for a
relation), with `cf.<key>.gte` / `cf.<key>.lte` on numbers, money and dates.
Fields hidden from the member answer as fields that do not exist.
"""

from collections.abc import Mapping

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Lower

from accord import search
from accord.customers.models import FieldType
from accord.customers.queries import (
    custom_field_orderings,
    filter_by_fields,
    refuse_encrypted_ordering,
)
from accord.errors import InvalidInput
from accord.pagination import Ordering, parse_ordering

from .models import RecordLink
from .services import RELATION_MODELS, _pk

BUILT_IN_ORDERINGS = {"title": Lower("title"), "created_at": "created_at",
                      "updated_at": "updated_at"}


def orderings(fields: list) -> dict:
    """The orderings a list of records of these fields offers."""
    plain = [field for field in fields if not field.is_relation]
    return BUILT_IN_ORDERINGS | custom_field_orderings("record", plain, column="values")


def ordering_of(value: str | None, fields: list) -> Ordering:
    """The order `value` names among the fields' orderings (by title when empty);
    InvalidInput names the field when it is encrypted, as sealed values have no order."""
    refuse_encrypted(value, fields)
    return parse_ordering(value, orderings(fields), "title")


def refuse_encrypted(value: str | None, fields: list) -> None:
    """InvalidInput naming the field when `value` (an `ordering`) sorts by an encrypted one."""
    refuse_encrypted_ordering(value, None, fields=fields)


def filter_records(queryset: QuerySet, params: Mapping, fields: list, *, fixed: set,
                   viewer=None) -> QuerySet:
    """`queryset` narrowed as `params` say; InvalidInput names an unknown or bad parameter."""
    unknown = sorted(name for name in params
                     if name not in fixed and not str(name).startswith("cf."))
    if unknown:
        raise InvalidInput(dict.fromkeys(unknown, "There is no filter with this name."))
    query = (params.get("q") or "").strip()
    if query:
        queryset = search.search(queryset, query)
    owner = (params.get("owner_id") or "").strip()
    if owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif owner:
        if _pk(owner) is None:
            raise InvalidInput({"owner_id": "Give a user id, or none."})
        queryset = queryset.filter(owner_id=_pk(owner))
    relations = {field.key: field for field in fields if field.is_relation}
    plain_params = {}
    for name in params:
        if not str(name).startswith("cf."):
            continue
        field = relations.get(name[3:])
        if field is None:
            plain_params[name] = params.getlist(name) if hasattr(params, "getlist") \
                else params[name]
            continue
        _model, attribute, _message = RELATION_MODELS[field.field_type]
        for value in (params.getlist(name) if hasattr(params, "getlist") else [params[name]]):
            if _pk(value) is None:
                raise InvalidInput({name: "Give the id of a linked record."})
            queryset = queryset.filter(Exists(RecordLink.objects.filter(
                record=OuterRef("pk"), field=field, **{f"{attribute}_id": _pk(value)})))
    plain = [field for field in fields if not field.is_relation]
    return filter_by_fields(queryset, _Params(plain_params), plain, column="values")


class _Params(dict):
    """Parameters as filter_by_fields reads them, each with its list of values."""

    def getlist(self, name):
        value = self[name]
        return value if isinstance(value, list) else [value]


def choice_filters(fields: list) -> list:
    """The fields a list page offers a drop-down filter for."""
    return [field for field in fields
            if field.field_type in (FieldType.CHOICE, FieldType.MULTI_CHOICE,
                                    FieldType.BOOLEAN)]
