"""Every write to tickets and their threads, as verbs.

Each service takes the organisation and the acting user first and writes the
change, its audit entry, its domain events and the customer's timeline entry
in one transaction. A ticket's status changes only through `_set_status`, so
the SLA clock, the reports and the history agree whichever path changed it.
Messages are appended, never edited: two agents answering at once both keep
what they wrote.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accord import events, search
from accord.activities import services as timeline
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.models import Tag
from accord.customers.validation import Collector, as_pk, clean_email
from accord.errors import InvalidInput, NotFound, StaleVersion

from . import routing, sla
from .models import (
    MessageKind,
    Queue,
    Ticket,
    TicketAttachment,
    TicketMessage,
    TicketSequence,
    TicketStatus,
    TicketStatusChange,
    TicketTag,
    TicketViewer,
)
from .validation import clean_body, clean_ticket

logger = logging.getLogger(__name__)

TICKET_FIELDS = ["subject", "status", "priority", "channel", "contact", "company", "queue",
                 "assignee", "custom_fields"]
# Statuses an agent's reply may leave the ticket in.
REPLY_STATUSES = [TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.ON_HOLD,
                  TicketStatus.SOLVED]
VIEWER_FRESH_SECONDS = 60


def _ticket_search_text(ticket: Ticket) -> str:
    # The company is left out: lists match it through the companies the reader
    # sees (`queries.matching`), so a hidden company's name finds no ticket.
    contact = ticket.contact
    parts = [f"#{ticket.number}", str(ticket.number), ticket.subject]
    if contact is not None:
        parts += [contact.first_name, contact.last_name, contact.email]
    # The conversation is searched too, up to a limit that keeps one
    # ticket's entry small whatever its length.
    budget = SEARCH_TEXT_LIMIT
    for body in ticket.messages.order_by("id").values_list("body", flat=True):
        parts.append(body[:budget])
        budget -= len(parts[-1])
        if budget <= 0:
            break
    return search.build_search_text(*parts)


SEARCH_TEXT_LIMIT = 20_000
search.register(
    Ticket, "tickets", text_of=_ticket_search_text,
    live=lambda tickets: tickets.filter(deleted_at__isnull=True).select_related("contact"),
)


def get_ticket(ticket_id, *, with_deleted: bool = False) -> Ticket:
    manager = Ticket.with_deleted if with_deleted else Ticket.objects
    ticket = manager.filter(pk=as_pk(ticket_id)).first() if as_pk(ticket_id) else None
    if ticket is None:
        raise NotFound("No ticket with this id.")
    return ticket


def get_ticket_by_number(number) -> Ticket:
    ticket = Ticket.objects.filter(number=as_pk(number)).first() if as_pk(number) else None
    if ticket is None:
        raise NotFound("No ticket with this number.")
    return ticket


def get_queue(queue_id) -> Queue:
    queue = Queue.objects.filter(pk=as_pk(queue_id)).first() if as_pk(queue_id) else None
    if queue is None:
        raise NotFound("No queue with this id.")
    return queue


def _next_number(org) -> int:
    """The organisation's next ticket number; the row lock keeps two writers apart."""
    sequence, _ = TicketSequence.objects.get_or_create(organization=org)
    TicketSequence.objects.filter(pk=sequence.pk).update(last_number=F("last_number") + 1)
    sequence.refresh_from_db()
    return sequence.last_number


def _check_version(ticket: Ticket, expected_version) -> None:
    if expected_version is not None and int(expected_version) != ticket.version:
        raise StaleVersion(current_version=ticket.version)


def _lock(ticket: Ticket, expected_version=None) -> Ticket:
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    _check_version(locked, expected_version)
    return locked


def ticket_event_data(ticket: Ticket) -> dict:
    return {
        "number": ticket.number, "subject": ticket.subject, "status": ticket.status,
        "priority": ticket.priority, "channel": ticket.channel, "contact_id": ticket.contact_id,
        "company_id": ticket.company_id, "queue_id": ticket.queue_id,
        "assignee_id": ticket.assignee_id,
    }


