"""What the API reads and writes for record types and their records.

Input schemas check shapes only; `services` decides what a value means, so
the API, the record pages and packs refuse the same things.
"""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict


class RecordInputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


class RecordFieldOut(Schema):
    id: int
    key: str
    label: str
    type: str
    required: bool
    choices: list[str]
    currency: str
    help_text: str
    hidden_from_roles: list[str]
    position: int
    active: bool
    target: str | None = Field(None, description="The linked record type's key.")
    many: bool


class RecordTypeOut(Schema):
    id: int
    key: str
    singular: str
    plural: str
    description: str
    title_field: str
    position: int
    active: bool
    fields: list[RecordFieldOut]
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class RecordTypePage(Schema):
    items: list[RecordTypeOut]
    next: str | None


class RecordTypeIn(RecordInputSchema):
    key: str
    singular: str
    plural: str
    description: str | None = None
    title_field: str | None = None
    position: int | None = None
    active: bool | None = None
    fields: list[dict] | None = Field(
        None, description="Field specs, matched by key: new keys are added, known ones "
                          "changed, and fields left out are kept (see docs/records.md).")


class RecordTypePatch(RecordInputSchema):
    singular: str | None = None
    plural: str | None = None
    description: str | None = None
    title_field: str | None = None
    position: int | None = None
    active: bool | None = None
    fields: list[dict] | None = None
    version: int = Field(description="The version the change is based on.")


class RecordTypeListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="position, key or created_at; `-` in "
                                                   "front for descending.")


class RecordOut(Schema):
    id: int
    type: str
    title: str
    owner_id: int | None
    values: dict = Field(description="Values by field key: plain values as for custom "
                                     "fields, links as an id or a list of ids.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class RecordPage(Schema):
    items: list[RecordOut]
    next: str | None


class RecordIn(RecordInputSchema):
    values: dict = Field(default_factory=dict)
    owner_id: int | None = None


class RecordPatch(RecordInputSchema):
    values: dict | None = None
    owner_id: int | None = None
    version: int = Field(description="The version the change is based on.")


class RecordFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(
        None, description="title, created_at, updated_at or cf.<key>; `-` in front for "
                          "descending.")
    q: str | None = Field(None, description="Search words; each must match.")
    owner_id: str | None = Field(None, description="Owner's user id; `none` for unowned.")
