"""Erasing or anonymising one contact: what goes, what stays for the books, what is scrubbed.

Erase deletes the contact and every record that is theirs alone: timeline,
consents, tickets and their messages, leads, form submissions, behaviour
events, and orders and subscriptions not also booked to a company. Deals
stay (they belong to the sales team and often to a company), without the
contact.

Anonymise keeps the contact as a nameless record so that orders, order lines,
subscriptions, deal links, campaign counts and scores still add up, and
removes the rest as erase does: names, addresses, phones, custom values,
timeline, consents, message bodies, form data.

Both then put the person's e-mail addresses on the suppression list (the one
place the addresses stay, so no campaign or form e-mails them again), rewrite
the audit trail and domain events about the contact so they no longer name
them, and look through every other table of the organisation for their
e-mail addresses and phone numbers. Must run inside the organisation's scope.
"""

import logging
import re

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q

from accord import search
from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.commerce.models import BehaviourEvent, Order, Subscription
from accord.core.models import DomainEvent, TenantModel
from accord.customers.models import (
    Affiliation,
    Consent,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
    DuplicatePair,
)
from accord.errors import InvalidInput
from accord.marketing import campaigns
from accord.marketing.models import CampaignRecipient, SuppressedAddress, SuppressionReason
from accord.marketing.webform_models import WebFormSubmission
from accord.sales.models import Deal, DealContact, Lead, LeadActivity
from accord.service.models import (
    OutreachRecipient,
    PortalSignInRequest,
    SatisfactionSurvey,
    Ticket,
    TicketAttachment,
    TicketMessage,
)

from .subject import Subject

logger = logging.getLogger(__name__)

ERASED = "[erased]"
ANONYMOUS_NAME = "Anonymised"
# Tables the final sweep leaves alone: the suppression list must keep the
# address to do its job; privacy's own records hold no personal data, and
# members' accounts are not the contact's.
SWEEP_SKIPS = {SuppressedAddress}
SWEEP_SKIP_APPS = {"privacy", "identity"}
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)
ANONYMOUS_LEAD = {"first_name": "", "last_name": ANONYMOUS_NAME, "email": "", "phone": "",
                  "title": "", "description": "", "custom_fields": {}, "score_reasons": []}


def erase(org, actor, subject: Subject, *, anonymise: bool, note: str = "",
          suppress: bool = True, sweep_tables: bool = True) -> dict[str, int]:
    """Erase (or anonymise) the subject; return what was removed or rewritten, by area.

    All or nothing: one transaction. `note` goes on the suppression entries
    and must not name the person (the request's reference does). Retention
    rules pass `suppress=False` and `sweep_tables=False`: they remove old
    records in bulk, on no one's request, and sweep once for a whole batch of
    people rather than reading every table once per person.
    """
    counts: dict[str, int] = {}
    with transaction.atomic():
        if suppress:
            for address in subject.addresses:
                _suppress(org, actor, address, note)
            counts["suppressed"] = len(subject.addresses)
        counts |= _remove_personal_records(subject, anonymise=anonymise)
        counts |= _handle_orders(subject, anonymise=anonymise)
        counts["audit_entries"] = _rewrite_audit(subject)
        if anonymise:
            _anonymise_contacts(subject)
        else:
            counts["contacts"] = _delete_contacts(subject)
        if sweep_tables:
            counts["other_records"] = sweep(org, [*subject.addresses, *subject.phones])
        _reindex(subject)
    return counts


def _suppress(org, actor, address: str, note: str) -> None:
    try:
        campaigns.suppress_address(org, actor, address, reason=SuppressionReason.MANUAL,
                                   note=note)
    except InvalidInput:
        # An address that never was valid cannot be e-mailed either.
        logger.warning("privacy.unsuppressible_address",
                       extra={"organization_id": org.id})


