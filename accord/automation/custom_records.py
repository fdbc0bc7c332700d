"""Rules about custom records: the entity `record:<type key>`, its fields, dates and contact.

A rule names a record type by key, never by id, so that a pack can bring
the type and its rules together. A rule outlives the type's switch: when
the type is deactivated or deleted, its rules stay and their runs are
skipped with the reason in the run log.
"""

import re

from django.utils.translation import gettext as _

from accord.customers import custom_fields
from accord.customers.models import FieldType
from accord.records.models import Record, RecordField, RecordLink, RecordType, RelationType

PREFIX = "record:"
# `record:<type key>.<field key>`, as a date rule names the date it counts from.
DATE_NAME = re.compile(r"^record:([a-z][a-z0-9_]{0,49})\.([a-z][a-z0-9_]{0,49})$")
# A money value typed as text: "1250.00 EUR" or "EUR 1250.00".
MONEY_TEXT = re.compile(r"^\s*(?:([A-Za-z]{3})\s+)?([-\d.]+)(?:\s+([A-Za-z]{3}))?\s*$")


def type_key(entity: str) -> str:
    """The type key a `record:<key>` entity names; empty for any other entity."""
    entity = str(entity or "")
    return entity.removeprefix(PREFIX) if entity.startswith(PREFIX) else ""


def is_record(entity: str) -> bool:
    return bool(type_key(entity))


def entity_of(record_type: RecordType) -> str:
    return f"{PREFIX}{record_type.key}"


def active_type(entity: str) -> RecordType | None:
    """The active record type the entity names; None when it names none, or an inactive one."""
    key = type_key(entity)
    return RecordType.objects.filter(key=key, is_active=True).first() if key else None


def why_not_running(entity: str) -> str:
    """Why rules about `entity` cannot run now (its type deactivated or deleted); empty
    when they can."""
    key = type_key(entity)
    record_type = RecordType.objects.filter(key=key).first()
    if record_type is None:
        return _("The record type “%(key)s” no longer exists.") % {"key": key}
    if not record_type.is_active:
        return _("The record type “%(name)s” is deactivated.") % {"name": record_type.singular}
    return ""


def entity_choices() -> list[tuple[str, str]]:
    """(entity, label) of each active record type, in navigation order."""
    return [(entity_of(record_type), record_type.singular)
            for record_type in RecordType.objects.filter(is_active=True)
            .order_by("position", "plural", "id")]


def fields(record_type: RecordType, *, plain: bool = False) -> list[RecordField]:
    """The type's active fields in form order; with `plain`, without links."""
    found = record_type.fields.filter(is_active=True).order_by("position", "id")
    if plain:
        found = found.exclude(field_type__in=RelationType.values)
    return list(found)


def change_fields(entity: str) -> list[str]:
    """What a `field_changed` rule about records of the type can wait for: `owner`, or a
    field's key."""
    record_type = active_type(entity)
    return ["owner", *(field.key for field in fields(record_type))] if record_type else []


def settable_fields(entity: str, viewer=None) -> list[str]:
    """The keys `set_field` takes for records of the type: its active plain fields, less
    those hidden from the `viewer`'s role (a Membership; None for the organisation)."""
    record_type = active_type(entity)
    if record_type is None:
        return []
    return [field.key for field in fields(record_type, plain=True)
            if custom_fields.may_see(viewer, field)]


def date_field(name: str) -> tuple[str, str]:
    """(entity, field key) of a `record:<type>.<field>` date name; ("", "") otherwise."""
    found = DATE_NAME.match(str(name or ""))
    return (f"{PREFIX}{found[1]}", found[2]) if found else ("", "")


def is_known_date(name: str, viewer=None) -> bool:
    """Whether `name` is an active date field of an active record type that is not
    encrypted (its sealed values match no date) nor hidden from the `viewer`'s role."""
    entity, key = date_field(name)
    field = entity and RecordField.objects.filter(
        record_type__key=type_key(entity), record_type__is_active=True, key=key,
        field_type=FieldType.DATE, is_active=True, encrypted=False).first()
    return bool(field) and custom_fields.may_see(viewer, field)


def date_choices(viewer=None) -> list[tuple[str, str]]:
    """(date name, label) of every active date field of the active types, encrypted ones
    and those hidden from the `viewer`'s role left out."""
    found = (RecordField.objects.filter(record_type__is_active=True, field_type=FieldType.DATE,
                                        is_active=True, encrypted=False)
             .select_related("record_type")
             .order_by("record_type__position", "record_type__plural", "position", "id"))
    return [(f"{PREFIX}{field.record_type.key}.{field.key}",
             f"{field.record_type.singular}: {field.label}") for field in found
            if custom_fields.may_see(viewer, field)]


def load(entity: str, object_id, *, trashed: bool = False) -> Record | None:
    """The live record of the entity's active type, or None; with `trashed`, a record in
    the trash too. Inside the tenant scope."""
    key = type_key(entity)
    if not key:
        return None
    manager = Record.with_deleted if trashed else Record.objects
    return (manager.select_related("record_type", "owner")
            .filter(pk=object_id, record_type__key=key, record_type__is_active=True).first())


def contact_of(record: Record):
    """The contact a rule checks its conditions against, and whose actions need one: the
    first contact the record's contact-link fields point to, by the fields' order on the
    form and then the order of the links; None when they point to none."""
    link = (RecordLink.objects
            .filter(record=record, field__field_type=RelationType.CONTACT,
                    field__is_active=True, contact__isnull=False,
                    contact__deleted_at__isnull=True, contact__merged_into__isnull=True)
            .select_related("contact").order_by("field__position", "field_id", "position", "id")
            .first())
    return link.contact if link else None


def merge_values(record: Record) -> dict:
    """The record's merge fields: `record.title`, `record.type`, and each plain field by
    key as text. Fields hidden from any role stay out, as whoever reads a task's subject
    or a notification may be one of those roles; encrypted fields too, as what a rule
    writes with them is stored in plain text."""
    values = {"title": str(record), "type": record.record_type.singular}
    for field in fields(record.record_type, plain=True):
        value = record.values.get(field.key)
        if field.hidden_from_roles or field.encrypted or value in (None, ""):
            continue
        if isinstance(value, dict):
            value = f"{value.get('amount', '')} {value.get('currency', '')}".strip()
        elif isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        values[field.key] = str(value)
    return {"record": values}


def field_input(record_type: RecordType, key: str, value: str) -> dict:
    """The update `records.services.update_record` takes for setting a field to the text
    a rule stores; money may be written "1250.00 EUR"."""
    field = record_type.fields.filter(key=key).first()
    if field is not None and field.field_type == FieldType.MONEY:
        found = MONEY_TEXT.match(value)
        if found and not (found[1] and found[3]):
            currency = (found[1] or found[3] or field.currency or "").upper()
            return {"values": {key: {"amount": found[2], "currency": currency}}}
    return {"values": {key: value}}
