"""Background work for imports: running a job, and resuming jobs whose worker died."""

import datetime as dt
import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from accord.audit.context import channel

from . import engine
from .models import ImportJob, ImportStatus
from .readers import ReadError

logger = logging.getLogger(__name__)

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
    with scope(organization=org), channel("job"):
        try:
            engine.run_job(org, job.created_by, job)
        except ReadError as exc:
            _fail(job, str(exc))
        except Exception:
            # Absorbed on purpose: the job shows it failed, with what it
            # committed so far still in place and undoable.
            logger.exception("import.failed", extra={"organization_id": org.id,
                                                     "import_id": job.pk})
            _fail(job, "An unexpected error stopped this import. The rows imported so far "
                       "stay and can be undone.")


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
