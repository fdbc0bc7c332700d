"""Exports of custom records: one entity per record type, named "record:<type key>".

Record types differ per organisation, so their entities are made when an
export asks for one rather than kept in REGISTRY. Each visible field is a
column, written the way the import reads it back: money as "1250.00 EUR",
several choices or links separated by "; ", a linked contact by e-mail, a
company by name, a deal by name and a record by its title. A linked row the
member may not see is written by its id alone: "#17" in a cell, `{"id": 17,
"name": null}` in a document, as the record's list writes its links.
"""

import decimal

from django.db.models import Exists, F, OuterRef, Prefetch
from django.utils.translation import gettext as _

from accord.customers.models import Company, Contact, FieldType
from accord.identity.visibility import visible
from accord.pagination import Ordering
from accord.records import services as records
from accord.records.models import Record, RecordLink, RecordType, RelationType
from accord.sales.models import Deal

from ..writers import iso_utc
from .entities import REGISTRY, Column, EntitySpec, _owner_email

PREFIX = "record:"
# What a link points to: its column, the model and the visibility area.
LINKED = [("contact", Contact, "contacts"), ("company", Company, "companies"),
          ("deal", Deal, "deals"), ("target", Record, "records")]


class RecordEntitySpec(EntitySpec):
    """An EntitySpec whose fields are the record type's, less those hidden from the viewer."""

    def viewed_document(self, record, viewer) -> dict:
        document = self.document(record)
        hidden = records.hidden_keys(self.extra["record_type"], viewer)
        document["values"] = {key: value for key, value in document["values"].items()
                              if key not in hidden}
        return document


def spec_for(key: str) -> EntitySpec | None:
    """The export entity `key` names: a built-in one, or "record:<key>" for an active record
    type of the organisation in scope; None when it names neither."""
    if not str(key).startswith(PREFIX):
        return REGISTRY.get(key)
    record_type = RecordType.objects.filter(is_active=True,
                                            key=str(key).removeprefix(PREFIX)).first()
    if record_type is None:
        return None
    return RecordEntitySpec(
        key=f"{PREFIX}{record_type.key}", label=str(record_type.plural), model=Record,
        document=_document, rows=_rows, columns=lambda viewer: _columns(record_type, viewer),
        extra={"record_type": record_type},
    )


def _rows(spec: EntitySpec, params, viewer):
    record_type = spec.extra["record_type"]
    links = RecordLink.objects.select_related("contact", "company", "deal", "target").order_by(
        "position", "id")
    if viewer is not None:
        # Whether the member sees what each link points to, read with the links.
        links = links.annotate(**{
            f"seen_{column}": Exists(visible(model._base_manager.filter(
                pk=OuterRef(f"{column}_id")), viewer, area))
            for column, model, area in LINKED})
    # Export jobs need a role that sees every record, but records of a
    # confidential type are still only those the member owns or shares. An
    # export made by code for the organisation (no viewer) has them all.
    rows = Record.objects.filter(record_type=record_type)
    if viewer is not None:
        rows = visible(rows, viewer, "records")
    rows = (rows.select_related("owner", "record_type")
            .prefetch_related(Prefetch("links", links, to_attr="export_links")))
    return rows, Ordering("id", F("id"), False)


def _linked(record, field) -> list:
    """(row, whether it is written by its id alone) for each live row the field links to."""
    return [(link.linked, _hidden(link)) for link in record.export_links
            if link.field_id == field.pk and link.linked is not None
            and getattr(link.linked, "deleted_at", None) is None]


def _hidden(link) -> bool:
    """Whether the member the export is for may not see what the link points to; an
    export without a member (code acting for the organisation) sees everything."""
    if not hasattr(link, "seen_contact"):
        return False
    return not any(getattr(link, f"seen_{column}") for column, _model, _area in LINKED)


def _link_name(field, linked) -> str:
    if field.field_type == RelationType.CONTACT:
        return linked.email or str(linked)
    if field.field_type == RelationType.RECORD:
        return linked.title
    return linked.name


def _cell(field, record):
    if field.is_relation:
        return "; ".join(f"#{linked.pk}" if hidden else _link_name(field, linked)
                         for linked, hidden in _linked(record, field))
    value = record.values.get(field.key)
    if value in (None, "", []):
        return ""
    if field.field_type == FieldType.MONEY:
        return f"{value['amount']} {value['currency']}"
    if field.field_type == FieldType.NUMBER:
        return decimal.Decimal(value)
    if field.field_type == FieldType.MULTI_CHOICE:
        return "; ".join(value)
    return value


def _columns(record_type: RecordType, viewer) -> list[Column]:
    # The import reads "ID" as the id in another system, so a file exported
    # and imported again updates the records it made the first time.
    columns = [Column(_("ID"), lambda record: str(record.pk))]
    for field in records.fields_of(record_type, viewer):
        columns.append(Column(field.label, lambda record, field=field: _cell(field, record)))
    columns += [Column(_("Owner"), _owner_email),
                Column(_("Created"), lambda record: iso_utc(record.created_at)),
                Column(_("Updated"), lambda record: iso_utc(record.updated_at))]
    return columns


def _document(record: Record) -> dict:
    fields = records.fields_of(record.record_type)
    values = dict(record.values)
    for field in fields:
        if field.is_relation:
            linked = [{"id": item.pk, "name": None if hidden else _link_name(field, item)}
                      for item, hidden in _linked(record, field)]
            values[field.key] = linked if field.many else next(iter(linked), None)
    return {
        "id": record.pk, "type": record.record_type.key, "title": record.title,
        "owner": record.owner.email if record.owner_id else None,
        "owner_id": record.owner_id, "values": values,
        "created_at": iso_utc(record.created_at), "updated_at": iso_utc(record.updated_at),
        "version": record.version,
    }



