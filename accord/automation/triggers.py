"""What sets a rule off: matching committed domain events, and the records a rule is about.

Every committed event is matched against the organisation's active rules;
each rule it sets off gets one worker task, which records the run (once per
rule and event) and works through the actions. Date and schedule rules are
set off by the beat task in tasks.py instead.
"""

import datetime as dt
import logging

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord import events
from accord.audit.models import Action, AuditEntry
from accord.commerce.behaviour import behaviour_stored
from accord.commerce.models import BehaviourEvent, Order, Subscription
from accord.commerce.orders import ORDER_FIELDS
from accord.commerce.subscriptions import SUBSCRIPTION_FIELDS
from accord.core.models import DomainEvent
from accord.customers import custom_fields
from accord.customers.models import Contact, CustomField, FieldType
from accord.customers.services import CONTACT_FIELDS
from accord.sales.models import Deal, DealContact
from accord.sales.services import DEAL_FIELDS
from accord.service.models import Ticket
from accord.service.services import TICKET_FIELDS

from . import custom_records
from .authors import author_of
from .models import Rule, Trigger

logger = logging.getLogger(__name__)

BEHAVIOUR_WINDOW = dt.timedelta(days=7)

# The records rules run for, by the entity name domain events carry; records
# of a custom record type are `record:<type key>` (see custom_records.py).
ENTITIES = {
    "contact": Contact,
    "deal": Deal,
    "ticket": Ticket,
    "order": Order,
    "subscription": Subscription,
}
ENTITY_LABELS = {
    "contact": _("Contact"), "deal": _("Deal"), "ticket": _("Ticket"), "order": _("Order"),
    "subscription": _("Subscription"),
}
# Dates a "date reached" rule can count from; contact custom date fields are
# named `contact.custom.<key>`.
DATE_FIELDS = {
    "subscription.renews_on": ("subscription", "renews_on"),
    "deal.expected_close_date": ("deal", "expected_close_date"),
}
CUSTOM_DATE_PREFIX = "contact.custom."
# Events about something that is no record of its own, whose rules run for the
# contact the event names (a web form sent by a known or new contact).
ABOUT_CONTACT = {"form.submitted"}
# The field names a change event of each kind of record lists as changed,
# which a `field_changed` rule can wait for; a change to any custom field is
# listed as `custom_fields`.
CHANGE_FIELDS = {
    "contact": [*CONTACT_FIELDS, "tags", "emails", "phones"],
    "deal": [*DEAL_FIELDS, "contacts"],
    "ticket": [*TICKET_FIELDS, "tags"],
    "order": [*ORDER_FIELDS, "lines"],
    "subscription": SUBSCRIPTION_FIELDS,
}


def rule_entity(rule: Rule) -> str:
    """The kind of record `rule` runs for."""
    settings = rule.settings or {}
    if rule.trigger == Trigger.STAGE_MOVED:
        return "deal"
    if rule.trigger == Trigger.TICKET_STATUS:
        return "ticket"
    if rule.trigger in (Trigger.SCHEDULE, Trigger.BEHAVIOUR):
        return "contact"
    if rule.trigger == Trigger.DATE_REACHED:
        return date_field(settings.get("date", ""))[0] or "contact"
    if rule.trigger == Trigger.EVENT:
        event_type = str(settings.get("event_type", ""))
        if event_type in ABOUT_CONTACT:
            return "contact"
        kind = event_type.split(".", 1)[0]
        if kind == "record":
            return str(settings.get("entity") or "record")
        return kind
    return str(settings.get("entity", "contact"))


def date_field(name: str) -> tuple[str, str]:
    """(entity, field) of a date rules count from; custom: ("contact", "custom.<key>"),
    a record type's date field: ("record:<type key>", "<field key>")."""
    if name in DATE_FIELDS:
        return DATE_FIELDS[name]
    if name.startswith(custom_records.PREFIX):
        return custom_records.date_field(name)
    if name.startswith(CUSTOM_DATE_PREFIX) and len(name) > len(CUSTOM_DATE_PREFIX):
        return "contact", name.removeprefix("contact.")
    return "", ""


