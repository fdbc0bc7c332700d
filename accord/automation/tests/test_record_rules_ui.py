"""Rules about custom records the way an admin makes them: the builder, the API, the dry
run and the run log."""

import pytest

from accord.automation.models import Rule
from accord.automation.tasks import start_run
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.records import services as records

POLICY = {"key": "policy", "singular": "Policy", "plural": "Policies", "title_field": "number",
          "fields": [{"key": "number", "label": "Number", "type": "text", "required": True},
                     {"key": "renews_on", "label": "Renews on", "type": "date"},
                     {"key": "status", "label": "Status", "type": "choice",
                      "choices": ["Active", "Lapsed"]},
                     {"key": "holder", "label": "Holder", "type": "contact"}]}
RENEWAL = {"name": "Policy renewal", "trigger": "date_reached",
           "settings": {"date": "record:policy.renews_on", "days": -30, "time": "08:00"},
           "actions": [{"type": "create_task", "days": 7,
                        "subject": "Renew {{ record.title }}"}]}


@pytest.fixture
def policy_type(org, admin, in_org):
    with in_org(org):
        return records.save_type(org, admin.user, POLICY)


def errors_of(response) -> dict:
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def test_the_api_takes_a_rule_about_a_record_type_and_reads_it_back(admin, policy_type,
                                                                     api_client_for):
    client = api_client_for(admin)

    created = client.post("/api/v1/rules", RENEWAL, content_type="application/json")

    assert created.status_code == 201
    body = client.get(f"/api/v1/rules/{created.json()['id']}").json()
    assert body["settings"] == {"date": "record:policy.renews_on", "days": -30,
                                "time": "08:00"}
    assert body["actions"] == [{"type": "create_task", "days": 7,
                                "subject": "Renew {{ record.title }}"}]


def test_actions_that_cannot_apply_to_records_are_refused_by_name(admin, policy_type,
                                                                  api_client_for):
    response = api_client_for(admin).post("/api/v1/rules", {
        "name": "Deal per policy", "trigger": "created", "settings": {"entity": "record:policy"},
        "actions": [{"type": "create_task", "days": 1, "subject": "Check"},
                    {"type": "create_deal", "name": "Upsell", "stage": 1},
                    {"type": "set_field", "field": "first_name", "value": "Ada"},
                    {"type": "set_field", "field": "renews_on", "value": "next year"}],
    }, content_type="application/json")

    assert response.status_code == 422
    errors = errors_of(response)
    assert set(errors) == {"actions[1].type", "actions[2].field", "actions[3].value"}
    assert errors["actions[1].type"] == (
        "“Create a deal” cannot be used in a rule about custom records; choose a task, a "
        "notification, a field to set, a webhook or a wait.")
    assert errors["actions[2].field"] == (
        "A rule cannot set this field. Choose one of: number, renews_on, status.")
    assert errors["actions[3].value"] == "Enter a date as YYYY-MM-DD."


def test_unknown_record_types_and_fields_are_named(org, admin, other_org, in_org, policy_type,
                                                  api_client_for):
    client = api_client_for(admin)
    with in_org(other_org):
        records.save_type(other_org, None, {"key": "matter", "singular": "Matter",
                                            "plural": "Matters"})

    def refused(**rule):
        response = client.post("/api/v1/rules", {"name": "R", **rule},
                               content_type="application/json")
        assert response.status_code == 422
        return errors_of(response)

    task = [{"type": "create_task", "days": 1, "subject": "Check"}]
    # Another organisation's type is as unknown as one that was never made.
    assert refused(trigger="created", settings={"entity": "record:matter"}, actions=task) == {
        "settings.entity": "No active record type has the key “matter”."}
    assert refused(trigger="field_changed", settings={"entity": "record:policy",
                                                      "field": "colour"}, actions=task) == {
        "settings.field": "Choose one of: owner, number, renews_on, status, holder."}
    assert set(refused(trigger="date_reached", settings={"date": "record:policy.status"},
                       actions=task)) == {"settings.date"}
    assert refused(trigger="event", settings={"event_type": "record.deleted"},
                   actions=task) == {
        "settings.entity": "Name the record type as record:<type key>, such as record:policy."}


def test_a_rule_of_a_deactivated_type_says_so_and_keeps_only_its_settings(
    org, admin, in_org, policy_type, api_client_for, client_for
):
    client = api_client_for(admin)
    rule_id = client.post("/api/v1/rules", RENEWAL, content_type="application/json").json()["id"]
    with in_org(org):
        records.save_type(org, admin.user, {**POLICY, "active": False})

    page = client_for(admin).get(f"/settings/rules/{rule_id}/")
    patched = client.patch(f"/api/v1/rules/{rule_id}", {
        "version": 1, "settings": {**RENEWAL["settings"], "days": -10}},
        content_type="application/json")

    renamed = client.patch(f"/api/v1/rules/{rule_id}", {"version": 1, "name": "Old renewal"},
                           content_type="application/json")

    assert "The record type “Policy” is deactivated." in page.content.decode()
    assert patched.status_code == 422
    assert list(errors_of(patched)) == ["settings.date"]
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Old renewal")


