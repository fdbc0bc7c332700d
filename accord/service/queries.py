"""Which tickets a list shows: the filters the list page and the API share."""

import datetime as dt
import re

from django.db.models import Q, QuerySet
from django.utils import timezone

from accord import search
from accord.customers.models import Company
from accord.customers.validation import Collector
from accord.errors import NotFound
from accord.identity.visibility import narrows, visible

from .models import UNRESOLVED, Channel, Priority, Ticket, TicketStatus
from .services import get_ticket_by_number

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

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


def visible_tickets(queryset: QuerySet[Ticket], membership) -> QuerySet[Ticket]:
    """The tickets a member may see: those of customers they may see, those with no
    customer, and those assigned to them.

    Tickets follow their contact's record visibility, so a member who may
    not see a contact does not meet them through a ticket either.
    """
    from accord.identity.visibility import through_contact

    if membership is None:
        return queryset.none()
    return through_contact(queryset, membership, also=Q(assignee_id=membership.user_id))


def may_see_ticket(ticket: Ticket, membership) -> bool:
    return visible_tickets(Ticket.objects.filter(pk=ticket.pk), membership).exists()


def seen_ticket_by_number(number, membership) -> Ticket:
    """The ticket with this number when the member may see it; raise NotFound otherwise,
    with the message a number that does not exist gets.

    Every page and fragment that takes a ticket number loads it through here, so a
    hidden ticket answers exactly as a missing one.
    """
    ticket = get_ticket_by_number(number)
    if not may_see_ticket(ticket, membership):
        raise NotFound("No ticket with this number.")
    return ticket


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


def _companies_seen(viewer) -> QuerySet[Company]:
    return visible(Company.objects.all(), viewer, "companies")


def matching(queryset: QuerySet[Ticket], query: str, viewer) -> QuerySet[Ticket]:
    """The tickets in which every word of `query` begins a word of the ticket (number,
    subject, customer, conversation) or of its company, a company counting only when
    `viewer` sees it: the ticket's search entry holds no company, so a hidden company's
    name finds nothing, and a company's new name is found at once."""
    return search.search_through(queryset, query, "company", _companies_seen(viewer))


def ticket_filters(queryset: QuerySet[Ticket], params, user=None, *,
                   viewer) -> QuerySet[Ticket]:
    """Narrow `queryset` by the query parameters a list or the API was given; `viewer`
    is the reader, whose hidden companies match neither `q` nor `company_id`."""
    errors = Collector()
    query = (params.get("q") or "").strip()
    if query and EMAIL.fullmatch(query):
        # A whole address means that customer's tickets, not every ticket
        # that shares a word of it.
        queryset = queryset.filter(Q(contact__emails__address__iexact=query)
                                   | Q(messages__from_address__iexact=query)).distinct()
    elif query:
        digits = query.lstrip("#")
        if digits.isdigit() and len(digits) < 10:
            queryset = queryset.filter(Q(number=int(digits)) | Q(pk__in=matching(
                Ticket.objects.all(), query, viewer).values("pk")))
        else:
            queryset = matching(queryset, query, viewer)
    status = (params.get("status") or "").strip()
    if status == "unresolved":
        queryset = queryset.filter(status__in=UNRESOLVED)
    elif status:
        wanted = [part.strip() for part in status.split(",") if part.strip()]
        if any(part not in TicketStatus.values for part in wanted):
            errors.add("status", "Choose statuses from: " + ", ".join(TicketStatus.values)
                       + ", or unresolved.")
        queryset = queryset.filter(status__in=wanted)
    for name, choices in (("priority", Priority), ("channel", Channel)):
        value = params.get(name)
        if value:
            if value not in choices.values:
                errors.add(name, "Choose one of: " + ", ".join(choices.values) + ".")
            queryset = queryset.filter(**{name: value})
    for name in ("queue_id", "assignee_id", "contact_id", "company_id"):
        value = params.get(name)
        if value not in (None, ""):
            if _ids(value) is None:
                errors.add(name, "Give the id as a number.")
                continue
            queryset = queryset.filter(**{name: _ids(value)})
            if name == "company_id" and narrows(viewer, "companies"):
                queryset = queryset.filter(company__in=_companies_seen(viewer).values("pk"))
    errors.raise_if_any()
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
