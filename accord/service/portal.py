"""The customer portal: contacts sign in by e-mailed link and see their own tickets.

A portal session is not a Django login. It is two keys of the session,
the contact's id and the organisation's, checked on every request; an agent
signed in in the same browser stays who they are. Every read goes through
`visible_tickets`, which holds the one rule of who sees what: a contact sees
their own tickets, and their company's when the organisation shares them.

Asking for a link answers the same whether the address is known or not, and
the throttle counts every request alike, so neither says who is a contact.
The link's token is signed (so its age is checked before any query), stored
only as a hash, and works once.
"""

import datetime as dt
import hashlib
import logging
import secrets
import smtplib

from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.customers.validation import Collector
from accord.errors import DomainError, InvalidInput, NotFound, StaleVersion
from accord.identity.models import Organization, hash_secret

from . import services
from .models import (
    Channel,
    MessageKind,
    PortalSettings,
    PortalSignInRequest,
    Ticket,
    TicketMessage,
    TicketStatus,
)
from .validation import clean_body, clean_subject

logger = logging.getLogger(__name__)

LINK_LIFETIME = dt.timedelta(minutes=30)
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_PER_ADDRESS = 3  # a lost or slow mail is asked for again once or twice, not more
MAX_PER_IP = 20  # an office behind one address still gets in; a script trying addresses does not
SESSION_CONTACT_KEY = "portal_contact_id"
SESSION_ORG_KEY = "portal_organization_id"
SETTINGS_FIELDS = ["is_enabled", "share_company_tickets"]

_signer = signing.TimestampSigner(salt="accord.portal.sign-in")


class Throttled(DomainError):
    code = "throttled"
    title = _("Too many requests")
    status = 429


