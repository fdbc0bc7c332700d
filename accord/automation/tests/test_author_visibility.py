"""A member's workflow rule keeps to the records its author may see: it neither reads nor
changes a hidden record, and its run list leaves such runs out. An admin's rule, and a
rule whose author has left, act on every record."""

import json
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Membership, Role
from accord.sales import services as sales


@pytest.fixture
def world(org, admin, make_member):
    """Hiro, a manager seeing his team's contacts and deals; a contact and a deal of a
    member outside his team, and a contact of his own."""
    hiro = make_member(org, Role.MANAGER, full_name="Hiro Manager")
    west = make_member(org, Role.SALES, full_name="Wes West")
    with scope(organization=org):
        hidden = customers.create_contact(org, west.user, data={
            "first_name": "Quintessa", "last_name": "Hiddenberg",
            "email": "quintessa@example.com"})
        own = customers.create_contact(org, hiro.user, data={
            "first_name": "Otto", "email": "otto@example.com"})
        sales.create_pipeline(org, admin.user, name="New business")
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "deals": "team"}})
    return SimpleNamespace(hiro=hiro, west=west, admin=admin, hidden=hidden, own=own)


def spy_rule(api, user_id: int, entity: str = "contact") -> int:
    settings = ({"entity": "contact", "field": "title"} if entity == "contact"
                else {"entity": entity})
    actions = [{"type": "notify_user", "user": user_id,
                "message": "SPY {{ contact.first_name }} {{ contact.email }}"}]
    if entity == "contact":
        actions.append({"type": "set_field", "field": "lifecycle_stage", "value": "customer"})
    created = api.post("/api/v1/rules", json.dumps({
        "name": f"Spy on {entity}", "is_active": True,
        "trigger": "field_changed" if entity == "contact" else "created",
        "settings": settings, "actions": actions}), content_type="application/json")
    assert created.status_code == 201, created.json()
    return created.json()["id"]


def retitle(org, admin, contact, commit_callbacks) -> None:
    with scope(organization=org), commit_callbacks(execute=True):
        customers.update_contact(org, admin.user, contact, data={"title": "Chief"})


def stage_of(api, contact) -> str:
    return api.get(f"/api/v1/contacts/{contact.pk}").json()["lifecycle_stage"]


def test_a_managers_rule_neither_reads_nor_changes_a_contact_hidden_from_him(
        org, world, api_client_for, eager, mailoutbox, django_capture_on_commit_callbacks):
    hiros = api_client_for(world.hiro)
    admins = api_client_for(world.admin)
    rule_id = spy_rule(hiros, world.hiro.user.pk)

    retitle(org, world.admin, world.hidden, django_capture_on_commit_callbacks)
    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    bodies = " ".join(mail.body for mail in mailoutbox)
    assert "Quintessa" not in bodies
    assert "quintessa@example.com" not in bodies
    assert "SPY Otto otto@example.com" in bodies
    assert stage_of(admins, world.hidden) != "customer"
    assert stage_of(admins, world.own) == "customer"
    hiros_runs = hiros.get(f"/api/v1/rules/{rule_id}/runs").json()["items"]
    assert [run["object_id"] for run in hiros_runs] == [world.own.pk]
    admins_runs = {run["object_id"]: run for run in
                   admins.get(f"/api/v1/rules/{rule_id}/runs").json()["items"]}
    assert admins_runs[world.hidden.pk]["status"] == "skipped"


def test_the_rule_page_lists_only_runs_on_records_the_reader_sees(
        org, world, api_client_for, client_for, eager, django_capture_on_commit_callbacks):
    rule_id = spy_rule(api_client_for(world.admin), world.admin.user.pk)

    retitle(org, world.admin, world.hidden, django_capture_on_commit_callbacks)

    hiros = client_for(world.hiro).get(f"/settings/rules/{rule_id}/").content.decode()
    admins = client_for(world.admin).get(f"/settings/rules/{rule_id}/").content.decode()
    assert f"contact {world.hidden.pk}</td>" in admins
    assert f"contact {world.hidden.pk}</td>" not in hiros


def test_a_managers_deal_rule_skips_a_deal_hidden_from_him(
        org, world, api_client_for, eager, mailoutbox, django_capture_on_commit_callbacks):
    hiros = api_client_for(world.hiro)
    rule_id = spy_rule(hiros, world.hiro.user.pk, entity="deal")

    with scope(organization=org), django_capture_on_commit_callbacks(execute=True):
        hidden = sales.create_deal(org, world.west.user, data={"name": "Hidden deal"})
        sales.add_deal_contact(org, world.admin.user, hidden, world.hidden)
    with scope(organization=org), django_capture_on_commit_callbacks(execute=True):
        sales.create_deal(org, world.hiro.user, data={"name": "Own deal"})

    assert len(mailoutbox) == 1
    assert "Quintessa" not in mailoutbox[0].body
    items = hiros.get(f"/api/v1/rules/{rule_id}/runs").json()["items"]
    assert hidden.pk not in [run["object_id"] for run in items]
    assert len(items) == 1


