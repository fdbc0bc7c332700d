"""The order and subscription lists, on their pages and in the API, match a company's name
in `q`, or its id in `company_id`, only when the reader sees that company: a hidden one
answers like a company that does not exist; admins still find every row by it."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.commerce import orders, subscriptions
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role

MADE_UP = 987654


@pytest.fixture
def world(org, admin, make_member):
    """Milan's contact Ines works for the outsider's company; she has an order and a
    subscription; then sales members see only their own contacts and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        company = customers.create_company(org, outsider.user, data={
            "name": "Zyzzogeton Hidden Holdings"})
        contact = customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": company.pk})
        orders.create_order(org, milan.user, data={
            "number": "ORD-OWN-8888", "contact": contact.pk, "lines": [
                {"description": "Lamp", "quantity": "1", "unit_price": "9"}]})
        subscriptions.create_subscription(org, milan.user, data={
            "contact": contact.pk, "plan_name": "Monthly box", "mrr": "15",
            "currency": "EUR"})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, company=company)


def found(client, api_client, query: str) -> dict[str, bool]:
    """Whether each list shows the order or the subscription for `query`."""
    pages = {"orders": client.get(f"/orders/?{query}").content.decode(),
             "subscriptions": client.get(f"/subscriptions/?{query}").content.decode()}
    api = {name: api_client.get(f"/api/v1/{name}?{query}").json()["items"]
           for name in ("orders", "subscriptions")}
    return {"orders page": "ORD-OWN-8888" in pages["orders"],
            "subscriptions page": "Monthly box" in pages["subscriptions"],
            "orders api": bool(api["orders"]), "subscriptions api": bool(api["subscriptions"])}


@pytest.mark.parametrize("query", ["q=Zyz", "q=Hidden", "company_id={hidden}",
                                   f"company_id={MADE_UP}", "q=Zya"])
def test_a_hidden_company_in_a_list_query_matches_nothing(world, admin, client_for,
                                                         api_client_for, query):
    query = query.format(hidden=world.company.pk)

    seen = found(client_for(world.milan), api_client_for(world.milan), query)

    assert set(seen.values()) == {False}


@pytest.mark.parametrize("query", ["q=Zyz", "q=Hidden", "company_id={hidden}", "q=Ines"])
def test_the_admin_and_the_customers_name_still_find_the_rows(world, admin, client_for,
                                                             api_client_for, query):
    query = query.format(hidden=world.company.pk)
    member = found(client_for(world.milan), api_client_for(world.milan), "q=Ines")

    seen = found(client_for(admin), api_client_for(admin), query)

    assert set(seen.values()) == set(member.values()) == {True}