def _set_tags(org, ticket: Ticket, names: list[str]) -> None:
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            tag = Tag.objects.create(organization=org, name=name)
        tags.append(tag)
    TicketTag.objects.filter(ticket=ticket).exclude(tag__in=tags).delete()
    have = set(TicketTag.objects.filter(ticket=ticket).values_list("tag_id", flat=True))
    TicketTag.objects.bulk_create([TicketTag(organization=org, ticket=ticket, tag=tag)
                                   for tag in tags if tag.pk not in have])


def tag_names(ticket: Ticket) -> list[str]:
    return sorted((link.tag.name for link in ticket.tag_links.select_related("tag")),
                  key=str.lower)


@transaction.atomic
def create_ticket(org, actor, *, data: dict, body: str = "", channel: str | None = None,
                  message: dict | None = None, routable: frozenset[str] | None = None,
                  require_custom_fields: bool = True) -> Ticket:
    """Open a ticket; `body` (or a prepared inbound `message`) starts its thread.

    The routing rules then choose the queue, priority and assignee, except
    those a person gave in `data` (all of them are routable when `routable`
    names them, as for mail, whose queue comes from the address it was sent
    to). Raises InvalidInput naming each bad field. The company follows the
    contact.
    """
    if channel is not None:
        data = {**data, "channel": channel}
    values = clean_ticket(org, data, require_custom_fields=require_custom_fields)
    errors = Collector()
    text = clean_body(body, "body", errors, required=False)
    errors.raise_if_any()
    tags = values.pop("tags", None)

    now = timezone.now()
    ticket = Ticket(organization=org, number=_next_number(org), last_message_at=now, **values)
    if ticket.contact_id and "company" not in values:
        ticket.company_id = ticket.contact.company_id
    if ticket.queue is None:
        ticket.queue = Queue.objects.filter(is_default=True, is_active=True).first()
    ticket.status = values.get("status") or TicketStatus.NEW
    chosen = {name for name in ("queue", "priority", "assignee")
              if data.get(name) not in (None, "")} - (routable or frozenset())
    routing.route(ticket, text=(message or {}).get("body", "") or text or "",
                  sender=(message or {}).get("from_address", ""), keep=frozenset(chosen))
    ticket.save()
    if tags:
        _set_tags(org, ticket, tags)
    TicketStatusChange.objects.create(organization=org, ticket=ticket, from_status="",
                                      to_status=ticket.status, at=now,
                                      actor=actor if getattr(actor, "pk", None) else None)
    if message is not None:
        _add_inbound_message(org, ticket, message)
    elif text:
        TicketMessage.objects.create(
            organization=org, ticket=ticket, kind=MessageKind.INBOUND, body=text,
            author=actor if getattr(actor, "pk", None) else None, contact=ticket.contact,
            subject=ticket.subject,
        )
        ticket.last_customer_message_at = now
        ticket.save(update_fields=["last_customer_message_at"])
    sla.apply_policy(ticket, now=now)
    search.reindex(Ticket, [ticket.pk])

    audit.record(org, actor, Action.CREATE, ticket,
                 changes=audit.diff({}, audit.snapshot(ticket, TICKET_FIELDS)))
    events.emit(org, actor, "ticket.created", ticket, data=ticket_event_data(ticket))
    if ticket.contact_id:
        timeline.log_event(org, actor, "ticket.opened", contact=ticket.contact,
                           company=ticket.company,
                           data={"number": ticket.number, "subject": ticket.subject})
    logger.info("ticket.created", extra={"organization_id": org.id, "ticket_id": ticket.pk})
    return ticket


