"""Deals, products and orders leave Accord: on their own, and in an organisation export that
imports back into an empty organisation."""

import csv
import datetime as dt
import io
import json
import zipfile

import openpyxl
import pytest
from django.core.management import call_command
from django.db.models import Value
from django.db.models.functions import Concat

from accord.commerce import orders as commerce_orders
from accord.commerce import services as commerce
from accord.commerce.models import Order, Product
from accord.core.demo.sales import STAGES
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.identity.models import Role
from accord.identity.visibility import update_visibility
from accord.integrations.models import ExternalId
from accord.integrations.tasks import run_export
from accord.sales import services as sales
from accord.sales.models import Deal, StageChange

API = "/api/v1/exports"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def arrange(org, actor, seller):
    """A deal custom field, a company and two contacts, two products (one retired),
    three deals (open, won, lost) and an order of two lines and a return."""
    customers.create_custom_field(org, actor, data={
        "entity": "deal", "key": "region_code", "label": "Region code", "field_type": "text"})
    sales.create_pipeline(org, actor, name="New business", stages=STAGES)
    hollow = customers.create_company(org, actor, data={"name": "Hollow Oak Ltd",
                                                        "domain": "hollow.example"})
    dana = customers.create_contact(org, actor, data={
        "first_name": "Dana", "last_name": "Kirsch", "email": "dana@hollow.example",
        "company": hollow.pk})
    jonas = customers.create_contact(org, actor, data={
        "first_name": "Jonas", "last_name": "Berg", "email": "jonas@brightwater.example"})
    pump = commerce.create_product(org, actor, data={
        "sku": "PUMP-1", "name": "Pump", "unit_price": "1250.00", "currency": "EUR",
        "category": "Pumps", "description": "=HYPERLINK(\"x\")"})
    valve = commerce.create_product(org, actor, data={
        "sku": "VALVE-2", "name": "Valve", "unit_price": "80.50", "currency": "EUR"})
    commerce.update_product(org, actor, valve, data={"is_active": False})
    stages = {stage.name: stage for stage in sales.default_pipeline().stages.all()}
    open_deal = sales.create_deal(org, actor, data={
        "name": "=Pumps for Hollow Oak", "company": hollow.pk, "amount": "5000",
        "currency": "EUR", "expected_close_date": "2026-09-30", "owner": seller.pk,
        "stage": stages["Engaging"].pk, "source": "Trade fair",
        "contacts": [{"contact": dana.pk}], "custom_fields": {"region_code": "N-7"}})
    won = sales.create_deal(org, actor, data={
        "name": "Valves for Jonas", "amount": "1200", "currency": "EUR", "owner": seller.pk,
        "contacts": [{"contact": jonas.pk}], "line_items": [{"product": pump.pk, "quantity": 1}],
        "custom_fields": {"region_code": "S-1"}})
    sales.move_deal_to_stage(org, actor, won, stages["Won"], closed_on="2026-03-10")
    lost = sales.create_deal(org, actor, data={
        "name": "Service contract", "company": hollow.pk, "amount": "300", "currency": "EUR",
        "owner": seller.pk})
    sales.move_deal_to_stage(org, actor, lost, stages["Lost"], reason="Too expensive",
                             closed_on="2026-03-12")
    commerce_orders.create_order(org, actor, data={
        "number": "A-1001", "contact": dana.pk, "placed_at": "2026-02-01T09:30:00Z",
        "currency": "EUR", "channel": "phone", "status": "paid",
        "lines": [{"product": pump.pk, "quantity": "2", "unit_price": "1250.00",
                   "discount_percent": "10"},
                  {"sku": "FREIGHT", "description": "@freight", "quantity": "1",
                   "unit_price": "45.00", "tax_percent": "19"}]})
    commerce_orders.create_order(org, actor, data={
        "number": "C-1001", "kind": "return", "contact": dana.pk,
        "placed_at": "2026-02-09T14:00:00Z", "currency": "EUR",
        "lines": [{"product": pump.pk, "quantity": "-1", "unit_price": "1250.00"}]})
    return open_deal


def deals():
    return [(deal.name, deal.pipeline.name, deal.stage.name, deal.status, deal.amount,
             deal.currency, deal.expected_close_date, deal.closed_on, deal.close_reason,
             deal.owner.email if deal.owner_id else None,
             deal.company.name if deal.company_id else None,
             sorted(contact.email for contact in deal.contacts.all()),
             [line.product.sku for line in deal.line_items.all()], deal.source,
             deal.custom_fields)
            for deal in Deal.objects.select_related("pipeline", "stage", "owner", "company")
            .order_by("name")]


def products():
    return [(product.sku, product.name, product.unit_price, product.currency,
             product.category, product.description, product.is_active)
            for product in Product.objects.order_by("sku")]


