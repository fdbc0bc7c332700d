"""Which fields a rule may set or wait for, and what its run log says it changed."""

import pytest

from accord.automation.models import RuleRun
from accord.automation.tasks import start_run
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.customers.models import Contact


def rule_with(action: dict, **extra) -> dict:
    return {"name": "Set", "trigger": "created", "settings": {"entity": "contact"},
            "actions": [action], **extra}


def problems(response) -> dict:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@pytest.mark.parametrize("field", ["organization_id", "totally_bogus", "owner_id", "version"])
def test_a_field_a_rule_may_not_set_is_refused_naming_the_action(field, admin, in_org, org,
                                                                 api_client_for):
    client = api_client_for(admin)

    response = client.post("/api/v1/rules", rule_with(
        {"type": "set_field", "field": field, "value": "2"}), content_type="application/json")

    assert response.status_code == 422
    found = problems(response)
    assert list(found) == ["actions[0].field"]
    assert found["actions[0].field"].startswith("A rule cannot set this field. Choose one of: "
                                                "first_name, last_name,")


@pytest.mark.parametrize(("field", "value"), [("email", "not an address"),
                                              ("lifecycle_stage", "royalty"),
                                              ("birthday", "tomorrow"),
                                              ("do_not_contact", "maybe")])
def test_a_value_the_field_cannot_hold_is_refused_at_save(field, value, admin, api_client_for):
    client = api_client_for(admin)

    response = client.post("/api/v1/rules", rule_with(
        {"type": "set_field", "field": field, "value": value}), content_type="application/json")

    assert response.status_code == 422
    assert list(problems(response)) == ["actions[0].value"]


def test_a_field_changed_rule_must_name_a_field_the_record_has(admin, api_client_for):
    client = api_client_for(admin)

    response = client.post("/api/v1/rules", {
        "name": "Watch", "trigger": "field_changed",
        "settings": {"entity": "deal", "field": "totally_bogus"},
        "actions": [{"type": "create_task", "subject": "Look", "days": 1}],
    }, content_type="application/json")
    good = client.post("/api/v1/rules", {
        "name": "Watch", "trigger": "field_changed",
        "settings": {"entity": "deal", "field": "expected_close_date"},
        "actions": [{"type": "create_task", "subject": "Look", "days": 1}],
    }, content_type="application/json")

    assert response.status_code == 422
    assert list(problems(response)) == ["settings.field"]
    assert good.status_code == 201


def test_set_field_sets_a_custom_field_and_logs_no_change_when_there_was_none(
    org, admin, in_org, api_client_for
):
    client = api_client_for(admin)
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "tier", "label": "Tier", "field_type": "text"})
    rule_id = client.post("/api/v1/rules", rule_with(
        {"type": "set_field", "field": "cf.tier", "value": "gold"}, is_active=True),
        content_type="application/json").json()["id"]

    logs = []
    for name, tier in (("Ada", None), ("Bob", "gold")):
        with in_org(org):
            contact = customers.create_contact(org, admin.user, data={
                "first_name": name, "custom_fields": {"tier": tier} if tier else {}})
            event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)
        start_run(rule_id, event.pk)
        with in_org(org):
            run = RuleRun.objects.get(rule_id=rule_id, object_id=contact.pk)
            logs.append((Contact.objects.get(pk=contact.pk).custom_fields["tier"],
                         run.status, run.log[0]["detail"]))

    assert logs == [("gold", "done", "Set cf.tier to “gold”."),
                    ("gold", "done", "cf.tier was “gold” already; nothing changed.")]
