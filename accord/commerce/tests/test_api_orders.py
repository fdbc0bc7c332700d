"""Orders, returns and subscriptions through `/api/v1/orders` and `/api/v1/subscriptions`."""

from django_scopes import scope

from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.commerce import orders as services_orders
from accord.commerce import services
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def customer(org, actor):
    with scope(organization=org):
        company = customers.create_company(org, actor, data={"name": "Harbour Gifts"})
        contact = customers.create_contact(org, actor, data={
            "first_name": "Ada", "last_name": "Byron", "company": company.pk})
        product = services.create_product(org, actor, data={
            "sku": "85123A", "name": "White hanging heart", "unit_price": "2.55",
            "currency": "GBP"})
    return company, contact, product


def test_an_order_is_created_with_lines_and_totals_rounded_per_line(org, admin,
                                                                   api_client_for):
    company, contact, product = customer(org, admin.user)
    client = api_client_for(admin)

    response = post(client, "/api/v1/orders", {
        "number": "536365", "contact": contact.pk, "channel": "web", "currency": "gbp",
        "placed_at": "2010-12-01T08:26:00Z",
        "lines": [
            {"product": product.pk, "quantity": "6", "unit_price": "2.55"},
            {"sku": "71053", "description": "White metal lantern", "quantity": "3",
             "unit_price": "3.335", "discount_percent": "10", "tax_percent": "20"},
        ]})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["number"], body["kind"], body["status"], body["contact_id"],
            body["company_id"], body["currency"]) == (
        "536365", "order", "placed", contact.pk, company.pk, "GBP")
    # 6 × 2.55 = 15.30; 3 × 3.335 = 10.005 is 10.01 before the discount and
    # 9.00 (9.0045) after 10 % off, with 1.80 tax on it.
    assert (body["subtotal"], body["discount_total"], body["tax_total"], body["total"]) == (
        "25.31", "1.01", "1.80", "26.10")
    assert [(line["product_id"], line["sku"], line["description"], line["quantity"],
             line["unit_price"], line["line_total"]) for line in body["lines"]] == [
        (product.pk, "85123A", "White hanging heart", "6", "2.55", "15.30"),
        (None, "71053", "White metal lantern", "3", "3.335", "9.00"),
    ]
    with scope(organization=org):
        event = DomainEvent.objects.get(entity="order")
        entry = Activity.objects.get(event="order.placed")
    assert (event.type, event.data["total"]) == ("order.created", "26.1000")
    assert (entry.contact_id, entry.company_id, entry.occurred_at.isoformat()) == (
        contact.pk, company.pk, "2010-12-01T08:26:00+00:00")

    listed = client.get("/api/v1/orders", {"contact_id": contact.pk,
                                           "placed_after": "2010-12-01T00:00:00Z"})
    assert [item["number"] for item in listed.json()["items"]] == ["536365"]
    assert client.get("/api/v1/orders", {"placed_before": "2010-11-30"}).json()["items"] == []
    assert client.get("/api/v1/orders", {"q": "byron"}).json()["items"][0]["id"] == body["id"]


def test_bad_input_names_each_field_and_money_is_never_a_float(org, admin, api_client_for):
    _company, contact, _product = customer(org, admin.user)
    client = api_client_for(admin)
    post(client, "/api/v1/orders", {"number": "1", "lines": [
        {"sku": "A", "quantity": "1", "unit_price": "1"}]})

    taken = post(client, "/api/v1/orders", {
        "number": "1", "kind": "return", "currency": "XX", "contact": 999999,
        "lines": [{"sku": "A", "quantity": "2", "unit_price": "-1"}]})
    floats = post(client, "/api/v1/orders", {"number": "2", "lines": [
        {"sku": "A", "quantity": "1", "unit_price": 1.5}]})

    assert taken.status_code == 422
    assert taken["Content-Type"] == "application/problem+json"
    assert {error["field"]: error["message"] for error in taken.json()["errors"]} == {
        "number": "Another order has this number.",
        "currency": "Use a three-letter ISO 4217 code such as EUR.",
        "contact": "No contact with this id.",
        "lines.0.quantity": "A return gives items back: use a negative quantity.",
        "lines.0.unit_price": "Must be at least 0.",
    }
    assert floats.status_code == 422
    assert "decimal string" in floats.content.decode()


