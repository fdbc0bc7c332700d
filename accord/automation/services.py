"""Every write to workflow rules: create, change, switch on and off, delete, dry run."""

import logging
import re

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accord import events
from accord.audit import services as audit
from accord.audit.models import Action
from accord.commerce.behaviour import TYPE as BEHAVIOUR_TYPE
from accord.commerce.models import Order, Subscription
from accord.customers.models import Contact
from accord.customers.validation import as_pk
from accord.errors import DomainError, InvalidInput, NotFound, StaleVersion
from accord.identity.models import Area, Role
from accord.identity.visibility import sees, through_contact, visible
from accord.marketing.conditions import Conditions
from accord.records.models import Record
from accord.sales.models import Deal, Stage
from accord.service.models import Ticket, TicketStatus
from accord.service.queries import visible_tickets

from . import actions, custom_records, triggers
from .authors import author_of
from .models import Rule, Trigger

logger = logging.getLogger(__name__)

# The visibility area of the records rules run for that have one of their own.
RULE_FIELDS = ["name", "trigger", "settings", "conditions", "actions", "is_active"]
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DEFAULT_TIME = "08:00"


def get_rule(rule_id) -> Rule:
    """The rule of the scope's organisation with this id; NotFound otherwise."""
    pk = as_pk(rule_id)
    rule = Rule.objects.filter(pk=pk).first() if pk else None
    if rule is None:
        raise NotFound(_("No rule with this id."))
    return rule


def _clean_settings(trigger: str, raw, errors: dict, viewer=None) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    out: dict = {}

    def entity(allowed, default="contact") -> None:
        value = str(raw.get("entity") or default)
        if custom_records.is_record(value):
            if custom_records.active_type(value) is None:
                errors["settings.entity"] = _(
                    "No active record type has the key “%(key)s”.") % {
                    "key": custom_records.type_key(value)}
        elif value not in allowed:
            names = [*allowed, *(name for name, _label in custom_records.entity_choices())]
            errors["settings.entity"] = _("Choose one of: %(names)s.") % {
                "names": ", ".join(names)}
        out["entity"] = value

    def time() -> None:
        value = str(raw.get("time") or DEFAULT_TIME)
        if not TIME.match(value):
            errors["settings.time"] = _("Give a time as HH:MM, such as 08:00.")
        out["time"] = value

    def whole(name: str, low: int, high: int, default: int) -> None:
        try:
            value = int(raw.get(name) if raw.get(name) not in (None, "") else default)
        except (TypeError, ValueError):
            value = None
        if value is None or not low <= value <= high:
            errors[f"settings.{name}"] = _("Enter a whole number from %(low)s to %(high)s.") % {
                "low": low, "high": high}
        out[name] = value

    if trigger == Trigger.CREATED:
        entity(list(triggers.ENTITIES))
    elif trigger == Trigger.FIELD_CHANGED:
        entity(["contact", "deal", "ticket", "order", "subscription"])
        field = str(raw.get("field") or "").strip()
        if custom_records.is_record(out["entity"]):
            known = custom_records.change_fields(out["entity"])
        else:
            known = triggers.CHANGE_FIELDS.get(out["entity"], [])
        if field not in known and "settings.entity" not in errors:
            errors["settings.field"] = _("Choose one of: %(names)s.") % {
                "names": ", ".join(known)}
        out["field"] = field
    elif trigger == Trigger.STAGE_MOVED:
        stage = as_pk(raw.get("stage")) if raw.get("stage") not in (None, "") else None
        if raw.get("stage") not in (None, "") and not Stage.objects.filter(pk=stage).exists():
            errors["settings.stage"] = _("Choose a stage of one of this organisation's "
                                         "pipelines.")
        out["stage"] = stage
    elif trigger == Trigger.TICKET_STATUS:
        status = raw.get("status") or ""
        if status and status not in TicketStatus.values:
            errors["settings.status"] = _("Choose one of: %(names)s.") % {
                "names": ", ".join(TicketStatus.values)}
        out["status"] = status
    elif trigger == Trigger.DATE_REACHED:
        date = str(raw.get("date") or "")
        if not triggers.is_known_date(date, viewer):
            errors["settings.date"] = _(
                "Choose a date: %(names)s, contact.custom.<key> for a contact custom "
                "field of type date, or record:<type key>.<field key> for a date field of "
                "an active record type.") % {"names": ", ".join(triggers.DATE_FIELDS)}
        out["date"] = date
        # Negative: days before the date; positive: days after it.
        whole("days", -actions.MAX_DAYS, actions.MAX_DAYS, 0)
        time()
    elif trigger == Trigger.EVENT:
        event_type = str(raw.get("event_type") or "")
        if event_type not in events.EVENT_TYPES:
            errors["settings.event_type"] = _("Choose an event type Accord sends.")
        out["event_type"] = event_type
        if event_type.startswith("record."):
            # Actions depend on the type's fields, so a rule hears one type.
            entity([], default="")
            if not custom_records.is_record(out["entity"]):
                errors["settings.entity"] = _(
                    "Name the record type as record:<type key>, such as record:policy.")
    elif trigger == Trigger.BEHAVIOUR:
        behaviour = str(raw.get("behaviour") or "").strip()
        if not BEHAVIOUR_TYPE.match(behaviour):
            errors["settings.behaviour"] = _(
                "Name the behaviour event type, such as cart.abandoned: letters, digits "
                "and . _ : - only, at most 100.")
        out["behaviour"] = behaviour
    elif trigger == Trigger.SCHEDULE:
        time()
        # A contact matching on many days is taken again after this many days.
        whole("repeat_days", 1, actions.MAX_DAYS, 1)
    return out


