"""Leads, products, orders and timeline entries in bulk: each written or refused on its own,
through the same checks as one by one."""

from decimal import Decimal

import pytest
from django_scopes import scope

from accord.activities.models import Activity
from accord.commerce.models import Order, Product
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales.models import Lead


def bulk(client, path, items):
    return client.post(path, {"items": items}, content_type="application/json")


def statuses(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [item["status"] for item in answer.json()["items"]]


def test_leads_are_created_changed_and_refused_each_with_a_result(org, admin, api_client_for):
    api = api_client_for(admin)
    made = bulk(api, "/api/v1/leads/bulk", [
        {"first_name": "Ada", "email": "ada@example.com", "company_name": "Lovelace Ltd"},
        {"first_name": "Bo", "email": "not an address"},
    ])
    first = made.json()["items"][0]

    changed = bulk(api, "/api/v1/leads/bulk", [
        {"id": first["id"], "version": first["version"], "title": "CTO"},
        {"id": first["id"], "version": first["version"], "title": "stale"},
    ])

    assert statuses(made) == [201, 422]
    assert made.json()["items"][1]["errors"][0]["field"] == "email"
    assert statuses(changed) == [200, 409]
    with scope(organization=org):
        assert Lead.objects.get(pk=first["id"]).title == "CTO"
        assert Lead.objects.count() == 1


def test_products_in_bulk_need_the_catalogue_permission(org, admin, make_member, api_client_for):
    items = [{"sku": "TEA-1", "name": "Green tea", "unit_price": "4.50"},
             {"sku": "TEA-2", "name": "Black tea", "unit_price": "lots"}]

    made = bulk(api_client_for(admin), "/api/v1/products/bulk", items)
    refused = bulk(api_client_for(make_member(org, Role.SALES)), "/api/v1/products/bulk", items)

    assert statuses(made) == [201, 422]
    assert made.json()["items"][1]["errors"][0]["field"] == "unit_price"
    assert refused.status_code == 403
    with scope(organization=org):
        assert list(Product.objects.values_list("sku", flat=True)) == ["TEA-1"]


def test_orders_in_bulk_with_their_lines(org, admin, api_client_for, in_org):
    with in_org(org):
        buyer = customers.create_contact(org, admin.user, data={"first_name": "Ada"})

    answer = bulk(api_client_for(admin), "/api/v1/orders/bulk", [
        {"number": "1001", "contact": buyer.pk,
         "lines": [{"description": "Tea", "quantity": "2", "unit_price": "4.50"}]},
        {"number": "1001", "contact": buyer.pk,
         "lines": [{"description": "Tea", "quantity": "1", "unit_price": "4.50"}]},
    ])

    assert statuses(answer) == [201, 422]
    with scope(organization=org):
        order = Order.objects.get(number="1001")
    assert order.total == Decimal("9.00")


@pytest.fixture
def seller_sees_own(org, admin, make_member, in_org):
    seller = make_member(org, Role.SALES)
    with in_org(org):
        mine = customers.create_contact(org, seller.user, data={"first_name": "Mira"})
        theirs = customers.create_contact(org, admin.user, data={"first_name": "Hugo"})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
    return seller, mine, theirs


def test_timeline_entries_in_bulk_only_on_records_the_member_sees(
    org, seller_sees_own, api_client_for
):
    seller, mine, theirs = seller_sees_own

    answer = bulk(api_client_for(seller), "/api/v1/activities/bulk", [
        {"kind": "note", "body": "Met at the fair", "contact_id": mine.pk},
        {"kind": "note", "body": "Sneaky", "contact_id": theirs.pk},
        {"kind": "call", "body": "No kind of call", "outcome": "shouted"},
    ])

    assert statuses(answer) == [201, 422, 422]
    assert answer.json()["items"][1]["errors"][0] == {
        "field": "contact_id", "code": "invalid", "message": "Choose an existing contact."}
    with scope(organization=org):
        assert Activity.objects.filter(body="Sneaky").count() == 0
        assert Activity.objects.filter(body="Met at the fair", contact=mine).count() == 1


def test_a_single_entry_cannot_be_logged_on_a_hidden_contact_either(
    org, seller_sees_own, api_client_for
):
    seller, _mine, theirs = seller_sees_own

    answer = api_client_for(seller).post("/api/v1/activities", {
        "kind": "note", "body": "Sneaky", "contact_id": theirs.pk},
        content_type="application/json")

    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "contact_id"
