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
    encrypted: bool = Field(description="Values stored encrypted at rest; such a field "
                                        "cannot be filtered, sorted or reported on.")


class RecordTypeOut(Schema):
    id: int
    key: str
    singular: str
    plural: str
    description: str
    title_field: str
    position: int
    active: bool
    confidential: bool
    party_fields: list[str]
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
    confidential: bool | None = Field(
        None, description="Records are seen by their owner, the members they are shared "
                          "with and admins only.")
    party_fields: list[str] | None = Field(
        None, description="Keys of the text, contact or company fields that name parties; "
                          "a record is opened only after a conflict check on them.")
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
    confidential: bool | None = Field(
        None, description="Records are seen by their owner, the members they are shared "
                          "with and admins only.")
    party_fields: list[str] | None = Field(
        None, description="Keys of the text, contact or company fields that name parties; "
                          "a record is opened only after a conflict check on them.")
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
    shared_with: list[int] = Field(description="Members (user ids) a record of a "
                                               "confidential type is shared with.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class RecordPage(Schema):
    items: list[RecordOut]
    next: str | None


class RecordIn(RecordInputSchema):
    values: dict = Field(default_factory=dict)
    owner_id: int | None = None
    shared_with: list[int] | None = Field(None, description="For confidential types.")
    conflict_checked: bool = Field(
        False, description="For types with party fields: true once the conflict check was "
                           "run and shows no conflict. The check runs again on the saved "
                           "values and is kept on the record's timeline.")


class RecordPatch(RecordInputSchema):
    values: dict | None = None
    owner_id: int | None = None
    shared_with: list[int] | None = Field(
        None, description="The whole list; only the owner and admins may change it.")
    version: int = Field(description="The version the change is based on.")


class RecordFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(
        None, description="title, created_at, updated_at or cf.<key>; `-` in front for "
                          "descending.")
    q: str | None = Field(None, description="Search words; each must match.")
    owner_id: str | None = Field(None, description="Owner's user id; `none` for unowned.")


class ConflictCheckIn(RecordInputSchema):
    values: dict = Field(default_factory=dict, description="The record's values as for "
                                                           "creating it; party fields are read.")
    names: list[str] = Field(default_factory=list, description="More names to look for.")


class ConflictParty(Schema):
    field: str
    name: str
    domain: str


class ConflictHit(Schema):
    kind: str = Field(description="contact, company or record")
    id: int | None = Field(description="None for a row the caller may not see.")
    name: str = Field(description="Empty for a row the caller may not see.")
    url: str = Field(description="Empty for a row the caller may not see.")
    party: str = Field(description="The name looked for that this hit matches.")
    reason: str
    hidden: bool = Field(description="The caller may not see the contact, company or "
                                     "record: only its kind and the reason are given.")


class ConflictCheckOut(Schema):
    query: list[ConflictParty]
    hits: list[ConflictHit]
    truncated: bool
