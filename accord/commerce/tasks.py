"""Background work for the catalogue: reading product feeds when their schedule says so."""

import logging

from celery import shared_task
from django_scopes import scope

from accord.audit.context import channel

from . import feeds
from .models import ProductFeed

logger = logging.getLogger(__name__)


@shared_task
def run_due_product_feeds() -> int:
    """Queue a run of every feed that is due; returns how many were queued.

    Safe to run twice: a feed is claimed before its run is queued, and a
    feed claimed by the first run is no longer due for the second.
    """
    queued = 0
    for feed in list(feeds.due_feeds()):
        with scope(organization=feed.organization):
            queued += feeds.queue_run(feed)
    return queued


@shared_task
def run_product_feed(feed_id: int) -> str | None:
    """Read one feed now; its run's status, or None when the feed no longer exists."""
    # The feed's organisation is not known before the row is read, so this one
    # lookup is unscoped; the run works inside that tenant's scope.
    feed = ProductFeed.unscoped.select_related("organization", "created_by").filter(
        pk=feed_id).first()
    if feed is None:
        return None
    with scope(organization=feed.organization), channel("job"):
        return feeds.run_feed(feed.organization, feed).status
