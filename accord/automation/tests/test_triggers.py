"""Which committed events set which rules off, before conditions are checked."""

import pytest

from accord.automation.models import Rule
from accord.automation.triggers import matches, rule_entity
from accord.core.models import DomainEvent


def event(kind: str, **data) -> DomainEvent:
    return DomainEvent(type=kind, entity=kind.split(".")[0], object_id=1, data=data)


@pytest.mark.parametrize(("trigger", "options", "happened", "expected"), [
    ("created", {"entity": "deal"}, event("deal.created"), True),
    ("created", {"entity": "deal"}, event("contact.created"), False),
    ("field_changed", {"entity": "contact", "field": "owner"},
     event("contact.updated", changed=["first_name", "owner"]), True),
    ("field_changed", {"entity": "contact", "field": "owner"},
     event("contact.updated", changed=["first_name"]), False),
    # Tickets name their changes as a dict of [old, new].
    ("field_changed", {"entity": "ticket", "field": "priority"},
     event("ticket.updated", changes={"priority": ["low", "high"]}), True),
    ("stage_moved", {"stage": 7}, event("deal.stage_changed", to_stage_id=7), True),
    ("stage_moved", {"stage": 7}, event("deal.stage_changed", to_stage_id=8), False),
    ("stage_moved", {"stage": None}, event("deal.stage_changed", to_stage_id=8), True),
    ("ticket_status", {"status": "solved"},
     event("ticket.updated", status="solved", changes={"status": ["open", "solved"]}), True),
    ("ticket_status", {"status": "solved"},
     event("ticket.updated", status="solved", changes={"priority": ["low", "high"]}), False),
    ("ticket_status", {"status": ""},
     event("ticket.updated", status="open", changes={"status": ["new", "open"]}), True),
    ("event", {"event_type": "deal.won"}, event("deal.won"), True),
    ("event", {"event_type": "deal.won"}, event("deal.lost"), False),
    # Dates and schedules are set off by the scheduler, never by an event.
    ("schedule", {"time": "08:00"}, event("contact.created"), False),
])
def test_a_rule_is_set_off_only_by_its_own_events(trigger, options, happened, expected):
    assert matches(Rule(trigger=trigger, settings=options), happened) is expected


@pytest.mark.parametrize(("trigger", "options", "entity"), [
    ("created", {"entity": "ticket"}, "ticket"),
    ("stage_moved", {}, "deal"),
    ("ticket_status", {}, "ticket"),
    ("date_reached", {"date": "subscription.renews_on"}, "subscription"),
    ("date_reached", {"date": "contact.custom.birthday"}, "contact"),
    ("event", {"event_type": "order.created"}, "order"),
    ("schedule", {}, "contact"),
])
def test_a_rule_runs_for_the_records_its_trigger_is_about(trigger, options, entity):
    assert rule_entity(Rule(trigger=trigger, settings=options)) == entity


def record_event(kind: str, record_type: str, **data) -> DomainEvent:
    return DomainEvent(type=kind, entity="record", object_id=1,
                       data={"type": record_type, **data})


@pytest.mark.parametrize(("trigger", "options", "happened", "expected"), [
    ("created", {"entity": "record:policy"}, record_event("record.created", "policy"), True),
    # Another type's record, or a built-in record, is not the rule's.
    ("created", {"entity": "record:policy"}, record_event("record.created", "matter"), False),
    ("created", {"entity": "record:policy"}, event("contact.created"), False),
    ("field_changed", {"entity": "record:policy", "field": "renews_on"},
     record_event("record.updated", "policy", changed=["custom_fields"],
                  fields=["renews_on", "status"]), True),
    ("field_changed", {"entity": "record:policy", "field": "renews_on"},
     record_event("record.updated", "policy", changed=["custom_fields"], fields=["status"]),
     False),
    ("field_changed", {"entity": "record:policy", "field": "owner"},
     record_event("record.updated", "policy", changed=["owner"], fields=["owner"]), True),
    ("event", {"event_type": "record.deleted", "entity": "record:policy"},
     record_event("record.deleted", "policy"), True),
    ("event", {"event_type": "record.deleted", "entity": "record:policy"},
     record_event("record.deleted", "matter"), False),
])
def test_a_record_rule_is_set_off_by_its_own_types_events(trigger, options, happened,
                                                          expected):
    assert matches(Rule(trigger=trigger, settings=options), happened) is expected


@pytest.mark.parametrize(("trigger", "options", "entity"), [
    ("created", {"entity": "record:policy"}, "record:policy"),
    ("date_reached", {"date": "record:retainer.renews_on"}, "record:retainer"),
    ("event", {"event_type": "record.updated", "entity": "record:matter"}, "record:matter"),
])
def test_a_record_rule_runs_for_records_of_its_type(trigger, options, entity):
    assert rule_entity(Rule(trigger=trigger, settings=options)) == entity
