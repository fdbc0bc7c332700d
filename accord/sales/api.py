"""Pipelines, deals, exchange rates and quotas under `/api/v1/`.

Every write goes through `accord.sales.services`, so the API leaves the same
audit entries, stage history and domain events as the board and the forms.
"""

from django.db.models import Prefetch
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from accord import bulk
from accord.bulk import RecordsBulkIn, RecordsBulkOut
from accord.customers import services as customer_services
from accord.customers.custom_fields import refuse_hidden
from accord.customers.models import Contact
from accord.customers.queries import linked_company_seen, search_with_company
from accord.errors import InvalidInput, NotFound, input_names
from accord.identity.api_auth import allow
from accord.identity.visibility import require_visible, visible
from accord.pagination import (
    Nullable,
    clamp_limit,
    paginate,
    parse_ordering,
    refuse_unknown_parameters,
)

from . import services
from .models import Deal, DealContact, ExchangeRate, Pipeline, Quota, Stage, StageChange
from .schemas import (
    API_NAMES,
    DealContactIn,
    DealDetailOut,
    DealFilters,
    DealIn,
    DealPage,
    DealPatch,
    ExchangeRateFilters,
    ExchangeRateIn,
    ExchangeRateOut,
    ExchangeRatePage,
    LineItemsIn,
    NewStageIn,
    PageParams,
    PipelineFilters,
    PipelineIn,
    PipelineOut,
    PipelinePage,
    PipelinePatch,
    QuotaFilters,
    QuotaIn,
    QuotaOut,
    QuotaPage,
    StageChangePage,
    StageMoveIn,
    StageOrderIn,
    StageOut,
    StagePage,
    StagePatch,
    to_service_data,
)

pipelines = Router(tags=["pipelines"])
deals = Router(tags=["deals"])
# Deals written in bulk go through the same schemas, checks and service as one by one.
DEALS = bulk.Kind("deal", DealIn, DealPatch, services.create_deal, services.update_deal,
                  bulk.owned(services.get_deal, "deals"), "deals.add", "deals.change",
                  to_service_data)
exchange_rates = Router(tags=["exchange rates"])
quotas = Router(tags=["quotas"])

PIPELINE_ORDERINGS = {"position": "position", "name": Lower("name"), "created_at": "created_at"}
STAGE_ORDERINGS = {"position": "position"}
DEAL_ORDERINGS = {
    "id": "id", "name": Lower("name"), "amount": Nullable("amount"),
    "expected_close_date": Nullable("expected_close_date"), "updated_at": "updated_at",
}
HISTORY_ORDERINGS = {"changed_at": "changed_at"}
RATE_ORDERINGS = {"valid_on": "valid_on", "currency": "currency"}
QUOTA_ORDERINGS = {"starts_on": "starts_on", "amount": "amount"}


