"""Possible duplicates and merges under `/api/v1/`.

`GET /duplicates?entity=contacts` pages through the review queue, best score
first; `POST /duplicates/{pair_id}/dismiss` marks a pair as not a duplicate;
`POST /contacts/{contact_id}/merge` and `POST /companies/{company_id}/merge`
merge the named records into the one in the path and answer with it.
"""

import datetime as dt
from typing import Literal

from django.db.models import F
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from accord.customers.custom_fields import refuse_hidden_choices
from accord.identity.api_auth import allow
from accord.pagination import Ordering, clamp_limit, paginate

from . import duplicates, merge
from .models import Company, Contact, DuplicatePair, DuplicateStatus, Entity
from .schemas import CompanyOut, ContactDetailOut, InputSchema, ListParams

router = Router(tags=["duplicates"])
merges = Router(tags=["duplicates"])

QUEUE_ORDER = Ordering("score", F("score"), True)  # best first, then newest id
ENTITIES = {"contacts": Entity.CONTACT, "companies": Entity.COMPANY}


class ReasonOut(Schema):
    signal: str = Field(description="email, phone, domain, name, name_company or name_domain.")
    score: int
    reason: str = Field(description="The reason as a sentence.")


class PossibleDuplicateOut(Schema):
    id: int = Field(description="The other record's id.")
    score: int = Field(description="0 to 100; higher is more likely the same.")
    reasons: list[ReasonOut]


class ContactCreatedOut(ContactDetailOut):
    possible_duplicates: list[PossibleDuplicateOut] = Field(
        default_factory=list, description="Existing contacts this one looks like.")


class CompanyCreatedOut(CompanyOut):
    possible_duplicates: list[PossibleDuplicateOut] = Field(
        default_factory=list, description="Existing companies this one looks like.")


class PairRecordOut(Schema):
    id: int
    name: str


class DuplicatePairOut(Schema):
    id: int
    entity: str = Field(description="contacts or companies.")
    records: list[PairRecordOut] = Field(description="The two records, lower id first.")
    score: int
    reasons: list[ReasonOut]
    status: str = Field(description="open, dismissed or merged.")
    found_at: dt.datetime
    resolved_at: dt.datetime | None

    @staticmethod
    def resolve_entity(obj) -> str:
        return "contacts" if obj.entity == Entity.CONTACT else "companies"

    @staticmethod
    def resolve_reasons(obj) -> list[dict]:
        return duplicates.api_reasons(obj)

    @staticmethod
    def resolve_records(obj) -> list[dict]:
        names = getattr(obj, "names", {})
        return [{"id": pk, "name": names.get(pk, "")} for pk in obj.record_ids]


class DuplicatePage(Schema):
    items: list[DuplicatePairOut]
    next: str | None


class DuplicateFilters(ListParams):
    entity: Literal["contacts", "companies"] = "contacts"
    status: Literal["open", "dismissed", "merged"] = "open"


class MergeIn(InputSchema):
    merge_ids: list[int] = Field(description="The records merged into the one in the path.")
    choices: dict[str, int] = Field(
        default_factory=dict,
        description="Field name (`cf.<key>` for a custom field) to the id of the record whose "
                    "value wins. Without a choice the kept record's value stays, unless it "
                    "is empty and another record's is not.")
    version: int | None = Field(None, description="The kept record's version you saw.")


def _with_names(pairs: list[DuplicatePair]) -> list[DuplicatePair]:
    for entity in ENTITIES.values():
        model = Contact if entity == Entity.CONTACT else Company
        ids = {pk for pair in pairs if pair.entity == entity for pk in pair.record_ids}
        records = model.with_deleted.in_bulk(ids)
        for pair in pairs:
            if pair.entity == entity:
                pair.names = {pk: str(record) for pk, record in records.items()}
    return pairs


@router.get("", response=DuplicatePage, summary="List possible duplicates")
def list_duplicates(request: HttpRequest, filters: Query[DuplicateFilters]):
    entity = ENTITIES[filters.entity]
    allow(request, "contacts.view" if entity == Entity.CONTACT else "companies.view")
    queryset = duplicates.visible_pairs(
        DuplicatePair.objects.filter(entity=entity, status=filters.status), request.membership)
    if filters.status == DuplicateStatus.OPEN:
        queryset = duplicates.live_pairs(queryset, entity)
    items, next_cursor = paginate(queryset, QUEUE_ORDER, cursor=filters.cursor,
                                  limit=clamp_limit(filters.limit))
    return {"items": _with_names(items), "next": next_cursor}


@router.post("/{pair_id}/dismiss", response=DuplicatePairOut,
             summary="Mark a possible duplicate as not a duplicate")
def dismiss_duplicate(request: HttpRequest, pair_id: int):
    allow(request, "records.merge")
    pair = duplicates.get_visible_pair(pair_id, request.membership)
    pair = duplicates.dismiss_pair(request.organization, request.user, pair)
    return _with_names([pair])[0]


@merges.post("/contacts/{contact_id}/merge", response=ContactDetailOut,
             summary="Merge other contacts into this one", tags=["contacts"])
def merge_contacts(request: HttpRequest, contact_id: int, payload: MergeIn):
    from .api import _contact_detail

    allow(request, "records.merge")
    survivor, others = merge.load_records(Contact, contact_id, payload.merge_ids,
                                            viewer=request.membership)
    refuse_hidden_choices("contact", request.membership, payload.choices)
    merge.merge_contacts(request.organization, request.user, survivor, others,
                         choices=payload.choices, expected_version=payload.version)
    return _contact_detail(survivor.pk)


@merges.post("/companies/{company_id}/merge", response=CompanyOut,
             summary="Merge other companies into this one", tags=["companies"])
def merge_companies(request: HttpRequest, company_id: int, payload: MergeIn):
    allow(request, "records.merge")
    survivor, others = merge.load_records(Company, company_id, payload.merge_ids,
                                            viewer=request.membership)
    refuse_hidden_choices("company", request.membership, payload.choices)
    return merge.merge_companies(request.organization, request.user, survivor, others,
                                 choices=payload.choices, expected_version=payload.version)


def merged_record(request: HttpRequest, exc: merge.RecordMerged):
    """A merged id answers 301 to the survivor, with a problem body naming it."""
    from accord.api import problem

    response = problem(request, status=301, code=exc.code, title=exc.title, detail=exc.detail,
                       extra={"merged_into": exc.survivor_id})
    response["Location"] = exc.location
    return response