def test_the_builder_offers_record_types_their_dates_and_fields(org, admin, policy_type,
                                                               client_for):
    client = client_for(admin)

    page = client.get("/settings/rules/new/").content.decode()
    redrawn = client.post("/settings/rules/new/", {
        "n:type": "group", "n:match": "all", "name": "On lapse", "trigger": "field_changed",
        "entity": "record:policy", "a0:type": "set_field", "action": "update",
    }).content.decode()

    assert '<option value="record:policy">Policy (custom record)</option>' in page
    assert '<option value="record:policy.renews_on">Policy: Renews on</option>' in page
    assert '<datalist id="rule-change-fields"><option value="owner"></option>' \
           '<option value="number"></option><option value="renews_on"></option>' \
           '<option value="status"></option><option value="holder"></option></datalist>' \
           in redrawn
    assert '<datalist id="rule-set-fields"><option value="number"></option>' \
           '<option value="renews_on"></option><option value="status"></option></datalist>' \
           in redrawn


def test_an_admin_saves_a_record_rule_in_the_builder_and_tries_it_on_a_chosen_record(
    org, admin, in_org, policy_type, client_for
):
    client = client_for(admin)
    with in_org(org):
        holder = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        policy = records.create_record(org, admin.user, policy_type, data={
            "values": {"number": "P-1", "holder": holder.pk}})

    saved = client.post("/settings/rules/new/", {
        "n:type": "group", "n:match": "all", "name": "On lapse", "trigger": "field_changed",
        "entity": "record:policy", "field": "status",
        "a0:type": "set_field", "a0:field": "renews_on", "a0:value": "2027-01-31",
        "a1:type": "send_email", "a1:subject": "Your policy {{ record.number }}",
        "a1:body": "Hello {{ contact.first_name }}", "action": "save"})
    with in_org(org):
        rule = Rule.objects.get()
    page = client.get(f"/settings/rules/{rule.pk}/dry-run/")
    tried = client.get(f"/settings/rules/{rule.pk}/dry-run/?record={policy.pk}")

    assert saved.status_code == 302
    assert rule.settings == {"entity": "record:policy", "field": "status"}
    assert f'<option value="{policy.pk}">P-1</option>' in page.content.decode()
    text = tried.content.decode()
    assert f'<option value="{policy.pk}" selected>P-1</option>' in text
    assert "Would set renews_on to “2027-01-31”." in text
    assert "Would skip the e-mail: The contact has no e-mail address." in text


def test_the_dry_run_api_takes_a_record_and_refuses_another_organisations(
    org, admin, other_org, in_org, policy_type, api_client_for
):
    client = api_client_for(admin)
    rule_id = client.post("/api/v1/rules", {
        "name": "Welcome policy", "trigger": "created", "settings": {"entity": "record:policy"},
        "conditions": {"all": [{"field": "first_name", "op": "equals", "value": "Ada"}]},
        "actions": [{"type": "add_tag", "tag": "insured"},
                    {"type": "notify_user", "message": "New policy {{ record.title }}"}],
    }, content_type="application/json").json()["id"]
    with in_org(org):
        policy = records.create_record(org, admin.user, policy_type,
                                       data={"values": {"number": "P-1"}})
    with in_org(other_org):
        theirs = records.create_record(other_org, None, records.save_type(other_org, None,
                                                                          POLICY),
                                       data={"values": {"number": "X-1"}})

    tried = client.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": policy.pk},
                        content_type="application/json")
    foreign = client.post(f"/api/v1/rules/{rule_id}/dry-run", {"record_id": theirs.pk},
                          content_type="application/json")

    assert tried.status_code == 200
    body = tried.json()
    assert (body["entity"], body["record"], body["matched"], body["reason"]) == (
        "record:policy", "P-1", False,
        "The record links to no contact to check the conditions against.")
    assert [(action["result"], action["error"]) for action in body["actions"]] == [
        ("Would skip: The record links to no contact.", ""),
        (f"Would e-mail {admin.user.full_name} about the record.", "")]
    assert foreign.status_code == 404


def test_the_run_log_links_to_the_record(org, admin, in_org, policy_type, client_for,
                                          django_capture_on_commit_callbacks):
    with in_org(org):
        rule = Rule.objects.create(organization=org, name="Check", trigger="created",
                                   settings={"entity": "record:policy"}, is_active=True,
                                   actions=[{"type": "create_task", "days": 1,
                                             "subject": "Check"}])
    with in_org(org), django_capture_on_commit_callbacks(execute=False):
        policy = records.create_record(org, admin.user, policy_type,
                                       data={"values": {"number": "P-1"}})
        event = DomainEvent.objects.get(type="record.created")
    start_run(rule.pk, event.pk)

    page = client_for(admin).get(f"/settings/rules/{rule.pk}/").content.decode()

    assert (f'<a href="/records/policy/{policy.pk}/">record:policy {policy.pk}</a>') in page
