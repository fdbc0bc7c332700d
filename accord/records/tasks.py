"""Background work for custom records: emptying their trash."""

import logging

from celery import shared_task
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from . import services

logger = logging.getLogger(__name__)


@shared_task
def purge_expired_trash() -> int:
    """Delete for good, in every organisation, the records in the trash past retention.

    Safe to run twice or concurrently: a second run finds nothing left to purge.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            purged = services.purge_expired_trash(org)
        if purged:
            logger.info("record.trash_purged",
                        extra={"organization_id": org.id, "count": purged})
        total += purged
    return total