def is_known_date(name: str, viewer=None) -> bool:
    """Whether a date rule can count from `name`: a built-in date, or an active
    contact custom field of type date that is not encrypted nor hidden from the
    `viewer`'s role (a Membership; None for the organisation); call inside the tenant
    scope."""
    entity, field = date_field(name)
    if not entity:
        return False
    if custom_records.is_record(entity):
        return custom_records.is_known_date(name, viewer)
    if not field.startswith("custom."):
        return True
    # An encrypted field's stored values are sealed, so no date can be matched.
    found = CustomField.objects.filter(
        entity="contact", key=field.removeprefix("custom."), field_type=FieldType.DATE,
        is_active=True, encrypted=False).first()
    return found is not None and custom_fields.may_see(viewer, found)


def matches(rule: Rule, event: DomainEvent) -> bool:
    """Whether `event` sets `rule` off, before its conditions are checked."""
    settings = rule.settings or {}
    data = event.data if isinstance(event.data, dict) else {}
    entity = str(settings.get("entity") or "")
    if custom_records.is_record(entity) and rule.trigger in (
            Trigger.CREATED, Trigger.FIELD_CHANGED, Trigger.EVENT):
        # Record events carry the type's key; a rule hears its own type only.
        if data.get("type") != custom_records.type_key(entity):
            return False
        entity = "record"
    if rule.trigger == Trigger.CREATED:
        return event.type == f"{entity}.created"
    if rule.trigger == Trigger.FIELD_CHANGED:
        if event.type != f"{entity}.updated":
            return False
        if entity == "record":
            return settings.get("field") in (data.get("fields") or [])
        changed = data.get("changed") or list(data.get("changes") or {})
        if settings.get("field") == "custom_fields" and "custom_fields" in changed:
            return _changes_seen_field(rule, event, entity)
        return settings.get("field") in changed
    if rule.trigger == Trigger.STAGE_MOVED:
        wanted = settings.get("stage")
        return event.type == "deal.stage_changed" and (
            not wanted or data.get("to_stage_id") == wanted)
    if rule.trigger == Trigger.TICKET_STATUS:
        if event.type != "ticket.updated" or "status" not in (data.get("changes") or {}):
            return False
        wanted = settings.get("status")
        return not wanted or data.get("status") == wanted
    if rule.trigger == Trigger.EVENT:
        return event.type == settings.get("event_type")
    return False


def _changes_seen_field(rule: Rule, event: DomainEvent, entity: str) -> bool:
    """Whether a change to the record's custom fields touched one the rule's author sees.

    The event only says that custom fields changed, so the change's audit entry,
    written just before it, tells which; without one, a member's rule is not set off,
    as firing would tell them that a field hidden from them changed.
    """
    author = author_of(rule)
    hidden = custom_fields.hidden_keys(entity, author) if author is not None else ()
    if not hidden:
        return True
    entry = (AuditEntry.unscoped.filter(
        organization_id=event.organization_id, entity=entity, object_id=event.object_id,
        action=Action.UPDATE, created_at__lte=event.occurred_at)
        .order_by("-id").only("changes").first())
    before, after = ((entry.changes or {}).get("custom_fields") if entry else None) or ({}, {})
    before, after = before or {}, after or {}
    touched = {key for key in {*before, *after} if before.get(key) != after.get(key)}
    return bool(touched - set(hidden))


def event_text(event: DomainEvent) -> str:
    """The trigger of a run in words for the run log."""
    return f"{event.type} ({events.EVENT_TYPES.get(event.type, '')})"[:300]


