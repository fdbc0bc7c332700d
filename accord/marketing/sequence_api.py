"""Sequences under `/api/v1/sequences`, with their enrolments."""

from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord.customers.models import Contact
from accord.errors import InvalidInput, input_names
from accord.identity.api_auth import allow
from accord.identity.models import Area
from accord.identity.visibility import visible
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import sequences as services
from .sequence_models import EnrolmentSource, EnrolmentStatus, Sequence, SequenceStatus
from .sequence_schemas import (
    EnrolIn,
    EnrolmentDetailOut,
    EnrolmentFilters,
    EnrolmentPage,
    EnrolResult,
    SequenceFilters,
    SequenceIn,
    SequenceOut,
    SequencePage,
    SequencePatch,
    SequenceStepReport,
)
from .services import visible_segments

router = Router(tags=["sequences"])

ORDERINGS = {"name": Lower("name"), "created_at": "created_at", "updated_at": "updated_at"}
ENROLMENT_ORDERINGS = {"enrolled_at": "enrolled_at"}
INPUT_NAMES = {"segment": "segment_id"}


def _data(payload) -> dict:
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    if "segment_id" in data:
        data["segment"] = data.pop("segment_id")
    return data


@router.get("", response=SequencePage, summary="List sequences")
def list_sequences(request: HttpRequest, filters: Query[SequenceFilters]):
    allow(request, "campaigns.view")
    ordering = parse_ordering(filters.ordering, ORDERINGS, "name")
    rows = Sequence.objects.all()
    for word in (filters.q or "").split():
        rows = rows.filter(name__icontains=word)
    if filters.status:
        if filters.status not in SequenceStatus.values:
            raise InvalidInput({"status": "Choose draft, active or paused."})
        rows = rows.filter(status=filters.status)
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@router.post("", response={201: SequenceOut}, summary="Save a sequence")
def create_sequence(request: HttpRequest, payload: SequenceIn):
    allow(request, "campaigns.manage")
    data = _data(payload)
    data.setdefault("status", SequenceStatus.DRAFT)
    if data["status"] not in SequenceStatus.values:
        raise InvalidInput({"status": "Choose draft, active or paused."})
    with input_names(INPUT_NAMES):
        sequence = services.save_sequence(request.organization, request.user, data)
    return Status(201, sequence)


@router.get("/{sequence_id}", response=SequenceOut, summary="Read a sequence")
def read_sequence(request: HttpRequest, sequence_id: int):
    allow(request, "campaigns.view")
    return services.get_sequence(sequence_id)


@router.patch("/{sequence_id}", response=SequenceOut,
              summary="Change a sequence, its steps, or activate or pause it")
def update_sequence(request: HttpRequest, sequence_id: int, payload: SequencePatch):
    allow(request, "campaigns.manage")
    with input_names(INPUT_NAMES):
        return services.save_sequence(request.organization, request.user, _data(payload),
                                      sequence=services.get_sequence(sequence_id),
                                      expected_version=payload.version)


@router.delete("/{sequence_id}", response={204: None},
               summary="Delete a sequence that is not active, with its enrolments")
def delete_sequence(request: HttpRequest, sequence_id: int, version: int | None = None):
    allow(request, "campaigns.manage")
    services.delete_sequence(request.organization, request.user,
                             services.get_sequence(sequence_id), expected_version=version)
    return Status(204, None)


@router.get("/{sequence_id}/report", response=list[SequenceStepReport],
            summary="Per step: waiting, sent, opened, clicked, not sent and exited")
def sequence_report(request: HttpRequest, sequence_id: int):
    allow(request, "campaigns.view")
    return services.step_report(services.get_sequence(sequence_id), request.membership)


@router.get("/{sequence_id}/enrolments", response=EnrolmentPage,
            summary="List the sequence's enrolments, newest first")
def list_enrolments(request: HttpRequest, sequence_id: int, filters: Query[EnrolmentFilters]):
    allow(request, "campaigns.view")
    sequence = services.get_sequence(sequence_id)
    if filters.status and filters.status not in EnrolmentStatus.values:
        raise InvalidInput({"status": "Choose active, completed, exited or removed."})
    rows = services.enrolments(sequence, request.membership, status=filters.status,
                               step=filters.step)
    if filters.contact_id is not None:
        rows = rows.filter(contact_id=filters.contact_id)
    ordering = parse_ordering("-enrolled_at", ENROLMENT_ORDERINGS, "-enrolled_at")
    items, next_cursor = paginate(rows, ordering, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": items, "next": next_cursor}


@router.post("/{sequence_id}/enrolments", response=EnrolResult,
             summary="Enrol contacts, or every member of a segment")
def enrol(request: HttpRequest, sequence_id: int, payload: EnrolIn):
    allow(request, "campaigns.manage")
    sequence = services.get_sequence(sequence_id)
    if not payload.contact_ids and payload.segment_id is None:
        raise InvalidInput({"contact_ids": "Give contact ids or a segment."})
    # A contact the member may not see is not found, as everywhere else.
    seen = set(visible(Contact.objects.filter(pk__in=payload.contact_ids), request.membership,
                       Area.CONTACTS).values_list("pk", flat=True))
    counts = services.enrol_contacts(request.organization, request.user, sequence,
                                     [pk for pk in payload.contact_ids if pk in seen],
                                     source=EnrolmentSource.API)
    counts["not_found"] += sum(1 for pk in payload.contact_ids if pk not in seen)
    if payload.segment_id is not None:
        segment = visible_segments().filter(pk=payload.segment_id).first()
        if segment is None:
            raise InvalidInput({"segment_id": "Choose one of your segments."})
        more = services.enrol_segment(request.organization, request.user, sequence, segment,
                                      request.membership)
        counts = {name: counts[name] + more.get(name, 0) for name in counts}
    return counts


@router.get("/{sequence_id}/enrolments/{enrolment_id}", response=EnrolmentDetailOut,
            summary="Read an enrolment with its log")
def read_enrolment(request: HttpRequest, sequence_id: int, enrolment_id: int):
    allow(request, "campaigns.view")
    return services.get_enrolment(services.get_sequence(sequence_id), enrolment_id,
                                  request.membership)


@router.delete("/{sequence_id}/enrolments/{enrolment_id}", response=EnrolmentDetailOut,
               summary="Take a contact out of the sequence")
def remove_enrolment(request: HttpRequest, sequence_id: int, enrolment_id: int):
    allow(request, "campaigns.manage")
    enrolment = services.get_enrolment(services.get_sequence(sequence_id), enrolment_id,
                                       request.membership)
    return services.remove_enrolment(request.organization, request.user, enrolment)


