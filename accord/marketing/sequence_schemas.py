"""Ninja schemas of the sequence API."""

import datetime as dt

from ninja import Field, Schema

from .campaign_schemas import ListFilters
from .schemas import InputSchema

STEPS_HELP = ("Steps in order, each an object with `type` and its settings: `email` "
              "(`template`), `wait` (`amount`, `unit` hours or days), `wait_until` "
              "(`weekday`, `time` HH:MM, `zone` organization or contact), `task` (`subject`, "
              "`days`), `set_field` (`field`, `value`), `add_tag` (`tag`), `branch` "
              "(`condition` opened, clicked or segment; `step` or `segment`; `then` and "
              "`else`: next, exit or a later step's key). Keys (`s1`, ...) are given on save.")
EXIT_HELP = ("`reply` and `customer` (both true unless set false) and `goal_segment` (a "
             "segment id or null). Unsubscribing always ends the sequence for a contact.")


class SequenceFilters(ListFilters):
    status: str | None = Field(None, description="`draft`, `active` or `paused`.")


class SequenceOut(Schema):
    id: int
    name: str
    description: str
    status: str
    from_name: str
    from_email: str
    segment_id: int | None = Field(description="New members of this segment are enrolled "
                                   "while the sequence is active.")
    steps: list[dict] = Field(description=STEPS_HELP)
    exit: dict = Field(description=EXIT_HELP)
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class SequencePage(Schema):
    items: list[SequenceOut]
    next: str | None


class SequenceIn(InputSchema):
    name: str
    description: str = ""
    from_name: str = ""
    from_email: str
    segment_id: int | None = None
    steps: list[dict] = Field(description=STEPS_HELP)
    exit: dict = Field(default_factory=dict, description=EXIT_HELP)
    status: str = Field("draft", description="`draft`, `active` or `paused`.")


class SequencePatch(InputSchema):
    name: str | None = None
    description: str | None = None
    from_name: str | None = None
    from_email: str | None = None
    segment_id: int | None = None
    steps: list[dict] | None = None
    exit: dict | None = None
    status: str | None = None
    version: int = Field(description="The version you read; 409 when stale.")


class SequenceStepReport(Schema):
    key: str
    position: int
    type: str
    description: str
    waiting: int = Field(description="Enrolments whose next step this is.")
    sent: int
    opened: int
    clicked: int
    excluded: int = Field(description="E-mails not sent: no consent, no address, suppressed.")
    failed: int
    exited: int = Field(description="Contacts that left the sequence at this step.")


class EnrolmentFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    status: str | None = Field(None, description="`active`, `completed`, `exited` or "
                               "`removed`.")
    step: str | None = Field(None, description="Active enrolments waiting at this step key.")
    contact_id: int | None = None


class EnrolmentLogOut(Schema):
    at: dt.datetime
    step_key: str
    kind: str = Field(description="`enrolled`, `step_done`, `waited`, `branched`, `skipped`, "
                      "`failed`, `exited`, `completed` or `removed`.")
    text: str


class EnrolmentOut(Schema):
    id: int
    sequence_id: int
    contact_id: int
    status: str
    source: str
    step_key: str = Field(description="The step that runs next; empty once finished.")
    next_run_at: dt.datetime | None
    exit_reason: str
    enrolled_at: dt.datetime
    finished_at: dt.datetime | None


class EnrolmentDetailOut(EnrolmentOut):
    log: list[EnrolmentLogOut] = Field(description="Why the enrolment moved, oldest first.")

    @staticmethod
    def resolve_log(enrolment) -> list:
        return list(enrolment.log.all())


class EnrolmentPage(Schema):
    items: list[EnrolmentOut]
    next: str | None


class EnrolIn(InputSchema):
    contact_ids: list[int] = Field(default_factory=list, max_length=1000,
                                   description="Contacts to enrol, up to 1,000.")
    segment_id: int | None = Field(None, description="Enrol every current member of this "
                                   "segment as well.")


class EnrolResult(Schema):
    enrolled: int
    already: int = Field(description="In the sequence now, so not enrolled again.")
    not_found: int
