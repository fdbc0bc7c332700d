"""What Accord holds about one contact: the records, by area, and the words that name them.

Export, erasure and anonymisation all start here, so the three agree on what
belongs to a person. Must run inside the organisation's scope.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q

from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.commerce.models import BehaviourEvent, Order, OrderLine, Subscription
from accord.core.models import DomainEvent
from accord.customers.models import (
    Affiliation,
    Consent,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    CustomField,
    LifecycleChange,
)
from accord.insights.models import ChurnScore, LoyaltyStatus, RfmScore
from accord.marketing.models import CampaignRecipient, LinkClick, SegmentMember
from accord.marketing.webform_models import WebFormSubmission
from accord.sales.models import Deal, DealContact, Lead, LeadActivity, LineItem
from accord.service.models import (
    OutreachRecipient,
    PortalSignInRequest,
    SatisfactionSurvey,
    Ticket,
    TicketAttachment,
    TicketMessage,
)

# Names shorter than this are not looked for in free text: "Al Li" would
# match far more than the person.
MIN_NAME_LENGTH = 5
# Fewer digits than this are not a phone number worth looking for.
MIN_PHONE_DIGITS = 6


@dataclass
class Subject:
    """A contact (and the records merged into it) and the identifiers that name it."""

    contact: Contact
    contact_ids: list[int]
    addresses: list[str]
    phones: list[str]
    names: list[str]
    lead_ids: list[int] = field(default_factory=list)
    ticket_ids: list[int] = field(default_factory=list)

    @property
    def identifiers(self) -> list[str]:
        """The strings that, found anywhere, point at this person."""
        return sorted({*self.addresses, *self.phones, *self.names}, key=len, reverse=True)


def load(contact: Contact) -> Subject:
    """The subject of a request about `contact`, its leads and tickets looked up once."""
    shells = list(Contact.with_deleted.filter(merged_into=contact).values_list("pk", flat=True))
    ids = [contact.pk, *shells]
    people = list(Contact.with_deleted.filter(pk__in=ids))
    addresses = {person.email.lower() for person in people if person.email}
    addresses |= {address.lower() for address in ContactEmail.objects.filter(
        contact_id__in=ids).values_list("address", flat=True)}
    phones = {person.phone for person in people if person.phone}
    for raw, number in ContactPhone.objects.filter(contact_id__in=ids).values_list(
            "raw", "number"):
        phones |= {raw, number}
    names = {f"{person.first_name} {person.last_name}".strip() for person in people}
    leads = Lead.with_deleted.filter(
        Q(converted_contact_id__in=ids) | Q(email__in=addresses) if addresses
        else Q(converted_contact_id__in=ids))
    lead_ids = list(leads.values_list("pk", flat=True))
    ticket_ids = list(Ticket.with_deleted.filter(contact_id__in=ids).values_list("pk", flat=True))
    return Subject(
        contact=contact, contact_ids=ids, addresses=sorted(addresses),
        phones=sorted(phone for phone in phones
                      if phone and len(re.sub(r"\D", "", phone)) >= MIN_PHONE_DIGITS),
        names=sorted(name for name in names if len(name) >= MIN_NAME_LENGTH and " " in name),
        lead_ids=lead_ids, ticket_ids=ticket_ids,
    )


def subject_hash(org, addresses: list[str]) -> str:
    """A keyed hash of the person's addresses: the same person gives the same hash in
    this organisation, and the hash alone does not give the address back."""
    key = f"{settings.SECRET_KEY}:privacy:{org.pk}".encode()
    message = "\n".join(sorted(address.lower() for address in addresses)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# What is exported, area by area: (file name, [(section, queryset)]).


def areas(subject: Subject) -> list[tuple[str, list[tuple[str, object]]]]:
    ids = subject.contact_ids
    deal_ids = DealContact.objects.filter(contact_id__in=ids).values("deal_id")
    order_ids = Order.objects.filter(contact_id__in=ids).values("pk")
    recipients = CampaignRecipient.objects.filter(contact_id__in=ids)
    messages = TicketMessage.objects.filter(
        Q(ticket_id__in=subject.ticket_ids) | Q(contact_id__in=ids))
    return [
        ("contact", [
            ("contacts", Contact.with_deleted.filter(pk__in=ids)),
            ("emails", ContactEmail.objects.filter(contact_id__in=ids)),
            ("phones", ContactPhone.objects.filter(contact_id__in=ids)),
            ("companies", Affiliation.objects.filter(contact_id__in=ids)
             .select_related("company")),
            ("tags", ContactTag.objects.filter(contact_id__in=ids).select_related("tag")),
            ("lifecycle_changes", LifecycleChange.objects.filter(contact_id__in=ids)),
        ]),
        ("consents", [("consents", Consent.objects.filter(contact_id__in=ids)
                       .order_by("recorded_at", "id"))]),
        ("activities", [("activities", Activity.objects.filter(contact_id__in=ids)
                         .order_by("occurred_at", "id"))]),
        ("deals", [
            ("deals", Deal.with_deleted.filter(pk__in=deal_ids)),
            ("contact_roles", DealContact.objects.filter(contact_id__in=ids)),
            ("line_items", LineItem.objects.filter(deal_id__in=deal_ids)),
        ]),
        ("leads", [
            ("leads", Lead.with_deleted.filter(pk__in=subject.lead_ids)),
            ("lead_activities", LeadActivity.objects.filter(lead_id__in=subject.lead_ids)),
        ]),
        ("tickets", [
            ("tickets", Ticket.with_deleted.filter(pk__in=subject.ticket_ids)),
            ("messages", messages.order_by("created_at", "id")),
            ("attachments", TicketAttachment.objects.filter(message__in=messages)),
            ("satisfaction_surveys", SatisfactionSurvey.objects.filter(
                ticket_id__in=subject.ticket_ids)),
        ]),
        ("orders", [
            ("orders", Order.objects.filter(pk__in=order_ids)),
            ("order_lines", OrderLine.objects.filter(order_id__in=order_ids)),
            ("subscriptions", Subscription.objects.filter(contact_id__in=ids)),
        ]),
        ("campaigns", [
            ("messages_received", recipients.select_related("campaign")),
            ("link_clicks", LinkClick.objects.filter(recipient__in=recipients)
             .select_related("link")),
            ("segment_memberships", SegmentMember.objects.filter(contact_id__in=ids)
             .select_related("segment")),
            ("service_announcements", OutreachRecipient.objects.filter(contact_id__in=ids)),
        ]),
        ("form_submissions", [("form_submissions", WebFormSubmission.objects.filter(
            Q(contact_id__in=ids) | Q(lead_id__in=subject.lead_ids)).select_related("form"))]),
        ("behaviour_events", [("behaviour_events", BehaviourEvent.objects.filter(
            contact_id__in=ids).order_by("occurred_at", "id"))]),
        ("scores", [
            ("rfm", RfmScore.objects.filter(contact_id__in=ids)),
            ("churn", ChurnScore.objects.filter(contact_id__in=ids)),
            ("loyalty", LoyaltyStatus.objects.filter(contact_id__in=ids)),
        ]),
        ("portal", [("sign_in_requests", PortalSignInRequest.objects.filter(
            contact_id__in=ids))]),
        ("audit", [
            ("audit_entries", AuditEntry.objects.filter(
                Q(entity="contact", object_id__in=ids)
                | Q(entity="lead", object_id__in=subject.lead_ids)
                | Q(entity="ticket", object_id__in=subject.ticket_ids)).order_by("id")),
            ("events", DomainEvent.objects.filter(entity="contact", object_id__in=ids)
             .order_by("id")),
        ]),
    ]


def custom_field_labels() -> dict[str, str]:
    return dict(CustomField.objects.filter(entity="contact").values_list("key", "label"))


def files(subject: Subject) -> list[tuple[str, object]]:
    """(name in the archive, stored file) for every file that belongs to the subject."""
    messages = TicketMessage.objects.filter(
        Q(ticket_id__in=subject.ticket_ids) | Q(contact_id__in=subject.contact_ids))
    found = [(f"files/attachment-{attachment.pk}-{attachment.filename}", attachment.file)
             for attachment in TicketAttachment.objects.filter(message__in=messages)]
    found += [(f"files/message-{message.pk}.eml", message.raw)
              for message in messages.exclude(raw="")]
    return found