def test_an_admins_rule_and_a_departed_members_rule_act_on_every_contact(
        org, world, api_client_for, eager, mailoutbox, django_capture_on_commit_callbacks):
    admins = api_client_for(world.admin)
    spy_rule(admins, world.admin.user.pk)
    spy_rule(api_client_for(world.hiro), world.admin.user.pk)
    with scope(organization=org):
        Membership.objects.filter(pk=world.hiro.pk).update(is_active=False)

    retitle(org, world.admin, world.hidden, django_capture_on_commit_callbacks)

    assert sum("SPY Quintessa quintessa@example.com" in mail.body
               for mail in mailoutbox) == 2
    assert stage_of(admins, world.hidden) == "customer"


def test_a_rules_texts_name_neither_a_company_nor_a_field_hidden_from_its_author(
        org, world, admin, api_client_for, eager, mailoutbox,
        django_capture_on_commit_callbacks):
    with scope(organization=org):
        for key, hidden_from in (("income", ["manager"]), ("shoe_size", ["sales"]),
                                 ("region_code", [])):
            customers.create_custom_field(org, admin.user, data={
                "entity": "contact", "key": key, "label": key, "field_type": "text",
                "hidden_from_roles": hidden_from})
        yarrow = customers.create_company(org, world.west.user, data={"name": "Yarrow Secret"})
        customers.update_contact(org, admin.user, world.own, data={
            "company": yarrow.pk, "custom_fields": {
                "income": "INCOME999", "shoe_size": "SHOE42", "region_code": "R7"}})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "deals": "team", "companies": "team"}})
    created = api_client_for(world.hiro).post("/api/v1/rules", json.dumps({
        "name": "Tell me", "is_active": True, "trigger": "field_changed",
        "settings": {"entity": "contact", "field": "title"},
        "actions": [{"type": "notify_user", "user": world.hiro.user.pk, "message":
                     "SPY <{{ company.name }}> <{{ contact.custom.income }}> "
                     "<{{ contact.custom.shoe_size }}> <{{ contact.custom.region_code }}>"}],
    }), content_type="application/json")
    assert created.status_code == 201, created.json()

    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    assert len(mailoutbox) == 1
    assert "SPY <> <> <> <R7>" in mailoutbox[0].body


def test_a_member_who_changes_an_admins_rule_makes_it_keep_to_what_he_sees(
        org, world, api_client_for, eager, mailoutbox, django_capture_on_commit_callbacks):
    rule_id = spy_rule(api_client_for(world.admin), world.hiro.user.pk)
    changed = api_client_for(world.hiro).patch(
        f"/api/v1/rules/{rule_id}", {"name": "Spy, renamed", "version": 1},
        content_type="application/json")
    assert changed.status_code == 200, changed.json()["errors"]

    retitle(org, world.admin, world.hidden, django_capture_on_commit_callbacks)
    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    bodies = " ".join(mail.body for mail in mailoutbox)
    assert "Quintessa" not in bodies
    assert "SPY Otto otto@example.com" in bodies


def test_a_rule_can_neither_set_nor_count_from_a_field_hidden_from_its_author(
        org, world, admin, api_client_for, client_for):
    with scope(organization=org):
        for key, field_type in (("income", "text"), ("diagnosed_on", "date")):
            customers.create_custom_field(org, admin.user, data={
                "entity": "contact", "key": key, "label": key.replace("_", " ").title(),
                "field_type": field_type, "hidden_from_roles": ["manager"]})
    hiros, admins = api_client_for(world.hiro), api_client_for(world.admin)

    def post(api, **rule):
        return api.post("/api/v1/rules", json.dumps({"name": "Probe", **rule}),
                        content_type="application/json")

    set_income = {"trigger": "field_changed", "settings": {"entity": "contact",
                                                           "field": "title"},
                  "actions": [{"type": "set_field", "field": "cf.income", "value": "X"}]}
    by_diagnosis = {"trigger": "date_reached",
                    "settings": {"date": "contact.custom.diagnosed_on", "days": -3},
                    "actions": [{"type": "add_tag", "tag": "probe"}]}
    setting, counting = post(hiros, **set_income), post(hiros, **by_diagnosis)
    form = client_for(world.hiro).get("/settings/rules/new/").content.decode()

    assert setting.status_code == 422
    assert {error["field"] for error in setting.json()["errors"]} == {"actions[0].field"}
    assert "cf.income" not in json.dumps(setting.json())
    assert counting.status_code == 422
    assert {error["field"] for error in counting.json()["errors"]} == {"settings.date"}
    assert "cf.income" not in form
    assert "Diagnosed On" not in form
    assert post(admins, **set_income).status_code == 201
    assert post(admins, **by_diagnosis).status_code == 201
    assert "Diagnosed On" in client_for(world.admin).get("/settings/rules/new/").content.decode()