def clean_rule(org, data: dict, *, current: Rule | None = None, viewer=None) -> dict:
    """Plain input as a rule's values, or InvalidInput naming each bad place; conditions
    on a custom field hidden from the `viewer`'s role (a Membership) answer as an unknown
    field."""
    errors: dict[str, str] = {}
    out: dict = {}
    if "name" in data or current is None:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > 200:
            errors["name"] = _("Give the rule a name of at most 200 characters.")
        out["name"] = name
    trigger = data.get("trigger", current.trigger if current else None)
    if trigger not in Trigger.values:
        errors["trigger"] = _("Choose one of: %(names)s.") % {"names": ", ".join(Trigger.values)}
        raise InvalidInput(errors)
    out["trigger"] = trigger
    if current is not None and "settings" not in data and trigger == current.trigger:
        # Kept settings are not checked again, so a rule whose record type or
        # date field was switched off can still be renamed or switched off.
        out["settings"] = current.settings
    else:
        out["settings"] = _clean_settings(
            trigger, data.get("settings", current.settings if current else {}), errors,
            viewer)
    probe = Rule(trigger=trigger, settings=out["settings"])
    entity = triggers.rule_entity(probe)
    if "conditions" in data or current is None:
        tree = data.get("conditions") or {"all": []}
        try:
            out["conditions"] = Conditions(org, viewer).validate(tree)
        except InvalidInput as exc:
            errors.update({f"conditions.{e['field']}": e["message"] for e in exc.errors})
    if "actions" in data or current is None:
        try:
            out["actions"] = actions.clean_actions(org, entity, data.get("actions"))
        except InvalidInput as exc:
            errors.update(exc.as_dict())
    elif current is not None and trigger != current.trigger:
        try:
            actions.clean_actions(org, entity, current.actions)
        except InvalidInput as exc:
            errors.update(exc.as_dict())
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if errors:
        raise InvalidInput(errors)
    return out


