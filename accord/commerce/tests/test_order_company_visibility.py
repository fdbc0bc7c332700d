"""An order or subscription of a contact the member sees, at a company hidden from them,
shows that company as one they cannot see, without its name or a link, on its page, in
the lists and the CSV; admins read the name."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.commerce import orders, subscriptions
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role

HIDDEN = "Hiddencanary Holdings"


@pytest.fixture
def ines(org, admin, make_member):
    """Milan's contact Ines works for the outsider's company; she has an order and a
    subscription; then sales members see only their own contacts and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        company = customers.create_company(org, outsider.user, data={"name": HIDDEN})
        contact = customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": company.pk})
        order = orders.create_order(org, milan.user, data={
            "number": "HC-32", "contact": contact.pk, "lines": [
                {"description": "Lamp", "quantity": "1", "unit_price": "999"}]})
        subscription = subscriptions.create_subscription(org, milan.user, data={
            "contact": contact.pk, "plan_name": "Monthly box", "mrr": "15",
            "currency": "EUR"})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, admin=admin, company=company, order=order,
                           subscription=subscription)


def pages(ines, client) -> dict[str, str]:
    urls = {"order": f"/orders/{ines.order.pk}/", "orders": "/orders/",
            "csv": "/orders/export.csv", "subscriptions": "/subscriptions/",
            "subscription": f"/subscriptions/{ines.subscription.pk}/"}
    return {name: client.get(url).content.decode() for name, url in urls.items()}


def test_orders_and_subscriptions_do_not_name_a_hidden_company(ines, client_for):
    seen = pages(ines, client_for(ines.milan))

    assert {name for name, text in seen.items() if HIDDEN in text} == set()
    assert {name for name, text in seen.items()
            if f'href="/companies/{ines.company.pk}/"' in text} == set()
    assert {name for name, text in seen.items() if "A company you cannot see" in text} == {
        "order", "orders", "csv", "subscriptions", "subscription"}
    assert "Ines Albrecht" in seen["order"]


def test_the_admin_still_reads_the_company_of_every_order(ines, client_for):
    seen = pages(ines, client_for(ines.admin))

    assert {name for name, text in seen.items() if HIDDEN not in text} == set()
    assert f'href="/companies/{ines.company.pk}/"' in seen["order"]
    assert {name for name, text in seen.items() if "A company you cannot see" in text} == set()
