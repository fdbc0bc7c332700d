"""Exports under `/api/v1/exports`: start one, follow it, download its file."""

from django.db.models import F
from django.http import FileResponse, HttpRequest, QueryDict
from ninja import Query, Router, Status

from accord.errors import InvalidInput
from accord.identity.api_auth import allow
from accord.identity.visibility import require_all_records
from accord.pagination import Ordering, clamp_limit, paginate

from . import exports
from .export_schemas import ExportIn, ExportListParams, ExportOut, ExportPage

router = Router(tags=["exports"])

NEWEST_FIRST = Ordering("created_at", F("created_at"), descending=True)


def query_string(payload: ExportIn) -> str:
    """The list query string for `q`, `filters` and `ordering`, as the UI would send it."""
    query = QueryDict(mutable=True)
    for name, value in (payload.filters or {}).items():
        for item in value if isinstance(value, list) else [value]:
            query.appendlist(name, str(item).lower() if isinstance(item, bool) else str(item))
    if payload.q:
        query["q"] = payload.q
    if payload.ordering:
        query["ordering"] = payload.ordering
    return query.urlencode()


@router.post("", response={202: ExportOut}, summary="Start an export",
             description="Exports a filtered contact or company list, every deal, product "
                         "or order, or the whole organisation as a .zip with one file per "
                         "entity. Answers 202 with "
                         "the job; poll it until `status` is `done`, then fetch "
                         "`download_url`.")
def start_export(request: HttpRequest, payload: ExportIn):
    allow(request, "data.export")
    if payload.entity == "organisation" and (payload.q or payload.filters or payload.ordering):
        raise InvalidInput({"filters": "The whole organisation is exported unfiltered; leave "
                                       "out q, filters and ordering."})
    if payload.entity.startswith("record:"):
        allow(request, "records.export")
        require_all_records(request.membership, "records")
    else:
        require_all_records(request.membership, payload.entity)
    job = exports.start_export(request.organization, request.user, entity=payload.entity,
                               format=payload.format, query=query_string(payload))
    return Status(202, job)


@router.get("", response=ExportPage, summary="List exports",
            description="Your export jobs, newest first; an admin sees everyone's.")
def list_exports(request: HttpRequest, params: Query[ExportListParams]):
    allow(request, "data.export")
    items, next_cursor = paginate(exports.visible_exports(request.membership), NEWEST_FIRST,
                                  cursor=params.cursor, limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


@router.get("/{export_id}", response=ExportOut, summary="Read an export")
def read_export(request: HttpRequest, export_id: int):
    allow(request, "data.export")
    return exports.get_export(request.membership, export_id)


@router.get("/{export_id}/download", summary="Download an export's file",
            response={200: None, 409: None},
            description="The file itself; 409 while the export is queued or running, "
                        "after it failed or once its file expired.")
def download_export(request: HttpRequest, export_id: int):
    allow(request, "data.export")
    job = exports.get_export(request.membership, export_id)
    return FileResponse(exports.open_download(job), as_attachment=True, filename=job.filename)
