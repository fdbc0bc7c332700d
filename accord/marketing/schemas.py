"""Ninja schemas of the segment API."""

import datetime as dt

from ninja import Field, Schema


class InputSchema(Schema):
    model_config = {"extra": "forbid"}


class SegmentFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="`name`, `created_at` or `updated_at`, "
                                 "`-` in front for descending.")
    q: str | None = Field(None, description="Words in the segment's name.")
    kind: str | None = Field(None, description="`dynamic` or `frozen`.")


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    conditions: dict = Field(description="The condition tree.")
    summary: str = Field(description="The conditions in plain words.")
    member_count: int | None = Field(
        description="Contacts in the segment that the caller may see; given when one "
                    "segment is read, null in lists.")
    frozen_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class SegmentPage(Schema):
    items: list[SegmentOut]
    next: str | None


class SegmentIn(InputSchema):
    name: str
    description: str = ""
    kind: str = Field("dynamic", description="`dynamic` (evaluated when used) or `frozen` "
                      "(the members that match now are kept until refreshed).")
    conditions: dict = Field(description='A condition tree, such as {"all": [{"field": '
                             '"lifecycle_stage", "op": "in", "value": ["lead"]}]}.')


class SegmentPatch(InputSchema):
    name: str | None = None
    description: str | None = None
    kind: str | None = None
    conditions: dict | None = None
    version: int = Field(description="The version you read; 409 when stale.")


class SegmentPreviewIn(InputSchema):
    conditions: dict


class SegmentPreviewOut(Schema):
    count: int = Field(description="Matching contacts that the caller may see.")
    summary: str


class SegmentMemberFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = None
    ordering: str | None = Field(None, description="A contact list ordering, such as `name` "
                                 "or `-created_at`.")
    q: str | None = Field(None, description="Search words; each must match.")