def _remove_personal_records(subject: Subject, *, anonymise: bool) -> dict[str, int]:
    ids = subject.contact_ids
    counts = {
        "activities": Activity.objects.filter(contact_id__in=ids).delete()[0],
        "consents": Consent.objects.filter(contact_id__in=ids).delete()[0],
        "form_submissions": WebFormSubmission.objects.filter(
            Q(contact_id__in=ids) | Q(lead_id__in=subject.lead_ids)).delete()[0],
        "portal_sign_ins": PortalSignInRequest.objects.filter(contact_id__in=ids).delete()[0],
        "duplicate_pairs": DuplicatePair.objects.filter(
            Q(low_id__in=ids) | Q(high_id__in=ids), entity="contact").delete()[0],
    }
    counts |= _handle_tickets(subject, anonymise=anonymise)
    counts |= _handle_leads(subject, anonymise=anonymise)
    if anonymise:
        counts["behaviour_events"] = BehaviourEvent.objects.filter(
            contact_id__in=ids).update(properties={})
        counts["campaign_messages"] = CampaignRecipient.objects.filter(
            contact_id__in=ids).update(address="")
        OutreachRecipient.objects.filter(contact_id__in=ids).update(address="")
        for model in (ContactEmail, ContactPhone, ContactTag, Affiliation):
            model.objects.filter(contact_id__in=ids).delete()
    return counts


def _handle_tickets(subject: Subject, *, anonymise: bool) -> dict[str, int]:
    """Tickets of the subject go (erase) or lose their words (anonymise); their messages
    on other people's tickets lose their words either way."""
    own = Q(ticket_id__in=subject.ticket_ids)
    theirs = Q(contact_id__in=subject.contact_ids)
    messages = TicketMessage.objects.filter(own | theirs)
    remove_message_files(messages)
    if not anonymise:
        TicketMessage.objects.filter(theirs & ~own).update(**blank_message())
        deleted = Ticket.with_deleted.filter(pk__in=subject.ticket_ids).delete()[0]
        return {"tickets": deleted}
    rewritten = messages.update(**blank_message())
    Ticket.with_deleted.filter(pk__in=subject.ticket_ids).update(
        subject=ANONYMOUS_NAME, custom_fields={})
    SatisfactionSurvey.objects.filter(ticket_id__in=subject.ticket_ids).update(
        email="", comment="")
    return {"tickets": len(subject.ticket_ids), "ticket_messages": rewritten}


def remove_message_files(messages) -> None:
    """Delete the attachments of `messages`, and their files once the transaction commits.

    Files go after the commit so that a rolled-back erasure leaves no row
    pointing at a deleted file.
    """
    stored = [attachment.file for attachment in
              TicketAttachment.objects.filter(message__in=messages).only("file")]
    stored += [message.raw for message in messages.exclude(raw="").only("raw")]
    TicketAttachment.objects.filter(message__in=messages).delete()

    def delete_files():
        for file in stored:
            file.storage.delete(file.name)

    transaction.on_commit(delete_files)


def blank_message() -> dict:
    return {"from_name": "", "from_address": "", "to": [], "cc": [], "subject": "",
            "body": ERASED, "body_html": "", "full_text": "", "references": "", "raw": ""}


def _handle_leads(subject: Subject, *, anonymise: bool) -> dict[str, int]:
    leads = Lead.with_deleted.filter(pk__in=subject.lead_ids)
    LeadActivity.objects.filter(lead_id__in=subject.lead_ids).delete()
    if not anonymise:
        return {"leads": leads.delete()[0]}
    return {"leads": leads.update(**ANONYMOUS_LEAD)}


def _handle_orders(subject: Subject, *, anonymise: bool) -> dict[str, int]:
    """Anonymise keeps every order and subscription (the contact stays, nameless).

    Erase deletes those booked to the person alone and keeps, without the
    contact, those also booked to a company: the company's books need them.
    """
    ids = subject.contact_ids
    orders = Order.objects.filter(contact_id__in=ids)
    subscriptions = Subscription.objects.filter(contact_id__in=ids)
    if anonymise:
        return {"orders_kept": orders.update(note=""), "subscriptions_kept": subscriptions.count()}
    return {
        "orders": orders.filter(company__isnull=True).delete()[0],
        "orders_kept": orders.update(contact=None, note=""),
        "subscriptions": subscriptions.filter(company__isnull=True).delete()[0],
        "subscriptions_kept": subscriptions.update(contact=None),
    }