def orders():
    return [(order.number, order.kind, order.placed_at, order.status, order.channel,
             order.currency, order.contact.email if order.contact_id else None,
             order.company.name if order.company_id else None, order.total,
             [(line.sku, line.description, line.quantity, line.unit_price,
               line.discount_percent, line.tax_percent,
               line.product.sku if line.product_id else None)
              for line in order.lines.order_by("position", "id")])
            for order in Order.objects.select_related("contact", "company").order_by("number")]


def export(*args, stdout=None):
    out = stdout or io.StringIO()
    call_command("export", *args, stdout=out, stderr=io.StringIO())
    return out


def import_file(path, org, entity, acting):
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, entity=entity, acting=acting, stdout=out,
                 stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.mark.parametrize(("entity", "expected"), [
    ("deals", [
        ["Name", "Stage", "Amount", "Company", "Contact", "Product", "Region code"],
        ["'=Pumps for Hollow Oak", "Engaging", "5000", "Hollow Oak Ltd",
         "dana@hollow.example", "", "N-7"],
        ["Valves for Jonas", "Won", "1200", "", "jonas@brightwater.example", "PUMP-1",
         "S-1"],
        ["Service contract", "Lost", "300", "Hollow Oak Ltd", "", "", ""]]),
    ("products", [
        ["SKU", "Name", "Price", "Description", "Active"],
        ["PUMP-1", "Pump", "1250.0000", "'=HYPERLINK(\"x\")", "yes"],
        ["VALVE-2", "Valve", "80.5000", "", "no"]]),
    ("orders", [
        ["Order number", "Contact", "SKU", "Description", "Quantity", "Unit price"],
        ["A-1001", "dana@hollow.example", "PUMP-1", "Pump", "2.000", "1250.0000"],
        ["A-1001", "dana@hollow.example", "FREIGHT", "'@freight", "1.000", "45.0000"],
        ["C-1001", "dana@hollow.example", "PUMP-1", "Pump", "-1.000", "1250.0000"]]),
])
def test_command_exports_each_sales_entity_without_another_organisations_rows(
    org, admin, other_org, make_member, in_org, entity, expected
):
    seller = make_member(org, Role.SALES, email="seller@example.com")
    other_seller = make_member(other_org, Role.SALES, email="seller@example.com")
    with in_org(org):
        arrange(org, admin.user, seller.user)
    with in_org(other_org):
        arrange(other_org, other_seller.user, other_seller.user)
        Deal.objects.update(name="Not yours")
        Product.objects.update(name="Not yours")
        Order.objects.update(number=Concat(Value("X-"), "number"))

    rows = table(export("--org", org.slug, "--entity", entity, "--format", "csv").getvalue())

    wanted = [rows[0].index(header) for header in expected[0]]
    assert [[row[index] for index in wanted] for row in rows] == expected
    assert not any("Not yours" in row or row[0].startswith("X-") for row in rows)


@pytest.mark.parametrize(("entity", "rows", "first"), [
    ("deals", 3, "'=Pumps for Hollow Oak"), ("products", 2, "PUMP-1"),
    ("orders", 3, "A-1001")])
