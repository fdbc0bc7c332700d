"""What the relationships API reads and writes."""

import datetime as dt

from ninja import Field, Schema
from pydantic import ConfigDict


class RelationshipIn(Schema):
    model_config = ConfigDict(extra="forbid")

    related_id: int = Field(description="The other contact.")
    role: str = Field(description="What the other contact is to this one: a key from "
                                  "`GET /relationship-roles`, such as `spouse` or `guarantor`.")
    started_on: dt.date | None = None
    ended_on: dt.date | None = None
    note: str = ""


class RelationshipPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    version: int
    role: str | None = None
    started_on: dt.date | None = None
    ended_on: dt.date | None = None
    note: str | None = None


class RelationshipOut(Schema):
    id: int
    contact_id: int = Field(description="The contact the role is stated for.")
    related_id: int = Field(description="The contact who has the role.")
    role: str
    other_id: int = Field(description="The other person, seen from the contact in the path.")
    label: str = Field(description="What the other person is to the contact in the path: "
                                   "the role's label, or its inverse from the other side.")
    started_on: dt.date | None
    ended_on: dt.date | None
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class RelationshipPage(Schema):
    items: list[RelationshipOut]
    next: str | None = None


class RelationshipRoleOut(Schema):
    key: str
    label: str
    inverse_label: str
    builtin: bool


class RelationshipRolePage(Schema):
    items: list[RelationshipRoleOut]
    next: str | None = None