@transaction.atomic
def create_rule(org, actor, *, data: dict, starter: str = "", viewer=None) -> Rule:
    """A new rule (off unless `is_active` says otherwise); raises InvalidInput."""
    values = clean_rule(org, data, viewer=viewer)

    author = actor if getattr(actor, "pk", None) else None
    rule = Rule.objects.create(organization=org, starter=starter, created_by=author,
                               edited_by=author, **values)

    audit.record(org, actor, Action.CREATE, rule, entity="rule",
                 changes=audit.diff({}, audit.snapshot(rule, RULE_FIELDS)))
    logger.info("rule.created", extra={"organization_id": org.id, "rule_id": rule.pk})
    return rule


@transaction.atomic
def update_rule(org, actor, rule: Rule, *, data: dict,
                expected_version: int | None = None, viewer=None) -> Rule:
    """Change a rule; StaleVersion when someone saved it since `expected_version`."""
    rule = Rule.objects.select_for_update().get(pk=rule.pk)
    if expected_version is not None and int(expected_version) != rule.version:
        raise StaleVersion(current_version=rule.version)
    values = clean_rule(org, data, current=rule, viewer=viewer)

    before = audit.snapshot(rule, RULE_FIELDS)
    if values.get("is_active") and not rule.is_active:
        # Days a switched-off rule did not look at are not caught up later.
        rule.last_checked_on = None
    if values.get("trigger", rule.trigger) == Trigger.DATE_REACHED and (
            values.get("settings", rule.settings) != rule.settings
            or values.get("trigger", rule.trigger) != rule.trigger):
        # A changed date or offset looks again today, so records due under the
        # new settings today are not skipped; runs are keyed by record and
        # target day, so records already run for are not run again.
        rule.last_checked_on = None
    for field, value in values.items():
        setattr(rule, field, value)
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS))
    if changes:
        if getattr(actor, "pk", None):
            rule.edited_by = actor
        rule.save_new_version()
        audit.record(org, actor, Action.UPDATE, rule, entity="rule", changes=changes)
        logger.info("rule.updated", extra={"organization_id": org.id, "rule_id": rule.pk})
    return rule


@transaction.atomic
def set_rule_active(org, actor, rule: Rule, *, active: bool) -> Rule:
    return update_rule(org, actor, rule, data={"is_active": active})


@transaction.atomic
def delete_rule(org, actor, rule: Rule) -> None:
    """Delete a rule with its run log; runs still waiting are dropped with it."""
    audit.record(org, actor, Action.PURGE, rule, entity="rule",
                 changes={"name": [rule.name, None]})
    logger.info("rule.deleted", extra={"organization_id": org.id, "rule_id": rule.pk})
    rule.delete()


def dry_run(org, rule: Rule, object_id, *, viewer=None) -> dict:
    """What the rule would do for one record, changing nothing.

    Answers `{"entity", "record", "matched", "reason", "actions": [{"type",
    "label", "result", "error"}]}`; raises NotFound when the record is not
    one of the organisation's, or is one the `viewer` (a Membership; None for
    code acting for the organisation) may not see, with the same message.
    """
    entity = triggers.rule_entity(rule)
    if custom_records.is_record(entity) and custom_records.why_not_running(entity):
        raise NotFound(custom_records.why_not_running(entity))
    pk = as_pk(object_id)
    record = triggers.load_record(entity, pk) if pk else None
    if record is not None and not seen_by(viewer, record):
        record = None
    if record is None:
        raise NotFound(_("No %(entity)s with this id.") % {
            "entity": triggers.entity_label(entity) if custom_records.is_record(entity)
            else entity})
    contact = triggers.contact_of(entity, record)

    if contact is not None and not seen_by(viewer, contact):
        # The answer would tell what the hidden contact's values are.
        matched, reason = False, _("The record's contact is one you cannot see, so the "
                                   "conditions are not checked.")
        contact = None
    else:
        # As the rule would run (its author's view), told only of what the viewer sees.
        matched, reason = conditions_met(org, rule.conditions, contact, entity=entity,
                                         seen_by=(author_of(rule), viewer))
    step = actions.Step(org=org, rule=rule, entity=entity, record=record, contact=contact)
    previews = []
    for action in rule.actions:
        result, error = "", ""
        try:
            result = actions.preview(step, action)
        except actions.ActionSkipped as exc:
            result = _("Would skip: %(reason)s") % {"reason": exc}
        except DomainError as exc:
            error = error_text(exc)
        previews.append({"type": action["type"], "label": actions.describe(action),
                         "result": result, "error": error})
    return {"entity": entity, "record": str(record), "matched": matched, "reason": reason,
            "actions": previews}


