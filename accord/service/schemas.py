"""What the API reads and writes for tickets, their messages and queues.

Input schemas check shapes and types only and refuse unknown fields; what a
value means (a member who may work on tickets, an existing contact) is
decided by the services, so the API and the pages refuse the same things.
"""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict

from accord.customers.custom_fields import values_for_api

SERVICE_KEYS = {"contact_id": "contact", "assignee_id": "assignee", "queue_id": "queue",
                "team_id": "team"}


def to_service_data(payload: Schema, *, drop: tuple[str, ...] = ("version",)) -> dict:
    """The fields the client sent, keyed as the services expect them."""
    data = payload.model_dump(exclude_unset=True, exclude=set(drop))
    return {SERVICE_KEYS.get(key, key): value for key, value in data.items()}


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class ServiceListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = None
    ordering: str | None = None


class TicketFilters(ServiceListParams):
    q: str | None = Field(None, description="Search subject, number and customer.")
    status: str | None = Field(None, description="One status, or several separated by commas; "
                               "`unresolved` for new, open, pending and on hold.")
    priority: str | None = None
    channel: str | None = None
    queue_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool | None = Field(None, description="Only tickets nobody is assigned to.")
    contact_id: int | None = None
    company_id: int | None = None
    tag: str | None = None
    breached: bool | None = Field(None, description="Only tickets past an SLA target.")


class TicketOut(Schema):
    id: int
    number: int
    subject: str
    status: str
    priority: str
    channel: str
    contact_id: int | None
    company_id: int | None
    queue_id: int | None
    assignee_id: int | None
    tags: list[str]
    custom_fields: dict
    first_response_at: dt.datetime | None
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    solved_at: dt.datetime | None
    closed_at: dt.datetime | None
    sla_policy_id: int | None
    sla_breached: bool
    last_message_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_custom_fields(obj, context) -> dict:
        return values_for_api("ticket", obj, context)


class TicketPage(Schema):
    items: list[TicketOut]
    next: str | None


class TicketIn(InputSchema):
    subject: str
    body: str = Field("", description="The customer's request, the first message of the thread.")
    status: str | None = None
    priority: str | None = None
    channel: str | None = Field(None, description="Defaults to `api`.")
    contact_id: int | None = None
    queue_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict | None = None


class TicketPatch(InputSchema):
    subject: str | None = None
    status: str | None = None
    priority: str | None = None
    channel: str | None = None
    contact_id: int | None = None
    queue_id: int | None = None
    assignee_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict | None = None
    version: int = Field(description="The version the change is based on.")


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool


class MessageOut(Schema):
    id: int
    kind: str
    body: str
    body_html: str
    author_id: int | None
    contact_id: int | None
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    subject: str
    message_id: str
    sent_at: dt.datetime | None
    attachments: list[AttachmentOut]
    created_at: dt.datetime


class MessagePage(Schema):
    items: list[MessageOut]
    next: str | None


class MessageIn(InputSchema):
    kind: str = Field("reply", description="`reply` (mailed to the customer), `note` "
                      "(internal) or `inbound` (the customer's words, recorded by an agent).")
    body: str
    status: str | None = Field(None, description="For a reply: the status the ticket moves "
                               "to (open, pending, on_hold, solved).")
    cc: list[str] | None = None


class QueueOut(Schema):
    id: int
    name: str
    email_address: str
    team_id: int | None
    is_active: bool
    is_default: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class QueuePage(Schema):
    items: list[QueueOut]
    next: str | None


class QueueIn(InputSchema):
    name: str
    email_address: str = ""
    team_id: int | None = None
    is_active: bool = True
    is_default: bool = False


class QueuePatch(InputSchema):
    name: str | None = None
    email_address: str | None = None
    team_id: int | None = None
    is_active: bool | None = None
    is_default: bool | None = None
    version: int = Field(description="The version the change is based on.")


class BulkIn(InputSchema):
    ids: list[int]
    action: str = Field(description="assign, status, priority, queue or tag.")
    value: str | int | None = None


class BulkOut(Schema):
    changed: int
