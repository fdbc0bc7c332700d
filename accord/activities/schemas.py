"""What the API reads and writes for timeline entries: notes, calls, meetings, e-mails, tasks.

Related records are named by id (`contact_id`, `company_id`, `assignee_id`);
`to_service_data` maps them to the keys `services.clean_activity` takes.
System events (`kind` "system") are read-only: they carry an `event` key and
its `data`.
"""

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from .models import USER_KINDS, CallOutcome, Direction, Kind

# The kinds a client may write; system events come only from services.
UserKind = Literal[tuple(kind.value for kind in USER_KINDS)]
SERVICE_KEYS = {"contact_id": "contact", "company_id": "company", "assignee_id": "assignee",
                "custom_record_id": "custom_record"}


def to_service_data(payload: Schema) -> dict:
    """The fields the client sent, keyed as the services expect them."""
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    return {SERVICE_KEYS.get(key, key): value for key, value in data.items()}


class ActivityOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    contact_id: int | None
    company_id: int | None
    custom_record_id: int | None = Field(description="A record of a custom record type.")
    occurred_at: dt.datetime
    author_id: int | None
    direction: str
    outcome: str
    duration_minutes: int | None
    due_at: dt.datetime | None
    assignee_id: int | None
    remind_at: dt.datetime | None
    done: bool = Field(description="Tasks only: whether it is done.")
    completed_at: dt.datetime | None
    event: str = Field(description="System events only: a stable key such as "
                                   "contact.created.")
    data: dict
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_done(obj) -> bool:
        return obj.completed_at is not None

    @staticmethod
    def resolve_data(obj, context) -> dict:
        data = obj.data or {}
        if obj.event != "record.conflict_checked":
            return data
        from accord.records.conflicts import kept_check_for

        viewer = getattr(context["request"], "membership", None)
        return kept_check_for(viewer, obj.custom_record, data)


class ActivityPage(Schema):
    items: list[ActivityOut]
    next: str | None


class ActivityIn(Schema):
    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    kind: UserKind = Field(None)
    subject: str | None = None
    body: str | None = None
    contact_id: int | None = None
    company_id: int | None = Field(None, description="The contact's company if left out.")
    custom_record_id: int | None = Field(None, description="A record of a custom record "
                                                           "type.")
    occurred_at: dt.datetime | None = Field(None, description="Now if left out.")
    direction: Direction | Literal[""] | None = None
    outcome: CallOutcome | Literal[""] | None = None
    duration_minutes: int | None = None
    due_at: dt.datetime | None = None
    assignee_id: int | None = Field(None, description="Tasks: the creator if left out.")
    remind_at: dt.datetime | None = None
    done: bool = Field(None, description="Tasks only.")


class ActivityPatch(ActivityIn):
    version: int = Field(description="The version the change is based on.")


class ActivityFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="occurred_at, due_at, created_at or "
                                                   "updated_at; `-` for descending.")
    q: str | None = Field(None, description="Words that must all occur in subject or body.")
    contact_id: int | None = None
    company_id: int | None = None
    custom_record_id: int | None = None
    kind: list[Kind] = Field(default_factory=list, description="Repeatable.")
    assignee_id: int | None = None
    author_id: int | None = None
    done: bool | None = Field(None, description="Tasks only: `false` for open tasks.")
    due_before: dt.datetime | None = None
    due_after: dt.datetime | None = None
    occurred_before: dt.datetime | None = None
    occurred_after: dt.datetime | None = None
