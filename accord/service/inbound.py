"""Mail to a queue's address becomes a ticket, or joins the ticket it answers.

The listener, an .eml upload and the mailbox poll all hand raw bytes to
`receive_mail`. A message is threaded by any Message-ID in its In-Reply-To
or References that belongs to a ticket's thread (mail Accord sent or
received), then by a "[#1042]" tag in the subject when the sender already
takes part in that ticket. The sender becomes a contact if no contact has the
address. A message already stored (the same Message-ID) is not stored again.
Bounces, complaints and read receipts never open a ticket; auto-replies
join a thread quietly but never open or reopen one, so two robots cannot
keep answering each other.

A member uploading a saved message (`viewer`) threads it only onto tickets
they see, and a contact or lead hidden from them is as unknown as a missing
one: the message opens a ticket (or a lead) of its own instead. Mail that
arrives by itself (the listener, the mailbox poll) has no viewer.
"""

import dataclasses
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django_scopes import scope, scopes_disabled

from accord.audit.context import channel
from accord.customers import services as customers
from accord.customers.models import Contact, ContactEmail
from accord.errors import InvalidInput
from accord.identity.models import Area
from accord.identity.visibility import visible

from . import services
from .mail.parse import ParsedMail, parse_message
from .models import (
    Channel,
    LeadMail,
    MessageKind,
    Queue,
    QueuePurpose,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from .queries import visible_tickets

logger = logging.getLogger(__name__)

NOT_FOR_TICKETS = {"bounce", "complaint", "receipt"}
SUBJECT_FALLBACK = "(no subject)"


@dataclass(frozen=True)
class Received:
    """What became of one message for one organisation."""

    outcome: str  # "created", "threaded", "duplicate", "ignored"
    ticket: Ticket | None = None
    message: TicketMessage | None = None
    lead: object | None = None


def queue_for_address(address: str) -> Queue | None:
    """The active queue that owns `address`, in whichever organisation; None if none."""
    address = (address or "").strip().lower()
    if not address:
        return None
    with scopes_disabled():
        return (Queue.unscoped.annotate(lower=Lower("email_address"))
                .filter(lower=address, is_active=True).select_related("organization").first())


def accepts_recipient(address: str) -> bool:
    return queue_for_address(address) is not None


def deliver(raw: bytes, recipients: list[str], sender: str = "") -> list[Received]:
    """Store a message sent to `recipients`, once per organisation owning one of them.

    A message without a From header is taken as sent by the envelope `sender`.
    """
    queues: dict[int, Queue] = {}
    for address in recipients:
        queue = queue_for_address(address)
        if queue is not None:
            queues.setdefault(queue.organization_id, queue)
    if not queues:
        logger.info("mail.no_queue", extra={"recipients": len(recipients)})
        return []
    parsed = parse_message(raw)
    if not parsed.from_address and "@" in sender:
        parsed = dataclasses.replace(parsed, from_address=sender.strip().lower())
    results = []
    for queue in queues.values():
        with scope(organization=queue.organization), channel("mail"):
            results.append(receive_mail(queue.organization, queue, parsed, raw))
    return results


def receive_mail(org, queue: Queue | None, parsed: ParsedMail, raw: bytes | None, *,
                 viewer=None) -> Received:
    """Thread or open a ticket for one parsed message, inside the organisation's scope.

    Mail to a sales address (a queue whose purpose is leads) becomes a lead instead.
    A `viewer` (the Membership of a member uploading the message) meets only the
    tickets, contacts and leads they see.
    """
    if queue is not None and queue.purpose == QueuePurpose.LEADS:
        return receive_lead_mail(org, parsed, viewer=viewer)
    # A message already on a ticket hidden from the uploading member is reported
    # as known too: its Message-ID is unique, so it cannot be stored a second time.
    if parsed.message_id and TicketMessage.objects.filter(
            message_id=parsed.message_id).exists():
        return Received("duplicate")
    if not parsed.from_address or queue_for_address(parsed.from_address) is not None:
        # Nobody to answer (a null sender is an automated notice), or mail from a
        # support address of Accord's own, which answering would send round in a loop.
        logger.info("mail.no_customer_sender", extra={"organization_id": org.id})
        return Received("ignored")
    ticket = find_thread(parsed, viewer=viewer)
    if parsed.kind in NOT_FOR_TICKETS:
        logger.info("mail.not_for_tickets", extra={"organization_id": org.id,
                                                   "kind": parsed.kind})
        if ticket is not None:
            return _store_notice(org, ticket, parsed)
        return Received("ignored")
    if ticket is None and parsed.kind == "auto_reply":
        return Received("ignored")
    try:
        with transaction.atomic():
            return _store(org, queue, ticket, parsed, raw, viewer)
    except IntegrityError:
        # The same message arrived through another door at the same moment.
        if TicketMessage.objects.filter(message_id=parsed.message_id).exists():
            return Received("duplicate")
        raise


def receive_lead_mail(org, parsed: ParsedMail, *, viewer=None) -> Received:
    """A new lead from the sender, or a note on their open lead when they have one
    (and the `viewer`, if any, sees it).

    The lead's owner comes from the lead assignment rules, as for any lead.
    Only people's mail counts: bounces, receipts and auto-replies are dropped.
    """
    from accord.sales import leads
    from accord.sales.models import Lead, LeadStatus

    if LeadMail.objects.filter(message_id=parsed.message_id).exists():
        return Received("duplicate")
    if parsed.kind != "message" or not parsed.from_address:
        return Received("ignored")
    text = (parsed.reply_text or parsed.text).strip()
    with transaction.atomic():
        candidates = Lead.objects.all()
        if viewer is not None:
            candidates = visible(candidates, viewer, Area.LEADS)
        open_lead = (candidates.filter(email__iexact=parsed.from_address,
                                       status__in=[LeadStatus.NEW, LeadStatus.WORKING])
                     .order_by("-id").first())
        if open_lead is not None:
            leads.add_note(org, None, open_lead,
                           body=f"E-mail: {parsed.subject}\n\n{text}"[:20000])
            LeadMail.objects.create(organization=org, message_id=parsed.message_id[:250],
                                    lead=open_lead)
            return Received("threaded", lead=open_lead)
        first, _, last = parsed.from_name.strip().partition(" ")
        data = {"email": parsed.from_address, "first_name": first[:100],
                "last_name": last[:100], "source": "E-mail",
                "description": f"{parsed.subject}\n\n{text}".strip()[:20000]}
        try:
            lead = leads.create_lead(org, None, data=data, channel="email")
        except InvalidInput:
            lead = leads.create_lead(org, None, data={
                "email": parsed.from_address, "source": "E-mail",
                "description": data["description"]}, channel="email")
        LeadMail.objects.create(organization=org, message_id=parsed.message_id[:250],
                                lead=lead)
    return Received("created", lead=lead)


def find_thread(parsed: ParsedMail, *, viewer=None) -> Ticket | None:
    """The live ticket this message answers, by its headers first, then by the subject tag;
    given a `viewer`, only a ticket that member sees."""
    tickets = Ticket.objects.all()
    if viewer is not None:
        tickets = visible_tickets(tickets, viewer)
    if parsed.all_ids:
        known = (TicketMessage.objects.filter(message_id__in=parsed.all_ids,
                                              ticket__deleted_at__isnull=True,
                                              ticket__in=tickets.values("pk"))
                 .select_related("ticket").order_by("-id").first())
        if known is not None:
            return known.ticket
    if parsed.ticket_number and parsed.from_address:
        ticket = tickets.filter(number=parsed.ticket_number).first()
        if ticket is not None and _takes_part(ticket, parsed.from_address):
            return ticket
    return None


def _takes_part(ticket: Ticket, address: str) -> bool:
    # A subject tag alone is easy to guess; only someone already in the
    # conversation may add to a ticket by quoting its number.
    if ticket.messages.filter(Q(from_address__iexact=address)).exists():
        return True
    return bool(ticket.contact_id and ticket.contact.emails.filter(
        address__iexact=address).exists())


def contact_for_sender(org, parsed: ParsedMail, *, viewer=None) -> Contact | None:
    """The contact with the sender's address (one the `viewer` sees, if given), or a new
    one made from the From header."""
    address = parsed.reply_to if parsed.from_address == "" else parsed.from_address
    if not address:
        return None
    emails = ContactEmail.objects.all()
    if viewer is not None:
        seen = visible(Contact.objects.all(), viewer, Area.CONTACTS)
        emails = emails.filter(contact__in=seen.values("pk"))
    found = (emails.annotate(lower=Lower("address"))
             .filter(lower=address.lower(), contact__deleted_at__isnull=True,
                     contact__merged_into__isnull=True)
             .select_related("contact").order_by("-is_primary", "id").first())
    if found is not None:
        return found.contact
    first, _, last = parsed.from_name.strip().partition(" ")
    data = {"email": address, "first_name": first[:100], "last_name": last[:100],
            "source": "E-mail"}
    try:
        return customers.create_contact(org, None, data=data)
    except InvalidInput:
        # A name or address the contact rules refuse: keep the address alone,
        # and if even that is refused, the ticket keeps the sender on the message.
        try:
            return customers.create_contact(org, None, data={"email": address,
                                                             "source": "E-mail"})
        except InvalidInput:
            return None


def _message_values(parsed: ParsedMail, raw: bytes | None, contact: Contact | None) -> dict:
    return {
        "contact": contact,
        "from_name": parsed.from_name[:200],
        "from_address": parsed.from_address[:254],
        "to": parsed.to, "cc": parsed.cc,
        "subject": parsed.subject[:250],
        "body": parsed.reply_text or parsed.text,
        "full_text": parsed.text if parsed.reply_text != parsed.text else "",
        "body_html": parsed.html,
        "message_id": parsed.message_id[:250],
        "in_reply_to": (parsed.in_reply_to[0] if parsed.in_reply_to else "")[:250],
        "references": " ".join(parsed.references),
        "mail_kind": parsed.kind,
        "attachments": list(parsed.attachments),
        "raw": raw,
    }


def _store(org, queue, ticket, parsed: ParsedMail, raw, viewer) -> Received:
    contact = contact_for_sender(org, parsed, viewer=viewer)
    values = _message_values(parsed, raw, contact)
    if ticket is not None and ticket.status != TicketStatus.CLOSED:
        message = services.add_customer_message(org, None, ticket, message=values,
                                                reopen=parsed.kind != "auto_reply")
        return Received("threaded", ticket, message)
    data = {"subject": (parsed.subject or SUBJECT_FALLBACK)[:250]}
    if contact is not None:
        data["contact"] = contact.pk
    if queue is not None:
        data["queue"] = queue.pk
    created = services.create_ticket(org, None, data=data, channel=Channel.EMAIL,
                                     message=values, routable=frozenset({"queue"}),
                                     require_custom_fields=False)
    return Received("created", created, created.messages.order_by("id").first())


def _store_notice(org, ticket: Ticket, parsed: ParsedMail) -> Received:
    """A bounce or receipt about a ticket's mail: kept as a note for the team, nothing sent."""
    label = {"bounce": "Delivery failed", "complaint": "Marked as spam by the recipient",
             "receipt": "Read receipt"}.get(parsed.kind, parsed.kind)
    with transaction.atomic():
        note = services.add_note(org, None, ticket,
                                 body=f"{label}: {parsed.subject}\n\n{parsed.text[:4000]}")
        note.message_id = parsed.message_id[:250]
        note.mail_kind = parsed.kind
        note.from_address = parsed.from_address[:254]
        note.save(update_fields=["message_id", "mail_kind", "from_address"])
    return Received("threaded", ticket, note)


__all__ = ["MessageKind", "Received", "accepts_recipient", "deliver", "receive_mail"]
