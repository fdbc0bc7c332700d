"""Health checks, the home page and the global search."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from accord import search as text_search
from accord.activities.models import Activity, Kind
from accord.customers.models import Company, Contact, LifecycleStage
from accord.identity.permissions import has_permission
from accord.identity.visibility import through_records, visible
from accord.records.models import Record
from accord.reports.dashboards import role_dashboard
from accord.sales.models import Deal
from accord.service.models import Ticket
from accord.service.queries import visible_tickets

logger = logging.getLogger(__name__)

SEARCH_LIMIT = 8


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    checks = {"database": _database_ready(), "broker": _broker_ready()}
    status = 200 if all(checks.values()) else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "unavailable",
         "checks": {k: "ok" if v else "down" for k, v in checks.items()}},
        status=status,
    )


def _database_ready() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("readyz.database_down")
        return False


def _broker_ready() -> bool:
    from accord.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        logger.exception("readyz.broker_down",
                         extra={"broker": settings.BROKER_URL.split(":")[0]})
        return False


def _no_organization(request):
    return render(request, "core/no_organization.html", status=403)


@login_required
def home(request):
    """The signed-in user's start page: their tasks, the pipeline of contacts, recent work."""
    if request.membership is None:
        return _no_organization(request)
    now = timezone.now()
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    open_tasks = (
        Activity.objects.filter(kind=Kind.TASK, assignee=request.user, completed_at__isnull=True)
        .select_related("contact", "company")
        .order_by("due_at", "id")
    )
    contacts = visible(Contact.objects.select_related("company"), request.membership,
                       "contacts").order_by("-updated_at", "-id")
    mine = list(contacts.filter(owner=request.user)[:8])
    stage_counts = dict(
        visible(Contact.objects.all(), request.membership, "contacts").order_by()
        .values_list("lifecycle_stage").annotate(total=Count("id"))
    )
    return render(request, "core/home.html", {
        "tasks": list(open_tasks.filter(due_at__lte=end_of_today)[:10]),
        "upcoming": list(open_tasks.filter(due_at__gt=end_of_today)[:5]),
        "recent_contacts": mine or list(contacts[:8]),
        "recent_are_mine": bool(mine),
        "stages": [
            (value, label, stage_counts.get(value, 0)) for value, label in LifecycleStage.choices
        ],
        # Activities follow the visibility of the records they hang on.
        "recent_activity": list(
            through_records(Activity.objects.exclude(kind=Kind.SYSTEM), request.membership)
            .select_related("contact", "company", "author")
            .order_by("-occurred_at", "-id")[:8]
        ),
        "now": now,
        "tiles": role_dashboard(request.membership) if has_permission(
            request.membership, "reports.view") else [],
    })


@login_required
def search(request):
    """Global search over contacts, companies, deals, tickets and custom records; the htmx
    request gets the dropdown."""
    if request.membership is None:
        return _no_organization(request)
    query = request.GET.get("q", "").strip()
    contacts, companies, deals, tickets, records = [], [], [], [], []
    if has_permission(request.membership, "contacts.view"):
        contacts = _found(visible(Contact.objects.select_related("company"),
                                  request.membership, "contacts"), query)
    if has_permission(request.membership, "companies.view"):
        companies = _found(visible(Company.objects.all(), request.membership, "companies"),
                           query)
    if has_permission(request.membership, "deals.view"):
        deals = _found(visible(Deal.objects.select_related("company", "stage"),
                               request.membership, "deals"), query)
    if has_permission(request.membership, "tickets.view"):
        tickets = _found(visible_tickets(Ticket.objects.select_related("contact"),
                                         request.membership), query)
    if has_permission(request.membership, "records.view"):
        records = _found(visible(Record.objects.filter(record_type__is_active=True)
                                 .select_related("record_type"), request.membership,
                                 "records"), query)
    template = "core/search.html#search-results" if request.htmx else "core/search.html"
    return render(request, template, {
        "search_query": query, "contacts": contacts, "companies": companies, "deals": deals,
        "tickets": tickets, "records": records,
    })


def _found(queryset, query: str) -> list:
    """The best matches for the search box, in rank order.

    Records the member may not see are dropped after ranking, so a member who
    sees only some records may get fewer than SEARCH_LIMIT of them even when
    more of theirs match: the index knows nothing of owners.
    """
    hits = text_search.find(queryset.model, query, limit=SEARCH_LIMIT)
    records = queryset.in_bulk([hit.record_id for hit in hits])
    return [records[hit.record_id] for hit in hits if hit.record_id in records]
