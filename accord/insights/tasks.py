"""Background work for scores: nightly for everyone, and soon after purchases change."""

import logging

from celery import shared_task
from django.core.cache import cache
from django_scopes import scope

from accord import events
from accord.audit.context import channel
from accord.identity.models import Organization

from . import loyalty, scoring, services

logger = logging.getLogger(__name__)

# Orders often come in bursts (an import, a shop's sync); one recomputation a
# minute after the first change covers the whole burst.
SETTLE_SECONDS = 60


def pending_key(organization_id: int) -> str:
    return f"insights:scores-pending:{organization_id}"


def compute_all(org) -> dict:
    """Every score of one organisation: RFM, loyalty, product suggestions and churn risk."""
    with scope(organization=org), channel("job"):
        rfm = services.compute_rfm(org)
        points = loyalty.compute_loyalty(org)
        similar = scoring.compute_similar_products(org)
        risk = scoring.compute_churn(org)
    return {"scored": rfm["scored"], "removed": rfm["removed"],
            "loyalty_scored": points["scored"], "product_pairs": similar["pairs"],
            "churn_scored": risk["scored"]}


@shared_task
def compute_scores() -> int:
    """Recompute the scores of every organisation; returns how many contacts got an RFM score.

    Safe to run twice: each run replaces the scores it finds.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        total += compute_all(org)["scored"]
    return total


@shared_task
def compute_organization_scores(organization_id: int) -> None:
    """Recompute one organisation's scores; does nothing if it no longer exists."""
    cache.delete(pending_key(organization_id))
    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return
    compute_all(org)


def _on_purchases_changed(event) -> None:
    # The cache key is held until the queued run starts, so a burst of
    # orders queues one run; with a per-process cache each web process
    # queues its own, which is still one run per burst and process.
    if cache.add(pending_key(event.organization_id), True, timeout=SETTLE_SECONDS * 10):
        compute_organization_scores.apply_async((event.organization_id,),
                                                countdown=SETTLE_SECONDS)


for _event_type in ("order.created", "order.updated", "order.deleted", "subscription.created",
                    "subscription.updated", "subscription.cancelled", "subscription.deleted"):
    events.subscribe(_event_type, _on_purchases_changed)
