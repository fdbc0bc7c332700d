"""Timeline entries under `/api/v1/activities`: list, log, read, change and delete."""

import datetime as dt

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord import bulk
from accord.bulk import RecordsBulkIn, RecordsBulkOut
from accord.identity.api_auth import allow
from accord.identity.visibility import through_records
from accord.pagination import Nullable, clamp_limit, paginate, parse_ordering

from . import services
from .models import Activity, Kind
from .schemas import (
    ActivityFilters,
    ActivityIn,
    ActivityOut,
    ActivityPage,
    ActivityPatch,
    to_service_data,
)

router = Router(tags=["activities"])
# Entries written in bulk go through the same schemas, checks and services as one by one.
ACTIVITIES = bulk.Kind(
    "activity", ActivityIn, ActivityPatch, services.log_activity, services.update_activity,
    lambda request, pk: services.get_activity(pk, request.membership),
    "activities.add", "activities.change", to_service_data, takes_viewer=True)

ORDERINGS = {"occurred_at": "occurred_at", "due_at": Nullable("due_at"),
             "created_at": "created_at", "updated_at": "updated_at"}
FILTERS = {
    "contact_id": "contact_id", "company_id": "company_id", "assignee_id": "assignee_id",
    "custom_record_id": "custom_record_id",
    "author_id": "author_id", "due_before": "due_at__lt", "due_after": "due_at__gte",
    "occurred_before": "occurred_at__lt", "occurred_after": "occurred_at__gte",
}


def _utc(value):
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def filter_activities(queryset, filters: ActivityFilters):
    for param, lookup in FILTERS.items():
        value = getattr(filters, param)
        if value is not None:
            queryset = queryset.filter(**{lookup: _utc(value)})
    if filters.kind:
        queryset = queryset.filter(kind__in=filters.kind)
    if filters.done is not None:
        queryset = queryset.filter(kind=Kind.TASK, completed_at__isnull=not filters.done)
    # Activities carry no folded search text, so each word is matched
    # case-insensitively in the subject or body as typed.
    for word in (filters.q or "").split():
        queryset = queryset.filter(Q(subject__icontains=word) | Q(body__icontains=word))
    return queryset


@router.get("", response=ActivityPage, summary="List timeline entries and tasks")
def list_activities(request: HttpRequest, filters: Query[ActivityFilters]):
    allow(request, "activities.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "-occurred_at")
    queryset = filter_activities(through_records(Activity.objects.all(), request.membership),
                                 filters)
    items, next_cursor = paginate(queryset, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@router.post("", response={201: ActivityOut}, summary="Log a note, call, meeting, e-mail or task")
def log_activity(request: HttpRequest, payload: ActivityIn):
    allow(request, "activities.add")
    activity = services.log_activity(request.organization, request.user,
                                     data=to_service_data(payload), viewer=request.membership)
    return Status(201, activity)


@router.post("/bulk", response=RecordsBulkOut,
             summary="Log or change up to 1,000 timeline entries, with a result for each")
def bulk_activities(request: HttpRequest, payload: RecordsBulkIn):
    return bulk.run_bulk(request, ACTIVITIES, payload.items)


@router.get("/{activity_id}", response=ActivityOut, summary="Read a timeline entry")
def read_activity(request: HttpRequest, activity_id: int):
    allow(request, "activities.view")
    return services.get_activity(activity_id, request.membership)


@router.patch("/{activity_id}", response=ActivityOut, summary="Change a timeline entry")
def update_activity(request: HttpRequest, activity_id: int, payload: ActivityPatch):
    allow(request, "activities.change")
    activity = services.get_activity(activity_id, request.membership)
    return services.update_activity(request.organization, request.user, activity,
                                     data=to_service_data(payload),
                                     expected_version=payload.version,
                                     viewer=request.membership)


@router.delete("/{activity_id}", response={204: None}, summary="Delete a timeline entry")
def delete_activity(request: HttpRequest, activity_id: int):
    allow(request, "activities.delete")
    activity = services.get_activity(activity_id, request.membership)
    services.delete_activity(request.organization, request.user, activity)
    return Status(204, None)
