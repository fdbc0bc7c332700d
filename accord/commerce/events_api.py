"""Behaviour events under `/api/v1/events`: batches in, a contact's events out."""

import datetime as dt
from typing import Any

from django.db.models import F
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from accord.identity.api_auth import allow
from accord.identity.visibility import through_contact
from accord.pagination import Ordering, clamp_limit, paginate

from . import behaviour
from .models import BehaviourEvent

router = Router(tags=["events"])

NEWEST_FIRST = Ordering("occurred_at", F("occurred_at"), descending=True)


class EventBatch(Schema):
    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(description="1 to 1,000 events: `{id, type, email or "
                                          "contact_id, occurred_at, properties}`.")


class EventError(Schema):
    index: int = Field(description="Position of the event in the batch, from 0.")
    field: str
    message: str


class BatchResult(Schema):
    accepted: int = Field(description="Events stored now.")
    duplicates: int = Field(description="Events whose id was already stored (or repeated "
                                        "in the batch); not stored again.")
    rejected: int = Field(description="Events left out for the reasons in `errors`.")
    contacts_created: int = Field(description="New contacts for e-mail addresses no "
                                              "contact had.")
    errors: list[EventError]


class EventOut(Schema):
    id: str = Field(description="The sender's id of the event.")
    type: str
    contact_id: int
    occurred_at: dt.datetime
    properties: dict
    received_at: dt.datetime

    @staticmethod
    def resolve_id(event: BehaviourEvent) -> str:
        return event.external_id


class EventPage(Schema):
    items: list[EventOut]
    next: str | None


class EventFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = None
    contact_id: int | None = None
    type: str | None = None
    occurred_after: dt.datetime | None = None
    occurred_before: dt.datetime | None = None


@router.post("", response=BatchResult, summary="Send behaviour events",
             description="Idempotent by event `id`: an id already stored is counted in "
                         "`duplicates` and not stored twice. Events with bad fields are left "
                         "out and listed in `errors` by their index; the others are stored.")
def send_events(request: HttpRequest, payload: EventBatch):
    allow(request, "events.send")
    result = behaviour.ingest_events(request.organization, request.user, payload.events)
    return {"accepted": result.accepted, "duplicates": result.duplicates,
            "rejected": result.rejected, "contacts_created": result.contacts_created,
            "errors": result.errors}


@router.get("", response=EventPage, summary="List behaviour events", description="Newest "
            "first; filter by contact, type and time.")
def list_events(request: HttpRequest, filters: Query[EventFilters]):
    allow(request, "contacts.view")
    events = through_contact(BehaviourEvent.objects.all(), request.membership)
    if filters.contact_id is not None:
        events = events.filter(contact_id=filters.contact_id)
    if filters.type:
        events = events.filter(type=filters.type)
    if filters.occurred_after:
        events = events.filter(occurred_at__gte=filters.occurred_after)
    if filters.occurred_before:
        events = events.filter(occurred_at__lt=filters.occurred_before)
    items, next_cursor = paginate(events, NEWEST_FIRST, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}