def run_target(event: DomainEvent) -> tuple[str, int]:
    """(entity, id) of the record a run for `event` is about: `record:<type key>` for a
    record's event, the contact for a web form's, else the event's own record."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.entity == "record" and data.get("type"):
        return f"{custom_records.PREFIX}{data['type']}", event.object_id
    if event.type in ABOUT_CONTACT and isinstance(data.get("contact_id"), int):
        return "contact", data["contact_id"]
    return event.entity, event.object_id


def entity_label(entity: str) -> str:
    """The kind of record in words, such as "Deal" or a record type's singular label."""
    if custom_records.is_record(entity):
        record_type = custom_records.active_type(entity)
        return record_type.singular if record_type else custom_records.type_key(entity)
    return str(ENTITY_LABELS.get(entity, entity))


def is_known_entity(entity: str) -> bool:
    """Whether rules can run for this kind of record: built in, or an active record type."""
    return entity in ENTITIES or custom_records.active_type(entity) is not None


def load_record(entity: str, object_id: int, *, trashed: bool = False):
    """The live record, or None when it is gone; inside the tenant scope. With `trashed`,
    a custom record in the trash is found too (for a run set off by its deletion)."""
    if custom_records.is_record(entity):
        return custom_records.load(entity, object_id, trashed=trashed)
    model = ENTITIES.get(entity)
    if model is None:
        return None
    return model.objects.filter(pk=object_id).first()


def contact_of(entity: str, record) -> Contact | None:
    """The contact whose conditions a rule checks: the record itself, or the one it is for.

    A deal's contact is the first linked to it, a custom record's the first
    its contact-link fields point to; a record with no contact has none, and a
    rule with conditions then does not run for it.
    """
    if record is None:
        return None
    if custom_records.is_record(entity):
        return custom_records.contact_of(record)
    if entity == "contact":
        return record
    if entity == "deal":
        link = (DealContact.objects.filter(deal=record).select_related("contact")
                .order_by("id").first())
        return link.contact if link else None
    contact_id = getattr(record, "contact_id", None)
    return Contact.objects.filter(pk=contact_id).first() if contact_id else None


def _on_behaviour(sender, organization_id: int, batch, **kwargs) -> None:
    """Queue the runs of a stored batch of behaviour events, when a rule waits for one."""
    if not Rule.unscoped.filter(organization_id=organization_id, is_active=True,
                                trigger=Trigger.BEHAVIOUR).exists():
        return
    from .tasks import start_behaviour_runs

    start_behaviour_runs.delay(organization_id, str(batch))


behaviour_stored.connect(_on_behaviour, dispatch_uid="automation-behaviour")


def behaviour_runs(rules: list[Rule], batch) -> list[tuple[Rule, BehaviourEvent]]:
    """Each (rule, event) of a batch that sets a behaviour rule off, oldest event first.

    Events that happened more than BEHAVIOUR_WINDOW ago (a shop sending its
    history) are stored but set nothing off: a reminder about a cart left a
    year ago helps no one.
    """
    by_type: dict[str, list[Rule]] = {}
    for rule in rules:
        by_type.setdefault((rule.settings or {}).get("behaviour", ""), []).append(rule)
    stored = (BehaviourEvent.objects.filter(batch=batch, type__in=list(by_type),
                                            occurred_at__gte=timezone.now() - BEHAVIOUR_WINDOW)
              .only("pk", "type", "contact_id", "occurred_at").order_by("occurred_at", "pk"))
    return [(rule, event) for event in stored for rule in by_type[event.type]]


def behaviour_text(event: BehaviourEvent) -> str:
    """The trigger of a behaviour run in words for the run log."""
    return f"{event.type} ({event.occurred_at:%Y-%m-%d %H:%M} UTC)"


def _on_event(event: DomainEvent) -> None:
    rules = Rule.unscoped.filter(organization_id=event.organization_id, is_active=True)
    wanted = [rule.pk for rule in rules.only("pk", "organization_id", "trigger", "settings",
                                             "created_by_id", "edited_by_id")
              if matches(rule, event)]
    if not wanted:
        return
    from .tasks import start_run

    for rule_id in wanted:
        start_run.delay(rule_id, event.pk)


events.subscribe("*", _on_event)
