"""Record visibility in the rule dry run and the rule conditions: a record the member may
not see answers like an id that does not exist, and a field hidden from their role cannot
be used in a condition."""

import json
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.records import services as records
from accord.records.models import RecordType
from accord.sales import services as sales

MATTER = {
    "key": "matter", "singular": "Matter", "plural": "Matters", "title_field": "title",
    "confidential": True,
    "fields": [{"key": "title", "label": "Title", "type": "text", "required": True},
               {"key": "client", "label": "Client", "type": "contact"}],
}


@pytest.fixture
def world(org, admin, make_member):
    """A manager seeing their team's contacts and deals but not the annual income, an
    outsider's contact and deal, and the admin's confidential matter for the manager's
    own contact."""
    manager = make_member(org, Role.MANAGER, full_name="Lea Manager")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "annual_income", "label": "Annual income",
            "field_type": "number", "hidden_from_roles": ["manager"]})
        hidden = customers.create_contact(org, outsider.user, data={
            "first_name": "Hidden6", "last_name": "Quasarvictim",
            "custom_fields": {"annual_income": "10006"}})
        own = customers.create_contact(org, manager.user, data={"first_name": "Mona"})
        sales.create_pipeline(org, admin.user, name="New business")
        deal = sales.create_deal(org, outsider.user, data={"name": "Hidden deal"})
        sales.add_deal_contact(org, admin.user, deal, hidden)
        records.save_type(org, admin.user, MATTER)
        matter = records.create_record(org, admin.user, RecordType.objects.get(key="matter"),
                                       data={"values": {"title": "SECRETMATTER",
                                                        "client": own.pk}})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "deals": "team"}})
    return SimpleNamespace(manager=manager, admin=admin, hidden=hidden, own=own, deal=deal,
                           matter=matter)


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def rule(client, entity: str, conditions=None) -> int:
    created = post(client, "/api/v1/rules", {
        "name": f"Try {entity}", "trigger": "created", "settings": {"entity": entity},
        "conditions": conditions or {"all": []},
        "actions": [{"type": "create_task", "subject": "Look", "days": 1}]})
    assert created.status_code == 201, created.json()
    return created.json()["id"]


@pytest.mark.parametrize(("entity", "record", "message"), [
    ("contact", "hidden", "No contact with this id."),
    ("deal", "deal", "No deal with this id."),
    ("record:matter", "matter", "No Matter with this id."),
])
def test_a_dry_run_on_a_hidden_record_answers_like_a_made_up_id(
        world, api_client_for, entity, record, message):
    api = api_client_for(world.manager)
    rule_id = rule(api, entity)
    target = getattr(world, record).pk

    hidden = post(api, f"/api/v1/rules/{rule_id}/dry-run", {"record_id": target})
    made_up = post(api, f"/api/v1/rules/{rule_id}/dry-run", {"record_id": 987654})
    admins = post(api_client_for(world.admin), f"/api/v1/rules/{rule_id}/dry-run",
                  {"record_id": target})

    assert (hidden.status_code, hidden.json()["detail"]) == (404, message)
    assert (made_up.status_code, made_up.json()["detail"]) == (404, message)
    assert "Quasarvictim" not in hidden.content.decode()
    assert admins.status_code == 200
    assert admins.json()["matched"] is True


def test_the_dry_run_page_refuses_and_does_not_offer_a_hidden_record(
        world, api_client_for, client_for):
    rule_id = rule(api_client_for(world.admin), "record:matter")
    browser = client_for(world.manager)

    page = browser.get(f"/settings/rules/{rule_id}/dry-run/")
    tried = browser.get(f"/settings/rules/{rule_id}/dry-run/?record={world.matter.pk}")
    admins = client_for(world.admin).get(f"/settings/rules/{rule_id}/dry-run/")

    assert "SECRETMATTER" not in page.content.decode()
    assert tried.status_code == 404
    assert "SECRETMATTER" not in tried.content.decode()
    assert "SECRETMATTER" in admins.content.decode()


def test_the_dry_run_does_not_check_a_hidden_contact_of_a_visible_record(
        org, world, api_client_for, in_org):
    with in_org(org):
        deal = sales.create_deal(org, world.manager.user, data={"name": "Own deal"})
        sales.add_deal_contact(org, world.admin.user, deal, world.hidden)
    api = api_client_for(world.admin)
    # On a field the manager sees: a rule on a hidden one may not be tried at all
    # (test_rule_reader_visibility.py).
    rule_id = rule(api, "deal", {"all": [{"field": "last_name", "op": "equals",
                                          "value": "Quasarvictim"}]})

    tried = post(api_client_for(world.manager), f"/api/v1/rules/{rule_id}/dry-run",
                 {"record_id": deal.pk})
    admins = post(api, f"/api/v1/rules/{rule_id}/dry-run", {"record_id": deal.pk})

    assert tried.status_code == 200
    assert (tried.json()["matched"], tried.json()["reason"]) == (
        False, "The record's contact is one you cannot see, so the conditions are not "
               "checked.")
    assert admins.json()["matched"] is True


def test_a_condition_on_a_field_hidden_from_the_role_is_refused_naming_nothing_hidden(
        world, api_client_for):
    tree = {"all": [{"field": "cf.annual_income", "op": "eq", "value": 10006}]}
    data = {"name": "Rich", "trigger": "created", "settings": {"entity": "contact"},
            "conditions": tree, "actions": [{"type": "add_tag", "tag": "rich"}]}
    admin = api_client_for(world.admin)
    rule_id = rule(admin, "contact")

    refused = post(api_client_for(world.manager), "/api/v1/rules", data)
    changed = api_client_for(world.manager).patch(
        f"/api/v1/rules/{rule_id}", json.dumps({"conditions": tree, "version": 1}),
        content_type="application/json")
    admins = post(admin, "/api/v1/rules", data)

    for answer in (refused, changed):
        assert answer.status_code == 422
        assert answer.json()["errors"] == [{
            "field": "conditions.all[0].field", "code": "invalid",
            "message": "There is no field with this name."}]
        assert "income" not in answer.content.decode().lower()
    assert admins.status_code == 201
