"""Ninja schemas of the report API."""

import datetime as dt

from ninja import Field, Schema


class InputSchema(Schema):
    model_config = {"extra": "forbid"}


DEFINITION = (
    'What the report computes, such as {"entity": "deals", "group_by": ["stage", '
    '"created_at:month"], "measure": "sum:amount", "filters": {"status": ["open"], '
    '"owner": ["@me"], "closed_on": "this_month"}, "segment": 3, "chart": "bar"}. '
    "Entities: contacts, companies, deals, tickets, orders, activities. Sums of money "
    "are grouped by currency.")


class ReportFilters(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="`name` or `updated_at`, `-` in front "
                                 "for descending.")


class ReportOut(Schema):
    id: int
    name: str
    owner_id: int
    is_shared: bool
    definition: dict = Field(description=DEFINITION + " A shared report that names a field "
                             "hidden from the caller's role reads as `{\"entity\": ..., "
                             "\"hidden\": true}`.")
    frequency: str = Field(description="`daily`, `weekly`, `monthly` or empty (not sent).")
    recipients: list[int] = Field(description="User ids the scheduled e-mail goes to.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int

    @staticmethod
    def resolve_definition(obj, context) -> dict:
        from .services import readable_definition

        return readable_definition(obj, getattr(context["request"], "membership", None))


class ReportPage(Schema):
    items: list[ReportOut]
    next: str | None


class ReportIn(InputSchema):
    name: str
    definition: dict = Field(description=DEFINITION)
    is_shared: bool = False
    frequency: str = ""
    recipients: list[int] = []


class ReportPatch(InputSchema):
    name: str | None = None
    definition: dict | None = Field(None, description=DEFINITION)
    is_shared: bool | None = None
    frequency: str | None = None
    recipients: list[int] | None = None
    version: int = Field(description="The version the change is based on.")


class ResultRow(Schema):
    keys: list[str] = Field(description="The group values as drill-down filters take them: "
                            "ids, choice values, the first day of a date bucket, empty for none.")
    labels: list[str]
    currency: str = Field(description="The currency of a money measure, else empty.")
    value: str | None = Field(description="The measure as a decimal string.")


class ResultOut(Schema):
    columns: list[str]
    measure: str
    by_currency: bool
    rows: list[ResultRow]
    truncated: bool = Field(description="True when more than 500 groups matched.")
