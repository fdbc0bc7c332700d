"""Segments under `/api/v1/segments`.

`conditions` is a tree of the condition language (accord.marketing.conditions);
a bad tree answers 422 with one error per bad place, named by its path in the
tree (`all[1].any[0].value`). Members are the contacts the caller may see.
"""

from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord.customers.queries import contact_orderings, search_with_company
from accord.customers.schemas import ContactPage
from accord.errors import InvalidInput
from accord.identity.api_auth import allow
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import services
from .conditions import Conditions
from .models import Segment, SegmentKind
from .schemas import (
    SegmentFilters,
    SegmentIn,
    SegmentMemberFilters,
    SegmentOut,
    SegmentPage,
    SegmentPatch,
    SegmentPreviewIn,
    SegmentPreviewOut,
)

segments = Router(tags=["segments"])

ORDERINGS = {"name": Lower("name"), "created_at": "created_at", "updated_at": "updated_at"}


def _out(segment: Segment, conditions: Conditions, request=None) -> dict:
    """The segment as SegmentOut; with `request`, its member count as the caller sees it."""
    return {
        **{name: getattr(segment, name) for name in (
            "id", "name", "description", "kind", "conditions", "frozen_at", "created_at",
            "updated_at", "version")},
        "summary": conditions.describe(segment.conditions),
        "member_count": _count(segment, request) if request is not None else None,
    }


def _count(segment: Segment, request) -> int | None:
    try:
        return services.members(request.organization, segment, request.membership).count()
    except InvalidInput:
        # The conditions no longer fit the organisation (a custom field was
        # removed); the summary says which part is unknown.
        return None


def _data(payload) -> dict:
    return payload.model_dump(exclude_unset=True, exclude={"version"})


@segments.get("", response=SegmentPage, summary="List segments")
def list_segments(request: HttpRequest, filters: Query[SegmentFilters]):
    allow(request, "segments.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "name")
    rows = services.visible_segments()
    if filters.kind:
        if filters.kind not in SegmentKind.values:
            raise InvalidInput({"kind": "Choose dynamic or frozen."})
        rows = rows.filter(kind=filters.kind)
    if filters.q:
        for word in filters.q.split():
            rows = rows.filter(name__icontains=word)
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    conditions = Conditions(request.organization)
    return {"items": [_out(segment, conditions) for segment in items], "next": next_cursor}


@segments.post("", response={201: SegmentOut}, summary="Save a segment")
def create_segment(request: HttpRequest, payload: SegmentIn):
    allow(request, "segments.manage")
    segment = services.create_segment(request.organization, request.user, data=_data(payload),
                                      viewer=request.membership)
    return Status(201, _out(segment, Conditions(request.organization), request))


@segments.post("/preview", response=SegmentPreviewOut,
               summary="Count the contacts a condition tree selects")
def preview_segment(request: HttpRequest, payload: SegmentPreviewIn):
    allow(request, "segments.view")
    conditions = Conditions(request.organization, request.membership)
    tree = conditions.validate(payload.conditions)
    count = services.preview_count(request.organization, request.membership, tree)
    return {"count": count, "summary": conditions.describe(tree)}


@segments.get("/{segment_id}", response=SegmentOut, summary="Read a segment")
def read_segment(request: HttpRequest, segment_id: int):
    allow(request, "segments.view")
    segment = services.get_segment(segment_id)
    return _out(segment, Conditions(request.organization), request)


@segments.patch("/{segment_id}", response=SegmentOut, summary="Change a segment")
def update_segment(request: HttpRequest, segment_id: int, payload: SegmentPatch):
    allow(request, "segments.manage")
    segment = services.update_segment(request.organization, request.user,
                                      services.get_segment(segment_id), data=_data(payload),
                                      expected_version=payload.version,
                                      viewer=request.membership)
    return _out(segment, Conditions(request.organization), request)


@segments.post("/{segment_id}/refresh", response=SegmentOut,
               summary="Take a frozen segment's members anew")
def refresh_segment(request: HttpRequest, segment_id: int, version: int | None = None):
    allow(request, "segments.manage")
    segment = services.refresh_segment(request.organization, request.user,
                                       services.get_segment(segment_id),
                                       expected_version=version, viewer=request.membership)
    return _out(segment, Conditions(request.organization), request)


@segments.delete("/{segment_id}", response={204: None}, summary="Delete a segment")
def delete_segment(request: HttpRequest, segment_id: int, version: int | None = None):
    allow(request, "segments.manage")
    services.delete_segment(request.organization, request.user,
                            services.get_segment(segment_id), expected_version=version)
    return Status(204, None)


@segments.get("/{segment_id}/members", response=ContactPage,
              summary="List the contacts in a segment")
def list_members(request: HttpRequest, segment_id: int, filters: Query[SegmentMemberFilters]):
    allow(request, "segments.view")
    allow(request, "contacts.view")
    segment = services.get_segment(segment_id)
    ordering = parse_ordering(filters.ordering, contact_orderings(request.membership),
                              "name")
    contacts = services.members(request.organization, segment, request.membership)
    contacts = contacts.prefetch_related("emails", "phones", "tag_links__tag")
    if filters.q:
        contacts = search_with_company(contacts, filters.q, request.membership)
    items, next_cursor = paginate(contacts, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}
