"""The orders pages as people use them: the form with its lines, the order, the boxes
beside a customer and a ticket, the list with its filters and export."""

import datetime as dt
from decimal import Decimal

from django_scopes import scope

from accord.commerce import orders, subscriptions
from accord.commerce.models import Order
from accord.customers import services as customers
from accord.identity.models import Role
from accord.sales import services as sales
from accord.service import services as service

FORM = {"lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000"}


def test_an_order_entered_in_the_form_shows_beside_its_customer_and_their_ticket(
        org, admin, make_member, client_for):
    agent = make_member(org, Role.SUPPORT)
    with scope(organization=org):
        org.base_currency = "EUR"
        org.save(update_fields=["base_currency"])
        company = customers.create_company(org, admin.user, data={"name": "Harbour Gifts"})
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Byron", "company": company.pk})
        sales.set_exchange_rate(org, admin.user, currency="GBP", valid_on=dt.date(2025, 1, 1),
                                rate=Decimal("1.2"))
        orders.create_order(org, admin.user, data={
            "number": "A-1", "contact": contact.pk, "currency": "GBP",
            "placed_at": dt.datetime(2025, 2, 1, 9, tzinfo=dt.UTC),
            "lines": [{"sku": "X", "quantity": "2", "unit_price": "10"}]})
        subscriptions.create_subscription(org, admin.user, data={
            "contact": contact.pk, "plan_name": "Monthly box", "mrr": "15", "currency": "EUR"})
        ticket = service.create_ticket(org, admin.user, data={
            "subject": "Where is my parcel?", "contact": contact.pk})
    client = client_for(admin)
    form = {**FORM, "number": "B-7", "kind": "order", "status": "paid", "channel": "phone",
            "currency": "EUR", "contact": str(contact.pk), "placed_at": "2025-03-04T10:30",
            "lines-0-sku": "MUG", "lines-0-description": "Mug", "lines-0-quantity": "3",
            "lines-0-unit_price": "4.50", "lines-0-tax_percent": "21",
            "lines-1-description": "Gift wrap", "lines-1-quantity": "1",
            "lines-1-unit_price": "-1"}

    refused = client.post("/orders/new/", form)
    form["lines-1-unit_price"] = "0"
    saved = client.post("/orders/new/", form)

    assert refused.status_code == 422
    assert "Must be at least 0." in refused.content.decode()
    assert 'id="id_lines-1-unit_price_error"' in refused.content.decode()
    assert saved.status_code == 302
    with scope(organization=org):
        order = Order.objects.get(number="B-7")
        assert (order.company_id, str(order.total), order.lines.count()) == (
            company.pk, "16.3400", 2)
    assert saved["Location"] == f"/orders/{order.pk}/"
    page = client.get(saved["Location"]).content.decode()
    assert 'id="totals-total">16.34 EUR' in page
    assert "Gift wrap" in page
    contact_page = client.get(f"/contacts/{contact.pk}/").content.decode()
    # 20 GBP at 1.2 plus 16.34 EUR; one live subscription of 15 EUR a month.
    assert "<dt>Orders</dt><dd>2</dd>" in contact_page
    assert "40.34 EUR" in contact_page
    assert "15.00 EUR</span> MRR" in contact_page
    assert "Order B-7 placed: 16.34 EUR" in contact_page
    assert "Subscription started: Monthly box, 15.00 EUR a month" in contact_page
    assert "40.34 EUR" in client.get(f"/companies/{company.pk}/").content.decode()
    ticket_page = client_for(agent).get(f"/tickets/{ticket.number}/").content.decode()
    assert f'href="/orders/{order.pk}/">B-7</a>' in ticket_page


def test_the_list_filters_and_exports_for_roles_that_may(org, admin, make_member, client_for):
    support = make_member(org, Role.SUPPORT)
    with scope(organization=org):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Byron"})
        for number, status, day in (("100", "placed", 1), ("101", "paid", 2),
                                    ("=cmd", "paid", 3)):
            orders.create_order(org, admin.user, data={
                "number": number, "status": status, "contact": contact.pk,
                "placed_at": dt.datetime(2025, 3, day, 12, tzinfo=dt.UTC),
                "lines": [{"sku": "X", "quantity": "1", "unit_price": "5"}]})
    client = client_for(admin)

    paid = client.get("/orders/", {"status": "paid", "placed_before": "2025-03-02"})
    bad = client.get("/orders/", {"status": "lost"})
    export = client.get("/orders/export.csv", {"q": "byron"})

    assert paid.status_code == 200
    assert [order.number for order in paid.context["orders"]] == ["101"]
    assert bad.status_code == 422
    assert "Choose from: placed, paid, fulfilled, cancelled, returned." in bad.content.decode()
    rows = export.content.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("number,kind,status,channel,placed_at,contact")
    assert [row.split(",")[0] for row in rows[1:]] == ["'=cmd", "101", "100"]
    assert client_for(support).get("/orders/export.csv").status_code == 403
    assert client_for(support).get("/orders/").status_code == 200


def test_an_edit_based_on_an_old_version_is_refused_with_409(org, admin, client_for):
    with scope(organization=org):
        order = orders.create_order(org, admin.user, data={
            "number": "5", "lines": [{"sku": "X", "quantity": "1", "unit_price": "5"}]})
        orders.update_order(org, admin.user, order, data={"status": "paid"})
    form = {**FORM, "lines-TOTAL_FORMS": "1", "version": "1", "number": "5", "kind": "order",
            "status": "fulfilled", "channel": "web", "currency": "USD",
            "lines-0-sku": "X", "lines-0-quantity": "1", "lines-0-unit_price": "5"}

    response = client_for(admin).post(f"/orders/{order.pk}/edit/", form)

    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()


def test_a_subscription_is_started_and_cancelled_in_its_form(org, admin, make_member,
                                                             client_for):
    reader = make_member(org, Role.READ_ONLY)
    with scope(organization=org):
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Byron"})
    client = client_for(admin)
    form = {"plan_name": "Monthly box", "status": "active", "mrr": "15", "currency": "EUR",
            "contact": str(contact.pk), "started_at": "2025-01-10", "renews_on": "2025-01-01"}

    early = client.post("/subscriptions/new/", form)
    form["renews_on"] = "2025-02-10"
    started = client.post("/subscriptions/new/", form)
    url = started["Location"]
    cancelled = client.post(url, {**form, "version": "1", "status": "cancelled",
                                  "cancel_reason": "Moved abroad"})

    assert early.status_code == 422
    assert 'id="id_renews_on_error">The renewal date cannot be before the start.' in (
        early.content.decode())
    assert started.status_code == 302
    assert cancelled.status_code == 302
    page = client_for(reader).get(url).content.decode()
    assert "Moved abroad" in page
    assert "Cancelled" in page
    assert client_for(reader).post(url, form).status_code == 403
    listed = client.get("/subscriptions/", {"status": "cancelled"})
    assert [item.plan_name for item in listed.context["subscriptions"]] == ["Monthly box"]
