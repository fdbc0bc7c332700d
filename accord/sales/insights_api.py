"""`/api/v1/forecasts` and `/api/v1/sales-reports`: the forecast and pipeline reports."""

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router

from accord.errors import InvalidInput
from accord.identity.api_auth import allow

from . import services
from .forecast import Figures, build_forecast, period_containing, today_for
from .insights_schemas import ForecastOut, ForecastParams, PipelineReportOut, ReportParams
from .reports import build_pipeline_report

forecasts = Router(tags=["forecast"])
sales_reports = Router(tags=["sales reports"])

REPORT_DAYS = 90  # the same default range as the report page
MAX_REPORT_DAYS = 3660


def _text(value) -> str | None:
    return None if value is None else str(value)


def _figures(figures: Figures, currency: str) -> dict:
    shown = figures.rounded(currency)
    return {
        "won": str(shown.won), "commit": str(shown.commit), "best_case": str(shown.best_case),
        "pipeline": str(shown.pipeline), "weighted": str(shown.weighted),
        "quota": _text(shown.quota), "attainment": _text(shown.attainment),
        "not_converted": [{"currency": item.currency, "count": item.count,
                           "amount": str(item.amount)}
                          for item in figures.not_converted.values()],
    }


@forecasts.get("", response=ForecastOut, summary="The forecast of a month or quarter")
def read_forecast(request: HttpRequest, params: Query[ForecastParams]):
    allow(request, "forecast.view")
    day = params.date or today_for(request.organization)
    if not dt.date(1900, 1, 1) <= day <= dt.date(9998, 12, 31):
        raise InvalidInput({"date": "Choose a date from 1900 to 9998."})
    period = period_containing(params.period, day)
    result = build_forecast(request.membership, period=period, group_by=params.group_by)
    return {
        "period": {"kind": period.kind, "starts_on": period.starts_on,
                   "ends_on": period.ends_on},
        "group_by": result.group_by, "currency": result.currency,
        "groups": [{"id": group.key, "label": str(group.label),
                    **_figures(group.figures, result.currency)} for group in result.groups],
        "totals": _figures(result.totals, result.currency),
    }


@sales_reports.get("/pipelines/{pipeline_id}", response=PipelineReportOut,
                   summary="How a pipeline performs over a date range")
def read_pipeline_report(request: HttpRequest, pipeline_id: int, params: Query[ReportParams]):
    allow(request, "pipelines.view")
    pipeline = services.get_pipeline(pipeline_id)
    date_to = params.date_to or today_for(request.organization)
    date_from = params.date_from or date_to - dt.timedelta(days=REPORT_DAYS)
    if date_to < date_from:
        raise InvalidInput({"date_to": "End on or after date_from."})
    if (date_to - date_from).days > MAX_REPORT_DAYS:
        raise InvalidInput({"date_to": "Choose a range of at most ten years."})

    report = build_pipeline_report(request.membership, pipeline, date_from=date_from,
                                   date_to=date_to)
    return {
        "pipeline_id": pipeline.pk, "date_from": date_from, "date_to": date_to,
        "currency": report.currency, "created": report.created,
        "stages": [{"label": step.label, "stage_ids": list(step.stage_ids),
                    "reached": step.reached, "conversion_percent": _text(step.conversion),
                    "average_days": _text(step.average_days)} for step in report.steps],
        "won": report.won, "lost": report.lost,
        "win_rate_percent": _text(report.win_rate),
        "average_won_amount": _text(report.average_won),
        "cycle_average_days": _text(report.cycle_average_days),
        "cycle_median_days": _text(report.cycle_median_days),
        "won_reasons": [{"reason": item.text, "count": item.count}
                        for item in report.won_reasons],
        "lost_reasons": [{"reason": item.text, "count": item.count}
                         for item in report.lost_reasons],
        "not_converted": [{"currency": item.currency, "count": item.count,
                           "amount": str(item.amount)}
                          for item in report.not_converted.values()],
    }
