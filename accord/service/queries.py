"""Which tickets a list shows: the filters the list page and the API share."""

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from accord import search

from .models import UNRESOLVED, Ticket

VIEWS = {
    "mine": "Assigned to me",
    "unassigned": "Unassigned",
    "due_soon": "Due soon",
    "breached": "Breached",
    "unresolved": "All unresolved",
    "solved": "Solved",
    "all": "All tickets",
}
DUE_SOON_HOURS = 4


def _ids(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def breached_q(now) -> Q:
    """Tickets past a target: first answer late or missing, or resolution overdue."""
    return (Q(sla_breached_at__isnull=False)
            | Q(first_response_at__isnull=True, first_response_due_at__lt=now)
            | Q(status__in=UNRESOLVED, sla_paused_since__isnull=True,
                resolution_due_at__lt=now))


def apply_view(queryset: QuerySet, view: str, user) -> QuerySet:
    now = timezone.now()
    if view == "mine":
        return queryset.filter(assignee=user, status__in=UNRESOLVED)
    if view == "unassigned":
        return queryset.filter(assignee__isnull=True, status__in=UNRESOLVED)
    if view == "due_soon":
        soon = now + dt.timedelta(hours=DUE_SOON_HOURS)
        return queryset.filter(status__in=UNRESOLVED).filter(
            Q(first_response_at__isnull=True, first_response_due_at__range=(now, soon))
            | Q(sla_paused_since__isnull=True, resolution_due_at__range=(now, soon)))
    if view == "breached":
        return queryset.filter(status__in=UNRESOLVED).filter(breached_q(now))
    if view == "unresolved":
        return queryset.filter(status__in=UNRESOLVED)
    if view == "solved":
        return queryset.filter(status__in=["solved", "closed"])
    return queryset


def ticket_filters(queryset: QuerySet[Ticket], params, user=None) -> QuerySet[Ticket]:
    """Narrow `queryset` by the query parameters a list or the API was given."""
    query = (params.get("q") or "").strip()
    if query:
        digits = query.lstrip("#")
        if digits.isdigit() and len(digits) < 10:
            queryset = queryset.filter(Q(number=int(digits)) | Q(pk__in=search.search(
                Ticket.objects.all(), query).values("pk")))
        else:
            queryset = search.search(queryset, query)
    status = (params.get("status") or "").strip()
    if status == "unresolved":
        queryset = queryset.filter(status__in=UNRESOLVED)
    elif status:
        queryset = queryset.filter(status__in=[part.strip() for part in status.split(",")])
    for name in ("priority", "channel"):
        if params.get(name):
            queryset = queryset.filter(**{name: params.get(name)})
    for name in ("queue_id", "assignee_id", "contact_id", "company_id"):
        value = params.get(name)
        if value not in (None, ""):
            queryset = queryset.filter(**{name: _ids(value)})
    if str(params.get("unassigned", "")).lower() in ("1", "true", "on"):
        queryset = queryset.filter(assignee__isnull=True)
    if params.get("tag"):
        queryset = queryset.filter(tag_links__tag__name__iexact=params.get("tag"))
    if str(params.get("breached", "")).lower() in ("1", "true", "on"):
        queryset = queryset.filter(breached_q(timezone.now()))
    view = params.get("view")
    if view and user is not None:
        queryset = apply_view(queryset, view, user)
    return queryset