@transaction.atomic
def update_ticket(org, actor, ticket: Ticket, *, data: dict,
                  expected_version: int | None = None) -> Ticket:
    """Change a ticket's fields; a status change goes through the status rules."""
    ticket = _lock(ticket, expected_version)
    values = clean_ticket(org, data, current=ticket)
    tags = values.pop("tags", None)
    status = values.pop("status", None)
    before = audit.snapshot(ticket, TICKET_FIELDS)
    before_tags = tag_names(ticket)

    for name, value in values.items():
        setattr(ticket, name, value)
    if "contact" in values and "company" not in values:
        ticket.company_id = ticket.contact.company_id if ticket.contact_id else None
    if tags is not None:
        _set_tags(org, ticket, tags)
    if status is not None and status != ticket.status:
        _set_status(org, actor, ticket, status)
    if {"priority", "queue"} & values.keys():
        sla.apply_policy(ticket, now=timezone.now())
    after = audit.snapshot(ticket, TICKET_FIELDS)
    changes = audit.diff(before, after)
    if tags is not None and sorted(tags, key=str.lower) != before_tags:
        changes["tags"] = [before_tags, sorted(tags, key=str.lower)]
    if not changes:
        return ticket
    ticket.save_new_version()
    search.reindex(Ticket, [ticket.pk])

    audit.record(org, actor, Action.UPDATE, ticket, changes=changes)
    events.emit(org, actor, "ticket.updated", ticket,
                data={**ticket_event_data(ticket), "changes": changes})
    return ticket


def _set_status(org, actor, ticket: Ticket, status: str, *, at=None) -> None:
    """Move the ticket to `status` on the unsaved row, with its history and SLA clock."""
    at = at or timezone.now()
    previous = ticket.status
    ticket.status = status
    if status == TicketStatus.SOLVED:
        ticket.solved_at = at
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = at
        ticket.solved_at = ticket.solved_at or at
    else:
        ticket.solved_at = None
        ticket.closed_at = None
    TicketStatusChange.objects.create(organization=org, ticket=ticket, from_status=previous,
                                      to_status=status, at=at,
                                      actor=actor if getattr(actor, "pk", None) else None)
    sla.on_status_change(ticket, previous, status, at=at)
    if status == TicketStatus.SOLVED:
        events.emit(org, actor, "ticket.solved", ticket, data=ticket_event_data(ticket))
        if ticket.contact_id:
            timeline.log_event(org, actor, "ticket.solved", contact=ticket.contact,
                               company=ticket.company,
                               data={"number": ticket.number, "subject": ticket.subject})


@transaction.atomic
def change_status(org, actor, ticket: Ticket, status: str, *,
                  expected_version: int | None = None) -> Ticket:
    return update_ticket(org, actor, ticket, data={"status": status},
                         expected_version=expected_version)


@dataclass(frozen=True)
class Upload:
    """A file an agent attached to a reply or note."""

    filename: str
    content_type: str
    content: bytes
    content_id: str = ""
    inline: bool = False


def _attach(org, message: TicketMessage, files) -> None:
    for part in files or []:
        name = (part.filename or "attachment").replace("/", "_").replace("\\", "_")[:255]
        attachment = TicketAttachment(
            organization=org, message=message, filename=name,
            content_type=(part.content_type or "application/octet-stream")[:120],
            size=len(part.content), content_id=part.content_id[:250], inline=part.inline,
        )
        attachment.file.save(name[-100:], ContentFile(part.content), save=False)
        attachment.save()


@transaction.atomic
def add_note(org, actor, ticket: Ticket, *, body: str,
             attachments: list[Upload] | None = None) -> TicketMessage:
    """An internal note: seen by the team only, never sent to the customer."""
    errors = Collector()
    text = clean_body(body, "body", errors, required=True)
    errors.raise_if_any()
    ticket = _lock(ticket)
    message = TicketMessage.objects.create(
        organization=org, ticket=ticket, kind=MessageKind.NOTE, body=text,
        author=actor if getattr(actor, "pk", None) else None,
    )
    _attach(org, message, attachments)
    ticket.last_message_at = message.created_at
    ticket.save_new_version(update_fields=["last_message_at", "version", "updated_at"])
    search.reindex(Ticket, [ticket.pk])
    audit.record(org, actor, Action.CREATE, message, entity="ticket_message",
                 object_repr=f"Note on {ticket}")
    events.emit(org, actor, "ticket.message_added", ticket,
                data={**ticket_event_data(ticket), "message_id": message.pk, "kind": "note"})
    return message


