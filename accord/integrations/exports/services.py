"""Exports as jobs: starting them, writing their files, telling the requester, cleaning up.

Writing streams records from the database into the file one chunk at a time,
so a million contacts cost the memory of one chunk. Every export writes an
audit entry naming who exported what and how many rows: an export takes data
out of Accord, which is an admin action.
"""

import datetime as dt
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable

from django.core.files import File
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from accord.activities.services import site_url
from accord.audit import services as audit
from accord.audit.models import Action
from accord.core.notify import mail_once
from accord.customers import queries
from accord.errors import Conflict, InvalidInput, NotFound
from accord.identity.models import Membership
from accord.identity.permissions import own_unless

from ..models import ExportEntity, ExportFormat, ExportJob, ExportStatus
from ..writers import CsvWriter, JsonLinesWriter, VcardWriter, XlsxWriter
from .entities import ORGANISATION, REGISTRY, flat_value
from .records import spec_for

logger = logging.getLogger(__name__)

WRITERS = {"csv": CsvWriter, "xlsx": XlsxWriter, "jsonl": JsonLinesWriter, "vcf": VcardWriter}
PROGRESS_EVERY = 2000  # rows between progress updates: a write every second or so
RETENTION = dt.timedelta(days=7)
FAILED = "The export could not be written. Try again; if it fails again, tell your administrator."

Progress = Callable[[int], None]


class _StoredFile(File):
    """A finished file on local disk that the file storage may move rather than copy."""

    def temporary_file_path(self) -> str:
        return self.file.name


# Checking a request


def check_request(entity: str, format: str, query: str = "", viewer=None) -> None:
    """Raise InvalidInput naming `entity`, `format` or the bad list parameter."""
    if entity not in ExportEntity.values and spec_for(entity) is None:
        if entity.startswith("record:"):
            raise InvalidInput({"entity": f"There is no active record type “{entity}” to "
                                          "export."})
        raise InvalidInput({"entity": "Export one of: " + ", ".join(ExportEntity.values)
                            + ", or record:<key> for an active record type."})
    if format not in ExportFormat.values:
        raise InvalidInput({"format": "Export as one of: " + ", ".join(ExportFormat.values)
                            + "."})
    if entity == ExportEntity.ORGANISATION:
        if format == ExportFormat.VCF:
            raise InvalidInput({"format": "vCard holds contacts only; export the whole "
                                          "organisation as CSV, XLSX or JSON Lines."})
        if query:
            raise InvalidInput({"query": "The whole organisation is exported unfiltered."})
        return
    spec = spec_for(entity)
    if format not in spec.formats:
        raise InvalidInput({"format": f"vCard holds contacts only; export {spec.label.lower()} "
                                      "as CSV, XLSX or JSON Lines."})
    if entity not in REGISTRY:
        # A record type is exported whole: its list filters are not read here.
        if query:
            raise InvalidInput({"query": "Custom records are exported unfiltered."})
        return
    if "filter" not in spec.extra:
        if query:
            raise InvalidInput({"query": f"{spec.label} are exported whole, unfiltered."})
        return
    queries.check_parameter_names(QueryDict(query), spec.model._meta.model_name)
    # Builds the filtered query without running it: bad filters fail here.
    spec.queryset(query, viewer)


# Writing


def export_filename(entity: str, format: str, *, on: dt.date | None = None) -> str:
    stamp = (on or timezone.localdate()).isoformat()
    extension = "zip" if entity == ExportEntity.ORGANISATION else WRITERS[format].extension
    return f"{entity.replace(':', '-')}-{stamp}.{extension}"


def count_rows(entity: str, query: str = "", viewer=None) -> int:
    """How many rows the export will write: one COUNT per entity, about one read's cost."""
    keys = ORGANISATION if entity == ExportEntity.ORGANISATION else [entity]
    return sum(spec_for(key).queryset(query if key == entity else "", viewer)[0].count()
               for key in keys)


def write_export(entity: str, format: str, stream, *, query: str = "",
                 progress: Progress | None = None, viewer=None) -> int:
    """Write the export to the binary `stream`; return the rows written.

    Must run inside the organisation's scope. The whole organisation is a zip
    with one file per entity; InvalidInput when the query's filters are bad.
    Custom fields hidden from the `viewer` (a Membership) are left out; without
    one, as on the command line, every field is written.
    """
    if entity == ExportEntity.ORGANISATION:
        return _write_organisation(format, stream, progress, viewer)
    return _write_entity(entity, format, stream, query=query, progress=progress,
                         viewer=viewer)


