"""Lead scores that explain themselves: which rule gave or took how many points, and why.

A lead's score is its fit (the field rules that hold now) plus its
behaviour (points from events, which may fade). Every change of the score
is written as a `LeadScoreChange` with the rule and a sentence, so the lead
page can show both the reasons behind today's number and how it got there.
"""

import datetime as dt
import logging
import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, NotFound

from .assignment import field_holds, lead_settings
from .models import Lead, LeadScoreChange, ScoringRule
from .models.lead import RULE_FIELDS, Operator

# A behaviour event's type: dotted lower case, such as email.opened.
EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")

logger = logging.getLogger(__name__)

RULE_FIELDS_AUDITED = ["name", "field", "operator", "value", "event_type", "points",
                       "is_active"]
MAX_POINTS = 1000  # one rule outweighing everything else by far is a typing mistake
DECAY_BATCH = 500  # leads decayed per query in one beat tick


def describe_test(field: str, operator: str, value: str) -> str:
    label = str(RULE_FIELDS.get(field, field))
    if operator == Operator.IS_SET:
        return _("%(field)s is filled in") % {"field": label}
    if operator == Operator.CONTAINS:
        return _("%(field)s contains “%(value)s”") % {"field": label, "value": value}
    return _("%(field)s is “%(value)s”") % {"field": label, "value": value}


def _fit(lead: Lead) -> list[dict]:
    """The field rules that hold for `lead` now, as reasons with their points."""
    reasons = []
    for rule in ScoringRule.objects.filter(is_active=True, event_type="").order_by("id"):
        if field_holds(lead, rule.field, rule.operator, rule.value):
            reasons.append({"rule_id": rule.pk, "rule": rule.name, "points": rule.points,
                            "reason": describe_test(rule.field, rule.operator, rule.value)})
    return reasons


def _write_change(org, lead: Lead, *, points: int, rule_id: int | None, reason: str,
                  at: dt.datetime) -> None:
    LeadScoreChange.objects.create(organization=org, lead=lead, rule_id=rule_id, points=points,
                                   score=lead.score, reason=reason[:300], at=at)


def recompute_fit(org, lead: Lead) -> bool:
    """Apply the field rules to a locked, saved `lead`; True when its score changed.

    A rule that starts to hold adds its points, one that stops holding takes
    them back; each is a history row. The caller saves the lead row.
    """
    now = timezone.now()
    before = {reason["rule_id"]: reason for reason in lead.score_reasons}
    after = {reason["rule_id"]: reason for reason in _fit(lead)}
    changed = False
    for rule_id, reason in after.items():
        old = before.get(rule_id)
        if old is not None and old["points"] == reason["points"]:
            continue
        delta = reason["points"] - (old["points"] if old else 0)
        lead.fit_points += delta
        lead.score = lead.fit_points + lead.behaviour_points
        _write_change(org, lead, points=delta, rule_id=rule_id, reason=reason["reason"], at=now)
        changed = True
    for rule_id, reason in before.items():
        if rule_id in after:
            continue
        lead.fit_points -= reason["points"]
        lead.score = lead.fit_points + lead.behaviour_points
        _write_change(org, lead, points=-reason["points"], rule_id=None, at=now,
                      reason=_("No longer: %(reason)s") % {"reason": reason["reason"]})
        changed = True
    lead.score_reasons = list(after.values())
    return changed


def score_event(org, lead: Lead, event_type: str, *, at: dt.datetime | None = None) -> int:
    """Add the points of every event rule for `event_type` to a locked `lead`; the sum added.

    `event_type` is a behaviour event ("email.opened") or one of the lead's
    own domain events ("lead.created", "lead.qualified"). The caller saves
    the lead row.
    """
    at = at or timezone.now()
    added = 0
    for rule in ScoringRule.objects.filter(is_active=True, event_type=event_type).order_by("id"):
        # The fading period runs from the first points earned, then from each fade.
        if lead.behaviour_decayed_at is None:
            lead.behaviour_decayed_at = at
        lead.behaviour_points += rule.points
        lead.score = lead.fit_points + lead.behaviour_points
        _write_change(org, lead, points=rule.points, rule_id=rule.pk, at=at,
                      reason=_("Event %(event)s") % {"event": event_type})
        added += rule.points
    return added


