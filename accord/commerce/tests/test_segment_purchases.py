"""Purchase conditions of segments, counted through the segment preview API."""

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.commerce import orders
from accord.customers import services as customers


def buy(org, actor, contact, number, *, days_ago, sku="A1", price="40", quantity="1",
        currency="USD", **extra):
    orders.create_order(org, actor, data={
        "number": number, "contact": contact.pk, "currency": currency,
        "placed_at": (timezone.now() - dt.timedelta(days=days_ago)).isoformat(),
        "lines": [{"sku": sku, "description": sku, "quantity": quantity,
                   "unit_price": price}], **extra})


@pytest.fixture
def shoppers(org, admin):
    """Ada lapsed after buying A1 twice and returning one; Ben buys often and lately;
    Cy's only order was cancelled; Di bought in pounds; Eve never bought."""
    user = admin.user
    with scope(organization=org):
        people = {name: customers.create_contact(org, user, data={"first_name": name})
                  for name in ("Ada", "Ben", "Cy", "Di", "Eve")}
        buy(org, user, people["Ada"], "1001", days_ago=200, quantity="2", price="60")
        buy(org, user, people["Ada"], "R1001", days_ago=190, quantity="-1", price="60",
            kind="return")
        for number, days in (("2001", 40), ("2002", 10), ("2003", 2)):
            buy(org, user, people["Ben"], number, days_ago=days, sku="B7")
        buy(org, user, people["Cy"], "3001", days_ago=5, status="cancelled")
        buy(org, user, people["Di"], "4001", days_ago=20, sku="D1", price="500",
            currency="GBP")
    return people


def preview(client, condition) -> dict:
    response = client.post("/api/v1/segments/preview", {"conditions": {"all": [condition]}},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(("condition", "count", "summary"), [
    ({"kind": "purchase", "op": "in_last_days", "value": 30}, 2,
     "Bought something in the last 30 days"),
    ({"kind": "purchase", "op": "lapsed_days", "value": 90}, 1,
     "Bought before, but nothing in the last 90 days"),
    ({"kind": "purchase", "op": "never"}, 2, "Has never bought anything"),
    ({"kind": "product_purchase", "op": "bought", "value": "a1"}, 1, "Bought “a1”"),
    ({"kind": "spend", "op": "gte", "value": "100"}, 1, "Spent at least 100"),
    ({"kind": "spend", "op": "lt", "value": "61"}, 4, "Spent less than 61"),
    ({"kind": "order_count", "op": "gte", "value": "2"}, 1, "Placed at least 2 orders"),
])
def test_purchase_conditions_count_the_right_customers(shoppers, admin, api_client_for,
                                                       condition, count, summary):
    answer = preview(api_client_for(admin), condition)

    assert answer == {"count": count, "summary": summary}


def test_a_bad_purchase_condition_names_its_place(shoppers, admin, api_client_for):
    response = api_client_for(admin).post("/api/v1/segments/preview", {"conditions": {
        "all": [{"kind": "spend", "op": "gte", "value": "lots"}]}},
        content_type="application/json")

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["all[0].value"]
