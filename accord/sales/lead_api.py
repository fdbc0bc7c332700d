"""Leads, their assignment rules and their scoring rules under `/api/v1/`.

Lists read the same query parameters as the lead list page
(`leads.lead_filters`), so a filter means the same in both.
"""

import functools

from django.db.models.functions import Lower
from django.http import HttpRequest
from ninja import Query, Router, Status

from accord import bulk
from accord.bulk import RecordsBulkIn, RecordsBulkOut
from accord.errors import input_names
from accord.identity.api_auth import allow
from accord.identity.visibility import require_visible, visible
from accord.pagination import clamp_limit, paginate, parse_ordering

from . import assignment, leads, scoring
from .lead_schemas import (
    API_NAMES,
    AssignmentRuleIn,
    AssignmentRuleOut,
    AssignmentRulePage,
    AssignmentRulePatch,
    ConvertIn,
    DisqualifyIn,
    LeadEventIn,
    LeadEventOut,
    LeadFilters,
    LeadIn,
    LeadOut,
    LeadPage,
    LeadPatch,
    ListParams,
    ScoreChangePage,
    ScoringRuleIn,
    ScoringRuleOut,
    ScoringRulePage,
    ScoringRulePatch,
    VersionIn,
    to_service_data,
)
from .models import AssignmentRule, Lead, ScoringRule

router = Router(tags=["leads"])
assignment_rules = Router(tags=["leads"])
scoring_rules = Router(tags=["leads"])

LEAD_ORDERINGS = {
    "created_at": "created_at", "updated_at": "updated_at", "score": "score",
    "last_name": Lower("last_name"), "company_name": Lower("company_name"),
    "status": "status",
}
# Who may shape how leads are handed out and scored: those who set up the
# pipelines, or an admin.
RULES_PERMISSION = "pipelines.manage"


