"""Deals through `/api/v1/deals`: the collection contract, stage moves and line items."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.core.models import DomainEvent
from accord.customers.services import create_company, create_contact
from accord.identity.models import Membership, Role
from accord.sales import services
from accord.sales.models import Deal, StageChange


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def put(client, url, body):
    return client.put(url, body, content_type="application/json")


@pytest.fixture
def pipeline(org, admin):
    with scope(organization=org):
        return services.create_pipeline(org, admin.user, name="New business")


@pytest.fixture
def customer(org, admin):
    with scope(organization=org):
        company = create_company(org, admin.user, data={"name": "Wisła Components"})
        contact = create_contact(org, admin.user, data={"first_name": "Ada",
                                                        "last_name": "Lovelace"})
    return company, contact


def stage_id(org, pipeline, name):
    with scope(organization=org):
        return pipeline.stages.get(name=name).pk


def make_deal(org, actor, **data):
    with scope(organization=org):
        return services.create_deal(org, actor, data={"name": "Forty laptops", **data})


def event_types(org, deal_id):
    with scope(organization=org):
        return list(DomainEvent.objects.filter(entity="deal", object_id=deal_id)
                    .order_by("id").values_list("type", flat=True))


def test_create_deal_answers_contacts_line_items_totals_and_history(
    org, admin, pipeline, customer, api_client_for
):
    company, contact = customer

    response = post(api_client_for(admin), "/api/v1/deals", {
        "name": "Forty laptops", "company_id": company.pk, "currency": "eur",
        "expected_close_date": "2026-03-31", "forecast_category": "best_case",
        "contacts": [{"contact_id": contact.pk, "role": "Decision maker"}],
        "line_items": [
            {"name": "Laptop", "quantity": "40", "unit_price": "999.99",
             "discount_percent": "10", "tax_percent": "19"},
            {"name": "Set-up", "unit_price": "250"},
        ],
    })

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["status"], body["currency"], body["owner_id"]) == (
        "Forty laptops", "open", "EUR", admin.user_id)
    assert (body["amount"], body["amount_from_line_items"]) == ("43089.57", True)
    assert body["stage_id"] == stage_id(org, pipeline, "Qualification")
    assert body["contacts"] == [
        {"contact_id": contact.pk, "name": "Ada Lovelace", "role": "Decision maker"}]
    assert [(i["name"], i["quantity"], i["unit_price"], i["net"], i["tax"])
            for i in body["line_items"]] == [
        ("Laptop", "40", "999.99", "35999.64", "6839.93"), ("Set-up", "1", "250.00",
                                                             "250.00", "0.00")]
    assert body["totals"] == {"net": "36249.64", "tax": "6839.93", "total": "43089.57",
                              "currency": "EUR"}
    assert body["stage_history"]["moves"] == 0
    assert [s["name"] for s in body["stage_history"]["seconds_by_stage"]] == ["Qualification"]
    assert event_types(org, body["id"]) == ["deal.created"]
    with scope(organization=org):
        assert AuditEntry.objects.filter(entity="deal", object_id=body["id"],
                                         action="create").count() == 1


def test_amount_sent_as_a_number_answers_422(admin, pipeline, api_client_for):
    response = post(api_client_for(admin), "/api/v1/deals", {"name": "Desks", "amount": 12.5})

    assert response.status_code == 422
    assert [(e["field"], e["message"]) for e in response.json()["errors"]] == [
        ("amount", 'Send the number as a decimal string, such as "1250.00".')]


def test_fields_the_server_keeps_are_never_taken_from_a_body(
    org, admin, other_org, pipeline, api_client_for
):
    client = api_client_for(admin)
    deal = make_deal(org, admin.user)

    created = post(client, "/api/v1/deals", {
        "name": "Sneaky", "organization_id": other_org.pk, "id": 999, "status": "won",
        "version": 7, "created_by": admin.user_id, "created_at": "2020-01-01T00:00:00Z",
    })
    changed = patch(client, f"/api/v1/deals/{deal.pk}", {
        "version": 1, "status": "won", "organization_id": other_org.pk,
        "stage_entered_at": "2020-01-01T00:00:00Z", "closed_on": "2020-01-01",
    })

    assert created.status_code == 422
    assert sorted(e["field"] for e in created.json()["errors"]) == [
        "created_at", "created_by", "id", "organization_id", "status", "version"]
    assert {e["message"] for e in created.json()["errors"]} == {
        "This field is not accepted here."}
    assert changed.status_code == 422
    assert sorted(e["field"] for e in changed.json()["errors"]) == [
        "closed_on", "organization_id", "stage_entered_at", "status"]
    with scope(organization=org):
        assert list(Deal.objects.values_list("name", "status", "version")) == [
            ("Forty laptops", "open", 1)]


def test_list_filters_and_orders_deals(org, admin, pipeline, customer, api_client_for):
    company, contact = customer
    proposal = stage_id(org, pipeline, "Proposal")
    make_deal(org, admin.user, name="Laptops", amount="500", expected_close_date="2026-02-01")
    make_deal(org, admin.user, name="Desks", amount="1500", company=company.pk,
              expected_close_date="2026-03-01", stage=proposal)
    make_deal(org, admin.user, name="Chairs", amount="900", expected_close_date="2026-04-01",
              contacts=[{"contact": contact.pk}], stage=proposal)
    client = api_client_for(admin)

    def names(**params):
        response = client.get("/api/v1/deals", params)
        assert response.status_code == 200, response.json()
        return [deal["name"] for deal in response.json()["items"]]

    assert names() == ["Chairs", "Desks", "Laptops"]
    assert names(ordering="amount") == ["Laptops", "Chairs", "Desks"]
    assert names(ordering="-expected_close_date") == ["Chairs", "Desks", "Laptops"]
    assert names(ordering="name") == ["Chairs", "Desks", "Laptops"]
    assert names(stage_id=proposal, ordering="name") == ["Chairs", "Desks"]
    assert names(company_id=company.pk) == ["Desks"]
    assert names(contact_id=contact.pk) == ["Chairs"]
    assert names(pipeline_id=pipeline.pk, owner_id=admin.user_id, status="open",
                 ordering="id") == ["Laptops", "Desks", "Chairs"]
    assert names(expected_close_from="2026-02-15", expected_close_to="2026-03-15") == ["Desks"]
    assert names(q="wisla") == ["Desks"]
    assert names(q="lapt") == ["Laptops"]


def test_list_pages_by_cursor_and_refuses_unknown_orderings(
    org, admin, pipeline, api_client_for
):
    for number in range(3):
        make_deal(org, admin.user, name=f"Deal {number}", amount=str(100 * number))
    client = api_client_for(admin)

    first = client.get("/api/v1/deals", {"limit": 2, "ordering": "-amount"}).json()
    second = client.get("/api/v1/deals", {"limit": 2, "ordering": "-amount",
                                          "cursor": first["next"]}).json()
    refused = client.get("/api/v1/deals", {"ordering": "owner"})

    assert [d["amount"] for d in first["items"] + second["items"]] == [
        "200.00", "100.00", "0.00"]
    assert second["next"] is None
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "ordering"
    unknown = client.get("/api/v1/deals", {"cf.margin": "4242", "stage": "1"})
    assert unknown.status_code == 422
    assert [(error["field"], error["message"]) for error in unknown.json()["errors"]] == [
        ("cf.margin", "There is no filter with this name."),
        ("stage", "There is no filter with this name.")]
    tickets = client.get("/api/v1/tickets", {"cf.vip": "1"})
    assert tickets.status_code == 422


def test_patch_changes_fields_and_a_stale_version_answers_409(
    org, admin, pipeline, api_client_for
):
    deal = make_deal(org, admin.user, amount="100")
    client = api_client_for(admin)
    url = f"/api/v1/deals/{deal.pk}"

    changed = patch(client, url, {"version": 1, "name": "Forty-two laptops",
                                  "amount": "4200.50", "next_step": "Send the quote"})
    stale = patch(client, url, {"version": 1, "name": "Forty laptops"})

    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["amount"], changed.json()["version"]) == (
        "Forty-two laptops", "4200.50", 2)
    assert stale.status_code == 409
    assert stale["Content-Type"] == "application/problem+json"
    assert stale.json()["current_version"] == 2
    assert event_types(org, deal.pk) == ["deal.created", "deal.updated"]


def test_moving_a_deal_records_history_like_the_board(org, admin, pipeline, customer,
                                                      api_client_for):
    company, _ = customer
    deal = make_deal(org, admin.user, amount="900", company=company.pk)
    with scope(organization=org):
        Deal.objects.filter(pk=deal.pk).update(
            stage_entered_at=timezone.now() - dt.timedelta(days=2))
    client = api_client_for(admin)
    url = f"/api/v1/deals/{deal.pk}/stage"

    moved = post(client, url, {"stage_id": stage_id(org, pipeline, "Proposal"), "version": 1})
    stale = post(client, url, {"stage_id": stage_id(org, pipeline, "Meeting"), "version": 1})
    won = post(client, url, {"stage_id": stage_id(org, pipeline, "Won")})
    history = client.get(f"/api/v1/deals/{deal.pk}/history").json()

    assert moved.status_code == 200
    assert moved.json()["stage_history"]["moves"] == 1
    assert stale.status_code == 409
    assert (won.json()["status"], won.json()["closed_on"]) == (
        "won", timezone.localdate().isoformat())
    assert [(h["from_stage_name"], h["to_stage_name"]) for h in history["items"]] == [
        ("", "Qualification"), ("Qualification", "Proposal"), ("Proposal", "Won")]
    assert 2 * 86400 <= history["items"][1]["seconds_in_from_stage"] < 2 * 86400 + 60
    assert history["items"][0]["seconds_in_to_stage"] == (
        history["items"][1]["seconds_in_from_stage"])
    assert history["items"][1]["amount"] == "900.00"
    assert event_types(org, deal.pk) == [
        "deal.created", "deal.stage_changed", "deal.stage_changed", "deal.won"]


def test_losing_a_deal_needs_a_reason(org, admin, pipeline, api_client_for):
    deal = make_deal(org, admin.user)
    client = api_client_for(admin)
    url = f"/api/v1/deals/{deal.pk}/stage"
    lost = stage_id(org, pipeline, "Lost")

    refused = post(client, url, {"stage_id": lost})
    accepted = post(client, url, {"stage_id": lost, "reason": "Went with a competitor"})

    assert refused.status_code == 422
    assert refused.json()["detail"] == "The deal cannot move to this stage yet."
    assert [(e["field"], e["message"]) for e in refused.json()["errors"]] == [
        ("reason", "Say why the deal was lost.")]
    assert (accepted.json()["status"], accepted.json()["close_reason"]) == (
        "lost", "Went with a competitor")
    assert event_types(org, deal.pk)[-2:] == ["deal.stage_changed", "deal.lost"]
    with scope(organization=org):
        assert StageChange.objects.filter(deal=deal).last().reason == "Went with a competitor"


def test_put_line_items_replaces_them_and_checks_the_version(
    org, admin, pipeline, api_client_for
):
    deal = make_deal(org, admin.user, line_items=[{"name": "Laptop", "unit_price": "1000"}])
    client = api_client_for(admin)
    url = f"/api/v1/deals/{deal.pk}/line-items"

    replaced = put(client, url, {"version": 1, "items": [
        {"name": "Desk", "quantity": "2", "unit_price": "300.50"}]})
    stale = put(client, url, {"version": 1, "items": []})
    invalid = put(client, url, {"items": [{"name": "", "quantity": "0", "unit_price": "x"}]})

    assert replaced.status_code == 200
    assert [i["name"] for i in replaced.json()["line_items"]] == ["Desk"]
    assert (replaced.json()["amount"], replaced.json()["version"]) == ("601.00", 2)
    assert stale.status_code == 409
    assert invalid.status_code == 422
    assert sorted(e["field"] for e in invalid.json()["errors"]) == [
        "line_items.0.name", "line_items.0.quantity", "line_items.0.unit_price"]
    assert event_types(org, deal.pk) == ["deal.created", "deal.updated"]
    with scope(organization=org):
        event = DomainEvent.objects.get(type="deal.updated")
    assert (event.data["amount"], event.data["changed"]) == ("601.00", ["amount",
                                                                          "line_items"])


def test_contacts_are_added_with_a_role_and_removed(org, admin, pipeline, customer,
                                                   api_client_for):
    _, contact = customer
    deal = make_deal(org, admin.user)
    client = api_client_for(admin)

    added = post(client, f"/api/v1/deals/{deal.pk}/contacts",
                 {"contact_id": contact.pk, "role": "Champion"})
    removed = client.delete(f"/api/v1/deals/{deal.pk}/contacts/{contact.pk}")

    assert added.status_code == 201
    assert added.json()["contacts"] == [
        {"contact_id": contact.pk, "name": "Ada Lovelace", "role": "Champion"}]
    assert removed.status_code == 204
    assert client.get(f"/api/v1/deals/{deal.pk}").json()["contacts"] == []
    assert event_types(org, deal.pk) == ["deal.created", "deal.updated", "deal.updated"]
    with scope(organization=org):
        assert AuditEntry.objects.filter(entity="deal", object_id=deal.pk,
                                         action="update").count() == 2


def test_delete_moves_the_deal_to_the_trash(org, admin, pipeline, api_client_for):
    deal = make_deal(org, admin.user)
    client = api_client_for(admin)

    stale = client.delete(f"/api/v1/deals/{deal.pk}?version=3")
    deleted = client.delete(f"/api/v1/deals/{deal.pk}?version=1")

    assert (stale.status_code, deleted.status_code) == (409, 204)
    assert client.get(f"/api/v1/deals/{deal.pk}").status_code == 404
    assert client.get("/api/v1/deals").json()["items"] == []
    assert event_types(org, deal.pk)[-1] == "deal.deleted"
    with scope(organization=org):
        assert Deal.with_deleted.get(pk=deal.pk).deleted_at is not None


def test_read_only_members_list_deals_but_change_nothing(
    org, admin, pipeline, make_member, api_client_for
):
    deal = make_deal(org, admin.user)
    client = api_client_for(make_member(org, Role.READ_ONLY))

    answers = [
        client.get("/api/v1/deals"), post(client, "/api/v1/deals", {"name": "Mine"}),
        patch(client, f"/api/v1/deals/{deal.pk}", {"version": 1, "name": "Mine"}),
        client.delete(f"/api/v1/deals/{deal.pk}"),
    ]

    assert [answer.status_code for answer in answers] == [200, 403, 403, 403]


def test_another_organizations_records_answer_404_on_every_route(
    org, admin, pipeline, other_org, make_member, api_client_for
):
    stranger = make_member(other_org, Role.ADMIN)
    with scope(organization=other_org):
        their_pipeline = services.create_pipeline(other_org, stranger.user, name="Theirs")
        their_stage = their_pipeline.stages.get(name="Meeting")
        theirs = services.create_deal(other_org, stranger.user, data={"name": "Theirs"})
        their_contact = create_contact(other_org, stranger.user, data={"first_name": "Eve"})
    mine = make_deal(org, admin.user)
    client = api_client_for(admin)
    url = f"/api/v1/deals/{theirs.pk}"

    answers = [
        client.get(url), patch(client, url, {"version": 1, "name": "x"}), client.delete(url),
        post(client, url + "/stage", {"stage_id": stage_id(org, pipeline, "Meeting")}),
        client.get(url + "/history"), put(client, url + "/line-items", {"items": []}),
        post(client, url + "/contacts", {"contact_id": their_contact.pk}),
        client.delete(url + f"/contacts/{their_contact.pk}"),
        post(client, f"/api/v1/deals/{mine.pk}/stage", {"stage_id": their_stage.pk}),
        post(client, f"/api/v1/deals/{mine.pk}/contacts", {"contact_id": their_contact.pk}),
    ]

    assert [answer.status_code for answer in answers] == [404] * 10
    assert client.get("/api/v1/deals", {"pipeline_id": their_pipeline.pk}).json() == {
        "items": [], "next": None}


def test_openapi_document_describes_the_sales_and_catalogue_routes(db, client):
    document = client.get("/api/v1/openapi.json").json()

    for route, methods in {
        "/api/v1/pipelines": {"get", "post"},
        "/api/v1/pipelines/{pipeline_id}/stages/{stage_id}": {"patch", "delete"},
        "/api/v1/pipelines/{pipeline_id}/stages/order": {"put"},
        "/api/v1/deals/{deal_id}": {"get", "patch", "delete"},
        "/api/v1/deals/{deal_id}/stage": {"post"},
        "/api/v1/deals/{deal_id}/line-items": {"put"},
        "/api/v1/deals/{deal_id}/contacts/{contact_id}": {"delete"},
        "/api/v1/products/{product_id}": {"get", "patch", "delete"},
        "/api/v1/exchange-rates": {"get", "put"},
        "/api/v1/quotas": {"get", "put"},
    }.items():
        assert set(document["paths"][route]) == methods, route


def test_deals_are_created_and_changed_in_bulk_each_with_its_result(
    org, admin, other_org, pipeline, customer, make_member, api_client_for
):
    company, contact = customer
    existing = make_deal(org, admin.user, name="Renewal", amount="100")
    outsider = Membership.unscoped.get(organization=other_org, role=Role.ADMIN).user
    with scope(organization=other_org):
        services.create_pipeline(other_org, outsider, name="Theirs")
        theirs = services.create_deal(other_org, outsider, data={"name": "Theirs"})

    answer = post(api_client_for(admin), "/api/v1/deals/bulk", {"items": [
        {"name": "Forty laptops", "company_id": company.pk,
         "contacts": [{"contact_id": contact.pk}],
         "line_items": [{"name": "Laptop", "quantity": "40", "unit_price": "999.99"}]},
        {"name": "No amount", "amount": 12.5},
        {"id": existing.pk, "version": existing.version, "name": "Renewal 2027"},
        {"id": existing.pk, "version": 1, "name": "Stale"},
        {"id": theirs.pk, "version": 1, "name": "Spy"},
    ]})
    reader = post(api_client_for(make_member(org, Role.READ_ONLY, email="r@example.com")),
                  "/api/v1/deals/bulk", {"items": [{"name": "Mine"}]})

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["created"], body["changed"], body["failed"]) == (1, 1, 3)
    assert [item["status"] for item in body["items"]] == [201, 422, 200, 409, 404]
    assert body["items"][1]["errors"][0]["field"] == "amount"
    with scope(organization=org):
        made = Deal.objects.get(pk=body["items"][0]["id"])
        assert (made.amount, made.company_id) == (Decimal("39999.60"), company.pk)
        assert made.contacts.get().pk == contact.pk
        existing.refresh_from_db()
        assert existing.name == "Renewal 2027"
    assert reader.status_code == 403
