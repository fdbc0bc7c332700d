"""Orders follow their contact's visibility when a return names the order it gives back:
an original order the member may not see is refused like a made-up id, and a return's
page does not link it as its original."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.commerce import orders
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role

LINES = [{"description": "Probe", "quantity": "-1", "unit_price": "10"}]
MADE_UP = 987654


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def shop(org, admin, make_member):
    """Aaron sees his own contacts; the secret order belongs to Olga's contact."""
    aaron = make_member(org, Role.SALES, full_name="Aaron Seller")
    olga = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        mine = customers.create_contact(org, aaron.user, data={
            "first_name": "Ada", "last_name": "Byron"})
        hidden = customers.create_contact(org, olga.user, data={
            "first_name": "Otto", "last_name": "Quasar"})
        own_order = orders.create_order(org, aaron.user, data={
            "number": "OWN-ORD-1", "contact": mine.pk, "lines": [
                {"description": "Lamp", "quantity": "1", "unit_price": "10"}]})
        secret = orders.create_order(org, olga.user, data={
            "number": "SECRET-ORD-1", "contact": hidden.pk, "lines": [
                {"description": "Lamp", "quantity": "1", "unit_price": "10"}]})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
    return SimpleNamespace(aaron=aaron, mine=mine, own_order=own_order, secret=secret)


def a_return(number, contact, original):
    return {"number": number, "kind": "return", "contact": contact.pk, "original": original,
            "lines": LINES}


def test_a_hidden_original_order_is_refused_like_a_made_up_one(shop, admin, api_client_for):
    client = api_client_for(shop.aaron)

    hidden = post(client, "/api/v1/orders", a_return("RET-48", shop.mine, shop.secret.pk))
    made_up = post(client, "/api/v1/orders", a_return("RET-49", shop.mine, MADE_UP))
    own = post(client, "/api/v1/orders", a_return("RET-50", shop.mine, shop.own_order.pk))
    changed = patch(client, f"/api/v1/orders/{own.json()['id']}",
                    {"original": shop.secret.pk})
    changed_made_up = patch(client, f"/api/v1/orders/{own.json()['id']}",
                            {"original": MADE_UP})
    by_admin = post(api_client_for(admin), "/api/v1/orders",
                    a_return("RET-51", shop.mine, shop.secret.pk))

    assert (hidden.status_code, hidden.json()) == (made_up.status_code, made_up.json())
    assert hidden.status_code == 422
    assert [(error["field"], error["message"]) for error in hidden.json()["errors"]] == [
        ("original", "No order with this id.")]
    assert own.status_code == 201
    assert (changed.status_code, changed.json()) == (
        changed_made_up.status_code, changed_made_up.json())
    assert changed.status_code == 422
    assert by_admin.status_code == 201
    assert by_admin.json()["original_id"] == shop.secret.pk


def test_a_return_page_does_not_name_a_hidden_original(shop, org, admin, client_for,
                                                       api_client_for):
    created = post(api_client_for(admin), "/api/v1/orders",
                   a_return("RET-52", shop.mine, shop.secret.pk)).json()

    members_page = client_for(shop.aaron).get(f"/orders/{created['id']}/")
    admins_page = client_for(admin).get(f"/orders/{created['id']}/")

    assert members_page.status_code == 200
    assert "RET-52" in members_page.content.decode()
    assert "<dt>Original order</dt>" not in members_page.content.decode()
    assert f'href="/orders/{shop.secret.pk}/"' not in members_page.content.decode()
    assert "<dt>Original order</dt>" in admins_page.content.decode()
    assert f'href="/orders/{shop.secret.pk}/">SECRET-ORD-1</a>' in admins_page.content.decode()
