"""The preference centre: a contact's own page, reached by a signed link, for consent.

The link carries the organisation's and the contact's ids under a signature,
so it needs no sign-in and no stored token. It does not expire: e-mails
include it through the merge field `{{ contact.preferences_url }}`, and the
link in an old e-mail must still work.
Every change made there is a consent record whose evidence names the
preference centre and the visitor's address.
"""

import logging

from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accord.activities.services import site_url
from accord.customers import services as customers
from accord.customers.models import (
    CARE_PURPOSES,
    Consent,
    ConsentChannel,
    ConsentMethod,
    ConsentPurpose,
    ConsentStatus,
    Contact,
)
from accord.customers.validation import as_pk
from accord.errors import NotFound

logger = logging.getLogger(__name__)

_signer = signing.Signer(salt="accord.preferences")


def preference_link(contact: Contact) -> str:
    """The absolute address of `contact`'s preference centre, for e-mails to include."""
    token = _signer.sign(f"{contact.organization_id}-{contact.pk}")
    return site_url() + reverse("marketing:preferences", args=[token])


def contact_for_token(token: str) -> Contact:
    """The live contact a preference link is for, in any organisation; NotFound for a
    changed link or a contact since deleted."""
    try:
        value = _signer.unsign(token or "")
    except signing.BadSignature:
        raise NotFound("This link is not valid. Open it again from the e-mail.") from None
    org_id, _sep, contact_id = value.partition("-")
    # The signed ids are all a visitor has; the organisation comes from them.
    contact = (Contact.unscoped.select_related("organization")
               .filter(organization_id=as_pk(org_id), pk=as_pk(contact_id),
                       deleted_at__isnull=True, merged_into__isnull=True).first())
    if contact is None:
        raise NotFound("This link is not valid any more.")
    return contact


def purposes_offered(org) -> list[tuple[str, str]]:
    """(purpose, label) for the preference centre: every general purpose, and the care
    purposes (appointment reminders, recalls) the organisation has recorded consent for,
    so that a shop's customers are not asked about recalls."""
    used = set(Consent.objects.filter(organization_id=org.pk, purpose__in=CARE_PURPOSES)
               .values_list("purpose", flat=True).distinct())
    return [(purpose, label) for purpose, label in ConsentPurpose.choices
            if purpose not in CARE_PURPOSES or purpose in used]


def current_state(contact: Contact) -> dict[tuple[str, str], bool]:
    """Whether each channel and purpose is granted now; no record counts as not granted."""
    state = {(channel, purpose): False
             for channel in ConsentChannel.values for purpose in ConsentPurpose.values}
    for consent in customers.current_consents(contact):
        state[(consent.channel, consent.purpose)] = consent.status == ConsentStatus.GRANTED
    return state


@transaction.atomic
def save_preferences(org, contact: Contact, wanted: set[tuple[str, str]], *,
                     ip: str) -> int:
    """Grant what is in `wanted` and withdraw the rest; returns how many changed.

    Only changes are recorded, each as its own consent record. Runs inside
    the contact's organisation scope.
    """
    evidence = f"Preference centre, IP {ip or '?'}"
    now = timezone.now()
    changed = 0
    for (channel, purpose), granted in current_state(contact).items():
        if granted == ((channel, purpose) in wanted):
            continue
        customers.record_consent(
            org, None, contact, channel=channel, purpose=purpose,
            status=ConsentStatus.WITHDRAWN if granted else ConsentStatus.GRANTED,
            method=ConsentMethod.WEB_FORM, recorded_at=now, evidence=evidence)
        changed += 1
    logger.info("preferences.saved", extra={
        "organization_id": org.id, "contact_id": contact.pk, "changed": changed})
    return changed


@transaction.atomic
def unsubscribe_from_all(org, contact: Contact, *, ip: str) -> int:
    """Withdraw every consent the contact has granted; returns how many."""
    evidence = f"Preference centre: unsubscribed from all, IP {ip or '?'}"
    now = timezone.now()
    granted = [key for key, value in current_state(contact).items() if value]
    for channel, purpose in granted:
        customers.record_consent(
            org, None, contact, channel=channel, purpose=purpose,
            status=ConsentStatus.WITHDRAWN, method=ConsentMethod.UNSUBSCRIBE,
            recorded_at=now, evidence=evidence)
    logger.info("preferences.unsubscribed", extra={
        "organization_id": org.id, "contact_id": contact.pk, "withdrawn": len(granted)})
    return len(granted)
