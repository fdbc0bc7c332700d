"""Imports under `/api/v1/imports`: upload a file, follow the job, cancel, undo, get its errors."""

import csv

from django.http import HttpRequest, StreamingHttpResponse
from django_scopes import scope
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import entities, services
from .models import ImportJob
from .schemas import ImportDetailOut, ImportPage, ImportParams, UndoOut

router = Router(tags=["imports"])

ORDERINGS = {"created_at": "created_at"}


def _detail(job: ImportJob) -> ImportJob:
    job.errors = services.first_errors(job)
    return job


@router.get("", response=ImportPage, summary="List imports")
def list_imports(request: HttpRequest, params: Query[ImportParams]):
    allow(request, "imports.view")
    jobs = services.visible_imports(request.membership)
    if params.status:
        jobs = jobs.filter(status=params.status)
    items, next_cursor = paginate(jobs, parse_ordering("-created_at", ORDERINGS, "created_at"),
                                  cursor=params.cursor, limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


@router.post("", response={202: ImportDetailOut}, summary="Upload a file to import")
def create_import(request: HttpRequest, file: File[UploadedFile], entity: Form[str],
                  mapping: Form[str | None] = None, options: Form[str | None] = None):
    """Start importing a CSV, XLSX or vCard file as `entity` (contact, company, deal, lead,
    order, product, custom_field or record:<key>).

    `mapping` is a JSON object {header: field}; without it, columns are
    mapped from a saved mapping for the same headers, else from the headers.
    `options` is a JSON object with any of encoding, delimiter, sheet,
    date_order (dmy, mdy, ymd), number_style ("1,234.56", "1.234,56"),
    duplicate_policy (skip, fill, overwrite, create), create_missing_links,
    dry_run and id_system. Answers 202 with the queued job; poll it. A file
    with no rows below its header is refused with 422, naming `file`.

    duplicate_policy is ignored where no row can match a record already here,
    and the job's options then show it as null: for orders (an order already
    here is always skipped), and for activities, deals and custom records when
    no column fills external_id, the only thing their rows are matched by.
    """
    allow(request, "imports.run")
    kind = entities.for_org(request.organization, entity)
    if kind is not None:
        for permission in kind.permissions_to_import():
            allow(request, permission)
    job = services.create_job(
        request.organization, request.user, entity=entity, upload=file,
        options=services.parse_json_object(options, "options"),
        mapping=services.parse_json_object(mapping, "mapping") if mapping else None,
        require_mapped=True,
    )
    job = services.queue_job(request.organization, request.user, job)
    return Status(202, _detail(job))


@router.get("/{import_id}", response=ImportDetailOut, summary="Read an import")
def read_import(request: HttpRequest, import_id: int):
    allow(request, "imports.view")
    return _detail(services.get_job(request.membership, import_id))


@router.post("/{import_id}/cancel", response=ImportDetailOut, summary="Cancel an import")
def cancel_import(request: HttpRequest, import_id: int):
    """Stop after the chunk in progress; rows already imported stay and can be undone."""
    allow(request, "imports.run")
    job = services.cancel_job(request.organization, request.user,
                              services.get_job(request.membership, import_id))
    return _detail(job)


@router.post("/{import_id}/undo", response=UndoOut, summary="Undo an import")
def undo_import(request: HttpRequest, import_id: int):
    """Move the records the import created to the trash and revert the ones it changed.

    A record changed after the import keeps its values and is listed under
    `not_reverted` with the reason.
    """
    allow(request, "imports.undo")
    return services.undo_job(request.organization, request.user,
                             services.get_job(request.membership, import_id))


@router.get("/{import_id}/errors", summary="Download an import's problems as CSV",
            response={200: None})
def import_errors(request: HttpRequest, import_id: int):
    """Every row not taken and every value not stored: row, column, value, reason."""
    allow(request, "imports.view")
    job = services.get_job(request.membership, import_id)
    return error_file_response(request.organization, job)


def error_file_response(org, job: ImportJob) -> StreamingHttpResponse:
    """The job's problems as a CSV download, streamed however many there are."""
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff"
        yield writer.writerow(["row", "column", "value", "reason"])
        # The response streams after the request's scope has closed.
        with scope(organization=org):
            for row in services.error_rows(job):
                yield writer.writerow([_escape(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


class _Echo:
    def write(self, value):
        return value


def _escape(value):
    # The values come from an uploaded file: a spreadsheet must show them as
    # text, never run them.
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
        return "'" + value
    return value
