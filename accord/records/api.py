"""Record types under `/api/v1/record-types` and their records under `/api/v1/records/<key>`.

Fields hidden from the caller's role are left out of every answer and
refused on input as unknown keys, as for custom fields of contacts.
"""

from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord.errors import InvalidInput, StaleVersion
from accord.identity.api_auth import allow
from accord.identity.visibility import require_visible, visible
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import conflicts, queries, services
from .models import Record, RecordLink, RecordType
from .schemas import (
    ConflictCheckIn,
    ConflictCheckOut,
    RecordFilters,
    RecordIn,
    RecordOut,
    RecordPage,
    RecordPatch,
    RecordTypeIn,
    RecordTypeListParams,
    RecordTypeOut,
    RecordTypePage,
    RecordTypePatch,
)

record_types = Router(tags=["record types"])
records = Router(tags=["records"])

TYPE_ORDERINGS = {"position": "position", "key": "key", "plural": Lower("plural"),
                  "created_at": "created_at"}


def type_out(record_type: RecordType, viewer) -> dict:
    """A record type as the API shows it, without the fields hidden from the `viewer`."""
    fields = services.fields_of(record_type, viewer, active=False)
    return {
        "id": record_type.pk, "key": record_type.key, "singular": record_type.singular,
        "plural": record_type.plural, "description": record_type.description,
        "title_field": record_type.title_field, "position": record_type.position,
        "active": record_type.is_active, "confidential": record_type.is_confidential,
        "party_fields": record_type.party_fields, "created_at": record_type.created_at,
        "updated_at": record_type.updated_at, "version": record_type.version,
        "fields": [{
            "id": field.pk, "key": field.key, "label": field.label, "type": field.field_type,
            "required": field.required, "choices": field.choices, "currency": field.currency,
            "help_text": field.help_text, "hidden_from_roles": field.hidden_from_roles,
            "position": field.position, "active": field.is_active,
            "target": field.target.key if field.target_id else None, "many": field.many,
            "encrypted": field.encrypted,
        } for field in fields],
    }


def record_out(record: Record, fields: list) -> dict:
    """A record as the API shows it: the values of `fields` (those the caller may see)."""
    values = {field.key: record.values[field.key] for field in fields
              if not field.is_relation and field.key in record.values}
    values.update(services.link_values(record, fields))
    return {"id": record.pk, "type": record.record_type.key, "title": record.title,
            "owner_id": record.owner_id, "values": values,
            "shared_with": services.shared_with(record) if record.record_type.is_confidential
            else [], "created_at": record.created_at,
            "updated_at": record.updated_at, "version": record.version}


def _spec(payload, record_type: RecordType | None = None) -> dict:
    spec = payload.model_dump(exclude_unset=True, exclude={"version"})
    if record_type is not None:
        spec["key"] = record_type.key
    return spec


# Types


@record_types.get("", response=RecordTypePage, summary="List record types")
def list_types(request: HttpRequest, params: Query[RecordTypeListParams]):
    allow(request, "records.view")
    ordering = parse_ordering(params.ordering, TYPE_ORDERINGS, "position")
    items, next_cursor = paginate(RecordType.objects.all(), ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": [type_out(item, request.membership) for item in items],
            "next": next_cursor}


@record_types.post("", response={201: RecordTypeOut}, summary="Create a record type")
def create_type(request: HttpRequest, payload: RecordTypeIn):
    allow(request, "record_types.manage")
    if RecordType.objects.filter(key=payload.key.strip().lower()).exists():
        raise InvalidInput({"key": "Another record type uses this key already."})
    record_type = services.save_type(request.organization, request.user, _spec(payload))
    return Status(201, type_out(record_type, request.membership))


@record_types.get("/{type_key}", response=RecordTypeOut, summary="Read a record type")
def read_type(request: HttpRequest, type_key: str):
    allow(request, "records.view")
    record_type = services.get_type(type_key, active_only=False)
    return type_out(record_type, request.membership)


@record_types.patch("/{type_key}", response=RecordTypeOut,
                    summary="Change a record type, adding or changing fields by key")
