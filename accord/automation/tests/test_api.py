"""The rules API: CRUD, validation, versions, run log, dry run, access."""

import pytest

from accord.automation.models import RuleRun
from accord.automation.tasks import start_run
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.customers.models import Contact, ContactTag
from accord.identity.models import Role

WELCOME = {"name": "Welcome", "trigger": "created", "settings": {"entity": "contact"},
           "actions": [{"type": "add_tag", "tag": "new"},
                       {"type": "create_task", "subject": "Call {{ contact.first_name }}",
                        "days": 2}]}


def test_an_admin_creates_reads_and_lists_a_rule(admin, api_client_for):
    client = api_client_for(admin)

    created = client.post("/api/v1/rules", WELCOME, content_type="application/json")
    read = client.get(f"/api/v1/rules/{created.json()['id']}")
    listed = client.get("/api/v1/rules")

    assert created.status_code == 201
    body = read.json()
    assert (body["name"], body["trigger"], body["is_active"], body["version"]) == (
        "Welcome", "created", False, 1)
    assert body["actions"] == [{"type": "add_tag", "tag": "new"},
                               {"type": "create_task", "subject": "Call {{ contact.first_name }}",
                                "days": 2}]
    assert body["conditions"] == {"all": []}
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]


def test_bad_settings_and_actions_are_named_in_the_problem(admin, api_client_for):
    client = api_client_for(admin)

    response = client.post("/api/v1/rules", {
        "name": "Broken", "trigger": "field_changed", "settings": {"entity": "contact"},
        "actions": [{"type": "add_tag"}, {"type": "launch_rocket"},
                    {"type": "send_email", "subject": "Hi", "body": "{% load evil %}"}],
    }, content_type="application/json")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(fields) == {"settings.field", "actions[0].tag", "actions[1].type",
                           "actions[2].body"}
    assert fields["actions[0].tag"] == "Fill this in."


def test_a_webhook_action_to_a_private_address_is_refused(admin, api_client_for):
    response = api_client_for(admin).post("/api/v1/rules", {
        **WELCOME, "actions": [{"type": "call_webhook", "url": "http://10.0.0.8/hook"}],
    }, content_type="application/json")

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["actions[0].url"]


def test_a_stale_version_answers_409_and_changes_nothing(admin, api_client_for):
    client = api_client_for(admin)
    rule_id = client.post("/api/v1/rules", WELCOME, content_type="application/json").json()["id"]
    client.patch(f"/api/v1/rules/{rule_id}", {"is_active": True, "version": 1},
                 content_type="application/json")

    stale = client.patch(f"/api/v1/rules/{rule_id}", {"name": "Renamed", "version": 1},
                         content_type="application/json")

    assert stale.status_code == 409
    body = client.get(f"/api/v1/rules/{rule_id}").json()
    assert (body["name"], body["is_active"], body["version"]) == ("Welcome", True, 2)


def test_runs_are_listed_newest_first_with_each_actions_result(org, admin, in_org,
                                                                api_client_for):
    client = api_client_for(admin)
    rule_id = client.post("/api/v1/rules", {**WELCOME, "is_active": True},
                          content_type="application/json").json()["id"]
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        event = DomainEvent.objects.get(type="contact.created", object_id=contact.pk)
    start_run(rule_id, event.pk)

    page = client.get(f"/api/v1/rules/{rule_id}/runs?limit=1").json()

    assert page["next"] is None
    (run,) = page["items"]
    assert (run["entity"], run["object_id"], run["status"], run["depth"]) == (
        "contact", contact.pk, "done", 1)
    assert run["trigger_text"] == "contact.created (A contact was created)"
    assert [(entry["type"], entry["status"]) for entry in run["log"]] == [
        ("add_tag", "done"), ("create_task", "done")]


