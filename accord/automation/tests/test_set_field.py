"""Which fields a rule may set or wait for, and what its run log says it changed."""

import pytest

from accord.automation.models import RuleRun
from accord.automation.tasks import start_run
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.sales import services as sales
from accord.sales.models import Stage


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


def test_setting_a_deals_stage_is_worded_with_the_stage_name(org, admin, in_org,
                                                             api_client_for):
    client = api_client_for(admin)
    with in_org(org):
        sales.create_pipeline(org, admin.user, name="New business", is_default=True)
        deal = sales.create_deal(org, admin.user, data={"name": "Forty laptops"})
        proposal = Stage.objects.get(pipeline=deal.pipeline, name="Proposal")
    rule_id = client.post("/api/v1/rules", {
        "name": "Close", "trigger": "created", "settings": {"entity": "deal"}, "is_active": True,
        "actions": [{"type": "set_field", "field": "stage", "value": str(proposal.pk)}]},
        content_type="application/json").json()["id"]

    dry_run = client.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": deal.pk},
                          content_type="application/json").json()
    with in_org(org):
        event = DomainEvent.objects.get(type="deal.created", object_id=deal.pk)
    start_run(rule_id, event.pk)

    assert [action["result"] for action in dry_run["actions"]] == [
        "Would set stage to “Proposal”."]
    with in_org(org):
        run = RuleRun.objects.get(rule_id=rule_id, object_id=deal.pk)
        assert (run.status, run.log[0]["detail"]) == ("done", "Set stage to “Proposal”.")


def test_the_dry_run_counts_one_hour_and_one_day_in_the_singular(org, admin, in_org,
                                                                  api_client_for):
    client = api_client_for(admin)
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
    rule_id = client.post("/api/v1/rules", {
        "name": "Slow", "trigger": "created", "settings": {"entity": "contact"},
        "actions": [{"type": "wait", "amount": 1, "unit": "hours"},
                    {"type": "wait", "amount": 2, "unit": "hours"},
                    {"type": "wait", "amount": 1, "unit": "days"},
                    {"type": "create_task", "subject": "Call", "days": 1}]},
        content_type="application/json").json()["id"]

    dry_run = client.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": contact.pk},
                          content_type="application/json").json()

    assert [action["result"] for action in dry_run["actions"]] == [
        "Would wait 1 hour before the next action.",
        "Would wait 2 hours before the next action.",
        "Would wait 1 day before the next action.",
        "Would create the task “Call”, due in 1 day, for Admin 1."]
