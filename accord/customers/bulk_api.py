"""Creating and changing many records in one API call, with a result each: contacts and
companies here, deals through the same machinery in the sales API.

Each record goes through the same schema, permission, visibility and service
as a single call, in a savepoint of its own: one bad record is reported and
the others are still written.
"""

from dataclasses import dataclass

import pydantic
from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Schema

from accord.errors import DomainError, InvalidInput
from accord.identity.permissions import require as allow_membership
from accord.identity.visibility import require_visible

from . import services
from .custom_fields import refuse_hidden
from .schemas import CompanyIn, CompanyPatch, ContactIn, ContactPatch, to_service_data

MAX_ITEMS = 1000


class RecordsBulkIn(Schema):
    items: list[dict] = Field(description="Up to 1,000 records. One without `id` is created; "
                                          "one with `id` and `version` is changed.")


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
    entity: str
    area: str
    new: type
    patch: type
    create: object
    update: object
    get: object
    # Turns a validated payload into the service's data; each area keys it its own way.
    to_data: object = to_service_data


CONTACTS = Kind("contact", "contacts", ContactIn, ContactPatch, services.create_contact,
                services.update_contact, services.get_contact)
COMPANIES = Kind("company", "companies", CompanyIn, CompanyPatch, services.create_company,
                 services.update_company, services.get_company)


def _write_one(request, kind: Kind, index: int, item) -> dict:
    if item.get("id") is None:
        payload = kind.new.model_validate({key: value for key, value in item.items()
                                           if key != "id"})
        refuse_hidden(kind.entity, request.membership, payload.custom_fields)
        record = kind.create(request.organization, request.user,
                             data=kind.to_data(payload))
        status = 201
    else:
        if not isinstance(item["id"], int) or isinstance(item["id"], bool):
            raise InvalidInput({"id": "Give the record's id as a whole number."})
        payload = kind.patch.model_validate({key: value for key, value in item.items()
                                             if key != "id"})
        record = require_visible(request.membership, kind.get(item["id"]), kind.area)
        refuse_hidden(kind.entity, request.membership, payload.custom_fields)
        kind.update(request.organization, request.user, record,
                    data=kind.to_data(payload), expected_version=payload.version)
        status = 200
    record.refresh_from_db(fields=["version"])
    return {"index": index, "status": status, "id": record.pk, "version": record.version}


def run_bulk(request: HttpRequest, kind: Kind, items: list) -> dict:
    """Write each record in a savepoint of its own and say what became of it."""
    if not items:
        raise InvalidInput({"items": "Send at least one record."})
    if len(items) > MAX_ITEMS:
        raise InvalidInput({"items": f"Send at most {MAX_ITEMS} records at once."})
    if any(item.get("id") is None for item in items):
        allow_membership(request.membership, f"{kind.area}.add")
    if any(item.get("id") is not None for item in items):
        allow_membership(request.membership, f"{kind.area}.change")

    results = []
    for index, item in enumerate(items):
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
