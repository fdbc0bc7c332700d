"""Filtering and sorting of contact and company lists, shared by the UI and the API.

Both read the same query parameters, so a saved view's query string, a link
from the UI and an API call mean the same thing:

- `q`: search words (accord.search), which a contact also matches in its
  company when the viewer sees that company; `tag`: a tag name (repeatable);
- built-in filters listed in CONTACT_FILTERS / COMPANY_FILTERS (repeatable
  ones match any of the given values);
- `cf.<key>` (equals; contains for multi-choice), and for number, money,
  date and datetime fields `cf.<key>.gte` / `cf.<key>.lte`;
- `import_id` (repeatable): the records an import created or updated, from its
  ledger, when the viewer may open that import.

Bad values raise InvalidInput naming the parameter.
"""

import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.db.models import (
    DecimalField,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Lower
from django.utils.dateparse import parse_date, parse_datetime

from accord.errors import InvalidInput
from accord.identity.visibility import narrows, visible
from accord.pagination import Nullable
from accord.search import search, search_through

from .models import (
    Company,
    CompanySize,
    CompanyTag,
    ContactTag,
    CustomField,
    Entity,
    FieldType,
    LifecycleStage,
)


@dataclass(frozen=True)
class Filter:
    param: str
    lookup: str
    parse: Callable[[str], object]
    many: bool = False


def _int(value: str) -> int:
    return int(value)


def _text(value: str) -> str:
    return value.strip()


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ValueError(value)


def _moment(value: str) -> dt.datetime | dt.date:
    value = value.strip()
    parsed = parse_datetime(value)
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed
    parsed_date = parse_date(value)
    if parsed_date is None:
        raise ValueError(value)
    return dt.datetime.combine(parsed_date, dt.time.min, tzinfo=dt.UTC)


def _choice(choices) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices.values:
            raise ValueError(value)
        return value
    return parse


COMMON_FILTERS = [
    Filter("owner_id", "owner_id__in", _int, many=True),
    Filter("country", "country__in", lambda v: v.strip().upper(), many=True),
    Filter("source", "source__iexact", _text),
    Filter("city", "city__iexact", _text),
    Filter("created_after", "created_at__gte", _moment),
    Filter("created_before", "created_at__lt", _moment),
    Filter("updated_after", "updated_at__gte", _moment),
    Filter("updated_before", "updated_at__lt", _moment),
]
CONTACT_FILTERS = COMMON_FILTERS + [
    Filter("lifecycle_stage", "lifecycle_stage__in", _choice(LifecycleStage), many=True),
    Filter("company_id", "company_id__in", _int, many=True),
    Filter("email", "email__iexact", _text),
    Filter("first_name", "first_name__iexact", _text),
    Filter("last_name", "last_name__iexact", _text),
    Filter("do_not_contact", "do_not_contact", _bool),
]
COMPANY_FILTERS = COMMON_FILTERS + [
    Filter("industry", "industry__iexact", _text),
    Filter("size", "size__in", _choice(CompanySize), many=True),
    Filter("domain", "domain__iexact", lambda v: v.strip().lower()),
    Filter("parent_id", "parent_id", _int),
]

CONTACT_ORDERINGS: dict[str, object] = {
    "name": Lower(F("last_name")),
    "first_name": Lower(F("first_name")),
    "last_name": Lower(F("last_name")),
    "email": "email",
    "lifecycle_stage": "lifecycle_stage",
    "company": Lower(Coalesce(F("company__name"), Value(""))),
    "owner": Coalesce(F("owner__full_name"), Value("")),
    "city": "city",
    "country": "country",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def contact_orderings(viewer=None) -> dict[str, object]:
    """The contact orderings for a `viewer` (a Membership; None for the whole organisation).

    Sorting by company places a contact whose company the viewer does not see as if it
    had none, so a row's place says nothing of a hidden name.
    """
    if viewer is None or not narrows(viewer, "companies"):
        return CONTACT_ORDERINGS
    names = visible(Company.objects.filter(pk=OuterRef("company_id")), viewer,
                    "companies").values("name")[:1]
    return CONTACT_ORDERINGS | {"company": Lower(Coalesce(Subquery(names), Value("")))}


COMPANY_ORDERINGS: dict[str, object] = {
    "name": Lower(F("name")),
    "domain": "domain",
    "industry": "industry",
    "employees": Coalesce(F("employees"), Value(-1)),
    "annual_revenue": Coalesce(F("annual_revenue"), Value(decimal.Decimal("-1"))),
    "owner": Coalesce(F("owner__full_name"), Value("")),
    "city": "city",
    "country": "country",
    "created_at": "created_at",
    "updated_at": "updated_at",
}



def company_orderings(viewer=None) -> dict[str, object]:
    """The company orderings; the same for every viewer."""
    return COMPANY_ORDERINGS


NUMERIC_TYPES = {FieldType.NUMBER, FieldType.MONEY}
RANGE_TYPES = NUMERIC_TYPES | {FieldType.DATE, FieldType.DATETIME}


def _values(params: Mapping, name: str) -> list[str]:
    if hasattr(params, "getlist"):
        values = params.getlist(name)
    else:
        value = params.get(name)
        values = value if isinstance(value, list) else [value]
    return [str(v) for v in values if v not in (None, "")]


def _custom_expression(field: CustomField, column: str = "custom_fields"):
    """The comparable SQL expression for a custom field's stored value in `column`."""
    if field.field_type == FieldType.MONEY:
        text = KeyTextTransform("amount", KeyTextTransform(field.key, column))
    else:
        text = KeyTextTransform(field.key, column)
    if field.field_type in NUMERIC_TYPES:
        return Cast(text, DecimalField(max_digits=30, decimal_places=6))
    # A plain text cast, so comparisons are text comparisons rather than JSON ones;
    # ISO dates and datetimes in UTC sort correctly as text.
    return Cast(text, TextField())


def _custom_value(field: CustomField, raw: str, param: str):
    from .custom_fields import clean_value

    try:
        value = clean_value(field, raw)
    except ValueError as exc:
        raise InvalidInput({param: str(exc)}) from None
    if field.field_type == FieldType.MONEY:
        return decimal.Decimal(value["amount"])
    if field.field_type == FieldType.NUMBER:
        return decimal.Decimal(value)
    return value


def custom_field_orderings(entity: str, fields: list[CustomField] | None = None, *,
                           viewer=None, column: str = "custom_fields") -> dict:
    """Orderings by the active custom fields the `viewer` (a Membership) may see; given
    `fields`, by those, whose values sit in the JSON `column`."""
    from .custom_fields import active_fields

    fields = fields if fields is not None else active_fields(entity, viewer)
    return {
        f"cf.{field.key}": Nullable(_custom_expression(field, column))
        for field in fields
        if field.field_type != FieldType.MULTI_CHOICE and not getattr(field, "encrypted", False)
    }


def refuse_encrypted_ordering(value: str | None, entity: str | None, viewer=None, *,
                              fields: list | None = None) -> None:
    """InvalidInput naming the field when `value` (an `ordering`) sorts by an encrypted
    custom field of `entity` the `viewer` may see (or one of `fields`, when given);
    stored sealed, its values have no order."""
    from .custom_fields import active_fields

    key = (value or "").strip().lstrip("-")
    if not key.startswith("cf."):
        return
    for field in fields if fields is not None else active_fields(entity, viewer):
        if getattr(field, "encrypted", False) and key == f"cf.{field.key}":
            raise InvalidInput({"ordering": encrypted_message(field, "sorted")})


def encrypted_message(field, verb: str) -> str:
    """Why records cannot be `verb` (sorted, filtered, grouped) by an encrypted field."""
    return (f"{field.label} is stored encrypted, so records cannot be {verb} by it. "
            "An admin can turn off its encryption in the field settings.")


def _apply_custom(queryset: QuerySet, params: Mapping, entity: str, viewer) -> QuerySet:
    from .custom_fields import active_fields

    if not any(str(name).startswith("cf.") for name in params):
        return queryset
    # A field hidden from the viewer answers as a field that does not exist.
    return filter_by_fields(queryset, params, active_fields(entity, viewer))


def filter_by_fields(queryset: QuerySet, params: Mapping, fields: list,
                     column: str = "custom_fields") -> QuerySet:
    """`queryset` narrowed by the `cf.<key>` parameters of `params` over typed `fields`
    (custom field definitions, or any with the same attributes) stored in `column`."""
    names = [name for name in params if str(name).startswith("cf.")]
    fields = {field.key: field for field in fields}
    for name in names:
        key, _, operator = name[3:].partition(".")
        field = fields.get(key)
        if field is None:
            raise InvalidInput({name: "There is no custom field with this key."})
        if getattr(field, "encrypted", False):
            raise InvalidInput({name: encrypted_message(field, "filtered")})
        if operator not in ("", "gte", "lte") or (operator and field.field_type
                                                   not in RANGE_TYPES):
            raise InvalidInput({name: "This filter is not available for this field."})
        for raw in _values(params, name):
            value = _custom_value(field, raw, name)
            expression = _custom_expression(field, column)
            if field.field_type == FieldType.MULTI_CHOICE:
                for choice in value:
                    queryset = queryset.annotate(**{f"_cf_{key}": expression}).filter(
                        **{f"_cf_{key}__contains": f'"{choice}"'}
                    )
                continue
            if field.field_type == FieldType.BOOLEAN:
                # Compared as JSON, so true/false mean the same on SQLite and PostgreSQL.
                expression = KeyTransform(field.key, column)
            lookup = {"": "exact", "gte": "gte", "lte": "lte"}[operator]
            queryset = queryset.annotate(**{f"_cf_{key}": expression}).filter(
                **{f"_cf_{key}__{lookup}": value}
            )
    return queryset


def _apply(queryset: QuerySet, params: Mapping, filters: list[Filter]) -> QuerySet:
    for spec in filters:
        values = _values(params, spec.param)
        if not values:
            continue
        try:
            parsed = [spec.parse(value) for value in values]
        except (ValueError, TypeError):
            raise InvalidInput({spec.param: "This filter value is not valid."}) from None
        queryset = queryset.filter(**{spec.lookup: parsed if spec.many else parsed[0]})
    return queryset


def _apply_tags(queryset: QuerySet, params: Mapping, link_model, link_field: str) -> QuerySet:
    for name in _values(params, "tag"):
        queryset = queryset.filter(Exists(link_model.objects.filter(
            **{link_field: OuterRef("pk")}, tag__name__iexact=name.strip()
        )))
    return queryset


def _unowned(queryset: QuerySet, params: Mapping) -> tuple[QuerySet, Mapping]:
    """`owner_id=none` asks for records without an owner."""
    if _values(params, "owner_id") != ["none"]:
        return queryset, params
    rest = {name: _values(params, name) for name in params if name != "owner_id"}
    return queryset.filter(owner__isnull=True), rest


IMPORT_PARAM = "import_id"
LARGEST_ID = 2**63 - 1  # ids are 64-bit; a larger number could never match


def _import_id(value: str) -> int:
    number = int(value)
    if not 0 < number <= LARGEST_ID:
        raise ValueError(value)
    return number


def import_ids(params: Mapping) -> list[int]:
    """The import ids of the `import_id` filter; InvalidInput naming it for a bad one."""
    try:
        return [_import_id(value) for value in _values(params, IMPORT_PARAM)]
    except ValueError:
        raise InvalidInput({IMPORT_PARAM: "This filter value is not valid."}) from None


def _apply_import(queryset: QuerySet, params: Mapping, entity: str, viewer) -> QuerySet:
    """Keep the records the named imports created or updated. The ledger is read by a
    subquery, so a list narrowed to an import of any size costs one query."""
    from accord.integrations.services import ledger_records

    ids = import_ids(params)
    if not ids:
        return queryset
    return queryset.filter(pk__in=ledger_records(viewer, ids, entity))


# Parameters of a list that say how to show it, not which records it holds.
LIST_CONTROLS = ("cursor", "view", "columns", "ordering", "limit")


def check_parameter_names(params: Mapping, entity: str) -> None:
    """Raise InvalidInput naming each parameter that is neither a filter of this entity's
    list nor one of its controls, so a mistyped filter never widens what is selected."""
    filters = CONTACT_FILTERS if entity == Entity.CONTACT else COMPANY_FILTERS
    known = {spec.param for spec in filters} | {"q", "tag", IMPORT_PARAM, *LIST_CONTROLS}
    unknown = sorted(name for name in params
                     if name not in known and not str(name).startswith("cf."))
    if unknown:
        raise InvalidInput(dict.fromkeys(unknown, "There is no filter with this name."))


def search_with_company(queryset: QuerySet, query: str, viewer) -> QuerySet:
    """`queryset` (contacts or deals) narrowed to the records in which every word of
    `query` begins a word of the record or of its company, a company counting only when
    the `viewer` (a Membership; None for code acting for the organisation) sees it.

    A record's search entry holds no company name, so a company hidden from the viewer
    finds nothing, and a renamed company is found by its new name at once.
    """
    return search_through(queryset, query, "company",
                          visible(Company.objects.all(), viewer, "companies"))


def linked_company_seen(queryset: QuerySet, params: Mapping, param: str, viewer) -> QuerySet:
    """Given a filter on a linked company (`company_id`, `parent_id`), keep only rows
    whose company the `viewer` sees: filtering by a hidden company's id would otherwise
    tell which records share it."""
    if viewer is None or not _values(params, param) or not narrows(viewer, "companies"):
        return queryset
    field = param.removesuffix("_id")
    return queryset.filter(**{f"{field}__in": visible(Company.objects.all(), viewer,
                                                       "companies").values("pk")})


def filter_contacts(queryset: QuerySet, params: Mapping, *, viewer=None) -> QuerySet:
    """Narrow a contact queryset by the list parameters described in the module docstring.

    Custom field filters are limited to the fields the `viewer` may see, `import_id` to
    the imports the viewer may open, and `q` matches only the companies the viewer sees
    (`search_with_company`); without a viewer, all.
    """
    queryset, params = _unowned(queryset, params)
    queryset = _apply(queryset, params, CONTACT_FILTERS)
    queryset = linked_company_seen(queryset, params, "company_id", viewer)
    queryset = _apply_tags(queryset, params, ContactTag, "contact")
    queryset = _apply_custom(queryset, params, Entity.CONTACT, viewer)
    queryset = _apply_import(queryset, params, Entity.CONTACT, viewer)
    query = " ".join(_values(params, "q"))
    return search_with_company(queryset, query, viewer) if query else queryset


def filter_companies(queryset: QuerySet, params: Mapping, *, viewer=None) -> QuerySet:
    queryset, params = _unowned(queryset, params)
    queryset = _apply(queryset, params, COMPANY_FILTERS)
    queryset = linked_company_seen(queryset, params, "parent_id", viewer)
    queryset = _apply_tags(queryset, params, CompanyTag, "company")
    queryset = _apply_custom(queryset, params, Entity.COMPANY, viewer)
    queryset = _apply_import(queryset, params, Entity.COMPANY, viewer)
    query = " ".join(_values(params, "q"))
    return search(queryset, query) if query else queryset