def decay_due(org, *, now: dt.datetime | None = None) -> int:
    """Fade behaviour points not faded (or earned) for the organisation's period; how many.

    Safe to run twice: a lead faded less than a period ago is left alone.
    """
    settings = lead_settings(org)
    if not settings.decay_mode or settings.decay_every_days < 1:
        return 0
    now = now or timezone.now()
    due_before = now - dt.timedelta(days=settings.decay_every_days)
    faded = 0
    while True:
        ids = list(
            Lead.objects.exclude(behaviour_points=0)
            .filter(behaviour_decayed_at__lte=due_before)
            .values_list("pk", flat=True)[:DECAY_BATCH]
        )
        if not ids:
            return faded
        for lead_id in ids:
            _decay_one(org, lead_id, settings, now)
            faded += 1


@transaction.atomic
def _decay_one(org, lead_id: int, settings, now: dt.datetime) -> None:
    lead = Lead.objects.select_for_update().get(pk=lead_id)
    if settings.decay_mode == "halve":
        kept = int(lead.behaviour_points / 2)
        reason = _("Behaviour points halved after %(days)d days") % {
            "days": settings.decay_every_days}
    else:
        step = min(settings.decay_points, abs(lead.behaviour_points))
        kept = lead.behaviour_points - step if lead.behaviour_points > 0 else (
            lead.behaviour_points + step)
        reason = _("Behaviour points faded by %(points)d after %(days)d days") % {
            "points": step, "days": settings.decay_every_days}
    delta = kept - lead.behaviour_points
    lead.behaviour_points = kept
    lead.score = lead.fit_points + kept
    lead.behaviour_decayed_at = now
    if delta:
        _write_change(org, lead, points=delta, rule_id=None, reason=reason, at=now)
    Lead.objects.filter(pk=lead.pk).update(behaviour_points=kept, score=lead.score,
                                           behaviour_decayed_at=now)


# Rules


def get_rule(rule_id) -> ScoringRule:
    try:
        rule = ScoringRule.objects.filter(pk=int(rule_id)).first()
    except (TypeError, ValueError):
        rule = None
    if rule is None:
        raise NotFound("No scoring rule with this id.")
    return rule


def _clean_rule(data: dict, current: ScoringRule | None) -> dict:
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
    for name in ("field", "value", "event_type"):
        if given(name):
            values[name] = str(data.get(name) or "").strip()
    if given("operator"):
        values["operator"] = data.get("operator") or Operator.EQUALS
    field = values.get("field", current.field if current else "")
    value = values.get("value", current.value if current else "")
    event_type = values.get("event_type", current.event_type if current else "")
    operator = values.get("operator", current.operator if current else Operator.EQUALS)
    if bool(field) == bool(event_type):
        errors["field"] = _("Choose either a field to test or an event to count.")
    elif event_type and not EVENT_TYPE.match(event_type):
        errors["event_type"] = _("Name the event in dotted lower case, such as email.opened.")
    elif field and field not in RULE_FIELDS:
        errors["field"] = _("Choose one of: %(choices)s.") % {"choices": ", ".join(RULE_FIELDS)}
    if operator not in Operator.values:
        errors["operator"] = _("Choose one of: %(choices)s.") % {
            "choices": ", ".join(Operator.values)}
    elif field and operator != Operator.IS_SET and not value:
        errors["value"] = _("Say which value the rule looks for.")
    if len(value) > 200:
        errors["value"] = _("Use at most 200 characters.")
    if len(event_type) > 64:
        errors["event_type"] = _("Use at most 64 characters.")
    if given("points"):
        try:
            values["points"] = int(str(data.get("points")).strip())
        except (TypeError, ValueError):
            errors["points"] = _("Enter a whole number of points, negative to take some away.")
        else:
            if abs(values["points"]) > MAX_POINTS or values["points"] == 0:
                errors["points"] = _("Enter a number from -%(max)d to %(max)d other than 0.") % {
                    "max": MAX_POINTS}
    if "is_active" in data:
        values["is_active"] = bool(data["is_active"])
    if errors:
        raise InvalidInput(errors)
    return values