def _page(queryset, ordering, params) -> dict:
    items, next_cursor = paginate(queryset, ordering, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    return {"items": items, "next": next_cursor}


def _visible_lead(request, lead_id: int) -> Lead:
    """The lead, when the caller may see it; a hidden one is not found."""
    return require_visible(request.membership, leads.get_lead(lead_id), "leads")


# Leads written in bulk go through the same schemas, checks and services as one by one.
LEADS = bulk.Kind("lead", LeadIn, LeadPatch, functools.partial(leads.create_lead, channel="api"),
                  leads.update_lead, _visible_lead, "leads.add",
                  "leads.change", to_service_data)


@router.get("", response=LeadPage, summary="List leads")
def list_leads(request: HttpRequest, filters: Query[LeadFilters]):
    allow(request, "leads.view")
    ordering = parse_ordering(filters.ordering, LEAD_ORDERINGS, "-created_at")
    page = _page(leads.lead_filters(
        visible(Lead.objects.all(), request.membership, "leads"), request.GET), ordering, filters)
    seen = leads.seen_conversions(request.membership, page["items"])
    for lead in page["items"]:
        lead.seen_conversions = seen[lead.pk]
    return page


@router.post("", response={201: LeadOut}, summary="Create a lead")
@input_names(API_NAMES)
def create_lead(request: HttpRequest, payload: LeadIn):
    allow(request, "leads.add")
    lead = leads.create_lead(request.organization, request.user,
                             data=to_service_data(payload), channel="api")
    return Status(201, leads.get_lead(lead.pk))


@router.post("/bulk", response=RecordsBulkOut,
             summary="Create or change up to 1,000 leads, with a result for each")
def bulk_leads(request: HttpRequest, payload: RecordsBulkIn):
    return bulk.run_bulk(request, LEADS, payload.items)


@router.get("/{lead_id}", response=LeadOut, summary="Read a lead")
def read_lead(request: HttpRequest, lead_id: int):
    allow(request, "leads.view")
    return _visible_lead(request, lead_id)


@router.patch("/{lead_id}", response=LeadOut, summary="Change a lead")
@input_names(API_NAMES)
def update_lead(request: HttpRequest, lead_id: int, payload: LeadPatch):
    allow(request, "leads.change")
    lead = _visible_lead(request, lead_id)
    return leads.update_lead(request.organization, request.user, lead,
                             data=to_service_data(payload), expected_version=payload.version)


@router.delete("/{lead_id}", response={204: None}, summary="Move a lead to the trash")
def delete_lead(request: HttpRequest, lead_id: int, version: int | None = None):
    allow(request, "leads.delete")
    lead = _visible_lead(request, lead_id)
    leads.delete_lead(request.organization, request.user, lead, expected_version=version)
    return Status(204, None)


@router.post("/{lead_id}/qualify", response=LeadOut, summary="Mark a lead qualified")
def qualify_lead(request: HttpRequest, lead_id: int, payload: VersionIn):
    allow(request, "leads.change")
    lead = _visible_lead(request, lead_id)
    return leads.qualify_lead(request.organization, request.user, lead,
                              expected_version=payload.version)


@router.post("/{lead_id}/disqualify", response=LeadOut,
             summary="Mark a lead disqualified, with the reason")
def disqualify_lead(request: HttpRequest, lead_id: int, payload: DisqualifyIn):
    allow(request, "leads.change")
    lead = _visible_lead(request, lead_id)
    return leads.disqualify_lead(request.organization, request.user, lead,
                                 reason=payload.reason, expected_version=payload.version)


@router.post("/{lead_id}/convert", response=LeadOut,
             summary="Convert a lead into a contact, a company and optionally a deal")
@input_names(API_NAMES)
def convert_lead(request: HttpRequest, lead_id: int, payload: ConvertIn):
    allow(request, "leads.convert")
    lead = _visible_lead(request, lead_id)
    deal = to_service_data(payload.deal) if payload.deal is not None else None
    if deal is not None:
        allow(request, "deals.add")
    return leads.convert_lead(request.organization, request.user, lead, deal=deal,
                              expected_version=payload.version, viewer=request.membership)


@router.post("/{lead_id}/events", response={201: LeadEventOut},
             summary="Record a behaviour event for a lead, such as email.opened")
def record_event(request: HttpRequest, lead_id: int, payload: LeadEventIn):
    allow(request, "leads.change")
    lead = _visible_lead(request, lead_id)
    entry = leads.record_lead_event(request.organization, request.user, lead,
                                    event_type=payload.type, data=payload.data)
    entry.score = leads.get_lead(lead_id).score
    return Status(201, entry)


@router.get("/{lead_id}/score-changes", response=ScoreChangePage,
            summary="How a lead's score came about, newest first")
def score_changes(request: HttpRequest, lead_id: int, params: Query[ListParams]):
    allow(request, "leads.view")
    lead = _visible_lead(request, lead_id)
    ordering = parse_ordering(params.ordering, {"at": "at"}, "-at")
    return _page(lead.score_changes.all(), ordering, params)


# Assignment rules


@assignment_rules.get("", response=AssignmentRulePage, summary="List lead assignment rules")
def list_assignment_rules(request: HttpRequest, params: Query[ListParams]):
    allow(request, RULES_PERMISSION)
    ordering = parse_ordering(params.ordering, {"position": "position"}, "position")
    return _page(AssignmentRule.objects.all(), ordering, params)


@assignment_rules.post("", response={201: AssignmentRuleOut},
                       summary="Add a lead assignment rule")
@input_names(API_NAMES)
def create_assignment_rule(request: HttpRequest, payload: AssignmentRuleIn):
    allow(request, RULES_PERMISSION)
    rule = assignment.create_rule(request.organization, request.user,
                                  data=to_service_data(payload))
    return Status(201, rule)


@assignment_rules.patch("/{assignment_rule_id}", response=AssignmentRuleOut,
                        summary="Change a lead assignment rule")
@input_names(API_NAMES)
def update_assignment_rule(request: HttpRequest, assignment_rule_id: int,
                           payload: AssignmentRulePatch):
    allow(request, RULES_PERMISSION)
    rule = assignment.get_rule(assignment_rule_id)
    return assignment.update_rule(request.organization, request.user, rule,
                                  data=to_service_data(payload),
                                  expected_version=payload.version)


@assignment_rules.delete("/{assignment_rule_id}", response={204: None},
                         summary="Delete a lead assignment rule")
def delete_assignment_rule(request: HttpRequest, assignment_rule_id: int):
    allow(request, RULES_PERMISSION)
    rule = assignment.get_rule(assignment_rule_id)
    assignment.delete_rule(request.organization, request.user, rule)
    return Status(204, None)


# Scoring rules


@scoring_rules.get("", response=ScoringRulePage, summary="List lead scoring rules")
def list_scoring_rules(request: HttpRequest, params: Query[ListParams]):
    allow(request, RULES_PERMISSION)
    ordering = parse_ordering(params.ordering, {"created_at": "created_at"}, "created_at")
    return _page(ScoringRule.objects.all(), ordering, params)


@scoring_rules.post("", response={201: ScoringRuleOut}, summary="Add a lead scoring rule")
@input_names(API_NAMES)
def create_scoring_rule(request: HttpRequest, payload: ScoringRuleIn):
    allow(request, RULES_PERMISSION)
    rule = scoring.create_rule(request.organization, request.user,
                               data=to_service_data(payload))
    return Status(201, rule)


@scoring_rules.patch("/{scoring_rule_id}", response=ScoringRuleOut,
                     summary="Change a lead scoring rule")
@input_names(API_NAMES)
def update_scoring_rule(request: HttpRequest, scoring_rule_id: int,
                        payload: ScoringRulePatch):
    allow(request, RULES_PERMISSION)
    rule = scoring.get_rule(scoring_rule_id)
    return scoring.update_rule(request.organization, request.user, rule,
                               data=to_service_data(payload), expected_version=payload.version)


@scoring_rules.delete("/{scoring_rule_id}", response={204: None},
                      summary="Delete a lead scoring rule")
def delete_scoring_rule(request: HttpRequest, scoring_rule_id: int):
    allow(request, RULES_PERMISSION)
    rule = scoring.get_rule(scoring_rule_id)
    scoring.delete_rule(request.organization, request.user, rule)
    return Status(204, None)
