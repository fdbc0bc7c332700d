"""What the webhooks API reads and writes."""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict


class WebhookIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="An http(s) address that answers POST with a 2xx status.")
    events: list[str] = Field(description='Event types, such as `["contact.created"]`; '
                                          "`GET /webhooks/event-types` lists them.")
    secret: str | None = Field(None, description="16 to 128 characters used to sign "
                                                 "deliveries; generated when left out.")
    description: str = ""


class WebhookPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    events: list[str] | None = None
    description: str | None = None
    is_active: bool | None = Field(None, description="true also lifts a pause.")
    version: int = Field(description="The version the change is based on.")


class WebhookOut(Schema):
    id: int
    url: str
    events: list[str]
    description: str
    is_active: bool
    paused_at: dt.datetime | None = Field(description="Set when deliveries failed for a day.")
    pause_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown this once; every delivery is signed with it.")


class WebhookPage(Schema):
    items: list[WebhookOut]
    next: str | None


class AttemptOut(Schema):
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str
    response_excerpt: str


class DeliveryOut(Schema):
    id: int
    event_id: int
    type: str
    status: str = Field(description="pending, delivered or failed (given up after a day).")
    attempts: int
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    last_status_code: int | None
    last_error: str


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_attempt_log(delivery) -> list:
        return list(delivery.attempt_log.all())


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next: str | None


class EventType(Schema):
    type: str
    description: str


class WebhookListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
