"""Who owns a new lead: ordered rules, first match wins, then the fallback owner."""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import COUNTRY_CODES
from accord.errors import InvalidInput, NotFound
from accord.identity.models import Membership, Team
from accord.identity.permissions import has_permission

from .models import AssignmentRule, Lead, LeadSettings
from .models.lead import RULE_FIELDS, MatchKind, Operator
from .validation import member

logger = logging.getLogger(__name__)

RULE_FIELDS_AUDITED = ["name", "position", "match", "field", "operator", "value", "owner",
                       "team", "is_active"]


def field_holds(lead: Lead, field: str, operator: str, value: str) -> bool:
    """Whether `field` of `lead` passes the test; text compares without case."""
    actual = str(getattr(lead, field, "") or "").strip().lower()
    wanted = str(value or "").strip().lower()
    if operator == Operator.IS_SET:
        return bool(actual)
    if operator == Operator.CONTAINS:
        return bool(wanted) and wanted in actual
    return actual == wanted


def rule_matches(rule: AssignmentRule, lead: Lead) -> bool:
    if rule.match == MatchKind.ALWAYS:
        return True
    if rule.match == MatchKind.COUNTRY:
        countries = {code.strip().upper() for code in rule.value.split(",") if code.strip()}
        return lead.country.upper() in countries
    if rule.match == MatchKind.SOURCE:
        return field_holds(lead, "source", Operator.EQUALS, rule.value)
    return field_holds(lead, rule.field, rule.operator, rule.value)


def _next_in_team(rule: AssignmentRule):
    """The team member after the one this rule chose last, the rule row locked meanwhile."""
    rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    members = list(
        Membership.objects.filter(team_id=rule.team_id, is_active=True)
        .select_related("user").order_by("user_id")
    )
    # A read-only member of the team could own a lead nobody can work on.
    users = [membership.user for membership in members
             if has_permission(membership, "leads.change")]
    if not users:
        return None
    chosen = users[0]
    if rule.last_assigned_id is not None:
        later = [user for user in users if user.pk > rule.last_assigned_id]
        chosen = later[0] if later else users[0]
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=chosen)
    return chosen


def choose_owner(lead: Lead) -> tuple[object | None, AssignmentRule | None]:
    """(owner, rule) for a new lead; rule is None when the fallback owner (or nobody) got it.

    Must run inside the transaction that creates the lead, so a team's
    pointer moves only when the lead is really kept.
    """
    for rule in AssignmentRule.objects.filter(is_active=True).order_by("position", "id"):
        if not rule_matches(rule, lead):
            continue
        if rule.team_id:
            owner = _next_in_team(rule)
            if owner is not None:
                return owner, rule
            continue
        if rule.owner_id and Membership.objects.filter(user_id=rule.owner_id,
                                                       is_active=True).exists():
            return rule.owner, rule
    settings = LeadSettings.objects.select_related("fallback_owner").first()
    if settings is not None and settings.fallback_owner_id:
        return settings.fallback_owner, None
    return None, None


def get_rule(rule_id) -> AssignmentRule:
    try:
        rule = AssignmentRule.objects.filter(pk=int(rule_id)).first()
    except (TypeError, ValueError):
        rule = None
    if rule is None:
        raise NotFound("No assignment rule with this id.")
    return rule


