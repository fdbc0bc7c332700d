"""Creating and changing many records in one API call, with a result each.

Each area names its kind of record (`Kind`): the schemas, services and the
lookup a single call uses. Each record goes through the same schema,
permission, visibility and service as a single call, in a savepoint of its
own: one bad record is reported and the others are still written.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pydantic
from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Schema

from accord.customers.custom_fields import refuse_hidden
from accord.errors import DomainError, InvalidInput
from accord.identity.permissions import require as allow_membership
from accord.identity.visibility import require_visible

MAX_ITEMS = 1000


class RecordsBulkIn(Schema):
    # Any JSON value is taken here, so that an item that is not an object is
    # reported on its own instead of refusing the whole call.
    items: list[Any] = Field(description="Up to 1,000 records, each an object. One without "
                                         "`id` is created; one with `id` and `version` is "
                                         "changed.")


class RecordBulkResult(Schema):
    index: int = Field(description="The record's place in `items`, from 0.")
    status: int = Field(description="201 created, 200 changed, or the error's status.")
    id: int | None = None
    version: int | None = None
    detail: str = ""
    errors: list[dict] = Field(default_factory=list)


class RecordsBulkOut(Schema):
    created: int
    changed: int
    failed: int
    items: list[RecordBulkResult]


@dataclass(frozen=True)
class Kind:
    """One kind of record written in bulk.

    `create(org, user, data=...)` and `update(org, user, record, data=...,
    expected_version=...)` are the area's services; `find(request, id)` is
    the lookup its single calls use, which answers NotFound for a record the
    member may not see; `to_data(payload)` turns a validated payload into the
    service's data. Custom fields, where the kind has them, are checked against
    the fields hidden from the member's role. A kind whose services check the
    records an entry points to (`takes_viewer`) is handed the member as `viewer`.
    """

    entity: str
    new: type
    patch: type
    create: Callable
    update: Callable
    find: Callable
    add_permission: str
    change_permission: str
    to_data: Callable
    takes_viewer: bool = False


def owned(get: Callable, area: str) -> Callable:
    """A `find` for records with an owner: `get(id)`, NotFound when the member's role does
    not see it in `area`."""

    def find(request, record_id):
        return require_visible(request.membership, get(record_id), area)

    return find


def _viewer(request, kind: Kind) -> dict:
    return {"viewer": request.membership} if kind.takes_viewer else {}


def _write_one(request, kind: Kind, index: int, item) -> dict:
    if item.get("id") is None:
        payload = kind.new.model_validate({key: value for key, value in item.items()
                                           if key != "id"})
        refuse_hidden(kind.entity, request.membership, getattr(payload, "custom_fields", None))
        record = kind.create(request.organization, request.user, data=kind.to_data(payload),
                             **_viewer(request, kind))
        status = 201
    else:
        if not isinstance(item["id"], int) or isinstance(item["id"], bool):
            raise InvalidInput({"id": "Give the record's id as a whole number."})
        payload = kind.patch.model_validate({key: value for key, value in item.items()
                                             if key != "id"})
        record = kind.find(request, item["id"])
        refuse_hidden(kind.entity, request.membership, getattr(payload, "custom_fields", None))
        kind.update(request.organization, request.user, record,
                    data=kind.to_data(payload), expected_version=payload.version,
                    **_viewer(request, kind))
        status = 200
    record.refresh_from_db(fields=["version"])
    return {"index": index, "status": status, "id": record.pk, "version": record.version}


def run_bulk(request: HttpRequest, kind: Kind, items: list) -> dict:
    """Write each record in a savepoint of its own and say what became of it."""
    if not items:
        raise InvalidInput({"items": "Send at least one record."})
    if len(items) > MAX_ITEMS:
        raise InvalidInput({"items": f"Send at most {MAX_ITEMS} records at once."})
    objects = [item for item in items if isinstance(item, dict)]
    if any(item.get("id") is None for item in objects):
        allow_membership(request.membership, kind.add_permission)
    if any(item.get("id") is not None for item in objects):
        allow_membership(request.membership, kind.change_permission)

    results = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            results.append({"index": index, "status": 422, "detail": "Some fields are not valid.",
                            "errors": [{"field": "item", "code": "invalid",
                                        "message": "Give the record as an object."}]})
            continue
        try:
            with transaction.atomic():
                results.append(_write_one(request, kind, index, item))
        except pydantic.ValidationError as exc:
            from accord.api import field_errors

            results.append({"index": index, "status": 422, "detail": "Some fields are not valid.",
                            "errors": field_errors(exc.errors(), whole="item")})
        except InvalidInput as exc:
            results.append({"index": index, "status": 422, "detail": str(exc.detail),
                            "errors": exc.errors})
        except DomainError as exc:
            results.append({"index": index, "status": exc.status, "detail": str(exc.detail)})
    return {
        "created": sum(1 for result in results if result["status"] == 201),
        "changed": sum(1 for result in results if result["status"] == 200),
        "failed": sum(1 for result in results if result["status"] >= 400),
        "items": results,
    }
