"""A member who may read an admin's rules learns nothing through them of a custom field
hidden from their role: not its value, its label nor that it exists. The rule, its runs
and its page mask what concerns such a field, trying or changing the rule is refused,
and the member's own rules are not set off by a change to such a field alone. Admins
see everything."""

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.automation import tasks
from accord.automation.models import Rule
from accord.customers import services as customers
from accord.customers.models import CustomField
from accord.identity.models import Role

from .test_author_visibility import retitle

SECRET = "MGRSECRET-42"
FORBIDDEN = ("mgr_secret", "Mgr secret", SECRET, "mgr_date", "Mgr date")


@pytest.fixture
def world(org, admin, make_member):
    """Hiro, a manager from whose role the contact fields `mgr_secret` and `mgr_date`
    are hidden, and a contact of his own with values in both."""
    hiro = make_member(org, Role.MANAGER, full_name="Hiro Manager")
    due = (timezone.now().date() + dt.timedelta(days=4)).isoformat()
    with scope(organization=org):
        for key, label, field_type, hidden in (
                ("mgr_secret", "Mgr secret", "text", ["manager"]),
                ("mgr_date", "Mgr date", "date", ["manager"]),
                ("region_code", "Region code", "text", [])):
            customers.create_custom_field(org, admin.user, data={
                "entity": "contact", "key": key, "label": label, "field_type": field_type,
                "hidden_from_roles": hidden})
        own = customers.create_contact(org, hiro.user, data={
            "first_name": "Otto", "custom_fields": {"mgr_secret": "other", "mgr_date": due}})
    return SimpleNamespace(hiro=hiro, admin=admin, own=own, due=due)


def make(api, **rule) -> int:
    created = api.post("/api/v1/rules", json.dumps({"name": "Rule", "is_active": True,
                                                    **rule}),
                       content_type="application/json")
    assert created.status_code == 201, created.json()
    return created.json()["id"]


def secret_rule(api) -> int:
    return make(api, trigger="field_changed",
                settings={"entity": "contact", "field": "title"},
                conditions={"all": [{"field": "cf.mgr_secret", "op": "equals",
                                     "value": SECRET}]},
                actions=[{"type": "add_tag", "tag": "secret"},
                         {"type": "set_field", "field": "cf.mgr_secret", "value": "seen"}])


def leaks(text: str) -> list[str]:
    return [word for word in FORBIDDEN if word in text]


def test_a_date_rule_shows_a_manager_neither_the_hidden_date_field_nor_its_runs(
        org, world, api_client_for, client_for, eager):
    admins, hiros = api_client_for(world.admin), api_client_for(world.hiro)
    rule_id = make(admins, trigger="date_reached",
                   settings={"date": "contact.custom.mgr_date", "days": -4, "time": "00:00"},
                   actions=[{"type": "add_tag", "tag": "due"}])

    assert tasks.check_dated_rules() == 1

    # When a run happened would tell the day, so he is shown none.
    assert hiros.get(f"/api/v1/rules/{rule_id}/runs").json()["items"] == []
    rule = hiros.get(f"/api/v1/rules/{rule_id}").json()
    assert rule["settings"]["date"] == "a field hidden from you"
    page = client_for(world.hiro).get(f"/settings/rules/{rule_id}/").content.decode()
    assert "so its runs are not listed" in page
    for text in (json.dumps(rule), page):
        assert leaks(text) == []
        assert world.due not in text
    [whole] = admins.get(f"/api/v1/rules/{rule_id}/runs").json()["items"]
    assert whole["key"] == f"date:{world.own.pk}:{world.due}"
    assert whole["trigger_text"] == f"contact.custom.mgr_date = {world.due}"
    assert admins.get(f"/api/v1/rules/{rule_id}").json()["settings"]["date"] == (
        "contact.custom.mgr_date")
    assert world.due in client_for(world.admin).get(f"/settings/rules/{rule_id}/").content.decode()