def test_a_rule_does_not_set_a_field_hidden_since_from_its_author(
        org, world, admin, api_client_for, eager, django_capture_on_commit_callbacks):
    with scope(organization=org):
        field = customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "income", "label": "Income", "field_type": "text"})
    created = api_client_for(world.hiro).post("/api/v1/rules", json.dumps({
        "name": "Set income", "is_active": True, "trigger": "field_changed",
        "settings": {"entity": "contact", "field": "title"},
        "actions": [{"type": "set_field", "field": "cf.income", "value": "GUESS"}],
    }), content_type="application/json")
    assert created.status_code == 201, created.json()
    with scope(organization=org):
        customers.update_custom_field(org, admin.user, field,
                                      data={"label": "Income", "hidden_from_roles": ["manager"]})

    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    contact = api_client_for(world.admin).get(f"/api/v1/contacts/{world.own.pk}").json()
    assert (contact["custom_fields"] or {}).get("income") is None


def tell_hiro(api, world, subject: str, message: str, *more: dict) -> int:
    """An admin's rule on a contact's new title: a task and a notification for Hiro."""
    created = api.post("/api/v1/rules", json.dumps({
        "name": "Tell Hiro", "is_active": True, "trigger": "field_changed",
        "settings": {"entity": "contact", "field": "title"},
        "actions": [{"type": "create_task", "user": world.hiro.user.pk, "days": 1,
                     "subject": subject},
                    {"type": "notify_user", "user": world.hiro.user.pk, "message": message},
                    *more],
    }), content_type="application/json")
    assert created.status_code == 201, created.json()
    return created.json()["id"]


def test_an_admins_rule_writes_a_company_into_accord_only_where_every_reader_sees_it(
        org, world, admin, api_client_for, eager, mailoutbox,
        django_capture_on_commit_callbacks):
    with scope(organization=org):
        yarrow = customers.create_company(org, world.west.user, data={"name": "Yarrow Secret"})
        open_company = customers.create_company(org, world.hiro.user,
                                                data={"name": "Open Kettle"})
        customers.update_contact(org, admin.user, world.own, data={"company": yarrow.pk})
        other = customers.create_contact(org, world.hiro.user, data={
            "first_name": "Pia", "email": "pia@example.com", "company": open_company.pk})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "deals": "team", "companies": "team"}})
    admins = api_client_for(world.admin)
    rule_id = tell_hiro(admins, world, "Call <{{ company.name }}>",
                        "About <{{ company.name }}>",
                        {"type": "send_email", "subject": "Hello from <{{ company.name }}>",
                         "body": "Regards"})

    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)
    retitle(org, world.admin, other, django_capture_on_commit_callbacks)

    tasks = {task["contact_id"]: task["subject"] for task in
             admins.get("/api/v1/activities?kind=task").json()["items"]}
    assert tasks == {world.own.pk: "Call <>", other.pk: "Call <Open Kettle>"}
    notes = sorted(mail.body for mail in mailoutbox if mail.to == [world.hiro.user.email])
    assert notes == ["About <>", "About <Open Kettle>"]
    # The contact gets the mail as the admin wrote it; members read the run log.
    subjects = sorted(mail.subject for mail in mailoutbox
                      if mail.to == [world.own.email])
    assert subjects == ["Hello from <Yarrow Secret>"]
    runs = admins.get(f"/api/v1/rules/{rule_id}/runs").json()["items"]
    log = json.dumps([run["log"] for run in runs])
    assert "Yarrow" not in log
    assert "Open Kettle" in log


def test_an_admins_rule_names_no_contact_to_a_reader_who_may_not_see_it(
        org, world, api_client_for, eager, mailoutbox, django_capture_on_commit_callbacks):
    admins = api_client_for(world.admin)
    tell_hiro(admins, world, "Call <{{ contact.first_name }} {{ contact.email }}>",
              "About <{{ contact.full_name }} {{ contact.email }}>")

    retitle(org, world.admin, world.hidden, django_capture_on_commit_callbacks)
    retitle(org, world.admin, world.own, django_capture_on_commit_callbacks)

    tasks = {task["contact_id"]: task["subject"] for task in
             admins.get("/api/v1/activities?kind=task").json()["items"]}
    assert tasks == {world.hidden.pk: "Call < >",
                     world.own.pk: "Call <Otto otto@example.com>"}
    assert sorted(mail.body for mail in mailoutbox) == [
        "About < >", "About <Otto otto@example.com>"]