def _write_entity(key: str, format: str, stream, *, query: str = "",
                  progress: Progress | None = None, done_before: int = 0,
                  viewer=None) -> int:
    spec = spec_for(key)
    writer = (XlsxWriter(stream, title=spec.label) if format == ExportFormat.XLSX
              else WRITERS[format](stream))
    rows = 0
    write = _row_writer(spec, format, writer, viewer)
    try:
        for record in spec.records(query, viewer):
            write(record)
            rows += 1
            if progress and (done_before + rows) % PROGRESS_EVERY == 0:
                progress(done_before + rows)
    except Exception:
        writer.abort()
        raise
    writer.close()
    return rows


def _row_writer(spec, format: str, writer, viewer) -> Callable[[object], None]:
    """How one record goes into `writer`: a row of columns, or a whole document."""
    if format not in (ExportFormat.CSV, ExportFormat.XLSX):
        return lambda record: writer.write_record(spec.viewed_document(record, viewer))
    columns = spec.table_columns(viewer)
    if columns is None:
        # No spreadsheet columns of its own: the document's keys are the header.
        writer.write_row(list(spec.document(spec.model())))
        return lambda record: writer.write_row(
            [flat_value(value) for value in spec.viewed_document(record, viewer).values()])
    writer.write_row([column.header for column in columns])
    return lambda record: writer.write_row([column.read(record) for column in columns])


def _write_organisation(format: str, stream, progress: Progress | None, viewer) -> int:
    rows = 0
    extension = WRITERS[format].extension
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in ORGANISATION:
            name = f"{key}.{extension}"
            if format == ExportFormat.XLSX:
                # openpyxl writes a zip of its own, so it goes to a file first.
                with tempfile.TemporaryFile() as sheet:
                    rows += _write_entity(key, format, sheet, progress=progress,
                                          done_before=rows, viewer=viewer)
                    sheet.seek(0)
                    with archive.open(name, "w", force_zip64=True) as member:
                        while chunk := sheet.read(1024 * 1024):
                            member.write(chunk)
            else:
                with archive.open(name, "w", force_zip64=True) as member:
                    rows += _write_entity(key, format, member, progress=progress,
                                          done_before=rows, viewer=viewer)
    return rows


def record_export(org, actor, *, entity: str, format: str, query: str, rows: int,
                  job: ExportJob | None = None) -> None:
    """The audit entry of one export: who exported what, filtered how, how many rows."""
    audit.record(
        org, actor, Action.ACCESS, job, entity="export",
        object_id=job.pk if job else None,
        object_repr=f"{_entity_label(entity)} ({ExportFormat(format).label})",
        changes={"entity": [None, entity], "format": [None, format],
                 "query": [None, query], "rows": [None, rows]},
    )


def _entity_label(entity: str) -> str:
    if entity in ExportEntity.values:
        return str(ExportEntity(entity).label)
    spec = spec_for(entity)
    return spec.label if spec else entity


# Jobs


@transaction.atomic
def start_export(org, actor, *, entity: str, format: str, query: str = "") -> ExportJob:
    """Queue an export job; InvalidInput naming the bad field. The caller checks permission."""
    query = query or ""
    check_request(entity, format, query, Membership.objects.filter(user=actor).first())
    job = ExportJob.objects.create(organization=org, entity=entity, format=format,
                                   query=query, created_by=actor)
    from ..tasks import run_export

    transaction.on_commit(lambda: run_export.delay(job.pk))
    logger.info("export.queued", extra={"organization_id": org.id, "export_id": job.pk})
    return job