def test_api_export_job_writes_each_sales_entity(org, admin, make_member, api_client_for,
                                                 in_org, entity, rows, first):
    seller = make_member(org, Role.SALES)
    with in_org(org):
        arrange(org, admin.user, seller.user)
    client = api_client_for(admin)

    job_id = client.post(API, {"entity": entity, "format": "xlsx"},
                         content_type="application/json").json()["id"]
    run_export(job_id)
    job = client.get(f"{API}/{job_id}").json()
    download = client.get(job["download_url"])
    refused = client.post(API, {"entity": entity, "format": "csv", "q": "pump"},
                          content_type="application/json")

    assert (job["status"], job["rows"]) == ("done", rows)
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    cells = list(sheet.iter_rows(values_only=True))
    assert len(cells) == rows + 1
    assert first in cells[1]
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["message"] == (
        f"{entity.capitalize()} are exported whole, unfiltered.")


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_an_organisation_export_restores_deals_products_and_orders_into_an_empty_one(
    org, admin, other_org, make_member, in_org, tmp_path, format
):
    seller = make_member(org, Role.SALES, email="seller@example.com")
    restorer = make_member(other_org, Role.ADMIN, email="restorer@example.com")
    make_member(other_org, Role.SALES, email="seller@example.com")
    with in_org(org):
        arrange(org, admin.user, seller.user)
        opened = dict(StageChange.objects.filter(from_stage__isnull=True)
                      .values_list("deal__name", "changed_at__date"))
        before = deals(), products(), orders()
        old_ids = {deal.name: str(deal.pk) for deal in Deal.objects.all()}
    archive = tmp_path / "org.zip"
    export("--org", org.slug, "--entity", "organisation", "--format", format,
           "--output", str(archive))
    with zipfile.ZipFile(archive) as opened_zip:
        names = opened_zip.namelist()
        opened_zip.extractall(tmp_path)
    # Pipelines are settings, not part of the export: the new organisation makes its own.
    with in_org(other_org):
        sales.create_pipeline(other_org, restorer.user, name="New business", stages=STAGES)

    summaries = [import_file(tmp_path / f"{name}.{format}", other_org, entity,
                             "restorer@example.com")
                 for name, entity in (("custom_fields", "custom_field"),
                                      ("companies", "company"), ("contacts", "contact"),
                                      ("products", "product"), ("deals", "deal"),
                                      ("orders", "order"))]
    with in_org(other_org):
        after = deals(), products(), orders()
        began = dict(StageChange.objects.filter(from_stage__isnull=True)
                     .values_list("deal__name", "changed_at__date"))
        kept_ids = {Deal.objects.get(pk=record_id).name: value for record_id, value in
                    ExternalId.objects.filter(entity="deal", system="accord")
                    .values_list("record_id", "value")}

    assert names == [f"{name}.{format}" for name in (
        "contacts", "companies", "products", "deals", "orders", "activities", "tags",
        "custom_fields")]
    assert [(summary["created"], summary["failed"]) for summary in summaries] == [
        (1, 0), (1, 0), (2, 0), (2, 0), (3, 0), (3, 0)]
    assert after == before
    # The activities file finds each deal by the id it had in the export.
    assert kept_ids == old_ids
    # Closed before they were entered, the won and lost deals began on their close day.
    assert began == {**opened, "Valves for Jonas": dt.date(2026, 3, 10),
                     "Service contract": dt.date(2026, 3, 12)}


def test_an_export_job_leaves_out_the_deals_and_hidden_fields_its_member_may_not_see(
    org, admin, make_member, api_client_for, in_org
):
    manager = make_member(org, Role.MANAGER)
    seller = make_member(org, Role.SALES)
    with in_org(org):
        arrange(org, admin.user, seller.user)
        sales.create_deal(org, admin.user, data={
            "name": "Manager's own", "owner": manager.user.pk, "currency": "EUR"})
        field = customers.create_custom_field(org, admin.user, data={
            "entity": "deal", "key": "margin", "label": "Margin", "field_type": "number",
            "hidden_from_roles": ["manager"]})
    client = api_client_for(manager)
    job_id = client.post(API, {"entity": "deals", "format": "csv"},
                         content_type="application/json").json()["id"]
    # The manager's view narrows after the job was queued: the job writes what they
    # may see when it runs.
    with in_org(org):
        update_visibility(org, admin.user, roles={"manager": {"deals": "team"}})

    run_export(job_id)
    download = client.get(client.get(f"{API}/{job_id}").json()["download_url"])
    refused = client.post(API, {"entity": "deals", "format": "csv"},
                          content_type="application/json")
    with in_org(org):
        update_visibility(org, admin.user, roles={"manager": {"contacts": "team"}})
    # Orders follow their contacts, so a member who sees only some contacts may not copy
    # every order either.
    refused_orders = client.post(API, {"entity": "orders", "format": "csv"},
                                 content_type="application/json")

    rows = table(b"".join(download.streaming_content).decode("utf-8"))
    # Their own deal only: the seller's three are not theirs to see.
    assert [row[1] for row in rows[1:]] == ["Manager's own"]
    assert field.label not in rows[0]
    assert "Region code" in rows[0]
    assert (refused.status_code, refused_orders.status_code) == (403, 403)


def test_an_order_naming_an_unknown_contact_id_fails_rather_than_making_a_contact(
    org, admin, in_org, tmp_path
):
    path = tmp_path / "orders.csv"
    path.write_text("Order number,Contact ID,SKU,Description,Quantity,Unit price\r\n"
                    "A-1,17,,Pump,1,10\r\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()

    call_command("import", str(path), org=org.slug, entity="order", stdout=out, stderr=err)

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (summary["created"], summary["failed"]) == (0, 1)
    assert err.getvalue().strip() == (
        "row 2: No contact has this ID from the exported organisation; import its contacts "
        "file first.")
    with in_org(org):
        assert not Order.objects.exists()
        assert not Contact.objects.exists()


def test_the_exports_page_says_the_organisation_export_holds_deals_products_and_orders(
    admin, client_for
):
    page = client_for(admin).get("/exports/").content.decode()

    assert ("One .zip file with a file each for contacts, companies, products, deals, orders, "
            "activities, tags and custom field definitions.") in page