@transaction.atomic
def add_reply(org, actor, ticket: Ticket, *, body: str, status: str | None = None,
              cc: list[str] | None = None,
              attachments: list[Upload] | None = None) -> TicketMessage:
    """Answer the customer: the reply is stored, then mailed by the worker after commit.

    `status` is where the ticket goes next (open when not given and the
    ticket was new). Raises InvalidInput when the body is empty, the status
    is not one a reply can leave, or there is nobody to send it to.
    """
    from .mail.outbound import make_message_id, reply_headers, tag_subject

    errors = Collector()
    text = clean_body(body, "body", errors, required=True)
    if status not in (None, "") and status not in REPLY_STATUSES:
        errors.add("status", "Choose one of: " + ", ".join(REPLY_STATUSES) + ".")
    cc = _clean_cc(cc, errors)
    ticket = _lock(ticket)
    recipient = reply_address(ticket)
    if not recipient:
        errors.add("body", "This ticket has no customer e-mail address to reply to; "
                           "add a contact with an address first.")
    errors.raise_if_any()

    now = timezone.now()
    chain = thread_ids(ticket)
    answered = last_customer_message_id(ticket)
    headers = reply_headers(answered, chain) if answered else {}
    message = TicketMessage.objects.create(
        organization=org, ticket=ticket, kind=MessageKind.REPLY, body=text,
        author=actor if getattr(actor, "pk", None) else None,
        from_address=sender_address(ticket), to=[recipient], cc=cc or [],
        subject=tag_subject(ticket.subject, ticket.number),
        message_id=make_message_id(mail_domain(ticket)),
        in_reply_to=headers.get("In-Reply-To", "").strip("<>"),
        references=headers.get("References", ""),
    )
    _attach(org, message, attachments)
    ticket.last_message_at = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        sla.on_first_response(ticket, at=now)
    next_status = status or (TicketStatus.OPEN if ticket.status == TicketStatus.NEW else None)
    if next_status and next_status != ticket.status:
        _set_status(org, actor, ticket, next_status, at=now)
    ticket.save_new_version()
    search.reindex(Ticket, [ticket.pk])
    audit.record(org, actor, Action.CREATE, message, entity="ticket_message",
                 object_repr=f"Reply on {ticket}")

    events.emit(org, actor, "ticket.message_added", ticket,
                data={**ticket_event_data(ticket), "message_id": message.pk, "kind": "reply"})
    transaction.on_commit(lambda: _queue_delivery(org.pk, message.pk))
    return message


MAX_CC = 20


def _clean_cc(value, errors: Collector) -> list[str]:
    """Distinct, valid copy addresses, at most MAX_CC of them."""
    if not value:
        return []
    if not isinstance(value, list) or len(value) > MAX_CC:
        errors.add("cc", f"Give at most {MAX_CC} addresses to copy.")
        return []
    cleaned = []
    for address in value:
        text = clean_email(address, "cc", errors)
        if text and text.lower() not in {item.lower() for item in cleaned}:
            cleaned.append(text)
    return cleaned


def _queue_delivery(org_id: int, message_id: int) -> None:
    from .tasks import send_ticket_reply

    send_ticket_reply.delay(org_id, message_id)


def reply_address(ticket: Ticket) -> str:
    """Where replies go: the contact's primary address, else the last sender's."""
    if ticket.contact_id and ticket.contact.email:
        return ticket.contact.email
    last = (ticket.messages.filter(kind=MessageKind.INBOUND).exclude(from_address="")
            .order_by("-id").first())
    return last.from_address if last else ""


def sender_address(ticket: Ticket) -> str:
    """The queue's own address when it has one, else the site's sender."""
    from django.conf import settings

    if ticket.queue_id and ticket.queue.email_address:
        return ticket.queue.email_address
    return settings.DEFAULT_FROM_EMAIL


def mail_domain(ticket: Ticket) -> str:
    address = sender_address(ticket)
    return address.rsplit("@", 1)[-1].strip(">").strip() or "accord.localhost"


def thread_ids(ticket: Ticket) -> list[str]:
    """Message-IDs of the thread's mail, oldest first: the References of the next reply."""
    return list(ticket.messages.exclude(message_id="").exclude(kind=MessageKind.NOTE)
                .order_by("created_at", "id").values_list("message_id", flat=True))


