"""Health checks, the home page and the global search."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from accord import search as text_search
from accord.activities import services as activities
from accord.activities.models import Activity, Kind
from accord.customers.models import Company, Contact, LifecycleStage
from accord.identity.permissions import has_permission
from accord.identity.visibility import through_records, visible, with_seen
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
    contacts = with_seen(visible(Contact.objects.select_related("company"), request.membership,
                                 "contacts"), request.membership, "company", "companies"
                         ).order_by("-updated_at", "-id")
    mine = list(contacts.filter(owner=request.user)[:8])
    stage_counts = dict(
        visible(Contact.objects.all(), request.membership, "contacts").order_by()
        .values_list("lifecycle_stage").annotate(total=Count("id"))
    )
    tasks = list(open_tasks.filter(due_at__lte=end_of_today)[:10])
    # Activities follow the visibility of the records they hang on, and a member's
    # tasks stay with them; pages name only the records they see.
    recent = list(through_records(Activity.objects.exclude(kind=Kind.SYSTEM),
                                  request.membership)
                  .select_related("contact", "company", "author")
                  .order_by("-occurred_at", "-id")[:8])
    activities.mark_records_seen([*tasks, *recent], request.membership)
    return render(request, "core/home.html", {
        "tasks": tasks,
        "upcoming": list(open_tasks.filter(due_at__gt=end_of_today)[:5]),
        "recent_contacts": mine or list(contacts[:8]),
        "recent_are_mine": bool(mine),
        "stages": [
            (value, label, stage_counts.get(value, 0)) for value, label in LifecycleStage.choices
        ],
        "recent_activity": recent,
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
    membership = request.membership
    context = {"search_query": query, "contacts": [], "companies": [], "deals": [],
               "tickets": [], "records": []}
    if text_search.terms(query):
        sources = {name: (model, seen) for name, (permission, model, seen)
                   in _search_sources(membership).items()
                   if has_permission(membership, permission)}
        # Which kinds the organisation keeps at all, asked once for every kind;
        # what the member sees is narrowed only for the kinds it keeps.
        kept = text_search.entry_counts(model for model, _ in sources.values())
        for name, (model, seen) in sources.items():
            if kept[model]:
                context[name] = _found(seen(), query, kept[model])
    if request.htmx:
        # The dropdown holds no navigation, so the context processors that
        # gather it (saved views, record types) are not run for it.
        return HttpResponse(render_to_string("core/search.html#search-results", context))
    return render(request, "core/search.html", context)


def _search_sources(membership) -> dict:
    """For each kind the box searches: the permission it needs, its model, and the
    records of it the member sees (built when called)."""
    return {
        "contacts": ("contacts.view", Contact, lambda: with_seen(
            visible(Contact.objects.select_related("company"), membership, "contacts"),
            membership, "company", "companies")),
        "companies": ("companies.view", Company, lambda: visible(
            Company.objects.all(), membership, "companies")),
        "deals": ("deals.view", Deal, lambda: with_seen(
            visible(Deal.objects.select_related("company", "stage"), membership, "deals"),
            membership, "company", "companies")),
        "tickets": ("tickets.view", Ticket, lambda: visible_tickets(
            Ticket.objects.select_related("contact"), membership)),
        "records": ("records.view", Record, lambda: visible(
            Record.objects.filter(record_type__is_active=True).select_related("record_type"),
            membership, "records")),
    }


def _found(queryset, query: str, entries: int) -> list:
    """The best matches for the search box that the member sees, in rank order.

    The index ranks every record of the organisation, knowing nothing of
    owners. When ranking put records hidden from the member among the best,
    the rest of the places go to the member's own matches, found the way
    the lists find them (each word beginning a word of the record).
    """
    hits = text_search.find(queryset.model, query, limit=SEARCH_LIMIT, entries=entries)
    records = queryset.in_bulk([hit.record_id for hit in hits])
    found = [records[hit.record_id] for hit in hits if hit.record_id in records]
    if len(found) < len(hits):
        found += text_search.search(queryset, query).exclude(
            pk__in=[record.pk for record in found])[:SEARCH_LIMIT - len(found)]
    return found
