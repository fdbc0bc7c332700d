"""Background work for imports and exports: running jobs, resuming imports whose worker
died, deleting export files past retention."""

import datetime as dt
import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.context import acting_as
from accord.identity.models import Membership, Organization

from . import engine
from .exports import services
from .models import ExportJob, ImportJob, ImportStatus
from .readers import ReadError

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


# A chunk takes seconds; a running job silent for this long lost its worker.
STALL_LIMIT = dt.timedelta(minutes=5)


@shared_task(name="accord.integrations.tasks.run_import")
def run_import(job_id: int) -> None:
    """Run (or resume) the import with this id; safe to run twice, and after a crash."""
    job = (ImportJob.unscoped.select_related("organization", "created_by")
           .filter(pk=job_id).first())
    if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return
    org = job.organization
    # The rows are checked as for the member who started the import, so a
    # field hidden from their role is not required of the rows either.
    member = Membership.unscoped.filter(organization=org, user_id=job.created_by_id).first()
    with scope(organization=org), channel("job"), acting_as(member):
        try:
            job = engine.run_job(org, job.created_by, job)
        except ReadError as exc:
            _fail(job, str(exc))
        except Exception:
            # Absorbed on purpose: the job shows it failed, with what it
            # committed so far still in place and undoable.
            logger.exception("import.failed", extra={"organization_id": org.id,
                                                     "import_id": job.pk})
            _fail(job, "An unexpected error stopped this import. The rows imported so far "
                       "stay and can be undone.")
        else:
            if job.status in (ImportStatus.DONE, ImportStatus.CANCELLED):
                find_import_duplicates.delay(job.pk)


@shared_task(name="accord.integrations.tasks.find_import_duplicates")
def find_import_duplicates(job_id: int) -> int:
    """Queue the likely duplicates of an import's records for review; safe to run twice."""
    job = ImportJob.unscoped.select_related("organization").filter(pk=job_id).first()
    if job is None:
        return 0
    with scope(organization=job.organization), channel("job"):
        return engine.flag_duplicates(job.organization, job)


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.unscoped.filter(pk=job.pk).update(
        status=ImportStatus.FAILED, error=message, finished_at=timezone.now())


@shared_task(name="accord.integrations.tasks.resume_stalled_imports")
def resume_stalled_imports() -> int:
    """Queue again every import whose worker stopped sending heartbeats; return how many."""
    cutoff = timezone.now() - STALL_LIMIT
    # The only query here that spans organisations: it finds stalled jobs by
    # their own heartbeat, and each job then runs inside its tenant's scope.
    stalled = list(ImportJob.unscoped.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True),
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING],
    ).values_list("pk", flat=True)[:100])
    for job_id in stalled:
        claimed = ImportJob.unscoped.filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True), pk=job_id,
        ).update(heartbeat_at=timezone.now())
        if claimed:
            run_import.delay(job_id)
            logger.warning("import.resumed", extra={"import_id": job_id})
    return len(stalled)


WEBHOOK_SWEEP = 200  # deliveries handed out per beat tick; each is its own task


@shared_task(name="accord.integrations.tasks.deliver_webhook")
def deliver_webhook(delivery_id: int) -> str | None:
    """Attempt one webhook delivery if it is due; its status after, None when not taken."""
    from . import webhooks

    with channel("job"):
        return webhooks.attempt_delivery(delivery_id)


@shared_task(name="accord.integrations.tasks.send_due_webhooks")
def send_due_webhooks() -> int:
    """Hand every webhook delivery whose retry time has come to a worker; return how many.

    Deliveries whose first task was lost (broker down at the time, worker
    killed) are picked up here too, since they stay pending until sent.
    """
    from . import webhooks

    due = webhooks.due_deliveries(timezone.now(), WEBHOOK_SWEEP)
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)