def email_hash(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


# Settings


def settings_for(org) -> PortalSettings:
    """The organisation's portal settings; the defaults (unsaved) when never set."""
    return PortalSettings.objects.first() or PortalSettings(organization=org)


@transaction.atomic
def update_settings(org, actor, *, data: dict,
                    expected_version: int | None = None) -> PortalSettings:
    """Switch the portal on or off and decide whether a company's contacts share tickets."""
    PortalSettings.objects.get_or_create(organization=org)
    current = PortalSettings.objects.select_for_update().get()
    if expected_version is not None and int(expected_version) != current.version:
        raise StaleVersion(current_version=current.version)
    errors = Collector()
    for flag in SETTINGS_FIELDS:
        if flag in data and not isinstance(data[flag], bool):
            errors.add(flag, "Give true or false.")
    errors.raise_if_any()
    before = audit.snapshot(current, SETTINGS_FIELDS)
    for flag in SETTINGS_FIELDS:
        if flag in data:
            setattr(current, flag, data[flag])
    changes = audit.diff(before, audit.snapshot(current, SETTINGS_FIELDS))
    if not changes:
        return current
    current.save_new_version()
    audit.record(org, actor, Action.UPDATE, current, entity="portal_settings",
                 changes=changes)
    return current


def organization_for_slug(slug: str) -> Organization:
    """The organisation at `slug`; whether its portal is on is `settings_for(org)`'s to say."""
    org = Organization.objects.filter(slug=slug).first()
    if org is None:
        raise NotFound("No portal here.")
    return org


# Signing in


def throttled(org, address: str, ip: str) -> bool:
    since = timezone.now() - THROTTLE_WINDOW
    recent = PortalSignInRequest.objects.filter(created_at__gte=since)
    if recent.filter(email_hash=email_hash(address)).count() >= MAX_PER_ADDRESS:
        return True
    return bool(ip) and recent.filter(ip=ip).count() >= MAX_PER_IP


@transaction.atomic
def request_sign_in(org, address: str, *, ip: str, link_for) -> None:
    """Mail a sign-in link to `address` when a live contact has it; otherwise do nothing.

    `link_for(token)` makes the absolute URL of the link. The caller cannot
    tell which happened. Raises Throttled, for known and unknown addresses
    alike, after too many requests for the address or from the IP.
    """
    if throttled(org, address, ip):
        logger.warning("portal.sign_in_throttled", extra={"organization_id": org.id})
        raise Throttled("Too many sign-in links were asked for. Wait a few minutes, "
                        "then try again.")

    now = timezone.now()
    contact = customers.contact_with_address(address)
    raw = secrets.token_urlsafe(32) if contact is not None else ""
    entry = PortalSignInRequest.objects.create(
        organization=org, email_hash=email_hash(address), ip=ip[:45], contact=contact,
        token_hash=hash_secret(raw) if raw else "", expires_at=now + LINK_LIFETIME,
    )
    if contact is None:
        return
    url = link_for(_signer.sign(raw))
    message = render_to_string("service/portal/email/sign_in.txt", {
        "org": org, "contact": contact, "url": url,
        "minutes": int(LINK_LIFETIME.total_seconds() // 60)})
    # Sent to the address that was typed: it is the contact's, and the
    # person asking proves they read it by following the link.
    recipient = address.strip()
    transaction.on_commit(lambda: _send_link(org, entry, recipient, message))


def _send_link(org, entry: PortalSignInRequest, recipient: str, message: str) -> None:
    try:
        send_mail(subject=f"Sign in to {org.name}", message=message, from_email=None,
                  recipient_list=[recipient])
    except (OSError, smtplib.SMTPException):
        logger.warning("portal.sign_in_mail_failed",
                       extra={"organization_id": org.id, "request_id": entry.pk})
    else:
        logger.info("portal.sign_in_mailed",
                    extra={"organization_id": org.id, "request_id": entry.pk})


@transaction.atomic
def redeem_sign_in(org, token: str) -> Contact:
    """The contact a sign-in link is for; the link stops working.

    Raises NotFound when the signature is wrong, the link is older than its
    lifetime, was used before, belongs to another organisation, or its
    contact is gone.
    """
    invalid = NotFound("This sign-in link is not valid any more. Ask for a new one.")
    try:
        raw = _signer.unsign(token or "", max_age=LINK_LIFETIME)
    except signing.BadSignature:
        raise invalid from None
    now = timezone.now()
    hashed = hash_secret(raw)
    # The conditional update is what makes the link single-use: of two
    # requests racing with the same link, only one changes the row.
    used = (PortalSignInRequest.objects.filter(token_hash=hashed, used_at__isnull=True,
                                               expires_at__gt=now)
            .exclude(token_hash="").update(used_at=now))
    if used != 1:
        raise invalid
    entry = PortalSignInRequest.objects.get(token_hash=hashed)
    contact = Contact.objects.filter(pk=entry.contact_id).first()
    if contact is None:
        raise invalid
    logger.info("portal.signed_in", extra={"organization_id": org.id, "contact_id": contact.pk})
    return contact


def sign_in(request, org, contact: Contact) -> None:
    """Start a portal session for `contact`; a new session key, so no old one carries over."""
    request.session.cycle_key()
    request.session[SESSION_CONTACT_KEY] = contact.pk
    request.session[SESSION_ORG_KEY] = org.pk


def sign_out(request) -> None:
    request.session.pop(SESSION_CONTACT_KEY, None)
    request.session.pop(SESSION_ORG_KEY, None)
    request.session.cycle_key()


def signed_in_contact(request, org) -> Contact | None:
    """The contact of this portal session, when it is for `org` and they are still live."""
    if request.session.get(SESSION_ORG_KEY) != org.pk:
        return None
    contact_id = request.session.get(SESSION_CONTACT_KEY)
    return Contact.objects.filter(pk=contact_id).first() if contact_id else None


# Tickets


def visible_tickets(org, contact: Contact) -> QuerySet:
    """The tickets `contact` may see: their own, plus their company's when shared."""
    shared = settings_for(org).share_company_tickets and contact.company_id
    rule = Q(contact=contact)
    if shared:
        rule |= Q(company_id=contact.company_id)
    return Ticket.objects.filter(rule)


def get_visible_ticket(org, contact: Contact, number) -> Ticket:
    """One ticket the contact may see, by number; NotFound for any other."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = None
    ticket = visible_tickets(org, contact).filter(number=number).first() if number else None
    if ticket is None:
        raise NotFound("No ticket with this number.")
    return ticket


def public_thread(ticket: Ticket) -> list[TicketMessage]:
    """The messages the customer may read: everything but internal notes."""
    return list(ticket.messages.exclude(kind=MessageKind.NOTE).select_related("author")
                .order_by("created_at", "id"))


def open_ticket(org, contact: Contact, *, subject: str, body: str) -> Ticket:
    """A ticket the contact opens in the portal. Raises InvalidInput naming bad fields."""
    errors = Collector()
    clean_subject(subject, errors, required=True)
    clean_body(body, "body", errors, required=True)
    errors.raise_if_any()
    ticket = services.create_ticket(org, None, data={"subject": subject, "contact": contact.pk},
                                    body=body, channel=Channel.PORTAL,
                                    require_custom_fields=False)
    logger.info("portal.ticket_opened", extra={"organization_id": org.id,
                                               "ticket_id": ticket.pk,
                                               "contact_id": contact.pk})
    return ticket


def reply(org, contact: Contact, ticket: Ticket, *, body: str) -> TicketMessage:
    """The contact writes on a ticket they may see; a solved ticket reopens."""
    errors = Collector()
    text = clean_body(body, "body", errors, required=True)
    errors.raise_if_any()
    ticket = get_visible_ticket(org, contact, ticket.number)
    if ticket.status == TicketStatus.CLOSED:
        raise InvalidInput({"body": "This request is closed. Open a new one instead."})
    return services.add_customer_message(org, None, ticket, message={
        "body": text, "contact": contact, "from_address": contact.email,
        "from_name": str(contact)[:200], "subject": ticket.subject,
    })
