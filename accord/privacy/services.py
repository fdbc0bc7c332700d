"""Data-subject requests as jobs: starting them, running them, telling the requester.

A request is written down with its kind and contact id, then carried out by
a worker. The row never holds the person's name or e-mail address: a
reference number names it, and a keyed hash of the addresses lets a later
request by the same person be matched. Every request is audited when it is
made and when it is done.
"""

import datetime as dt
import logging
import os
import tempfile

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accord.activities.services import site_url
from accord.audit import services as audit
from accord.audit.models import Action
from accord.core.notify import mail_once
from accord.customers.models import Contact
from accord.customers.services import get_contact
from accord.errors import Conflict, InvalidInput, NotFound

from . import archive, erasure
from .models import DataRequest, RequestKind, RequestStatus
from .retention import (  # noqa: F401 - other apps create rules through this module
    delete_retention_rule,
    save_retention_rule,
)
from .subject import load, subject_hash

logger = logging.getLogger(__name__)

ARCHIVE_RETENTION = dt.timedelta(days=7)
FAILED = "The request could not be carried out. Try again; if it fails again, tell your " \
         "administrator."


class _StoredFile(File):
    """A finished archive on local disk that the file storage may move rather than copy."""

    def temporary_file_path(self) -> str:
        return self.file.name


@transaction.atomic
def start_request(org, actor, *, contact, kind: str) -> DataRequest:
    """Record a request about `contact` and queue it; InvalidInput naming the bad field.

    `contact` is a Contact or its id; NotFound for a contact of another
    organisation. The caller checks permission.
    """
    if kind not in RequestKind.values:
        raise InvalidInput({"kind": "Choose one of: " + ", ".join(RequestKind.values) + "."})
    if not isinstance(contact, Contact):
        try:
            contact = get_contact(contact, with_deleted=True)
        except NotFound:
            raise InvalidInput({"contact": "No contact with this id."}) from None
    pending = DataRequest.objects.filter(
        contact_id=contact.pk, status__in=[RequestStatus.QUEUED, RequestStatus.RUNNING])
    if kind != RequestKind.EXPORT and pending.exclude(kind=RequestKind.EXPORT).exists():
        raise InvalidInput({"contact": "An erasure of this contact is already under way."})

    subject = load(contact)
    request = DataRequest.objects.create(
        organization=org, kind=kind, contact_id=contact.pk, requested_by=actor,
        subject_hash=subject_hash(org, subject.addresses),
    )
    audit.record(org, actor, Action.CREATE, request, entity="datarequest",
                 object_repr=request.reference,
                 changes={"kind": [None, kind], "contact": [None, contact.pk]})
    from .tasks import run_request

    transaction.on_commit(lambda: run_request.delay(request.pk))
    logger.info("privacy.request_queued", extra={"organization_id": org.id,
                                                 "request_id": request.pk, "kind": kind})
    return request


def run_request(org, request_id: int) -> DataRequest | None:
    """Carry out the request; safe to run twice. Must run inside the organisation's scope.

    An export writes its archive again from the top; an erasure that already
    finished finds nothing left and does nothing more. A failure is recorded
    on the request in plain words, not raised.
    """
    request = DataRequest.objects.select_related("requested_by").filter(pk=request_id).first()
    if request is None or (request.status == RequestStatus.DONE
                           and request.kind != RequestKind.EXPORT):
        return request
    first_time = request.status != RequestStatus.DONE
    started = timezone.now()
    DataRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.RUNNING, started_at=started, error="", updated_at=started)
    contact = Contact.with_deleted.filter(pk=request.contact_id).first()
    if contact is None:
        return _fail(org, request, "The contact no longer exists.")
    try:
        if request.kind == RequestKind.EXPORT:
            counts = _write_archive(request, contact)
            with transaction.atomic():
                _finish(org, request, counts, first_time=first_time)
        else:
            # The erasure and the request's "done" commit together: a worker
            # killed between them cannot leave an erased contact behind a
            # request that, run again, no longer finds it.
            with transaction.atomic():
                counts = erasure.erase(org, request.requested_by, load(contact),
                                       anonymise=request.kind == RequestKind.ANONYMISE,
                                       note=f"Data-subject request {request.reference}")
                _finish(org, request, counts, first_time=first_time)
    except Exception:
        # Absorbed on purpose: the requester sees a failed request in plain
        # words, the traceback goes to the log, and an erasure rolled back whole.
        logger.exception("privacy.request_failed", extra={"organization_id": org.id,
                                                          "request_id": request.pk})
        return _fail(org, request, FAILED)

    logger.info("privacy.request_done", extra={"organization_id": org.id,
                                               "request_id": request.pk})
    request.refresh_from_db()
    notify_requester(org, request)
    return request