@transaction.atomic
def create_rule(org, actor, *, data: dict) -> ScoringRule:
    """A new scoring rule; field rules are applied to every live lead at once."""
    values = _clean_rule(data, None)

    rule = ScoringRule.objects.create(organization=org, **values)
    audit.record(org, actor, Action.CREATE, rule,
                 changes=audit.diff({}, audit.snapshot(rule, RULE_FIELDS_AUDITED)))
    if not rule.on_event:
        rescore_all(org)
    logger.info("lead_scoring_rule.created", extra={"organization_id": org.id,
                                                    "rule_id": rule.pk})
    return rule


@transaction.atomic
def update_rule(org, actor, rule: ScoringRule, *, data: dict,
                expected_version: int | None = None) -> ScoringRule:
    from .leads import check_version

    rule = ScoringRule.objects.select_for_update().get(pk=rule.pk)
    check_version(rule, expected_version)
    values = _clean_rule(data, rule)

    before = audit.snapshot(rule, RULE_FIELDS_AUDITED)
    was_on_event = rule.on_event
    for name, value in values.items():
        setattr(rule, name, value)
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS_AUDITED))
    if changes:
        rule.save_new_version()
        audit.record(org, actor, Action.UPDATE, rule, changes=changes)
        if not (was_on_event and rule.on_event):
            rescore_all(org)
    return rule


@transaction.atomic
def delete_rule(org, actor, rule: ScoringRule) -> None:
    """Delete a rule; points a field rule gave are taken back, event points stay earned."""
    audit.record(org, actor, Action.DELETE, rule,
                 changes=audit.diff(audit.snapshot(rule, RULE_FIELDS_AUDITED), {}))
    on_event = rule.on_event
    rule.delete()
    if not on_event:
        rescore_all(org)


def rescore_all(org) -> int:
    """Apply the field rules to every open lead again; how many changed.

    Converted leads keep the score they converted with.
    """
    changed = 0
    for lead_id in Lead.objects.exclude(status="converted").values_list("pk", flat=True):
        lead = Lead.objects.select_for_update().get(pk=lead_id)
        if recompute_fit(org, lead):
            Lead.objects.filter(pk=lead.pk).update(
                score=lead.score, fit_points=lead.fit_points, score_reasons=lead.score_reasons)
            changed += 1
    return changed


@transaction.atomic
def set_decay(org, actor, *, mode: str, points, every_days) -> object:
    """How behaviour points fade: "" (never), "halve" or "subtract" `points`, every N days."""
    errors: dict[str, str] = {}
    if mode not in ("", "halve", "subtract"):
        errors["decay_mode"] = _("Choose never, halve or subtract.")
    try:
        points = int(points or 0)
        every_days = int(every_days)
    except (TypeError, ValueError):
        errors["decay_every_days"] = _("Enter whole numbers.")
    else:
        if mode == "subtract" and not 1 <= points <= MAX_POINTS:
            errors["decay_points"] = _("Enter a number of points from 1 to %(max)d.") % {
                "max": MAX_POINTS}
        if not 1 <= every_days <= 3650:
            errors["decay_every_days"] = _("Enter a number of days from 1 to 3650.")
    if errors:
        raise InvalidInput(errors)

    settings = lead_settings(org, lock=True)
    before = audit.snapshot(settings, ["decay_mode", "decay_points", "decay_every_days"])
    settings.decay_mode, settings.decay_points, settings.decay_every_days = (
        mode, points, every_days)
    changes = audit.diff(before, audit.snapshot(
        settings, ["decay_mode", "decay_points", "decay_every_days"]))
    if changes:
        settings.save()
        audit.record(org, actor, Action.UPDATE, settings, changes=changes)
    return settings
