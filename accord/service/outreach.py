"""Customers at risk, and templated e-mail to several of them at once.

A customer is at risk when they wait on a ticket past its SLA, when they
opened many tickets this month, or when they rated a recent solve 1 or 2
out of 5. An outreach stores one recipient row per customer before any e-mail
goes out; the worker claims each row before sending it, so every customer
gets the message at most once however often the job runs.
"""

import datetime as dt
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accord import merge_fields
from accord.activities import services as timeline
from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.models import (
    Consent,
    ConsentChannel,
    ConsentStatus,
    Contact,
    consents_in_effect,
)
from accord.customers.validation import Collector
from accord.errors import InvalidInput
from accord.identity.models import Membership

from .models import UNRESOLVED, Outreach, OutreachRecipient
from .queries import breached_q
from .validation import clean_body, clean_subject

logger = logging.getLogger(__name__)

MANY_TICKETS = 3  # tickets opened this month that make a customer worth a call
LOW_RATING = 2  # satisfaction answers at or below this count as unhappy
RATING_WINDOW = dt.timedelta(days=90)
MAX_RECIPIENTS = 500


def at_risk(*, reason: str = "", many: int = MANY_TICKETS, now: dt.datetime | None = None):
    """Contacts at risk with their figures, the most breached first.

    Each contact carries `open_tickets`, `breached_tickets`,
    `tickets_this_month` and `low_ratings` (answers of 1 or 2 in the last 90
    days); `reason` narrows to "breached", "many" or "unhappy".
    """
    now = now or timezone.now()
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0,
                                                  microsecond=0)
    live = Q(tickets__deleted_at__isnull=True)
    contacts = Contact.objects.filter(deleted_at__isnull=True, merged_into__isnull=True)
    contacts = contacts.annotate(
        open_tickets=Count("tickets", filter=live & Q(tickets__status__in=UNRESOLVED),
                           distinct=True),
        breached_tickets=Count("tickets", filter=live & Q(tickets__status__in=UNRESOLVED)
                               & _prefixed(breached_q(now)), distinct=True),
        tickets_this_month=Count("tickets", filter=live & Q(tickets__created_at__gte=month_start),
                                 distinct=True),
        low_ratings=Count("tickets__surveys", filter=live & Q(
            tickets__surveys__rating__lte=LOW_RATING,
            tickets__surveys__rated_at__gte=now - RATING_WINDOW), distinct=True),
    )
    risky = {"breached": Q(breached_tickets__gt=0), "many": Q(tickets_this_month__gte=many),
             "unhappy": Q(low_ratings__gt=0)}
    if reason in risky:
        condition = risky[reason]
    else:
        condition = risky["breached"] | risky["many"] | risky["unhappy"]
    return (contacts.filter(condition).select_related("company")
            .order_by("-breached_tickets", "-low_ratings", "-tickets_this_month", "id"))


def _prefixed(condition: Q) -> Q:
    """A condition on tickets, as seen from the contact (`tickets__` before each field)."""
    prefixed = Q()
    prefixed.connector, prefixed.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            prefixed.children.append(_prefixed(child))
        else:
            name, value = child
            prefixed.children.append((f"tickets__{name}", value))
    return prefixed


def _refused_email(contact_ids: list[int]) -> set[int]:
    """Contacts whose latest word on any kind of e-mail is no."""
    latest: dict[tuple[int, str], str] = {}
    for contact_id, purpose, status in (
            consents_in_effect(Consent.objects.filter(contact_id__in=contact_ids,
                                                      channel=ConsentChannel.EMAIL))
            .order_by("recorded_at", "id").values_list("contact_id", "purpose", "status")):
        latest[(contact_id, purpose)] = status
    return {contact_id for (contact_id, _), status in latest.items()
            if status == ConsentStatus.WITHDRAWN}


