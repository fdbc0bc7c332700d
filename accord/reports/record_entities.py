"""Custom record types as report entities, named `record:<type key>`.

A record's typed values sit in one JSON column (`Record.values`), so each
field becomes an expression over it: choice and text values are read as
text, booleans compared as JSON, numbers and money amounts cast to decimals,
dates and datetimes cast to dates and timestamps. Links are `RecordLink` rows;
each link field joins them through its own filtered relation, so a record
that links to several contacts counts once for each of them.

Fields hidden from the viewer's role are left out, so they can be neither
offered nor computed for that role. Encrypted fields are left out for
everyone: their values are sealed in the column, so SQL can neither group
nor add them up, and naming one answers as for a field that is not there.
"""

from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    DecimalField,
    FilteredRelation,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models import DateField as DateColumn
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils.translation import gettext_lazy as _

from accord.customers.models import FieldType
from accord.identity.models import Membership
from accord.identity.permissions import has_permission
from accord.identity.visibility import visible
from accord.records.models import Record, RecordLink, RecordType
from accord.records.services import RELATION_MODELS, active_types, fields_of

from .entities import CHOICE, FLAG, OWNER, RECORD, TEXT, USER, DateField, Dimension, Entity, Number

PREFIX = "record:"
# The visibility area of what a link field points to, by its attribute on RecordLink.
AREAS = {"contact": "contacts", "company": "companies", "deal": "deals", "target": "records"}
PERMISSION = "records.view"


def record_entity_labels(viewer: Membership) -> list[tuple[str, str]]:
    """The active record types as (entity key, plural label), for a member who may see
    custom records; none otherwise."""
    if not has_permission(viewer, PERMISSION):
        return []
    return [(f"{PREFIX}{record_type.key}", record_type.plural)
            for record_type in active_types()]


def record_entity(key: str, viewer: Membership) -> Entity | None:
    """The entity of the active record type `key` (without the prefix) as `viewer` may
    report on it; None when there is no such active type. Call inside the tenant scope."""
    record_type = RecordType.objects.filter(key=key, is_active=True).first()
    if record_type is None:
        return None
    fields = fields_of(record_type, viewer)
    link_ids = {f"link_{field.key}": field.pk for field in fields if field.is_relation}

    def records(rows: QuerySet, membership: Membership) -> QuerySet:
        # The same rule as the type's list: records of the type the member may see.
        rows = visible(rows.filter(record_type=record_type), membership, "records")
        # A query takes over the filtered relations it is given, so each gets new ones.
        return rows.alias(**{name: FilteredRelation("links", condition=Q(links__field_id=pk))
                             for name, pk in link_ids.items()})

    entity = Entity(f"{PREFIX}{record_type.key}", record_type.plural, Record, PERMISSION,
                    records, [Dimension("owner", OWNER, "owner_id", USER)],
                    dates=[DateField("created_at", _("Created"))])
    for field in fields:
        if not field.encrypted:
            _add_field(entity, field, lambda: records(Record.objects.all(), viewer), viewer)
    return entity


def _add_field(entity: Entity, field, seen, viewer: Membership) -> None:
    """Add what `field` offers to `entity`: a grouping, a measure or a date."""
    key, path = f"cf_{field.key}", f"values__{field.key}"
    kind = field.field_type
    if kind == FieldType.CHOICE:
        entity.dimensions.append(Dimension(key, field.label, _text(path), CHOICE,
                                           tuple((choice, choice) for choice in field.choices)))
    elif kind == FieldType.TEXT:
        entity.dimensions.append(Dimension(key, field.label, _text(path), TEXT))
    elif kind == FieldType.BOOLEAN:
        entity.dimensions.append(Dimension(key, field.label, Case(
            When(Q(**{path: True}), then=Value(True)),
            When(Q(**{path: False}), then=Value(False)),
            default=Value(None), output_field=BooleanField()), FLAG))
    elif kind == FieldType.NUMBER:
        entity.numbers.append(Number(key, field.label, _decimal(KT(path))))
    elif kind == FieldType.MONEY:
        currency = _text(f"{path}__currency")
        if field.currency:
            # Every value is in the field's currency; records without one still
            # show under it, with no figure.
            currency = Coalesce(currency, Value(field.currency), output_field=TextField())
        entity.numbers.append(Number(key, field.label, _decimal(KT(f"{path}__amount")),
                                     currency))
    elif kind == FieldType.DATE:
        entity.dates.append(DateField(key, field.label, is_datetime=False, expression=Cast(
            NullIf(KT(path), Value("")), DateColumn())))
    elif kind == FieldType.DATETIME:
        entity.dates.append(DateField(key, field.label, expression=Cast(
            NullIf(KT(path), Value("")), DateTimeField())))
    elif field.is_relation:
        _model, attribute, _message = RELATION_MODELS[kind]
        entity.dimensions.append(Dimension(
            key, field.label, f"link_{field.key}__{attribute}_id", RECORD,
            records=lambda: _linked(field, seen(), viewer)))


def _text(path: str):
    # Cast to plain text, so that comparisons are between texts, not JSON values.
    return Cast(KT(path), TextField())


def _decimal(expression):
    return Cast(expression, DecimalField(max_digits=24, decimal_places=6))


def _linked(field, seen: QuerySet, viewer: Membership) -> list[tuple[int, str]]:
    """What the field links to from the records the viewer sees, as (id, name) by name.

    Only what the viewer may see itself is named; a report shows the others by id.
    """
    model, attribute, _message = RELATION_MODELS[field.field_type]
    ids = RecordLink.objects.filter(field=field, record__in=seen.values("pk")).values(
        f"{attribute}_id")
    linked = visible(model.objects.filter(pk__in=ids), viewer, AREAS[attribute])
    if model is Record:
        linked = linked.select_related("record_type")
    return sorted(((item.pk, str(item)) for item in linked),
                  key=lambda pair: (pair[1].lower(), pair[0]))