def seen_by(viewer, record) -> bool:
    """Whether the member may see the record a rule is tried on or runs for; code acting
    for the organisation (no member) sees every record."""
    return viewer is None or sees(viewer, record)


def may_run_for(rule: Rule, entity: str, record, contact) -> bool:
    """Whether the rule may act on `record` and read its `contact`: a rule never reaches
    past what its author may see."""
    author = author_of(rule)
    if author is None:
        return True
    return seen_by(author, record) and (contact is None or seen_by(author, contact))


def runs_seen(runs, viewer, rule: Rule | None = None):
    """Narrow rule runs to those for records the member may see (deleted records by
    their visibility when they were last kept); admins see every run.

    A member sees no run of a `rule` that uses a field hidden from their role: whether
    a record's run went through or stopped at the conditions would tell the value.
    """
    from .reading import Reader

    if viewer is None:
        return runs.none()
    if viewer.role == Role.ADMIN:
        return runs
    if rule is not None and Reader(viewer).rule_hides(rule):
        return runs.none()
    org_id = viewer.organization_id
    models = {"contact": (Contact, Area.CONTACTS), "deal": (Deal, Area.DEALS)}
    seen = Q()
    for entity, (model, area) in models.items():
        records = visible(model.unscoped.filter(organization_id=org_id), viewer, area)
        seen |= Q(entity=entity, object_id__in=records.values("pk"))
    tickets = visible_tickets(Ticket.unscoped.filter(organization_id=org_id), viewer)
    seen |= Q(entity="ticket", object_id__in=tickets.values("pk"))
    for entity, model in (("order", Order), ("subscription", Subscription)):
        records = through_contact(model.unscoped.filter(organization_id=org_id), viewer)
        seen |= Q(entity=entity, object_id__in=records.values("pk"))
    records = visible(Record.unscoped.filter(organization_id=org_id), viewer, Area.RECORDS)
    seen |= Q(entity__startswith=custom_records.PREFIX, object_id__in=records.values("pk"))
    return runs.filter(seen)


def conditions_met(org, tree, contact, *, entity: str = "", seen_by=()) -> tuple[bool, str]:
    """Whether the contact meets the rule's conditions, with the reason in words.

    Conditions about the contact's deals, company or activities count only the
    records every membership in `seen_by` sees (a rule's author; None counts all).
    """
    conditions = Conditions(org)
    if not tree or tree == {"all": []}:
        return True, _("The rule has no conditions.")
    if contact is None and custom_records.is_record(entity):
        return False, _("The record links to no contact to check the conditions against.")
    if contact is None:
        return False, _("The record has no contact to check the conditions against.")
    try:
        met = conditions.contacts(tree, seen_by=seen_by).filter(pk=contact.pk).exists()
    except InvalidInput:
        return False, _("The conditions name something that no longer exists; edit the rule.")
    summary = conditions.describe(tree)
    if met:
        return True, _("The contact meets the conditions: %(summary)s.") % {"summary": summary}
    return False, _("The contact does not meet the conditions: %(summary)s.") % {
        "summary": summary}


def error_text(exc: DomainError) -> str:
    """A service's refusal as one line for a run log or a dry run."""
    if isinstance(exc, InvalidInput):
        return "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
    return str(exc.detail)
