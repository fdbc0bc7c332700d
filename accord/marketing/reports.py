"""A campaign's figures: recipients, exclusions, delivery, opens, clicks, unsubscribes."""

from django.db.models import Count, Q

from accord.identity.visibility import through_contact

from . import subject_test
from .models import CampaignLink, CampaignRecipient, ExclusionReason, RecipientStatus


def report(campaign, membership) -> dict:
    """Counts over the campaign's recipient rows that `membership` may see, in a handful
    of queries.

    `recipients` counts every contact of the segment when the campaign
    started, those left out included; `included` counts those it was to go to.
    A recipient whose contact the member may not see is in none of the counts,
    as the segment's own count leaves it out.
    `delivered` counts e-mails the mail server accepted; an e-mail still
    marked as handed over (its worker died before the answer) is not counted.
    """
    rows = through_contact(CampaignRecipient.objects.filter(campaign=campaign), membership)
    totals = rows.aggregate(
        recipients=Count("id"),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
    )
    statuses = dict.fromkeys(RecipientStatus.values, 0)
    statuses |= dict(rows.values("status").annotate(n=Count("id")).values_list("status", "n"))
    excluded = dict.fromkeys(ExclusionReason.values, 0)
    excluded |= dict(rows.filter(status=RecipientStatus.EXCLUDED).values("reason")
                     .annotate(n=Count("id")).values_list("reason", "n"))
    links = [{"url": link.url, "clicks": link.click_count, "people": link.people}
             for link in CampaignLink.objects.filter(campaign=campaign)
             .annotate(people=Count("clicks")).order_by("position")]
    return {
        **totals,
        "included": totals["recipients"] - sum(excluded.values()),
        "excluded": excluded,
        "statuses": statuses,
        "delivered": statuses[RecipientStatus.SENT],
        "bounced": statuses[RecipientStatus.BOUNCED],
        "failed": statuses[RecipientStatus.FAILED],
        "links": links,
        "subject_test": _subject_test(campaign, statuses),
    }


def _subject_test(campaign, statuses: dict) -> dict | None:
    """Each half's subject and figures, how many are held, and the winner once chosen;
    `skipped` when the campaign had too few recipients to run the test."""
    if not subject_test.is_test(campaign):
        return None
    return {**subject_test.figures(campaign), "held": statuses[RecipientStatus.HELD],
            "metric": campaign.test_metric, "ends_at": campaign.test_ends_at,
            "winner": campaign.winner or None,
            "skipped": subject_test.was_skipped(campaign)}
