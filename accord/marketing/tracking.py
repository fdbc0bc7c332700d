"""Signed links in campaign e-mails: unsubscribe, open pixel and click redirect.

A token names the organisation and the recipient row (and, for a click,
the link's place in the campaign), signed with the site's secret key under
a salt of its own, so a token of one kind never works as another. A click
redirects only to the URL stored for that campaign's link: nothing in the
request chooses where it goes.
"""

import logging

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accord.activities import services as timeline
from accord.customers import services as customer_services
from accord.customers.models import ConsentChannel, ConsentMethod, ConsentPurpose, ConsentStatus
from accord.errors import NotFound
from accord.identity.models import Organization

from . import campaigns
from .models import CampaignLink, CampaignRecipient, LinkClick, SuppressionReason

logger = logging.getLogger(__name__)

SALTS = {"unsubscribe": "marketing.unsubscribe", "open": "marketing.open",
         "click": "marketing.click",
         # The same links in e-mails of sequences, whose numbers are message rows.
         "sequence_unsubscribe": "marketing.sequence.unsubscribe",
         "sequence_open": "marketing.sequence.open", "sequence_click": "marketing.sequence.click"}


def make_token(kind: str, org_id: int, recipient_id: int, link: int | None = None) -> str:
    value = f"{org_id}.{recipient_id}" + (f".{link}" if link is not None else "")
    return signing.Signer(salt=SALTS[kind]).sign(value)


def read_token(kind: str, token: str) -> tuple[Organization, list[int]]:
    """The organisation and the numbers a token carries; NotFound when it was not made
    here for this kind of link."""
    try:
        value = signing.Signer(salt=SALTS[kind]).unsign(token)
        numbers = [int(part) for part in value.split(".")]
    except (signing.BadSignature, ValueError):
        raise NotFound("This link is not valid.") from None
    org = Organization.objects.filter(pk=numbers[0]).first()
    if org is None:
        raise NotFound("This link is not valid.")
    return org, numbers[1:]


class Links:
    """The tracking links of one campaign's messages: each message's links, unsubscribe
    page and pixel differ only by their signed token."""

    def __init__(self, base_url: str, org_id: int, link_count: int):
        self.org_id = org_id
        self.link_count = link_count
        self.paths = {name: base_url + reverse(f"marketing:{name}", args=["TOKEN"])
                      for name in ("track_click", "unsubscribe", "track_open")}

    def url(self, name: str, kind: str, recipient_id: int, link: int | None = None) -> str:
        return self.paths[name].replace(
            "TOKEN", make_token(kind, self.org_id, recipient_id, link))

    def values(self, recipient_id: int) -> dict:
        """The `tracking` merge values of one recipient's message."""
        return {
            "links": [self.url("track_click", "click", recipient_id, n)
                      for n in range(self.link_count)],
            "unsubscribe": self.url("unsubscribe", "unsubscribe", recipient_id),
            "open": self.url("track_open", "open", recipient_id),
        }


def recipient_for(recipient_id: int) -> CampaignRecipient:
    recipient = (CampaignRecipient.objects.select_related("campaign", "contact")
                 .filter(pk=recipient_id).first())
    if recipient is None:
        raise NotFound("This link is not valid.")
    return recipient


def count_open(row) -> bool:
    """Count an open of `row` (a tracked e-mail: a campaign recipient or a sequence message);
    True for the first, which is also timed."""
    first = type(row).objects.filter(pk=row.pk, opened_at__isnull=True).update(
        opened_at=timezone.now(), open_count=F("open_count") + 1)
    if not first:
        type(row).objects.filter(pk=row.pk).update(open_count=F("open_count") + 1)
    return bool(first)


def count_click(row, now) -> bool:
    """Count a click of `row`, which is also an open (images may be off); True for the first
    click, which is also timed. Call inside a transaction."""
    rows = type(row).objects.filter(pk=row.pk)
    first = rows.filter(clicked_at__isnull=True).update(clicked_at=now)
    rows.update(click_count=F("click_count") + 1)
    rows.filter(opened_at__isnull=True).update(opened_at=now)
    return bool(first)


def withdraw_consent(org, row, evidence: str, *, campaign=None) -> bool:
    """Mark `row`'s e-mail unsubscribed, withdraw its contact's e-mail marketing consent
    with `evidence`, and suppress its address; False when its link was used before."""
    first = type(row).objects.filter(pk=row.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=timezone.now())
    if not first:
        return False
    customer_services.record_consent(
        org, None, row.contact, channel=ConsentChannel.EMAIL,
        purpose=ConsentPurpose.MARKETING, status=ConsentStatus.WITHDRAWN,
        method=ConsentMethod.UNSUBSCRIBE, evidence=evidence[:300])
    if row.address:
        campaigns.suppress_address(org, None, row.address,
                                   reason=SuppressionReason.UNSUBSCRIBED, campaign=campaign)
    return True


def record_open(org, recipient: CampaignRecipient) -> None:
    """Count an open; the first one is timed and goes on the contact's timeline."""
    if not count_open(recipient):
        return
    timeline.log_event(org, None, "campaign.opened", contact=recipient.contact,
                       data={"campaign": recipient.campaign.name,
                             "campaign_id": recipient.campaign_id})


def record_click(org, recipient: CampaignRecipient, position: int) -> str:
    """Count a click on the campaign's link at `position`; return its URL. NotFound when
    the campaign has no such link. A click also counts as an open (images may be off)."""
    link = CampaignLink.objects.filter(campaign_id=recipient.campaign_id,
                                       position=position).first()
    if link is None:
        raise NotFound("This link is not valid.")
    now = timezone.now()

    with transaction.atomic():
        CampaignLink.objects.filter(pk=link.pk).update(click_count=F("click_count") + 1)
        counted = LinkClick.objects.filter(recipient=recipient, link=link).update(
            count=F("count") + 1)
        if not counted:
            try:
                with transaction.atomic():
                    LinkClick.objects.create(organization=org, recipient=recipient, link=link,
                                             first_at=now)
            except IntegrityError:
                LinkClick.objects.filter(recipient=recipient, link=link).update(
                    count=F("count") + 1)
        if count_click(recipient, now):
            timeline.log_event(org, None, "campaign.clicked", contact=recipient.contact,
                               data={"campaign": recipient.campaign.name,
                                     "campaign_id": recipient.campaign_id, "url": link.url})
    return link.url


@transaction.atomic
def unsubscribe(org, recipient: CampaignRecipient) -> bool:
    """Withdraw the contact's e-mail marketing consent, with the campaign as evidence, and
    suppress the address. False when this recipient had unsubscribed already."""
    campaign = recipient.campaign
    if not withdraw_consent(
            org, recipient, f"Unsubscribe link in campaign “{campaign.name}” (#{campaign.pk})",
            campaign=campaign):
        return False
    timeline.log_event(org, None, "campaign.unsubscribed", contact=recipient.contact,
                       data={"campaign": campaign.name, "campaign_id": campaign.pk})
    logger.info("marketing.unsubscribed", extra={
        "organization_id": org.id, "campaign_id": campaign.pk, "recipient_id": recipient.pk})
    return True