def _rewrite_audit(subject: Subject) -> int:
    """The audit trail and events about the subject keep what happened, not to whom.

    Audit entries are append-only for the application; erasure is the one
    writer that rewrites them, because the law requires it, and it leaves its
    own entry saying so.
    """
    about = (Q(entity="contact", object_id__in=subject.contact_ids)
             | Q(entity="lead", object_id__in=subject.lead_ids)
             | Q(entity="ticket", object_id__in=subject.ticket_ids))
    rewritten = 0
    for entry in AuditEntry.objects.filter(about).only("pk", "changes"):
        changes = {field: [ERASED, ERASED] for field in entry.changes}
        rewritten += AuditEntry.objects.filter(pk=entry.pk).update(
            object_repr=ERASED, changes=changes)
    DomainEvent.objects.filter(entity="contact", object_id__in=subject.contact_ids).update(
        data={})
    return rewritten


def _anonymise_contacts(subject: Subject) -> None:
    Contact.with_deleted.filter(pk__in=subject.contact_ids).update(
        first_name="", last_name=ANONYMOUS_NAME, title="", email="", phone="", street="",
        city="", region="", postal_code="", birthday=None, time_zone="", custom_fields={},
        source="", do_not_contact=True, name_key="", block_key="",
        version=models.F("version") + 1,
    )


def _delete_contacts(subject: Subject) -> int:
    DealContact.objects.filter(contact_id__in=subject.contact_ids).delete()
    # Shells merged into the contact go with it (their link cascades).
    return Contact.unscoped.filter(pk=subject.contact.pk).delete()[1].get(
        Contact._meta.label, 0)


def _reindex(subject: Subject) -> None:
    search.reindex(Contact, subject.contact_ids)
    search.reindex(Lead, subject.lead_ids)
    search.reindex(Ticket, subject.ticket_ids)
    deal_ids = DealContact.objects.filter(contact_id__in=subject.contact_ids).values_list(
        "deal_id", flat=True)
    search.reindex(Deal, list(deal_ids))


# The sweep


def sweep(org, identifiers: list[str]) -> int:
    """Replace `identifiers` in every text and JSON field of the organisation's records.

    Catches what the targeted steps cannot know about: an address quoted in
    a note on a company, a phone number in a webhook's response. Only exact
    identifiers are looked for (addresses and phone numbers), never names,
    which other people share. Returns the number of rows rewritten.
    """
    identifiers = [value for value in identifiers if value]
    if not identifiers:
        return 0
    rewritten = 0
    for model in _sweepable_models():
        fields = [field for field in model._meta.concrete_fields
                  if isinstance(field, TEXT_FIELDS) and not field.choices]
        if not fields:
            continue
        match = Q()
        for field in fields:
            for value in identifiers:
                match |= Q(**{f"{field.attname}__icontains": value})
        rows = model._base_manager.filter(match, organization=org)
        for row in rows.only("pk", *(field.attname for field in fields)):
            changed = {}
            for field in fields:
                before = getattr(row, field.attname)
                after = _scrub(before, identifiers)
                if after != before:
                    changed[field.attname] = after
            if changed:
                rewritten += model._base_manager.filter(pk=row.pk).update(**changed)
    return rewritten


def _sweepable_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models()
            if issubclass(model, TenantModel) and model not in SWEEP_SKIPS
            and model._meta.app_label not in SWEEP_SKIP_APPS
            and model.__module__.startswith("accord.")]


def _scrub(value, identifiers: list[str]):
    if isinstance(value, str):
        for identifier in identifiers:
            value = re.sub(re.escape(identifier), ERASED, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, list):
        return [_scrub(item, identifiers) for item in value]
    if isinstance(value, dict):
        return {_scrub(key, identifiers): _scrub(item, identifiers)
                for key, item in value.items()}
    return value
