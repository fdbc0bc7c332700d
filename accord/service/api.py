"""Tickets, their messages and queues under `/api/v1/`.

Lists read the same query parameters as the ticket list page
(`queries.ticket_filters`), so a filter means the same in both.
"""

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from accord.customers.custom_fields import refuse_hidden
from accord.customers.validation import Collector
from accord.errors import InvalidInput, NotFound
from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering, refuse_unknown_parameters

from . import queues, services, sla
from .models import MessageKind, Queue, Ticket
from .queries import may_see_ticket, ticket_filters, visible_tickets
from .schemas import (
    BulkIn,
    BulkOut,
    MessageIn,
    MessageOut,
    MessagePage,
    QueueIn,
    QueueOut,
    QueuePage,
    QueuePatch,
    TicketFilters,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
    to_service_data,
)

tickets = Router(tags=["tickets"])
BULK_LIMIT = 500
queue_router = Router(tags=["tickets"])

TICKET_ORDERINGS = {
    "created_at": "created_at", "updated_at": "updated_at", "number": "number",
    "last_message_at": "last_message_at", "priority": "priority", "status": "status",
}


def _page(queryset, ordering, params) -> dict:
    items, next_cursor = paginate(queryset, ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


def _out(ticket: Ticket) -> dict:
    now = timezone.now()
    return {
        **{field: getattr(ticket, field) for field in (
            "id", "number", "subject", "status", "priority", "channel", "contact_id",
            "company_id", "queue_id", "assignee_id", "custom_fields", "first_response_at",
            "first_response_due_at", "resolution_due_at", "solved_at", "closed_at",
            "sla_policy_id", "last_message_at", "created_at", "updated_at", "version")},
        "tags": services.tag_names(ticket),
        "sla_breached": sla.is_breached(ticket, now=now),
    }


@tickets.get("", response=TicketPage, summary="List tickets")
def list_tickets(request: HttpRequest, filters: Query[TicketFilters]):
    allow(request, "tickets.view")
    refuse_unknown_parameters(request.GET, filters)
    ordering = parse_ordering(filters.ordering, TICKET_ORDERINGS, "-created_at")
    queryset = ticket_filters(visible_tickets(Ticket.objects.prefetch_related("tag_links__tag"),
                                              request.membership), request.GET,
                              viewer=request.membership)
    page = _page(queryset, ordering, filters)
    return {"items": [_out(ticket) for ticket in page["items"]], "next": page["next"]}


def _ticket(request, ticket_id) -> Ticket:
    """The ticket, 404 when the member may not see it (its customer is hidden from them)."""
    ticket = services.get_ticket(ticket_id)
    if not may_see_ticket(ticket, request.membership):
        raise NotFound("No ticket with this id.")
    return ticket


@tickets.post("", response={201: TicketOut}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketIn):
    allow(request, "tickets.add")
    refuse_hidden("ticket", request.membership, payload.custom_fields)
    data = to_service_data(payload, drop=("version", "body"))
    data.setdefault("channel", "api")
    ticket = services.create_ticket(request.organization, request.user, data=data,
                                    body=payload.body)
    return Status(201, _out(services.get_ticket(ticket.pk)))


@tickets.post("/bulk", response=BulkOut, summary="Change many tickets at once")
def bulk_tickets(request: HttpRequest, payload: BulkIn):
    allow(request, "tickets.change")
    if len(payload.ids) > BULK_LIMIT:
        raise InvalidInput({"ids": f"Change at most {BULK_LIMIT} tickets at once."})
    ids = list(visible_tickets(Ticket.objects.filter(pk__in=payload.ids), request.membership)
               .values_list("pk", flat=True))
    changed = services.bulk_update(request.organization, request.user, ids,
                                   action=payload.action, value=payload.value)
    return {"changed": changed}


@tickets.get("/{ticket_id}", response=TicketOut, summary="Read a ticket")
def read_ticket(request: HttpRequest, ticket_id: int):
    allow(request, "tickets.view")
    return _out(_ticket(request, ticket_id))


@tickets.patch("/{ticket_id}", response=TicketOut, summary="Change a ticket")
def update_ticket(request: HttpRequest, ticket_id: int, payload: TicketPatch):
    allow(request, "tickets.change")
    ticket = _ticket(request, ticket_id)
    refuse_hidden("ticket", request.membership, payload.custom_fields)
    ticket = services.update_ticket(request.organization, request.user, ticket,
                                    data=to_service_data(payload),
                                    expected_version=payload.version)
    return _out(services.get_ticket(ticket.pk))


@tickets.delete("/{ticket_id}", response={204: None}, summary="Move a ticket to the trash")
def delete_ticket(request: HttpRequest, ticket_id: int, version: int | None = None):
    allow(request, "tickets.delete")
    ticket = _ticket(request, ticket_id)
    services.delete_ticket(request.organization, request.user, ticket, expected_version=version)
    return Status(204, None)


@tickets.get("/{ticket_id}/messages", response=MessagePage,
             summary="List a ticket's messages, replies and notes, oldest first")
def list_messages(request: HttpRequest, ticket_id: int, limit: int | None = None,
                  cursor: str | None = None):
    allow(request, "tickets.view")
    ticket = _ticket(request, ticket_id)
    items, next_cursor = paginate(
        ticket.messages.prefetch_related("attachments"),
        parse_ordering(None, {"id": "id"}, "id"),
        cursor=cursor, limit=clamp_limit(limit))
    return {"items": items, "next": next_cursor}


@tickets.post("/{ticket_id}/messages", response={201: MessageOut},
              summary="Reply to the customer or add an internal note")
def post_message(request: HttpRequest, ticket_id: int, payload: MessageIn):
    allow(request, "tickets.change")
    ticket = _ticket(request, ticket_id)
    org, user = request.organization, request.user
    if payload.kind == MessageKind.REPLY:
        message = services.add_reply(org, user, ticket, body=payload.body,
                                     status=payload.status, cc=payload.cc)
    elif payload.kind == MessageKind.NOTE:
        message = services.add_note(org, user, ticket, body=payload.body)
    elif payload.kind == MessageKind.INBOUND:
        errors = Collector()
        from .validation import clean_body

        text = clean_body(payload.body, "body", errors, required=True)
        errors.raise_if_any()
        message = services.add_customer_message(org, user, ticket, message={
            "body": text, "author": user, "contact": ticket.contact})
    else:
        raise InvalidInput({"kind": "Choose one of: reply, note, inbound."})
    return Status(201, ticket.messages.prefetch_related("attachments").get(pk=message.pk))


# Queues


@queue_router.get("", response=QueuePage, summary="List ticket queues")
def list_queues(request: HttpRequest, params: Query[TicketFilters]):
    allow(request, "tickets.view")
    ordering = parse_ordering(params.ordering, {"name": "name"}, "name")
    return _page(Queue.objects.all(), ordering, params)


@queue_router.post("", response={201: QueueOut}, summary="Add a ticket queue")
def create_queue(request: HttpRequest, payload: QueueIn):
    allow(request, "service.manage")
    queue = queues.create_queue(request.organization, request.user,
                                data=to_service_data(payload))
    return Status(201, services.get_queue(queue.pk))


@queue_router.get("/{queue_id}", response=QueueOut, summary="Read a ticket queue")
def read_queue(request: HttpRequest, queue_id: int):
    allow(request, "tickets.view")
    return services.get_queue(queue_id)


@queue_router.patch("/{queue_id}", response=QueueOut, summary="Change a ticket queue")
def update_queue(request: HttpRequest, queue_id: int, payload: QueuePatch):
    allow(request, "service.manage")
    queue = services.get_queue(queue_id)
    return queues.update_queue(request.organization, request.user, queue,
                               data=to_service_data(payload), expected_version=payload.version)