def test_a_dry_run_says_what_would_happen_and_changes_nothing(org, admin, in_org,
                                                              api_client_for, smtp_inbox):
    client = api_client_for(admin)
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "email": "ada@example.com", "tags": ["vip"]})
    rule_id = client.post("/api/v1/rules", {
        **WELCOME, "is_active": True,
        "conditions": {"all": [{"kind": "tag", "op": "has", "value": "vip"}]},
        "actions": [*WELCOME["actions"],
                    {"type": "send_email", "subject": "Hello {{ contact.first_name }}",
                     "body": "Welcome."},
                    {"type": "set_field", "field": "lifecycle_stage", "value": "customer"}],
    }, content_type="application/json").json()["id"]

    response = client.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": contact.pk},
                           content_type="application/json")

    assert response.status_code == 200
    body = response.json()
    assert (body["entity"], body["matched"]) == ("contact", True)
    assert body["reason"] == "The contact meets the conditions: Has tag vip."
    assert [action["result"] for action in body["actions"]] == [
        "Would add the tag “new” to the contact.",
        "Would create the task “Call Ada”, due in 2 days, for Admin 1.",
        "Would e-mail “Hello Ada” to ada@example.com.",
        "Would set lifecycle_stage to “customer”.",
    ]
    with in_org(org):
        fresh = Contact.objects.get(pk=contact.pk)
        assert (fresh.version, fresh.lifecycle_stage) == (contact.version,
                                                          contact.lifecycle_stage)
        assert list(ContactTag.objects.values_list("tag__name", flat=True)) == ["vip"]
        assert RuleRun.objects.count() == 0
    assert smtp_inbox.messages == []


def test_another_organizations_rule_and_records_answer_404(org, admin, other_org, in_org,
                                                           api_client_for, make_member):
    rule_id = api_client_for(admin).post("/api/v1/rules", WELCOME,
                                         content_type="application/json").json()["id"]
    outsider = make_member(other_org, Role.ADMIN, email="outsider@example.com")
    client = api_client_for(outsider)
    own = client.post("/api/v1/rules", WELCOME, content_type="application/json").json()["id"]
    with in_org(org):
        contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})

    answers = [
        client.get(f"/api/v1/rules/{rule_id}").status_code,
        client.patch(f"/api/v1/rules/{rule_id}", {"name": "Mine"},
                     content_type="application/json").status_code,
        client.delete(f"/api/v1/rules/{rule_id}").status_code,
        client.get(f"/api/v1/rules/{rule_id}/runs").status_code,
        client.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": contact.pk},
                    content_type="application/json").status_code,
        client.post(f"/api/v1/rules/{own}/dry-run", {"record_id": contact.pk},
                    content_type="application/json").status_code,
    ]

    assert answers == [404] * 6
    assert [item["id"] for item in client.get("/api/v1/rules").json()["items"]] == [own]


@pytest.mark.parametrize(("role", "status"), [
    (Role.ADMIN, 200), (Role.MANAGER, 200), (Role.SALES, 403), (Role.MARKETING, 403),
    (Role.SUPPORT, 403), (Role.READ_ONLY, 403),
])
def test_only_admins_and_managers_reach_rules(org, make_member, api_client_for, role, status):
    membership = make_member(org, role, email=f"{role}@example.com")

    response = api_client_for(membership).get("/api/v1/rules")

    assert response.status_code == status


def test_a_date_rule_counts_only_from_a_contact_custom_field_of_type_date(org, admin, in_org,
                                                                          api_client_for):
    from accord.customers.models import CustomField

    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="renewal",
                                   label="Renewal", field_type="date")
        CustomField.objects.create(organization=org, entity="contact", key="notes",
                                   label="Notes", field_type="text")
    client = api_client_for(admin)

    def post(date):
        return client.post("/api/v1/rules", {
            "name": "Due", "trigger": "date_reached", "settings": {"date": date},
            "actions": [{"type": "add_tag", "tag": "due"}]}, content_type="application/json")

    missing, not_a_date = post("contact.custom.no_such_field"), post("contact.custom.notes")
    dated = post("contact.custom.renewal")

    for refused in (missing, not_a_date):
        assert refused.status_code == 422
        assert [error["field"] for error in refused.json()["errors"]] == ["settings.date"]
    assert dated.status_code == 201
    assert dated.json()["settings"]["date"] == "contact.custom.renewal"


def test_the_api_description_of_the_trigger_names_every_trigger(client):
    schema = client.get("/api/v1/openapi.json").json()
    described = schema["components"]["schemas"]["RuleIn"]["properties"]["trigger"]["description"]

    assert described.startswith("created, field_changed, stage_moved, ticket_status, "
                                "date_reached, event, behaviour or schedule;")