def run_export_job(org, job_id: int) -> ExportJob | None:
    """Write the job's file from the top, store it, audit it and tell the requester.

    Safe to run twice: a second run writes the file again and replaces the
    first; the audit entry and the e-mail happen once per job. A failure is
    recorded on the job in plain words, not raised. Must run inside the scope.
    """
    job = ExportJob.objects.select_related("created_by").filter(pk=job_id).first()
    if job is None:
        return None
    first_time = job.status != ExportStatus.DONE
    started = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, started_at=started, rows_written=0, error="",
        finished_at=None, updated_at=started,
    )

    def progress(rows: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_written=rows,
                                                   updated_at=timezone.now())

    handle, path = tempfile.mkstemp(prefix="accord-export-")
    try:
        viewer = Membership.objects.filter(user_id=job.created_by_id).first()
        total = count_rows(job.entity, job.query, viewer)
        ExportJob.objects.filter(pk=job.pk).update(total=total)
        with os.fdopen(handle, "w+b") as stream:
            rows = write_export(job.entity, job.format, stream, query=job.query,
                                progress=progress, viewer=viewer)
        size = os.path.getsize(path)
        if job.file:
            job.file.delete(save=False)
        with open(path, "rb") as finished:
            job.file.save(export_filename(job.entity, job.format), _StoredFile(finished),
                          save=False)
    except InvalidInput as exc:
        message = " ".join(error["message"] for error in exc.errors) or exc.detail
        if all(error["field"] != "format" for error in exc.errors):
            message = "The list's filters no longer work: " + message
        return _fail(job, message)
    except Exception:
        # Absorbed on purpose: the requester sees a failed job in plain words
        # and the traceback goes to the log.
        logger.exception("export.failed", extra={"organization_id": org.id,
                                                 "export_id": job.pk})
        return _fail(job, FAILED)
    finally:
        if os.path.exists(path):
            os.remove(path)

    now = timezone.now()
    with transaction.atomic():
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.DONE, rows_written=rows, total=total, file=job.file.name,
            size=size, finished_at=now, expires_at=now + RETENTION, updated_at=now,
        )
        if first_time:
            record_export(org, job.created_by, entity=job.entity, format=job.format,
                          query=job.query, rows=rows, job=job)
    logger.info("export.done", extra={"organization_id": org.id, "export_id": job.pk,
                                      "rows": rows})
    job.refresh_from_db()
    notify_export_ready(org, job)
    return job


def _fail(job: ExportJob, message: str) -> ExportJob:
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.FAILED, error=message, finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def notify_export_ready(org, job: ExportJob) -> bool:
    """E-mail the requester the download link, once per job; True if sent.

    The job is claimed by setting `notified_at` before sending; when the mail
    server refuses, the claim is undone so that a re-run can try again.
    """
    user = job.created_by
    context = {"org": org, "job": job, "user": user,
               "url": site_url() + job.get_download_url(),
               "page_url": site_url() + job.get_absolute_url()}
    return mail_once(job, user, templates="integrations/email/export_ready", context=context,
                     failure_log="export.notify_failed",
                     log_extra={"organization_id": org.id, "export_id": job.pk})


def visible_exports(membership):
    """The jobs this member may see: their own, or everyone's with `data.export_any`."""
    return own_unless(membership, ExportJob.objects.select_related("created_by"),
                      "data.export_any")


def get_export(membership, export_id) -> ExportJob:
    """A job this member may see, or NotFound (also for another organisation's job)."""
    try:
        pk = int(export_id)
    except (TypeError, ValueError):
        pk = None
    job = visible_exports(membership).filter(pk=pk).first() if pk is not None else None
    if job is None:
        raise NotFound("No export with this id.")
    return job


def find_export(export_id) -> ExportJob:
    """Any job of the current organisation by id, or NotFound; for path lookups."""
    try:
        job = ExportJob.objects.filter(pk=int(export_id)).first()
    except (TypeError, ValueError):
        job = None
    if job is None:
        raise NotFound("No export with this id.")
    return job


def open_download(job: ExportJob):
    """The job's file, open for reading; Conflict while it is not ready or once it expired."""
    if job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        raise Conflict("This export is not finished yet; try again in a moment.")
    if job.status == ExportStatus.FAILED:
        raise Conflict("This export failed, so there is no file to download.")
    if not job.is_downloadable:
        raise Conflict("This export's file was deleted after 7 days; export again.")
    return job.file.open("rb")


def delete_expired_files(org, *, now: dt.datetime | None = None) -> int:
    """Delete the files of this organisation's exports past `expires_at`; return how many."""
    now = now or timezone.now()
    deleted = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(file=""):
        job.file.delete(save=False)
        ExportJob.objects.filter(pk=job.pk).update(file="", updated_at=now)
        deleted += 1
    return deleted