def test_a_return_links_its_order_and_a_stale_patch_answers_409(org, admin, api_client_for):
    _company, contact, _product = customer(org, admin.user)
    client = api_client_for(admin)
    order = post(client, "/api/v1/orders", {"number": "536379", "contact": contact.pk,
                                            "lines": [{"sku": "D", "quantity": "2",
                                                       "unit_price": "27.50"}]}).json()

    credit = post(client, "/api/v1/orders", {
        "number": "C536379", "kind": "return", "original": order["id"],
        "contact": contact.pk, "lines": [{"sku": "D", "quantity": "-1",
                                          "unit_price": "27.50"}]})
    changed = patch(client, f"/api/v1/orders/{order['id']}", {
        "version": 1, "status": "paid",
        "lines": [{"sku": "D", "quantity": "3", "unit_price": "27.50"}]})
    stale = patch(client, f"/api/v1/orders/{order['id']}", {"version": 1, "status": "fulfilled"})

    assert credit.status_code == 201
    assert (credit.json()["status"], credit.json()["total"], credit.json()["original_id"]) == (
        "returned", "-27.50", order["id"])
    assert changed.status_code == 200
    assert (changed.json()["version"], changed.json()["status"], changed.json()["total"]) == (
        2, "paid", "82.50")
    assert stale.status_code == 409
    with scope(organization=org):
        entry = AuditEntry.objects.filter(entity="order", action="update").get()
    assert entry.changes["lines"] == [["2 × D @ 27.5"], ["3 × D @ 27.5"]]
    assert entry.changes["total"] == ["55.0000", "82.5000"]

    assert client.delete(f"/api/v1/orders/{order['id']}?version=1").status_code == 409
    assert client.delete(f"/api/v1/orders/{order['id']}").status_code == 204
    assert client.get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert client.get(f"/api/v1/orders/{credit.json()['id']}").json()["original_id"] is None


def test_subscriptions_are_started_cancelled_and_kept_apart_by_organization(
        org, other_org, admin, make_member, api_client_for):
    _company, contact, _product = customer(org, admin.user)
    client = api_client_for(admin)
    reader = api_client_for(make_member(org, Role.READ_ONLY))
    stranger = api_client_for(make_member(other_org, Role.ADMIN))

    started = post(client, "/api/v1/subscriptions", {
        "contact": contact.pk, "plan_name": "Gift box monthly", "mrr": "49.9",
        "currency": "GBP", "started_at": "2025-01-15", "renews_on": "2025-02-15"})
    sub_id = started.json()["id"]
    refused = post(reader, "/api/v1/subscriptions", {"contact": contact.pk,
                                                     "plan_name": "X", "mrr": "1"})
    cancelled = patch(client, f"/api/v1/subscriptions/{sub_id}", {
        "version": 1, "status": "cancelled", "cancel_reason": "Too expensive"})

    assert started.status_code == 201, started.content
    assert (started.json()["mrr"], started.json()["currency"], started.json()["status"]) == (
        "49.90", "GBP", "active")
    assert refused.status_code == 403
    assert cancelled.status_code == 200
    assert cancelled.json()["cancelled_at"] is not None
    assert cancelled.json()["cancel_reason"] == "Too expensive"
    with scope(organization=org):
        types = list(DomainEvent.objects.filter(entity="subscription").order_by("id")
                     .values_list("type", flat=True))
        events = list(Activity.objects.filter(contact=contact, event__startswith="subscription")
                      .order_by("id").values_list("event", flat=True))
    assert types == ["subscription.created", "subscription.updated", "subscription.cancelled"]
    assert events == ["subscription.started", "subscription.cancelled"]
    assert stranger.get(f"/api/v1/subscriptions/{sub_id}").status_code == 404
    assert stranger.get("/api/v1/subscriptions").json()["items"] == []
    assert reader.get("/api/v1/subscriptions", {"status": "cancelled"}).json()[
        "items"][0]["id"] == sub_id


def test_orders_follow_the_visibility_of_their_contact(org, admin, make_member,
                                                       api_client_for):
    seller = make_member(org, Role.SALES)
    with scope(organization=org):
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
        mine = customers.create_contact(org, seller.user, data={"first_name": "Mine"})
        hidden = customers.create_contact(org, admin.user, data={"first_name": "Hidden"})
        made = {}
        for number, contact in (("1", mine), ("2", hidden), ("3", None)):
            made[number] = services_orders.create_order(org, admin.user, data={
                "number": number, "contact": contact.pk if contact else None,
                "lines": [{"sku": "A", "quantity": "1", "unit_price": "1"}]})
    client = api_client_for(seller)

    listed = client.get("/api/v1/orders", {"ordering": "number"})

    assert [item["number"] for item in listed.json()["items"]] == ["1", "3"]
    assert client.get(f"/api/v1/orders/{made['2'].pk}").status_code == 404
    assert client.patch(f"/api/v1/orders/{made['2'].pk}", {"version": 1, "note": "x"},
                        content_type="application/json").status_code == 404
