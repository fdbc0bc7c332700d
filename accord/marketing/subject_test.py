"""A/B tests of a campaign's subject: split the recipients, then send the winner to the rest.

When the campaign starts, a random share of its waiting recipients is split
in two halves, A (the template's subject) and B (`subject_b`); everyone else
is held. Once the test's hours are over, the sending job chooses the subject
with the better rate of opens (or clicks) among the e-mails each half was
sent, and releases the held recipients with that subject. A tie goes to A,
the template's own subject. Choosing and releasing is one UPDATE under the
campaign's row lock, so two jobs never choose twice, and the held rows go
back to the same `pending` ledger that makes every e-mail go at most once.
"""

import datetime as dt
import logging
import random

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accord.audit import services as audit
from accord.audit.models import Action

from .models import Campaign, CampaignRecipient, CampaignStatus, RecipientStatus, TestMetric

logger = logging.getLogger(__name__)

VARIANTS = ("a", "b")
MAX_HOURS = 168  # a week; a test longer than that outlives the campaign's news
CHUNK = 500  # ids per UPDATE
MIN_RECIPIENTS = 2  # one per half; fewer and there is nothing to compare


def was_skipped(campaign: Campaign) -> bool:
    """Whether the campaign started without running its test, having too few recipients."""
    return (is_test(campaign) and campaign.started_at is not None
            and campaign.test_ends_at is None)


def is_test(campaign: Campaign) -> bool:
    return bool(campaign.subject_b) and campaign.test_percent > 0


def split(campaign: Campaign, now: dt.datetime) -> dict:
    """Put the test share of the waiting recipients in halves A and B and hold the others.

    The draw is seeded with the campaign's id, so it is the same if repeated.
    Returns how many went to each half and how many are held. With fewer than
    two waiting recipients no test is run: nobody is held, everyone gets A,
    and `test_ends_at` stays empty.
    """
    waiting = list(CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.PENDING).order_by("pk")
        .values_list("pk", flat=True))
    if len(waiting) < MIN_RECIPIENTS:
        campaign.test_ends_at = None
        return {"a": 0, "b": 0, "held": 0}
    random.Random(campaign.pk).shuffle(waiting)  # noqa: S311 - a fair draw, not a secret
    size = len(waiting) if campaign.test_percent >= 100 else max(
        min(2, len(waiting)), round(len(waiting) * campaign.test_percent / 100))
    half = (size + 1) // 2
    groups = {"a": waiting[:half], "b": waiting[half:size], "held": waiting[size:]}
    for name, ids in groups.items():
        values = ({"status": RecipientStatus.HELD} if name == "held" else {"variant": name})
        for start in range(0, len(ids), CHUNK):
            CampaignRecipient.objects.filter(pk__in=ids[start:start + CHUNK]).update(**values)
    campaign.test_ends_at = now + dt.timedelta(hours=campaign.test_hours)
    return {name: len(ids) for name, ids in groups.items()}


def variant_of(campaign: Campaign, recipient: CampaignRecipient) -> str:
    """The subject a recipient gets: its half's, or the winner's for the held ones."""
    return recipient.variant or campaign.winner or "a"


def waiting_for_winner(campaign: Campaign) -> bool:
    return is_test(campaign) and not campaign.winner and CampaignRecipient.objects.filter(
        campaign=campaign, status=RecipientStatus.HELD).exists()


def figures(campaign: Campaign) -> dict:
    """Per half: its subject, e-mails sent, opened and clicked, and their rates (0 to 1)."""
    rows = (CampaignRecipient.objects.filter(campaign=campaign, variant__in=VARIANTS)
            .values("variant").annotate(
                sent=Count("id", filter=Q(status=RecipientStatus.SENT)),
                opened=Count("id", filter=Q(status=RecipientStatus.SENT,
                                            opened_at__isnull=False)),
                clicked=Count("id", filter=Q(status=RecipientStatus.SENT,
                                             clicked_at__isnull=False))))
    found = {row["variant"]: row for row in rows}
    subjects = {"a": campaign.subject or campaign.template.subject, "b": campaign.subject_b}
    out = {}
    for name in VARIANTS:
        row = found.get(name, {"sent": 0, "opened": 0, "clicked": 0})
        sent = row["sent"]
        out[name] = {
            "subject": subjects[name], "sent": sent, "opened": row["opened"],
            "clicked": row["clicked"],
            "open_rate": round(row["opened"] / sent, 4) if sent else 0.0,
            "click_rate": round(row["clicked"] / sent, 4) if sent else 0.0,
        }
    return out


def choose_winner(org, campaign: Campaign, now: dt.datetime | None = None) -> str:
    """Choose the winning subject once the test is over and release the held recipients.

    Returns the winner ("a" or "b"), or "" while the test still runs or when the
    campaign was cancelled.
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.winner:
            return campaign.winner
        if campaign.status == CampaignStatus.CANCELLED:
            return ""  # nobody is left to send the winner to
        if campaign.test_ends_at is None or campaign.test_ends_at > now:
            return ""
        halves = figures(campaign)
        rate = "click_rate" if campaign.test_metric == TestMetric.CLICKS else "open_rate"
        winner = "b" if halves["b"][rate] > halves["a"][rate] else "a"
        Campaign.objects.filter(pk=campaign.pk).update(winner=winner)
        released = CampaignRecipient.objects.filter(
            campaign=campaign, status=RecipientStatus.HELD).update(
            status=RecipientStatus.PENDING)
        audit.record(org, None, Action.UPDATE, campaign, changes={
            "winner": [None, f"{winner.upper()}: {halves[winner]['subject']}"],
            "released": [None, released]})
    logger.info("marketing.subject_test_decided", extra={
        "organization_id": org.id, "campaign_id": campaign.pk, "winner": winner,
        "released": released})
    return winner