def test_a_condition_and_action_on_a_hidden_field_are_masked_for_a_manager(
        org, world, api_client_for, client_for, eager, django_capture_on_commit_callbacks):
    admins, hiros = api_client_for(world.admin), api_client_for(world.hiro)
    rule_id = secret_rule(admins)

    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    rule = hiros.get(f"/api/v1/rules/{rule_id}").json()
    assert rule["conditions"] == {"all": [{"hidden": True}]}
    assert rule["actions"] == [{"type": "add_tag", "tag": "secret"},
                               {"type": "set_field", "hidden": True}]
    listed = hiros.get("/api/v1/rules").json()["items"]
    # Whether a contact's run went through would tell the value: no runs for him.
    assert hiros.get(f"/api/v1/rules/{rule_id}/runs").json()["items"] == []
    page = client_for(world.hiro).get(f"/settings/rules/{rule_id}/").content.decode()
    rules_page = client_for(world.hiro).get("/settings/rules/").content.decode()
    assert "A condition on a field hidden from you" in page
    assert "An action on a field hidden from you" in page
    for text in (json.dumps(rule), json.dumps(listed), page, rules_page):
        assert leaks(text) == []
    [whole] = admins.get(f"/api/v1/rules/{rule_id}/runs").json()["items"]
    assert SECRET in whole["log"][0]["detail"]
    assert "conditions" not in whole["log"][0]
    assert admins.get(f"/api/v1/rules/{rule_id}").json()["conditions"]["all"][0]["value"] == (
        SECRET)
    assert SECRET in client_for(world.admin).get(f"/settings/rules/{rule_id}/").content.decode()


def test_a_manager_may_not_try_a_rule_that_uses_a_field_hidden_from_him(
        org, world, api_client_for, client_for):
    admins, hiros = api_client_for(world.admin), api_client_for(world.hiro)
    secret_id = secret_rule(admins)
    date_id = make(admins, trigger="date_reached",
                   settings={"date": "contact.custom.mgr_date", "days": -4},
                   actions=[{"type": "add_tag", "tag": "due"}])
    body = json.dumps({"record_id": world.own.pk})

    for rule_id in (secret_id, date_id):
        tried = hiros.post(f"/api/v1/rules/{rule_id}/dry-run", body,
                           content_type="application/json")
        assert tried.status_code == 403
        assert tried.json()["detail"] == ("This rule uses fields hidden from your role, so you "
                                          "cannot try it.")
        page = client_for(world.hiro).get(f"/settings/rules/{rule_id}/dry-run/",
                                          {"record": world.own.pk})
        assert page.status_code == 403
        assert "so you cannot try it" in page.content.decode()
        assert "Would" not in page.content.decode()
        assert admins.post(f"/api/v1/rules/{rule_id}/dry-run", body,
                           content_type="application/json").status_code == 200


def test_a_manager_may_not_change_or_switch_a_rule_that_uses_a_field_hidden_from_him(
        org, world, api_client_for, client_for):
    admins, hiros = api_client_for(world.admin), api_client_for(world.hiro)
    rule_id = secret_rule(admins)
    hiro = client_for(world.hiro)

    patched = hiros.patch(f"/api/v1/rules/{rule_id}", {"name": "Mine now", "version": 1},
                          content_type="application/json")
    edit = hiro.get(f"/settings/rules/{rule_id}/edit/")
    switched = hiro.post(f"/settings/rules/{rule_id}/active/", {"active": "0"})

    assert patched.status_code == 403
    assert leaks(json.dumps(patched.json())) == []
    assert edit.status_code == 302
    assert switched.status_code == 302
    with scope(organization=org):
        rule = Rule.objects.get(pk=rule_id)
    assert (rule.name, rule.is_active, rule.edited_by_id) == ("Rule", True, world.admin.user_id)
    assert admins.patch(f"/api/v1/rules/{rule_id}", {"name": "Renamed", "version": 1},
                        content_type="application/json").status_code == 200


