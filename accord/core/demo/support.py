"""Writing the customer-support-tickets data set into an organisation.

Each customer address becomes one contact (an address the organisation
knows already is that contact), each row one ticket in the given queue with
the customer's description as its first message, the resolution as the
agent's reply, its status history and the ticket type as a tag. Rows go in
bulk, a few statements per table, as the sales data set does.
"""

import datetime as dt
import hashlib
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field

from django.db.models.functions import Lower
from django.utils import timezone

from accord import search
from accord.customers import bulk
from accord.customers.models import Contact, ContactEmail, Tag
from accord.customers.validation import clean_contact
from accord.errors import InvalidInput
from accord.service.models import (
    MessageKind,
    SatisfactionSurvey,
    Ticket,
    TicketMessage,
    TicketSequence,
    TicketStatus,
    TicketStatusChange,
    TicketTag,
)

from .support_data import TIME_FORMAT

logger = logging.getLogger(__name__)

STATUS = {"Open": TicketStatus.OPEN, "Pending Customer Response": TicketStatus.PENDING,
          "Closed": TicketStatus.CLOSED}
PRIORITY = {"Low": "low", "Medium": "normal", "High": "high", "Critical": "urgent"}
CHANNEL = {"Email": "email", "Phone": "phone", "Chat": "chat", "Social media": "social"}
SOURCE = "Support tickets"


@dataclass
class SupportReport:
    tickets: int = 0
    contacts_created: int = 0
    by_status: Counter = field(default_factory=Counter)
    # (ticket id, rating 1-5) for the closed tickets that have one.
    ratings: list[tuple[int, int]] = field(default_factory=list)


def is_loaded() -> bool:
    return Ticket.objects.exists()


def _time(text: str) -> dt.datetime | None:
    if not text.strip():
        return None
    return dt.datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=dt.UTC)


def _row_value(mapping: dict, row: dict, column: str, number: int) -> str:
    value = row[column].strip()
    if value not in mapping:
        raise ValueError(f"Row {number}: {column} {value!r} is not one of "
                         f"{', '.join(mapping)}.")
    return mapping[value]


def load_tickets(org, admin, rows: list[dict], *, queue, now: dt.datetime | None = None
                 ) -> SupportReport:
    """Load `rows` into `org`; call inside its scope, an audit channel and a transaction.

    Raises ValueError naming the row when a status, priority or channel is
    not one the data set uses.
    """
    now = now or timezone.now()
    report = SupportReport()
    contacts = _contacts(org, admin, rows, report)
    tags = _tags(org, rows)
    sequence, _ = TicketSequence.objects.get_or_create(organization=org)
    first_number = sequence.last_number + 1

    tickets, plans = [], []
    for index, row in enumerate(rows):
        number = index + 2  # the header is line 1
        status = _row_value(STATUS, row, "Ticket Status", number)
        priority = _row_value(PRIORITY, row, "Ticket Priority", number)
        channel = _row_value(CHANNEL, row, "Ticket Channel", number)
        responded, resolved = _time(row["First Response Time"]), _time(
            row["Time to Resolution"])
        known = [moment for moment in (responded, resolved) if moment is not None]
        # The file has no opening time: a ticket opened an hour before the
        # first thing that happened to it, or lately when nothing has.
        opened = (min(known) - dt.timedelta(hours=1) if known
                  else now - dt.timedelta(hours=1 + index % 72))
        closed = max(resolved, opened) if status == TicketStatus.CLOSED and resolved else None
        ticket = Ticket(
            organization=org, number=first_number + index,
            subject=(row["Ticket Subject"].strip() or "(no subject)")[:250],
            contact_id=contacts[row["Customer Email"].strip().lower()], channel=channel,
            priority=priority, status=status, queue=queue, last_message_at=closed or
            responded or opened, last_customer_message_at=opened, first_response_at=responded,
            solved_at=closed, closed_at=closed,
        )
        tickets.append(ticket)
        plans.append((row, opened, responded, closed))
        report.by_status[status] += 1
    bulk.save_new(Ticket, tickets, now=now)
    for ticket, (_, opened, _, _) in zip(tickets, plans, strict=True):
        ticket.created_at = opened
    Ticket.objects.bulk_update(tickets, ["created_at"], batch_size=500)
    TicketSequence.objects.filter(pk=sequence.pk).update(
        last_number=first_number + len(tickets) - 1)

    _messages(org, admin, tickets, plans, now=now)
    _history(org, tickets, plans, now=now)
    bulk.insert_rows(TicketTag, ("organization_id", "ticket_id", "tag_id"), [
        (org.pk, ticket.pk, tags[row["Ticket Type"].strip()])
        for ticket, (row, *_rest) in zip(tickets, plans, strict=True)
        if row["Ticket Type"].strip()], now=now)
    search.index(Ticket, tickets)
    for ticket, (row, *_rest) in zip(tickets, plans, strict=True):
        rating = row["Customer Satisfaction Rating"].strip()
        if rating and ticket.solved_at:
            report.ratings.append((ticket.pk, min(5, max(1, round(float(rating))))))
    _surveys(org, admin, tickets, report, now=now)
    report.tickets = len(tickets)
    logger.info("demo.tickets_loaded", extra={"organization_id": org.id,
                                              "tickets": report.tickets})
    return report