def _finish(org, request: DataRequest, counts: dict, *, first_time: bool) -> None:
    now = timezone.now()
    values = {"status": RequestStatus.DONE, "counts": counts, "finished_at": now,
              "updated_at": now}
    if request.kind == RequestKind.EXPORT:
        values |= {"file": request.file.name, "size": request.size,
                   "expires_at": now + ARCHIVE_RETENTION}
    DataRequest.objects.filter(pk=request.pk).update(**values)
    if first_time:
        audit.record(org, request.requested_by, Action.ACCESS, request,
                     entity="datarequest", object_repr=request.reference,
                     changes={"status": [None, RequestStatus.DONE], "counts": [None, counts]})


def _write_archive(request: DataRequest, contact: Contact) -> dict[str, int]:
    handle, path = tempfile.mkstemp(prefix="accord-privacy-")
    try:
        with os.fdopen(handle, "w+b") as stream:
            counts = archive.write_archive(load(contact), stream, reference=request.reference)
        request.size = os.path.getsize(path)
        if request.file:
            request.file.delete(save=False)
        with open(path, "rb") as finished:
            request.file.save(request.filename, _StoredFile(finished), save=False)
    finally:
        if os.path.exists(path):
            os.remove(path)
    return counts


def _fail(org, request: DataRequest, message: str) -> DataRequest:
    """Record the failure in plain words and tell the requester, once."""
    now = timezone.now()
    DataRequest.objects.filter(pk=request.pk).update(
        status=RequestStatus.FAILED, error=message, finished_at=now, updated_at=now)
    request.refresh_from_db()
    notify_requester(org, request)
    return request


def notify_requester(org, request: DataRequest) -> bool:
    """E-mail the member who made the request that it is done, once; True if sent.

    The request is claimed by setting `notified_at` before sending; when the
    mail server refuses, the claim is undone so that a re-run can try again.
    """
    user = request.requested_by
    context = {"org": org, "request": request, "user": user,
               "page_url": site_url() + request.get_absolute_url(),
               "url": site_url() + request.get_download_url()}
    return mail_once(request, user, templates="privacy/email/request_done", context=context,
                     failure_log="privacy.notify_failed",
                     log_extra={"organization_id": org.id, "request_id": request.pk})


def get_request(request_id) -> DataRequest:
    """A request of the current organisation by id, or NotFound."""
    try:
        request = DataRequest.objects.select_related("requested_by").filter(
            pk=int(request_id)).first()
    except (TypeError, ValueError, OverflowError):
        request = None
    if request is None:
        raise NotFound("No data request with this id.")
    return request


def open_archive(request: DataRequest):
    """The export's archive, open for reading; Conflict when there is none to give."""
    if request.kind != RequestKind.EXPORT:
        raise Conflict("Only an export request has an archive to download.")
    if request.status in (RequestStatus.QUEUED, RequestStatus.RUNNING):
        raise Conflict("This export is not finished yet; try again in a moment.")
    if request.status == RequestStatus.FAILED:
        raise Conflict("This export failed, so there is no archive to download.")
    if not request.is_downloadable:
        raise Conflict("This archive was deleted after 7 days; make a new request.")
    return request.file.open("rb")


def record_download(org, actor, request: DataRequest) -> None:
    audit.record(org, actor, Action.ACCESS, request, entity="datarequest",
                 object_repr=request.reference, changes={"downloaded": [None, True]})


def delete_expired_archives(org, *, now: dt.datetime | None = None) -> int:
    """Delete this organisation's archives past `expires_at`; return how many."""
    now = now or timezone.now()
    deleted = 0
    for request in DataRequest.objects.filter(expires_at__lte=now).exclude(file=""):
        request.file.delete(save=False)
        DataRequest.objects.filter(pk=request.pk).update(file="", updated_at=now)
        deleted += 1
    return deleted
