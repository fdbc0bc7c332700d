"""A member's workflow rule checks its conditions as its author sees related records: a
deal hidden from the author does not make "has an open deal" hold. An admin's rule
counts every deal."""

import json

from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import services as sales

OPEN_DEAL = {"all": [{"kind": "deal", "op": "has_open"}]}


def make_customer_rule(api, name: str) -> None:
    created = api.post("/api/v1/rules", json.dumps({
        "name": name, "is_active": True, "trigger": "field_changed",
        "settings": {"entity": "contact", "field": "title"}, "conditions": OPEN_DEAL,
        "actions": [{"type": "set_field", "field": "lifecycle_stage", "value": "customer"}],
    }), content_type="application/json")
    assert created.status_code == 201, created.json()


def test_a_members_rule_does_not_count_a_deal_hidden_from_its_author(
        org, admin, make_member, api_client_for, eager, django_capture_on_commit_callbacks):
    hiro = make_member(org, Role.MANAGER, full_name="Hiro Manager")
    west = make_member(org, Role.SALES, full_name="Wes West")
    with scope(organization=org):
        otto = customers.create_contact(org, hiro.user, data={"first_name": "Otto"})
        sales.create_pipeline(org, admin.user, name="New business")
        sales.create_deal(org, west.user, data={"name": "West's renewal",
                                                "contacts": [{"contact": otto.pk}]})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "deals": "team"}})
    admins = api_client_for(admin)

    def retitle(title: str) -> str:
        with scope(organization=org), django_capture_on_commit_callbacks(execute=True):
            customers.update_contact(org, admin.user, otto, data={"title": title})
        return admins.get(f"/api/v1/contacts/{otto.pk}").json()["lifecycle_stage"]

    make_customer_rule(api_client_for(hiro), "Hiro's customers")
    assert retitle("Chief") != "customer"

    make_customer_rule(admins, "Admin's customers")
    assert retitle("Chief buyer") == "customer"