def _surveys(org, admin, tickets, report: SupportReport, *, now) -> None:
    """The file's satisfaction ratings as answered surveys of the closed tickets."""
    by_id = {ticket.pk: ticket for ticket in tickets}
    emails = dict(Contact.objects.filter(pk__in={by_id[pk].contact_id for pk, _ in
                                                 report.ratings}).values_list("pk", "email"))
    rows = []
    for ticket_id, rating in report.ratings:
        ticket = by_id[ticket_id]
        solved = bulk.db_value(SatisfactionSurvey, "solved_at", ticket.solved_at)
        # A token nobody holds: these answers came with the file, not by e-mail.
        token_hash = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
        rows.append((org.pk, ticket.pk, solved, admin.pk, ticket.queue_id,
                     emails.get(ticket.contact_id, ""), token_hash, rating, solved, solved))
    bulk.insert_rows(SatisfactionSurvey, ("organization_id", "ticket_id", "solved_at",
                                          "agent_id", "queue_id", "email", "token_hash",
                                          "rating", "rated_at", "sent_at"), rows, now=now)


def _contacts(org, admin, rows: list[dict], report: SupportReport) -> dict[str, int]:
    """Contact ids by lower-cased address, making a contact for each address not known."""
    addresses = {row["Customer Email"].strip().lower(): row for row in reversed(rows)}
    found = dict(ContactEmail.objects.annotate(lower=Lower("address"))
                 .filter(lower__in=list(addresses), contact__deleted_at__isnull=True)
                 .values_list("lower", "contact_id"))
    new_rows, new_addresses = [], []
    for address, row in addresses.items():
        if address in found:
            continue
        first, _, last = row["Customer Name"].strip().partition(" ")
        try:
            values = clean_contact(org, {"email": address, "first_name": first,
                                         "last_name": last, "source": SOURCE})
        except InvalidInput as exc:
            raise ValueError(f"Customer {address!r}: {exc.errors[0]['message']}") from None
        new_rows.append(values)
        new_addresses.append(address)
    created = bulk.create_contacts(org, admin, new_rows)
    found.update({address: contact.pk
                  for address, contact in zip(new_addresses, created, strict=True)})
    report.contacts_created = len(created)
    return found


def _tags(org, rows: list[dict]) -> dict[str, int]:
    names = sorted({row["Ticket Type"].strip() for row in rows if row["Ticket Type"].strip()})
    tags = {}
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(
            organization=org, name=name)
        tags[name] = tag.pk
    return tags


def _at(model, value):
    return bulk.db_value(model, "created_at" if model is TicketMessage else "at", value)


def _messages(org, admin, tickets, plans, *, now) -> None:
    rows = []
    for ticket, (row, opened, responded, closed) in zip(tickets, plans, strict=True):
        product = row["Product Purchased"].strip() or "product"
        description = row["Ticket Description"].replace("{product_purchased}", product)
        rows.append((org.pk, ticket.pk, MessageKind.INBOUND, ticket.contact_id, None,
                     row["Customer Email"].strip().lower(), ticket.subject,
                     description.strip(), _at(TicketMessage, opened)))
        if row["Resolution"].strip():
            rows.append((org.pk, ticket.pk, MessageKind.REPLY, None, admin.pk, "",
                         ticket.subject, row["Resolution"].strip(),
                         _at(TicketMessage, max(responded or closed or opened, opened))))
    bulk.insert_rows(TicketMessage, ("organization_id", "ticket_id", "kind", "contact_id",
                                     "author_id", "from_address", "subject", "body",
                                     "created_at"), rows, now=now)


def _history(org, tickets, plans, *, now) -> None:
    rows = []
    for ticket, (_, opened, responded, closed) in zip(tickets, plans, strict=True):
        rows.append((org.pk, ticket.pk, "", TicketStatus.NEW, _at(TicketStatusChange, opened)))
        moved = {TicketStatus.PENDING: responded, TicketStatus.CLOSED: closed,
                 TicketStatus.OPEN: opened}.get(ticket.status)
        if moved is not None:
            rows.append((org.pk, ticket.pk, TicketStatus.NEW, ticket.status,
                         _at(TicketStatusChange, max(moved, opened))))
    bulk.insert_rows(TicketStatusChange, ("organization_id", "ticket_id", "from_status",
                                          "to_status", "at"), rows, now=now)
