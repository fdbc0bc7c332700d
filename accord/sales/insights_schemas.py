"""What the forecast and pipeline report endpoints read and answer.

Money is a decimal string with the base currency beside it; ratios and
days are decimal strings too, so no float ever carries a figure.
"""

import datetime as dt
from typing import Literal

from ninja import Field, Schema


class ForecastParams(Schema):
    period: Literal["month", "quarter"] = Field("month", description="month or quarter.")
    date: dt.date | None = Field(
        None, description="A day in the period (YYYY-MM-DD); today in the organisation's "
                          "time zone when left out.")
    group_by: Literal["owner", "team", "pipeline"] = Field(
        "owner", description="owner, team (the owner's) or pipeline.")


class PeriodOut(Schema):
    kind: str
    starts_on: dt.date
    ends_on: dt.date


class UnconvertedOut(Schema):
    currency: str = Field(description="The deals' own currency, which has no rate.")
    count: int
    amount: str = Field(description="Their sum in their own currency.")


class FiguresOut(Schema):
    won: str
    commit: str
    best_case: str
    pipeline: str
    weighted: str
    quota: str | None
    attainment: str | None = Field(description="Won over quota; 1 is the whole quota.")
    not_converted: list[UnconvertedOut]


class ForecastGroupOut(FiguresOut):
    id: int | None = Field(description="The owner's user id, team id or pipeline id.")
    label: str


class ForecastOut(Schema):
    period: PeriodOut
    group_by: str
    currency: str
    groups: list[ForecastGroupOut]
    totals: FiguresOut


class ReportParams(Schema):
    date_from: dt.date | None = Field(None, description="First day (default 90 days ago).")
    date_to: dt.date | None = Field(None, description="Last day (default today).")


class StageStepOut(Schema):
    label: str
    stage_ids: list[int]
    reached: int = Field(description="Deals created in the range that reached this stage.")
    conversion_percent: str | None = Field(
        description="Share of them that reached the next stage, in percent.")
    average_days: str | None = Field(description="Average days spent in this stage.")


class OutcomeReasonOut(Schema):
    reason: str
    count: int


class PipelineReportOut(Schema):
    pipeline_id: int
    date_from: dt.date
    date_to: dt.date
    currency: str
    created: int
    stages: list[StageStepOut]
    won: int
    lost: int
    win_rate_percent: str | None
    average_won_amount: str | None
    cycle_average_days: str | None
    cycle_median_days: str | None
    won_reasons: list[OutcomeReasonOut]
    lost_reasons: list[OutcomeReasonOut]
    not_converted: list[UnconvertedOut]
