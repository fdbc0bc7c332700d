"""Data-subject requests under `/api/v1/privacy/requests` and retention rules under
`/api/v1/retention-rules`."""

from django.db.models import F
from django.http import FileResponse, HttpRequest
from ninja import Query, Router, Status

from accord.identity.api_auth import allow
from accord.pagination import Ordering, clamp_limit, paginate

from . import retention, services
from .models import DataRequest, RetentionRule
from .schemas import (
    DataRequestIn,
    DataRequestListParams,
    DataRequestOut,
    DataRequestPage,
    RetentionPreviewOut,
    RetentionRuleIn,
    RetentionRuleListParams,
    RetentionRuleOut,
    RetentionRulePage,
    RetentionRulePatch,
    RetentionRunOut,
)

requests_router = Router(tags=["privacy"])
rules_router = Router(tags=["privacy"])

NEWEST_FIRST = Ordering("created_at", F("created_at"), descending=True)
BY_ID = Ordering("id", F("id"), descending=False)


@requests_router.post("/requests", response={202: DataRequestOut},
                      summary="Make a data-subject request",
                      description="Export everything held about a contact as a ZIP archive, "
                                  "erase the contact, or anonymise it. Answers 202 with the "
                                  "request; poll it until `status` is `done`.")
def create_request(request: HttpRequest, payload: DataRequestIn):
    allow(request, "privacy.manage")
    made = services.start_request(request.organization, request.user,
                                  contact=payload.contact, kind=payload.kind)
    return Status(202, made)


@requests_router.get("/requests", response=DataRequestPage, summary="List data requests",
                     description="The organisation's data-subject requests, newest first, "
                                 "filtered by kind, status or contact id.")
def list_requests(request: HttpRequest, params: Query[DataRequestListParams]):
    allow(request, "privacy.manage")
    rows = DataRequest.objects.select_related("requested_by")
    if params.kind:
        rows = rows.filter(kind=params.kind)
    if params.status:
        rows = rows.filter(status=params.status)
    if params.contact is not None:
        rows = rows.filter(contact_id=params.contact)
    items, next_cursor = paginate(rows, NEWEST_FIRST, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


@requests_router.get("/requests/{request_id}", response=DataRequestOut,
                     summary="Read a data request")
def read_request(request: HttpRequest, request_id: int):
    allow(request, "privacy.manage")
    return services.get_request(request_id)


@requests_router.get("/requests/{request_id}/archive", response={200: None, 409: None},
                     summary="Download an export request's archive",
                     description="The ZIP archive; 409 while the export is queued or running, "
                                 "after it failed, once it expired, or for an erasure.")
def download_archive(request: HttpRequest, request_id: int):
    allow(request, "privacy.manage")
    made = services.get_request(request_id)
    handle = services.open_archive(made)
    services.record_download(request.organization, request.user, made)
    return FileResponse(handle, as_attachment=True, filename=made.filename)


@rules_router.get("", response=RetentionRulePage, summary="List retention rules")
def list_rules(request: HttpRequest, params: Query[RetentionRuleListParams]):
    allow(request, "privacy.manage")
    rows = RetentionRule.objects.all()
    for word in (params.q or "").split():
        rows = rows.filter(name__icontains=word)
    if params.entity:
        rows = rows.filter(entity=params.entity)
    if params.is_active is not None:
        rows = rows.filter(is_active=params.is_active)
    items, next_cursor = paginate(rows, BY_ID, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


@rules_router.post("", response={201: RetentionRuleOut}, summary="Create a retention rule")
def create_rule(request: HttpRequest, payload: RetentionRuleIn):
    allow(request, "privacy.manage")
    rule = retention.save_retention_rule(request.organization, request.user,
                                         payload.model_dump())
    return Status(201, rule)


@rules_router.get("/{retention_rule_id}", response=RetentionRuleOut,
                  summary="Read a retention rule")
def read_rule(request: HttpRequest, retention_rule_id: int):
    allow(request, "privacy.manage")
    return retention.get_rule(retention_rule_id)


@rules_router.patch("/{retention_rule_id}", response=RetentionRuleOut,
                    summary="Change a retention rule",
                    description="Send the `version` you read; 409 when the rule changed "
                                "since.")
def update_rule(request: HttpRequest, retention_rule_id: int, payload: RetentionRulePatch):
    allow(request, "privacy.manage")
    rule = retention.get_rule(retention_rule_id)
    spec = payload.model_dump(exclude_unset=True)
    version = spec.pop("version")
    return retention.save_retention_rule(request.organization, request.user, spec, rule=rule,
                                         expected_version=version)


@rules_router.delete("/{retention_rule_id}", response={204: None},
                     summary="Delete a retention rule")
def delete_rule(request: HttpRequest, retention_rule_id: int):
    allow(request, "privacy.manage")
    rule = retention.get_rule(retention_rule_id)
    retention.delete_retention_rule(request.organization, request.user, rule)
    return Status(204, None)


@rules_router.post("/{retention_rule_id}/dry-run", response=RetentionPreviewOut,
                   summary="Show what a rule would remove now",
                   description="Counts the records the rule would remove if it ran now, "
                               "and lists the first 20 with links; changes nothing.")
def dry_run_rule(request: HttpRequest, retention_rule_id: int):
    allow(request, "privacy.manage")
    return retention.dry_run(retention.get_rule(retention_rule_id))


@rules_router.post("/{retention_rule_id}/runs", response={201: RetentionRunOut},
                   summary="Run a rule now",
                   description="Removes what the dry run lists, in batches, and logs the "
                               "run; the nightly schedule does the same for active rules.")
def run_rule(request: HttpRequest, retention_rule_id: int):
    allow(request, "privacy.manage")
    rule = retention.get_rule(retention_rule_id)
    return Status(201, retention.run_rule(request.organization, request.user, rule,
                                          trigger="manual"))