def _clean_rule(org, data: dict, current: AssignmentRule | None) -> dict:
    errors: dict[str, str] = {}
    values: dict = {}

    def given(name):
        return name in data or current is None

    if given("name"):
        values["name"] = str(data.get("name") or "").strip()
        if not values["name"]:
            errors["name"] = _("Give the rule a name.")
        elif len(values["name"]) > 120:
            errors["name"] = _("Use at most 120 characters.")
    if given("match"):
        values["match"] = data.get("match") or MatchKind.ALWAYS
        if values["match"] not in MatchKind.values:
            errors["match"] = _("Choose one of: %(choices)s.") % {
                "choices": ", ".join(MatchKind.values)}
    match = values.get("match", current.match if current else MatchKind.ALWAYS)
    for name in ("field", "operator", "value"):
        if given(name):
            values[name] = str(data.get(name) or "").strip()
    field = values.get("field", current.field if current else "")
    value = values.get("value", current.value if current else "")
    operator = values.get("operator") or (current.operator if current else Operator.EQUALS)
    values["operator"] = operator
    if operator not in Operator.values:
        errors["operator"] = _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(Operator.values)}
    if match == MatchKind.FIELD and field not in RULE_FIELDS:
        errors["field"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(RULE_FIELDS)}
    if match in (MatchKind.COUNTRY, MatchKind.SOURCE) and not value:
        errors["value"] = _("Say which value the rule looks for.")
    elif match == MatchKind.COUNTRY:
        codes = [code.strip().upper() for code in value.split(",") if code.strip()]
        unknown = [code for code in codes if code not in COUNTRY_CODES]
        if unknown:
            errors["value"] = _("Give two-letter country codes such as DE, FR; not %(codes)s.") % {
                "codes": ", ".join(unknown[:5])}
        else:
            values["value"] = ", ".join(codes)
    if match == MatchKind.FIELD and operator != Operator.IS_SET and not value:
        errors["value"] = _("Say which value the rule looks for.")
    if len(value) > 200:
        errors["value"] = _("Use at most 200 characters.")
    if given("owner"):
        values["owner"] = member(org, data.get("owner"), "owner", errors, may="leads.change")
    if given("team"):
        values["team"] = _team(data.get("team"), errors)
    owner = values.get("owner", current.owner if current else None)
    team = values.get("team", current.team if current else None)
    if "owner" not in errors and "team" not in errors and (owner is None) == (team is None):
        errors["owner"] = _("Choose either a member or a team to assign to.")
    if "position" in data and data["position"] not in (None, ""):
        try:
            values["position"] = max(0, int(data["position"]))
        except (TypeError, ValueError):
            errors["position"] = _("Enter a whole number.")
    if "is_active" in data:
        values["is_active"] = bool(data["is_active"])
    if errors:
        raise InvalidInput(errors)
    return values


def _team(value, errors: dict):
    if value in (None, ""):
        return None
    if isinstance(value, Team):
        return value
    try:
        team = Team.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        team = None
    if team is None:
        errors["team"] = _("No team with this id.")
    return team


@transaction.atomic
def create_rule(org, actor, *, data: dict) -> AssignmentRule:
    """A new rule, last in order unless `position` says otherwise; InvalidInput."""
    values = _clean_rule(org, data, None)
    if "position" not in values:
        last = AssignmentRule.objects.order_by("-position").first()
        values["position"] = last.position + 1 if last else 0

    rule = AssignmentRule.objects.create(organization=org, **values)
    audit.record(org, actor, Action.CREATE, rule,
                 changes=audit.diff({}, audit.snapshot(rule, RULE_FIELDS_AUDITED)))
    logger.info("lead_assignment_rule.created",
                extra={"organization_id": org.id, "rule_id": rule.pk})
    return rule


@transaction.atomic
def update_rule(org, actor, rule: AssignmentRule, *, data: dict,
                expected_version: int | None = None) -> AssignmentRule:
    from .leads import check_version

    rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    check_version(rule, expected_version)
    values = _clean_rule(org, data, rule)

    before = audit.snapshot(rule, RULE_FIELDS_AUDITED)
    for name, value in values.items():
        setattr(rule, name, value)
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS_AUDITED))
    if changes:
        rule.save_new_version()
        audit.record(org, actor, Action.UPDATE, rule, changes=changes)
    return rule


@transaction.atomic
def delete_rule(org, actor, rule: AssignmentRule) -> None:
    audit.record(org, actor, Action.DELETE, rule,
                 changes=audit.diff(audit.snapshot(rule, RULE_FIELDS_AUDITED), {}))
    rule.delete()


@transaction.atomic
def set_fallback_owner(org, actor, *, owner) -> LeadSettings:
    errors: dict = {}
    user = member(org, owner, "fallback_owner", errors, may="leads.change")
    if errors:
        raise InvalidInput(errors)
    settings = lead_settings(org, lock=True)
    before = settings.fallback_owner_id
    settings.fallback_owner = user
    settings.save()
    audit.record(org, actor, Action.UPDATE, settings,
                 changes={"fallback_owner": [before, user.pk if user else None]})
    return settings


def lead_settings(org, *, lock: bool = False) -> LeadSettings:
    """The organisation's lead settings row, made on first use."""
    LeadSettings.objects.get_or_create(organization=org)
    if lock:
        return LeadSettings.objects.select_for_update(of=("self",)).get()
    return LeadSettings.objects.select_related("fallback_owner").get()