@transaction.atomic
def start_outreach(org, actor, *, contact_ids: list, subject: str, body: str,
                   reason: str = "") -> tuple[Outreach, dict]:
    """Store the outreach and one recipient per reachable contact; queue the sending.

    Returns the outreach and what was left out: contacts without an address
    and those who said no to e-mail. Raises InvalidInput for an empty
    subject or message, a merge-field mistake, or no contact chosen.
    """
    errors = Collector()
    subject_text = clean_subject(subject, errors, required=True)
    body_text = clean_body(body, "body", errors, required=True)
    ids = sorted({int(pk) for pk in contact_ids if str(pk).isdigit()})
    if not ids:
        errors.add("contact_ids", "Choose at least one customer.")
    elif len(ids) > MAX_RECIPIENTS:
        errors.add("contact_ids", f"Choose at most {MAX_RECIPIENTS} customers at once.")
    for text, field in ((subject_text, "subject"), (body_text, "body")):
        if text:
            try:
                merge_fields.check(text, field)
            except InvalidInput as exc:
                errors.absorb(exc)
    errors.raise_if_any()

    contacts = list(Contact.objects.filter(pk__in=ids, deleted_at__isnull=True))
    refused = _refused_email([contact.pk for contact in contacts])
    outreach = Outreach.objects.create(organization=org, subject=subject_text,
                                       body=body_text, reason=reason[:120],
                                       created_by=actor if getattr(actor, "pk", None) else None)
    skipped = {"no_address": 0, "refused": 0}
    for contact in contacts:
        if not contact.email:
            skipped["no_address"] += 1
        elif contact.pk in refused:
            skipped["refused"] += 1
        else:
            OutreachRecipient.objects.create(organization=org, outreach=outreach,
                                             contact=contact, address=contact.email)
    audit.record(org, actor, Action.CREATE, outreach,
                 changes={"subject": [None, subject_text],
                          "recipients": [None, outreach.recipients.count()]})
    transaction.on_commit(lambda: _queue(org.pk, outreach.pk))
    return outreach, skipped


def _queue(org_id: int, outreach_id: int) -> None:
    from .tasks import send_outreach

    send_outreach.delay(org_id, outreach_id)


def send_pending(org, outreach: Outreach) -> int:
    """Send every recipient not yet claimed; return how many were sent now."""
    sent = 0
    # Merge fields show what the person who wrote the e-mail may see, no more.
    writer = Membership.objects.filter(user_id=outreach.created_by_id).first()
    for recipient_id in list(outreach.recipients.filter(
            status=OutreachRecipient.Status.PENDING).values_list("pk", flat=True)):
        claimed = OutreachRecipient.objects.filter(
            pk=recipient_id, status=OutreachRecipient.Status.PENDING,
        ).update(status=OutreachRecipient.Status.SENDING)
        if not claimed:
            continue  # another worker has it
        recipient = OutreachRecipient.objects.select_related("contact__company").get(
            pk=recipient_id)
        values = merge_fields.person_values(recipient.contact, writer)
        if writer is None:
            values["contact"]["custom"] = {}
        values["organization"] = {"name": org.name}
        try:
            # A value with a line break must not become a second header line.
            subject = " ".join(merge_fields.render(outreach.subject, values).split())
            mail = EmailMessage(subject=subject, body=merge_fields.render(outreach.body, values),
                                from_email=settings.DEFAULT_FROM_EMAIL,
                                to=[recipient.address])
            mail.send()
        except (smtplib.SMTPException, OSError, ValueError, InvalidInput) as exc:
            OutreachRecipient.objects.filter(pk=recipient_id).update(
                status=OutreachRecipient.Status.FAILED, error=str(exc)[:300])
            logger.warning("outreach.failed", extra={"organization_id": org.id,
                                                     "recipient_id": recipient_id})
            continue
        OutreachRecipient.objects.filter(pk=recipient_id).update(
            status=OutreachRecipient.Status.SENT, sent_at=timezone.now())
        timeline.log_event(org, outreach.created_by, "outreach.sent",
                           contact=recipient.contact, company=recipient.contact.company,
                           data={"subject": mail.subject})
        sent += 1
    return sent
