"""What the rules API reads and writes."""

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from .models import Trigger

# Made from the choices, so a new trigger is listed here without a second edit.
TRIGGER_HELP = (f"{', '.join(Trigger.values[:-1])} or {Trigger.values[-1]}; "
                "docs/automation.md lists each one's settings.")


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str
    trigger: str = Field(description=TRIGGER_HELP)
    settings: dict[str, Any] = Field(default_factory=dict,
                                     description='The trigger\'s settings, such as '
                                                 '`{"entity": "contact"}`, or '
                                                 '`{"entity": "record:policy"}` for the '
                                                 'records of a custom record type.')
    conditions: dict[str, Any] = Field(default_factory=dict,
                                       description="A segment condition tree checked against "
                                                   "the record's contact.")
    actions: list[dict[str, Any]] = Field(description='In order, such as `[{"type": '
                                                      '"add_tag", "tag": "vip"}]`.')
    is_active: bool = False


class RulePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    trigger: str | None = None
    settings: dict[str, Any] | None = None
    conditions: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None
    is_active: bool | None = None
    version: int = Field(description="The version the change is based on.")


class RuleOut(Schema):
    id: int
    name: str
    trigger: str
    settings: dict[str, Any]
    conditions: dict[str, Any] = Field(description='A condition on a field hidden from the '
                                                   'reader\'s role reads `{"hidden": true}`.')
    actions: list[dict[str, Any]] = Field(description="An action on a field hidden from the "
                                                      "reader's role reads `{\"type\": ..., "
                                                      "\"hidden\": true}`.")
    is_active: bool
    starter: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class RulePage(Schema):
    items: list[RuleOut]
    next: str | None


class RuleListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")


class RunOut(Schema):
    id: int
    key: str = Field(description="What set the run off; unique per rule. A date run on a "
                                 "field hidden from the reader's role reads "
                                 "`date:<record>:hidden`.")
    event_id: int | None
    trigger_text: str = Field(description="What set the run off in words, a field hidden "
                                          "from the reader's role masked.")
    entity: str
    object_id: int
    depth: int = Field(description="1 for a person's change, one more for each rule "
                                   "before it in a chain.")
    status: str = Field(description="pending, running, waiting, done, skipped, stopped or "
                                    "failed.")
    log: list[dict[str, Any]] = Field(description="One entry per action: index, type, "
                                                  "status, detail, at.")
    created_at: dt.datetime
    finished_at: dt.datetime | None


class RunPage(Schema):
    items: list[RunOut]
    next: str | None


class DryRunIn(Schema):
    model_config = ConfigDict(extra="forbid")

    record_id: int = Field(description="The id of a record of the rule's kind.")


class ActionPreview(Schema):
    type: str
    label: str
    result: str = Field(description="What the action would do.")
    error: str = Field(description="Why it would fail, if it would.")


class DryRunOut(Schema):
    entity: str
    record: str
    matched: bool
    reason: str
    actions: list[ActionPreview]
