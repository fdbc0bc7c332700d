"""Background work for exports: writing a job's file, and deleting files past retention."""

import logging

from celery import shared_task
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from .exports import services
from .models import ExportJob

logger = logging.getLogger(__name__)


@shared_task(name="accord.integrations.tasks.run_export")
def run_export(job_id: int) -> str | None:
    """Write export job `job_id`'s file; its final status, or None when there is no such job.

    Safe to run twice: the file is written again from the top and replaces
    the first one; the audit entry and the e-mail happen once.
    """
    # The job's organisation is not known before the row is read, so this one
    # lookup is unscoped; everything after runs inside that tenant's scope.
    job = ExportJob.unscoped.filter(pk=job_id).only("organization_id").first()
    if job is None:
        return None
    org = Organization.objects.get(pk=job.organization_id)
    with scope(organization=org), channel("job"):
        finished = services.run_export_job(org, job_id)
    return finished.status if finished else None


@shared_task(name="accord.integrations.tasks.delete_expired_exports")
def delete_expired_exports() -> int:
    """Delete, in every organisation, export files older than their 7 days; return how many.

    Safe to run twice or concurrently: a second run finds nothing left.
    """
    total = 0
    for org in Organization.objects.order_by("pk").iterator():
        with scope(organization=org), channel("job"):
            deleted = services.delete_expired_files(org)
        if deleted:
            logger.info("exports.expired", extra={"organization_id": org.id, "count": deleted})
        total += deleted
    return total
