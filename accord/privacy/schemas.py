"""What the privacy API reads and writes."""

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from .models import DataRequest


class DataRequestIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact: int = Field(description="The id of the contact the request is about.")
    kind: Literal["export", "erase", "anonymise"]


class DataRequestOut(Schema):
    id: int
    reference: str
    kind: str
    status: str = Field(description="queued, running, done or failed.")
    contact: int = Field(description="The contact's id; it names no one once erased.")
    requested_by: str | None
    counts: dict[str, int] = Field(description="Records exported or removed, by area.")
    error: str
    archive_url: str | None = Field(description="Where to fetch an export's archive once "
                                                "done; null before and after it expired.")
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    version: int

    @staticmethod
    def resolve_contact(request: DataRequest) -> int:
        return request.contact_id

    @staticmethod
    def resolve_requested_by(request: DataRequest) -> str | None:
        return request.requested_by.email if request.requested_by_id else None

    @staticmethod
    def resolve_archive_url(request: DataRequest) -> str | None:
        if not request.is_downloadable:
            return None
        return f"/api/v1/privacy/requests/{request.pk}/archive"


class DataRequestPage(Schema):
    items: list[DataRequestOut]
    next: str | None


class DataRequestListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    kind: Literal["export", "erase", "anonymise"] | None = None
    status: Literal["queued", "running", "done", "failed"] | None = None
    contact: int | None = Field(None, description="Requests about this contact id.")


class RetentionRuleListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    q: str | None = Field(None, description="Words of the rule's name.")
    entity: Literal["ticket_message", "lead", "activity", "contact",
                    "form_submission", "custom_record"] | None = None
    is_active: bool | None = None


class RetentionRuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    entity: Literal["ticket_message", "lead", "activity", "contact", "form_submission",
                    "custom_record"]
    condition: str | None = Field(None, description="Left out, the entity's only condition.")
    age_days: int
    action: Literal["delete", "anonymise"]
    is_active: bool = True
    record_type: str | None = Field(None, description="Custom records only: the type's key.")
    date_field: str | None = Field(None, description="Custom records under `date_passed` "
                                                     "only: the key of the date field the "
                                                     "age counts from.")


class RetentionRulePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    version: int
    name: str | None = None
    condition: str | None = None
    age_days: int | None = None
    action: Literal["delete", "anonymise"] | None = None
    is_active: bool | None = None
    date_field: str | None = None


class RetentionRuleOut(Schema):
    id: int
    name: str
    entity: str
    condition: str
    age_days: int
    action: str
    is_active: bool
    record_type: str | None
    date_field: str

    @staticmethod
    def resolve_record_type(rule) -> str | None:
        return rule.record_type.key if rule.record_type_id else None
    last_run_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class RetentionRulePage(Schema):
    items: list[RetentionRuleOut]
    next: str | None


class RetentionPreviewRow(Schema):
    id: int
    label: str
    url: str


class RetentionPreviewOut(Schema):
    count: int
    first: list[RetentionPreviewRow]


class RetentionRunOut(Schema):
    id: int
    trigger: str
    matched: int
    processed: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