def _page(queryset, ordering, params) -> dict:
    items, next_cursor = paginate(queryset, ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


# Pipelines and stages


def _pipeline(pipeline_id: int) -> Pipeline:
    pipeline = services.get_pipeline(pipeline_id)
    return Pipeline.objects.prefetch_related("stages").get(pk=pipeline.pk)


def _stage_of(pipeline_id: int, stage_id: int) -> Stage:
    pipeline = services.get_pipeline(pipeline_id)
    stage = services.get_stage(stage_id)
    if stage.pipeline_id != pipeline.pk:
        raise NotFound("No stage with this id in this pipeline.")
    return stage


@pipelines.get("", response=PipelinePage, summary="List pipelines with their stages")
def list_pipelines(request: HttpRequest, filters: Query[PipelineFilters]):
    allow(request, "pipelines.view")
    ordering = parse_ordering(filters.ordering, PIPELINE_ORDERINGS, "position")
    queryset = Pipeline.objects.prefetch_related("stages")
    if filters.is_active is not None:
        queryset = queryset.filter(is_active=filters.is_active)
    for word in (filters.q or "").split():
        queryset = queryset.filter(name__icontains=word)
    return _page(queryset, ordering, filters)


@pipelines.post("", response={201: PipelineOut}, summary="Create a pipeline with its stages")
def create_pipeline(request: HttpRequest, payload: PipelineIn):
    allow(request, "pipelines.manage")
    stages = ([stage.model_dump(exclude_unset=True) for stage in payload.stages]
              if payload.stages is not None else None)
    pipeline = services.create_pipeline(request.organization, request.user, name=payload.name,
                                        stages=stages, is_default=payload.is_default)
    return Status(201, _pipeline(pipeline.pk))


@pipelines.get("/{pipeline_id}", response=PipelineOut, summary="Read a pipeline")
def read_pipeline(request: HttpRequest, pipeline_id: int):
    allow(request, "pipelines.view")
    return _pipeline(pipeline_id)


@pipelines.patch("/{pipeline_id}", response=PipelineOut, summary="Change a pipeline")
@input_names(API_NAMES)
def update_pipeline(request: HttpRequest, pipeline_id: int, payload: PipelinePatch):
    allow(request, "pipelines.manage")
    pipeline = services.get_pipeline(pipeline_id)
    services.update_pipeline(request.organization, request.user, pipeline,
                             data=to_service_data(payload), expected_version=payload.version)
    return _pipeline(pipeline_id)


@pipelines.get("/{pipeline_id}/stages", response=StagePage, summary="List a pipeline's stages")
def list_stages(request: HttpRequest, pipeline_id: int, filters: Query[PageParams]):
    allow(request, "pipelines.view")
    pipeline = services.get_pipeline(pipeline_id)
    ordering = parse_ordering(filters.ordering, STAGE_ORDERINGS, "position")
    return _page(Stage.objects.filter(pipeline=pipeline), ordering, filters)


@pipelines.post("/{pipeline_id}/stages", response={201: StageOut}, summary="Add a stage")
def create_stage(request: HttpRequest, pipeline_id: int, payload: NewStageIn):
    allow(request, "pipelines.manage")
    pipeline = services.get_pipeline(pipeline_id)
    stage = services.add_stage(request.organization, request.user, pipeline,
                               data=payload.model_dump(exclude_unset=True))
    return Status(201, stage)


@pipelines.put("/{pipeline_id}/stages/order", response=StagePage,
               summary="Put a pipeline's stages in a new order")
def reorder_stages(request: HttpRequest, pipeline_id: int, payload: StageOrderIn):
    allow(request, "pipelines.manage")
    pipeline = services.get_pipeline(pipeline_id)
    stages = services.reorder_stages(request.organization, request.user, pipeline,
                                     payload.stage_ids)
    return {"items": stages, "next": None}


@pipelines.patch("/{pipeline_id}/stages/{stage_id}", response=StageOut,
                 summary="Change a stage")
@input_names(API_NAMES)
def update_stage(request: HttpRequest, pipeline_id: int, stage_id: int, payload: StagePatch):
    allow(request, "pipelines.manage")
    stage = _stage_of(pipeline_id, stage_id)
    return services.update_stage(request.organization, request.user, stage,
                                 data=to_service_data(payload),
                                 expected_version=payload.version)


@pipelines.delete("/{pipeline_id}/stages/{stage_id}", response={204: None},
                  summary="Delete a stage, moving its deals to `move_to` first")
def delete_stage(request: HttpRequest, pipeline_id: int, stage_id: int,
                 move_to: int | None = None):
    allow(request, "pipelines.manage")
    stage = _stage_of(pipeline_id, stage_id)
    target = None
    if move_to is not None:
        target = Stage.objects.filter(pk=move_to).first()
        if target is None:
            raise InvalidInput({"move_to": "No stage with this id."})
    services.delete_stage(request.organization, request.user, stage, move_to=target)
    return Status(204, None)


# Deals


def _visible_deal(request, deal_id: int) -> Deal:
    """The deal, when the caller may see it; a hidden one is not found."""
    return require_visible(request.membership, services.get_deal(deal_id), "deals")


def _deal_detail(deal_id: int) -> Deal:
    """A deal with its contacts, priced line items and time spent in each stage."""
    deal = (Deal.objects.select_related("organization")
            .prefetch_related(Prefetch("contact_links",
                                       DealContact.objects.select_related("contact")))
            .filter(pk=services.get_deal(deal_id).pk).first())
    items, totals = services.line_totals(deal)
    deal.priced_lines = list(zip(items, totals.lines, strict=True))
    deal.totals = totals
    changes = _timed_changes(deal)
    by_stage: dict = {}
    for change in changes:
        key = change.to_stage_id
        name = change.to_stage_label
        entry = by_stage.setdefault(key, {"stage_id": key, "name": name, "seconds": 0})
        entry["seconds"] += change.seconds_in_to_stage
    deal.stage_summary = {
        "moves": max(len(changes) - 1, 0),
        "seconds_in_current_stage": int((timezone.now() - deal.stage_entered_at)
                                        .total_seconds()),
        "seconds_by_stage": list(by_stage.values()),
    }
    return deal


def _timed_changes(deal: Deal) -> list[StageChange]:
    """The deal's stage changes in order, each with how long the deal stayed where it went."""
    changes = list(StageChange.objects.filter(deal=deal)
                   .select_related("from_stage", "to_stage").order_by("changed_at", "id"))
    # The time a later row says the deal spent in the stage it left is the
    # one the forecast averages, so it wins over the gap between the rows.
    now = timezone.now()
    for change, following in zip(changes, [*changes[1:], None], strict=True):
        if following is not None and following.seconds_in_from_stage is not None:
            seconds = following.seconds_in_from_stage
        elif following is not None:
            seconds = (following.changed_at - change.changed_at).total_seconds()
        else:
            seconds = (now - deal.stage_entered_at).total_seconds()
        change.seconds_in_to_stage = max(int(seconds), 0)
    return changes


@deals.get("", response=DealPage, summary="List deals")
def list_deals(request: HttpRequest, filters: Query[DealFilters]):
    allow(request, "deals.view")
    refuse_unknown_parameters(request.GET, filters)
    ordering = parse_ordering(filters.ordering, DEAL_ORDERINGS, "-id")
    queryset = visible(Deal.objects.all(), request.membership, "deals")
    for field in ("pipeline_id", "stage_id", "owner_id", "company_id", "status"):
        value = getattr(filters, field)
        if value is not None:
            queryset = queryset.filter(**{field: value})
    queryset = linked_company_seen(queryset, request.GET, "company_id", request.membership)
    if filters.contact_id is not None:
        queryset = queryset.filter(contact_links__contact__in=visible(
            Contact.objects.filter(pk=filters.contact_id), request.membership, "contacts"))
    if filters.expected_close_from is not None:
        queryset = queryset.filter(expected_close_date__gte=filters.expected_close_from)
    if filters.expected_close_to is not None:
        queryset = queryset.filter(expected_close_date__lte=filters.expected_close_to)
    if filters.q:
        queryset = search_with_company(queryset, filters.q, request.membership)
    return _page(queryset, ordering, filters)


@deals.post("", response={201: DealDetailOut}, summary="Create a deal")
@input_names(API_NAMES)
def create_deal(request: HttpRequest, payload: DealIn):
    allow(request, "deals.add")
    refuse_hidden("deal", request.membership, payload.custom_fields)
    deal = services.create_deal(request.organization, request.user,
                                data=to_service_data(payload))
    return Status(201, _deal_detail(deal.pk))


@deals.post("/bulk", response=RecordsBulkOut,
             summary="Create or change up to 1,000 deals, with a result for each")
def bulk_deals(request: HttpRequest, payload: RecordsBulkIn):
    return bulk.run_bulk(request, DEALS, payload.items)


@deals.get("/{deal_id}", response=DealDetailOut, summary="Read a deal")
def read_deal(request: HttpRequest, deal_id: int):
    allow(request, "deals.view")
    _visible_deal(request, deal_id)
    return _deal_detail(deal_id)


@deals.patch("/{deal_id}", response=DealDetailOut, summary="Change a deal")
@input_names(API_NAMES)
def update_deal(request: HttpRequest, deal_id: int, payload: DealPatch):
    allow(request, "deals.change")
    deal = _visible_deal(request, deal_id)
    refuse_hidden("deal", request.membership, payload.custom_fields)
    services.update_deal(request.organization, request.user, deal,
                         data=to_service_data(payload), expected_version=payload.version)
    return _deal_detail(deal_id)


@deals.delete("/{deal_id}", response={204: None}, summary="Move a deal to the trash")
def delete_deal(request: HttpRequest, deal_id: int, version: int | None = None):
    allow(request, "deals.delete")
    deal = _visible_deal(request, deal_id)
    services.delete_deal(request.organization, request.user, deal, expected_version=version)
    return Status(204, None)


@deals.post("/{deal_id}/stage", response=DealDetailOut,
            summary="Move a deal to another stage, as on the board")
def move_deal(request: HttpRequest, deal_id: int, payload: StageMoveIn):
    allow(request, "deals.change")
    deal = _visible_deal(request, deal_id)
    stage = services.get_stage(payload.stage_id)
    services.move_deal_to_stage(request.organization, request.user, deal, stage,
                                expected_version=payload.version, reason=payload.reason)
    return _deal_detail(deal_id)


@deals.get("/{deal_id}/history", response=StageChangePage,
           summary="A deal's stage changes with the time spent in each stage")
def deal_history(request: HttpRequest, deal_id: int, filters: Query[PageParams]):
    allow(request, "deals.view")
    deal = _visible_deal(request, deal_id)
    ordering = parse_ordering(filters.ordering, HISTORY_ORDERINGS, "changed_at")
    page = _page(StageChange.objects.filter(deal=deal).select_related("from_stage", "to_stage"),
                 ordering, filters)
    timed = {change.pk: change.seconds_in_to_stage for change in _timed_changes(deal)}
    for change in page["items"]:
        change.seconds_in_to_stage = timed[change.pk]
    return page


@deals.put("/{deal_id}/line-items", response=DealDetailOut,
           summary="Replace a deal's line items")
@input_names(API_NAMES)
def replace_line_items(request: HttpRequest, deal_id: int, payload: LineItemsIn):
    allow(request, "deals.change")
    deal = _visible_deal(request, deal_id)
    items = to_service_data(payload)["items"]
    services.set_line_items(request.organization, request.user, deal, items=items,
                            expected_version=payload.version)
    return _deal_detail(deal_id)


@deals.post("/{deal_id}/contacts", response={201: DealDetailOut},
            summary="Add a contact to a deal, or change their role")
def add_deal_contact(request: HttpRequest, deal_id: int, payload: DealContactIn):
    allow(request, "deals.change")
    deal = _visible_deal(request, deal_id)
    contact = customer_services.get_contact(payload.contact_id)
    services.add_deal_contact(request.organization, request.user, deal, contact,
                              role=payload.role)
    return Status(201, _deal_detail(deal_id))


@deals.delete("/{deal_id}/contacts/{contact_id}", response={204: None},
              summary="Take a contact off a deal")
def remove_deal_contact(request: HttpRequest, deal_id: int, contact_id: int):
    allow(request, "deals.change")
    deal = _visible_deal(request, deal_id)
    contact = services.linked_contact(deal, contact_id, request.membership)
    services.remove_deal_contact(request.organization, request.user, deal, contact)
    return Status(204, None)


# Exchange rates and quotas


@exchange_rates.get("", response=ExchangeRatePage, summary="List exchange rates")
def list_exchange_rates(request: HttpRequest, filters: Query[ExchangeRateFilters]):
    allow(request, "forecast.view")
    ordering = parse_ordering(filters.ordering, RATE_ORDERINGS, "-valid_on")
    queryset = ExchangeRate.objects.select_related("organization")
    if filters.currency:
        queryset = queryset.filter(currency=filters.currency.strip().upper())
    if filters.valid_from is not None:
        queryset = queryset.filter(valid_on__gte=filters.valid_from)
    if filters.valid_to is not None:
        queryset = queryset.filter(valid_on__lte=filters.valid_to)
    return _page(queryset, ordering, filters)


@exchange_rates.put("", response=ExchangeRateOut,
                    summary="Set one currency's rate for a day")
def set_exchange_rate(request: HttpRequest, payload: ExchangeRateIn):
    allow(request, "rates.manage")
    return services.set_exchange_rate(request.organization, request.user,
                                      **payload.model_dump())


@quotas.get("", response=QuotaPage, summary="List quotas")
def list_quotas(request: HttpRequest, filters: Query[QuotaFilters]):
    allow(request, "forecast.view")
    ordering = parse_ordering(filters.ordering, QUOTA_ORDERINGS, "starts_on")
    queryset = Quota.objects.select_related("organization")
    if filters.user_id is not None:
        queryset = queryset.filter(user_id=filters.user_id)
    if filters.period:
        queryset = queryset.filter(period=filters.period)
    if filters.starts_from is not None:
        queryset = queryset.filter(starts_on__gte=filters.starts_from)
    if filters.starts_to is not None:
        queryset = queryset.filter(starts_on__lte=filters.starts_to)
    return _page(queryset, ordering, filters)


@quotas.put("", response=QuotaOut, summary="Set a salesperson's quota for a period")
@input_names(API_NAMES)
def set_quota(request: HttpRequest, payload: QuotaIn):
    allow(request, "quotas.manage")
    data = payload.model_dump()
    return services.set_quota(request.organization, request.user, user=data.pop("user_id"),
                              **data)
