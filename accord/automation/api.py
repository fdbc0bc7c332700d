"""Workflow rules under `/api/v1/rules`: the rules, their run logs and dry runs."""

from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status

from accord.errors import NotPermitted
from accord.identity.api_auth import allow
from accord.marketing.conditions import Conditions
from accord.pagination import Ordering, clamp_limit, paginate

from . import services
from .models import Rule, RuleRun
from .reading import Reader
from .schemas import (
    DryRunIn,
    DryRunOut,
    RuleIn,
    RuleListParams,
    RuleOut,
    RulePage,
    RulePatch,
    RunPage,
)

router = Router(tags=["rules"])

OLDEST_FIRST = Ordering("id", F("id"), descending=False)
NEWEST_FIRST = Ordering("id", F("id"), descending=True)
CANNOT_TRY = _("This rule uses fields hidden from your role, so you cannot try it.")
CANNOT_CHANGE = _("This rule uses fields hidden from your role, so you cannot change it; "
                  "you may delete it.")


@router.get("", response=RulePage, summary="List rules")
def list_rules(request: HttpRequest, params: Query[RuleListParams]):
    allow(request, "automation.manage")
    items, next_cursor = paginate(Rule.objects.all(), OLDEST_FIRST, cursor=params.cursor,
                                  limit=clamp_limit(params.limit))
    reader = Reader(request.membership)
    return {"items": [reader.rule_out(rule) for rule in items], "next": next_cursor}


@router.post("", response={201: RuleOut}, summary="Create a rule")
def create_rule(request: HttpRequest, payload: RuleIn):
    allow(request, "automation.manage")
    rule = services.create_rule(request.organization, request.user, data=payload.dict(),
                                viewer=request.membership)
    return Status(201, Reader(request.membership).rule_out(rule))


@router.get("/{rule_id}", response=RuleOut, summary="Read a rule")
def read_rule(request: HttpRequest, rule_id: int):
    allow(request, "automation.manage")
    return Reader(request.membership).rule_out(services.get_rule(rule_id))


@router.patch("/{rule_id}", response=RuleOut, summary="Change a rule")
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch):
    allow(request, "automation.manage")
    rule = services.get_rule(rule_id)
    reader = Reader(request.membership)
    if reader.rule_hides(rule):
        raise NotPermitted(CANNOT_CHANGE)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    rule = services.update_rule(request.organization, request.user, rule, data=data,
                                expected_version=version, viewer=request.membership)
    return reader.rule_out(rule)


@router.delete("/{rule_id}", response={204: None}, summary="Delete a rule")
def delete_rule(request: HttpRequest, rule_id: int):
    allow(request, "automation.manage")
    services.delete_rule(request.organization, request.user, services.get_rule(rule_id))
    return Status(204, None)


@router.get("/{rule_id}/runs", response=RunPage, summary="List a rule's runs",
            description="Newest first, each with what set it off and every action's result.")
def list_runs(request: HttpRequest, rule_id: int, params: Query[RuleListParams]):
    allow(request, "automation.manage")
    rule = services.get_rule(rule_id)
    runs = services.runs_seen(RuleRun.objects.filter(rule=rule), request.membership, rule)
    items, next_cursor = paginate(runs, NEWEST_FIRST,
                                  cursor=params.cursor, limit=clamp_limit(params.limit))
    reader, conditions = Reader(request.membership), Conditions(request.organization)
    return {"items": [reader.run_out(run, conditions) for run in items], "next": next_cursor}


@router.post("/{rule_id}/dry-run", response=DryRunOut, summary="Try a rule on a record",
             description="Says whether the record's contact meets the conditions and what "
                         "each action would do, changing nothing.")
def dry_run(request: HttpRequest, rule_id: int, payload: DryRunIn):
    allow(request, "automation.manage")
    rule = services.get_rule(rule_id)
    if Reader(request.membership).rule_hides(rule):
        raise NotPermitted(CANNOT_TRY)
    return services.dry_run(request.organization, rule, payload.record_id,
                            viewer=request.membership)