def update_type(request: HttpRequest, type_key: str, payload: RecordTypePatch):
    allow(request, "record_types.manage")
    record_type = services.get_type(type_key, active_only=False)
    if payload.version != record_type.version:
        raise StaleVersion(current_version=record_type.version)
    record_type = services.save_type(request.organization, request.user,
                                     _spec(payload, record_type))
    return type_out(record_type, request.membership)


@record_types.delete("/{type_key}", response={204: None},
                     summary="Delete a record type (with its records, if asked)")
def delete_type(request: HttpRequest, type_key: str, delete_records: bool = False):
    allow(request, "record_types.manage")
    record_type = services.get_type(type_key, active_only=False)
    services.delete_type(request.organization, request.user, record_type,
                         delete_records=delete_records)
    return Status(204, None)


# Records


def _rows(record_type: RecordType):
    return (Record.objects.filter(record_type=record_type).select_related("record_type")
            .prefetch_related(Prefetch("links", RecordLink.objects.order_by("position", "id")),
                              "shares"))


@records.get("/{type_key}", response=RecordPage, summary="List the records of a type")
def list_records(request: HttpRequest, type_key: str, filters: Query[RecordFilters]):
    allow(request, "records.view")
    record_type = services.get_type(type_key)
    fields = services.fields_of(record_type, request.membership)
    ordering = queries.ordering_of(filters.ordering, fields)
    rows = queries.filter_records(visible(_rows(record_type), request.membership, "records"),
                                  request.GET, fields,
                                  fixed=set(RecordFilters.model_fields),
                                  viewer=request.membership)
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": [record_out(item, fields) for item in items], "next": next_cursor}


@records.post("/{type_key}", response={201: RecordOut}, summary="Create a record")
def create_record(request: HttpRequest, type_key: str, payload: RecordIn):
    allow(request, "records.add")
    record_type = services.get_type(type_key)
    data = {"values": payload.values, "conflict_checked": payload.conflict_checked}
    if "owner_id" in payload.model_fields_set:
        data["owner"] = payload.owner_id
    if payload.shared_with is not None:
        data["shared_with"] = payload.shared_with
    record = services.create_record(request.organization, request.user, record_type,
                                    data=data, viewer=request.membership)
    record = _rows(record_type).get(pk=record.pk)
    return Status(201, record_out(record, services.fields_of(record_type, request.membership)))


@records.post("/{type_key}/conflict-check", response=ConflictCheckOut,
              summary="Look for conflicts with the parties a new record would name")
def conflict_check(request: HttpRequest, type_key: str, payload: ConflictCheckIn):
    allow(request, "records.add")
    record_type = services.get_type(type_key)
    return conflicts.run(record_type, request.membership, values=payload.values,
                         names=payload.names)


@records.get("/{type_key}/{record_id}", response=RecordOut, summary="Read a record")
def read_record(request: HttpRequest, type_key: str, record_id: int):
    allow(request, "records.view")
    record_type = services.get_type(type_key)
    record = require_visible(request.membership, services.get_record(record_type, record_id),
                             "records")
    record = _rows(record_type).get(pk=record.pk)
    return record_out(record, services.fields_of(record_type, request.membership))


@records.patch("/{type_key}/{record_id}", response=RecordOut, summary="Change a record")
def update_record(request: HttpRequest, type_key: str, record_id: int, payload: RecordPatch):
    allow(request, "records.change")
    record_type = services.get_type(type_key)
    record = require_visible(request.membership, services.get_record(record_type, record_id),
                             "records")
    data = {"values": payload.values or {}}
    if "owner_id" in payload.model_fields_set:
        data["owner"] = payload.owner_id
    if payload.shared_with is not None:
        data["shared_with"] = payload.shared_with
    record = services.update_record(request.organization, request.user, record, data=data,
                                    expected_version=payload.version,
                                    viewer=request.membership)
    record = _rows(record_type).get(pk=record.pk)
    return record_out(record, services.fields_of(record_type, request.membership))


@records.delete("/{type_key}/{record_id}", response={204: None},
                summary="Move a record to the trash")
def delete_record(request: HttpRequest, type_key: str, record_id: int):
    allow(request, "records.delete")
    record_type = services.get_type(type_key)
    record = require_visible(request.membership, services.get_record(record_type, record_id),
                             "records")
    services.delete_record(request.organization, request.user, record)
    return Status(204, None)

