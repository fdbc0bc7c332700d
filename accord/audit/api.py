"""Reading the audit trail: the organisation's log, and one record's field history.

Entries are append-only, so their ids grow with time; ordering by
`created_at` sorts by id, which the `(organization, id)` index serves.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from accord.identity.api_auth import allow
from accord.identity.visibility import through_audit
from accord.pagination import clamp_limit, paginate, parse_ordering

from .history import visible_changes
from .models import Action, AuditEntry

router = Router(tags=["audit"])

ORDERINGS = {"created_at": "id"}


class FieldChange(Schema):
    field: str
    old: Any = None
    new: Any = None


class HistoryEntryOut(Schema):
    id: int
    created_at: dt.datetime
    actor_id: int | None
    actor_label: str = Field(description="The actor's e-mail, or the channel for system work.")
    via: str = Field(description="web, api, import, job, cli or system.")
    action: str
    changes: list[FieldChange]

    @staticmethod
    def resolve_changes(obj, context) -> list[dict]:
        request = (context or {}).get("request")
        return [
            {"field": field, "old": values[0], "new": values[1]}
            for field, values in visible_changes(obj, getattr(request, "membership", None))
        ]


class HistoryPage(Schema):
    items: list[HistoryEntryOut]
    next: str | None


class AuditEntryOut(HistoryEntryOut):
    entity: str
    object_id: int | None
    object_repr: str
    ip: str


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next: str | None


class HistoryParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    ordering: str | None = Field(None, description="created_at or -created_at (default).")


class AuditFilters(HistoryParams):
    entity: str | None = Field(None, description="Record type, such as contact or company.")
    object_id: int | None = None
    actor_id: int | None = None
    action: Action | None = None
    since: dt.datetime | None = Field(None, description="ISO 8601; entries at or after.")
    until: dt.datetime | None = Field(None, description="ISO 8601; entries before.")


def history_page(entity: str, object_id: int, params: HistoryParams) -> dict:
    """One page of a record's audit entries, newest first unless asked otherwise.

    The caller has already checked that the record exists in the current
    organisation and that the user may see it.
    """
    queryset = AuditEntry.objects.filter(entity=entity, object_id=object_id)
    return _page(queryset, params)


def _page(queryset, params: HistoryParams) -> dict:
    ordering = parse_ordering(params.ordering, ORDERINGS, "-created_at")
    items, next_cursor = paginate(queryset, ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@router.get("", response=AuditPage, summary="The organisation's audit log")
def list_audit_entries(request: HttpRequest, filters: Query[AuditFilters]):
    allow(request, "audit.view")
    queryset = through_audit(AuditEntry.objects.all(), request.membership)
    if filters.entity:
        queryset = queryset.filter(entity=filters.entity)
    if filters.object_id is not None:
        queryset = queryset.filter(object_id=filters.object_id)
    if filters.actor_id is not None:
        queryset = queryset.filter(actor_id=filters.actor_id)
    if filters.action:
        queryset = queryset.filter(action=filters.action)
    if filters.since:
        queryset = queryset.filter(created_at__gte=_utc(filters.since))
    if filters.until:
        queryset = queryset.filter(created_at__lt=_utc(filters.until))
    return _page(queryset, filters)
