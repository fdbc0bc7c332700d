"""Background work for privacy: carrying out requests, the nightly retention run, and
deleting archives past their week."""

import logging

from celery import shared_task
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from . import retention, services
from .models import DataRequest

logger = logging.getLogger(__name__)


@shared_task(name="accord.privacy.tasks.run_request")
def run_request(request_id: int) -> str | None:
    """Carry out data request `request_id`; its final status, or None when there is none.

    Safe to run twice: an export writes its archive again, a finished erasure
    does nothing more; the audit entry and the e-mail happen once.
    """
    # The request's organisation is not known before the row is read, so this
    # one lookup is unscoped; everything after runs inside that tenant's scope.
    request = DataRequest.unscoped.filter(pk=request_id).only("organization_id").first()
    if request is None:
        return None
    org = Organization.objects.get(pk=request.organization_id)
    with scope(organization=org), channel("job"):
        finished = services.run_request(org, request_id)
    return finished.status if finished else None


@shared_task(name="accord.privacy.tasks.run_retention_rules")
def run_retention_rules() -> int:
    """Run every organisation's active retention rules; return the records removed.

    Safe to run twice or concurrently: a second run finds nothing left.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            runs = retention.run_active_rules(org)
        total += sum(run.processed for run in runs)
    return total


@shared_task(name="accord.privacy.tasks.delete_expired_archives")
def delete_expired_archives() -> int:
    """Delete, in every organisation, request archives older than their 7 days."""
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            deleted = services.delete_expired_archives(org)
        if deleted:
            logger.info("privacy.archives_expired", extra={"organization_id": org.id,
                                                           "count": deleted})
        total += deleted
    return total
