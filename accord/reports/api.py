"""Saved reports under `/api/v1/reports`, and their results as JSON rows.

A report's result is computed for the caller: the records their role and
visibility let them see, custom fields hidden from their role refused.
"""

from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import engine, services
from .models import SavedReport
from .schemas import ReportFilters, ReportIn, ReportOut, ReportPage, ReportPatch, ResultOut

router = Router(tags=["reports"])

ORDERINGS = {"name": Lower("name"), "updated_at": "updated_at"}


def _data(payload) -> dict:
    return payload.model_dump(exclude_unset=True, exclude={"version"})


@router.get("", response=ReportPage, summary="List the reports you may open")
def list_reports(request: HttpRequest, filters: Query[ReportFilters]):
    allow(request, "reports.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "name")
    items, next_cursor = paginate(services.readable_reports(request.membership), ordering,
                                  cursor=filters.cursor, limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@router.post("", response={201: ReportOut}, summary="Save a report")
def create_report(request: HttpRequest, payload: ReportIn):
    allow(request, "reports.view")
    report = services.create_report(request.organization, request.user, request.membership,
                                    data=_data(payload))
    return Status(201, report)


@router.get("/{report_id}", response=ReportOut, summary="Read a report")
def read_report(request: HttpRequest, report_id: int):
    allow(request, "reports.view")
    return services.get_report(request.membership, report_id)


@router.patch("/{report_id}", response=ReportOut, summary="Change a report")
def update_report(request: HttpRequest, report_id: int, payload: ReportPatch):
    allow(request, "reports.view")
    report = services.get_report(request.membership, report_id)
    return services.update_report(request.organization, request.user, request.membership,
                                  report, data=_data(payload), expected_version=payload.version)


@router.delete("/{report_id}", response={204: None}, summary="Delete a report")
def delete_report(request: HttpRequest, report_id: int):
    allow(request, "reports.view")
    report = services.get_report(request.membership, report_id)
    services.delete_report(request.organization, request.user, request.membership, report)
    return Status(204, None)


@router.get("/{report_id}/result", response=ResultOut,
            summary="Compute a report for the caller")
def report_result(request: HttpRequest, report_id: int):
    allow(request, "reports.view")
    report: SavedReport = services.get_report(request.membership, report_id)
    result = engine.run(report.definition, request.membership)
    return {
        "columns": [grouping.label for grouping in result.groupings],
        "measure": result.measure_label,
        "by_currency": result.by_currency,
        "rows": [{"keys": list(row.keys), "labels": list(row.labels), "currency": row.currency,
                  "value": None if row.value is None else str(row.value)}
                 for row in result.rows],
        "truncated": result.truncated,
    }