def last_customer_message_id(ticket: Ticket) -> str:
    last = (ticket.messages.filter(kind=MessageKind.INBOUND).exclude(message_id="")
            .order_by("-created_at", "-id").first())
    if last is None:
        last = (ticket.messages.exclude(message_id="").exclude(kind=MessageKind.NOTE)
                .order_by("-created_at", "-id").first())
    return last.message_id if last else ""


def _add_inbound_message(org, ticket: Ticket, message: dict) -> TicketMessage:
    """Store a customer's mail (already parsed) on the ticket, with its files."""
    attachments = message.pop("attachments", [])
    raw = message.pop("raw", None)
    entry = TicketMessage(organization=org, ticket=ticket, kind=MessageKind.INBOUND, **message)
    if raw is not None:
        entry.raw.save(f"{ticket.number}.eml", ContentFile(raw), save=False)
    entry.save()
    _attach(org, entry, attachments)
    ticket.last_message_at = entry.created_at
    ticket.last_customer_message_at = entry.created_at
    return entry


@transaction.atomic
def add_customer_message(org, actor, ticket: Ticket, *, message: dict,
                         reopen: bool = True) -> TicketMessage:
    """A customer wrote again: the message joins the thread and a solved ticket reopens."""
    ticket = _lock(ticket)
    entry = _add_inbound_message(org, ticket, message)
    if reopen and ticket.status in (TicketStatus.SOLVED, TicketStatus.PENDING):
        _set_status(org, actor, ticket, TicketStatus.OPEN, at=entry.created_at)
    ticket.save_new_version()
    search.reindex(Ticket, [ticket.pk])
    events.emit(org, actor, "ticket.message_added", ticket,
                data={**ticket_event_data(ticket), "message_id": entry.pk, "kind": "inbound"})
    return entry


@transaction.atomic
def delete_ticket(org, actor, ticket: Ticket, *, expected_version: int | None = None) -> None:
    ticket = _lock(ticket, expected_version)
    ticket.deleted_at = timezone.now()
    ticket.save_new_version(update_fields=["deleted_at", "version", "updated_at"])
    search.reindex(Ticket, [ticket.pk])
    audit.record(org, actor, Action.DELETE, ticket)
    events.emit(org, actor, "ticket.deleted", ticket, data=ticket_event_data(ticket))


BULK_ACTIONS = {"assign", "status", "priority", "queue", "tag"}


@transaction.atomic
def bulk_update(org, actor, ids: list, *, action: str, value) -> int:
    """Apply one change to many tickets, each with its own history; returns how many changed.

    Raises InvalidInput before changing anything when the value is not valid.
    """
    if action not in BULK_ACTIONS:
        raise InvalidInput({"action": "Choose one of: " + ", ".join(sorted(BULK_ACTIONS)) + "."})
    field = {"assign": "assignee", "status": "status", "priority": "priority",
             "queue": "queue", "tag": "tags"}[action]
    tickets = list(Ticket.objects.filter(pk__in=[pk for pk in map(as_pk, ids) if pk]))
    if not tickets:
        raise InvalidInput({"ids": "Select at least one ticket."})
    changed = 0
    for ticket in tickets:
        data = {field: value}
        if action == "tag":
            added = {part.strip() for part in str(value or "").split(",") if part.strip()}
            if not added:
                raise InvalidInput({"value": "Give the tag to add."})
            data = {"tags": sorted(set(tag_names(ticket)) | added)}
        before = ticket.version
        updated = update_ticket(org, actor, ticket, data=data)
        changed += updated.version != before
    return changed


def touch_viewer(org, user, ticket: Ticket, *, replying: bool) -> None:
    """Note that `user` has the ticket open (and whether they are writing a reply)."""
    TicketViewer.objects.update_or_create(
        organization=org, ticket=ticket, user=user,
        defaults={"replying": replying, "seen_at": timezone.now()},
    )


def other_viewers(ticket: Ticket, user) -> list[TicketViewer]:
    """Who else has the ticket open now, those writing a reply first."""
    fresh = timezone.now() - dt.timedelta(seconds=VIEWER_FRESH_SECONDS)
    return list(ticket.viewers.filter(seen_at__gte=fresh).exclude(user=user)
                .select_related("user").order_by("-replying", "user__email"))