def test_a_managers_custom_field_rule_is_not_set_off_by_a_hidden_field_alone(
        org, world, api_client_for, eager, django_capture_on_commit_callbacks):
    rule_id = make(api_client_for(world.hiro), trigger="field_changed",
                   settings={"entity": "contact", "field": "custom_fields"},
                   actions=[{"type": "add_tag", "tag": "changed"}])
    admins_rule = make(api_client_for(world.admin), trigger="field_changed",
                       settings={"entity": "contact", "field": "custom_fields"},
                       actions=[{"type": "add_tag", "tag": "changed"}])

    def change(**values):
        with scope(organization=org), django_capture_on_commit_callbacks(execute=True):
            customers.update_contact(org, world.admin.user, world.own,
                                     data={"custom_fields": values})

    def runs(rule) -> int:
        listed = api_client_for(world.admin).get(f"/api/v1/rules/{rule}/runs").json()
        return len(listed["items"])

    change(mgr_secret="changed")
    assert (runs(rule_id), runs(admins_rule)) == (0, 1)
    change(region_code="R7")
    assert (runs(rule_id), runs(admins_rule)) == (1, 2)


def test_a_managers_rule_stops_using_a_field_hidden_from_his_role_since_he_saved_it(
        org, world, api_client_for, eager, django_capture_on_commit_callbacks):
    hiros = api_client_for(world.hiro)
    rule_id = make(hiros, trigger="field_changed",
                   settings={"entity": "contact", "field": "title"},
                   conditions={"all": [{"field": "cf.region_code", "op": "equals",
                                        "value": "R7"}]},
                   actions=[{"type": "add_tag", "tag": "r7"}])
    with scope(organization=org):
        customers.update_contact(org, world.admin.user, world.own,
                                 data={"custom_fields": {"region_code": "R7"}})
        field = CustomField.objects.get(key="region_code")
        customers.update_custom_field(org, world.admin.user, field,
                                      data={"label": "Region code",
                                            "hidden_from_roles": ["manager"]})

    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    assert hiros.get(f"/api/v1/rules/{rule_id}/runs").json()["items"] == []
    [run] = api_client_for(world.admin).get(f"/api/v1/rules/{rule_id}/runs").json()["items"]
    assert run["status"] == "skipped"
    assert run["log"][0]["detail"] == "The rule uses a field hidden from its author's role."


def test_a_managers_run_list_leaves_out_an_admins_rule_on_a_hidden_field_but_not_his_texts(
        org, world, api_client_for, eager, django_capture_on_commit_callbacks):
    admins, hiros = api_client_for(world.admin), api_client_for(world.hiro)
    admins_rule = make(admins, trigger="field_changed",
                       settings={"entity": "contact", "field": "title"},
                       actions=[{"type": "set_field", "field": "cf.mgr_secret",
                                 "value": SECRET}])
    message = "About {{ contact.custom.mgr_secret }} and {{ contact.custom.no_such }}"
    own_rule = make(hiros, trigger="field_changed",
                    settings={"entity": "contact", "field": "first_name"},
                    actions=[{"type": "notify_user", "user": world.hiro.user.pk,
                              "message": message}])

    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    assert hiros.get(f"/api/v1/rules/{admins_rule}/runs").json()["items"] == []
    [whole] = admins.get(f"/api/v1/rules/{admins_rule}/runs").json()["items"]
    assert SECRET in whole["log"][0]["detail"]
    assert hiros.get(f"/api/v1/rules/{own_rule}").json()["actions"][0]["message"] == message


def test_the_audit_log_masks_a_rules_use_of_a_field_hidden_from_a_manager(
        org, world, api_client_for, client_for):
    admins, hiros = api_client_for(world.admin), api_client_for(world.hiro)
    rule_id = secret_rule(admins)
    changed = admins.patch(f"/api/v1/rules/{rule_id}", json.dumps({
        "version": 1, "conditions": {"all": [{"field": "cf.mgr_secret", "op": "equals",
                                              "value": "MGRSECRET-43"}]}}),
        content_type="application/json")
    assert changed.status_code == 200, changed.json()

    logged = hiros.get("/api/v1/audit-log", {"entity": "rule", "limit": 50}).text
    page = client_for(world.hiro).get("/settings/audit-log/").content.decode()
    whole = admins.get("/api/v1/audit-log", {"entity": "rule", "limit": 50}).text

    for text in (logged, page):
        assert leaks(text) == []
        assert "MGRSECRET-43" not in text
    assert '"hidden": true' in logged
    assert SECRET in whole
    assert "MGRSECRET-43" in whole
