"""Importing order lines from a shop's export with `accord import --entity order`.

The file is the first 623 lines of the UCI Online Retail data; the expected
totals were added up from it line by line (quantity × price, each rounded
to the penny).
"""

import io
import json
from decimal import Decimal
from pathlib import Path

from django.core.management import call_command
from django.db.models import Sum
from django_scopes import scope

from accord.commerce import services
from accord.commerce.models import Order, OrderKind
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.integrations.models import ExternalId

DATA = Path(__file__).resolve().parents[2] / "testdata" / "online_retail_2010-12-01.csv"


def run_import(org) -> dict:
    out = io.StringIO()
    call_command("import", str(DATA), org=org.slug, entity="order", stdout=out,
                 stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_order_lines_are_grouped_into_orders_returns_and_guest_orders(org, admin):
    org.base_currency = "GBP"
    org.save(update_fields=["base_currency"])
    with scope(organization=org):
        heart = services.create_product(org, admin.user, data={
            "sku": "85123A", "name": "White hanging heart T-light holder", "unit_price": "2.55"})
        known = customers.create_contact(org, admin.user, data={
            "first_name": "Rita", "last_name": "Known"})
        ExternalId.objects.create(organization=org, entity="contact", system="import",
                                  record_id=known.pk, value="17850")

    summary = run_import(org)

    assert {key: summary[key] for key in ("created", "updated", "skipped", "failed", "rows")} \
        == {"created": 623, "updated": 0, "skipped": 0, "failed": 0, "rows": 623}
    assert summary["mapping"] == {
        "InvoiceNo": "number", "StockCode": "sku", "Description": "description",
        "Quantity": "quantity", "InvoiceDate": "placed_at", "UnitPrice": "unit_price",
        "CustomerID": "customer"}
    with scope(organization=org):
        orders = Order.objects.all()
        assert orders.count() == 47
        assert orders.aggregate(total=Sum("total"))["total"] == Decimal("17420.05")
        first = Order.objects.get(number="536365")
        assert (first.contact_id, first.currency, str(first.total), first.lines.count()) == (
            known.pk, "GBP", "139.1200", 7)
        assert first.placed_at.isoformat() == "2010-12-01T08:26:00+00:00"
        line = first.lines.get(sku="85123A")
        assert (line.product_id, line.description, str(line.quantity),
                str(line.line_total)) == (heart.pk, "WHITE HANGING HEART T-LIGHT HOLDER",
                                          "6.000", "15.3000")
        assert first.lines.exclude(sku="85123A").filter(product__isnull=False).count() == 0
        returns = orders.filter(kind=OrderKind.RETURN)
        assert sorted(returns.values_list("number", flat=True)) == [
            "C536379", "C536383", "C536391"]
        assert returns.aggregate(total=Sum("total"))["total"] == Decimal("-173.63")
        assert set(returns.values_list("status", flat=True)) == {"returned"}
        assert orders.filter(contact=known).aggregate(total=Sum("total"))["total"] == (
            Decimal("1499.34"))
        guest = Order.objects.get(number="536414")
        assert (guest.contact_id, str(guest.total)) == (None, "0.0000")
        assert list(guest.lines.values_list("sku", "description", "quantity", "unit_price")) \
            == [("22139", "", 56, 0)]
        created = Contact.objects.filter(first_name="Customer")
        assert created.count() == 31
        assert ExternalId.objects.filter(entity="contact", value="14527").get().record_id == (
            Order.objects.get(number="C536379").contact_id)

    again = run_import(org)

    assert (again["created"], again["skipped"], again["failed"]) == (0, 623, 0)
    with scope(organization=org):
        assert Order.objects.count() == 47
        assert Contact.objects.filter(first_name="Customer").count() == 31


def test_an_order_with_a_bad_line_is_not_imported_at_all(org, tmp_path):
    upload = tmp_path / "orders.csv"
    upload.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        "900001,A1,Lamp,2,2011-01-05 10:00:00,3.50,\n"
        "900001,A2,Shade,two,2011-01-05 10:00:00,1.00,\n"
        "900002,A1,Lamp,1,2011-01-05 11:00:00,3.50,\n"
        "C900003,A1,Lamp,1,2011-01-06 09:00:00,3.50,\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()

    call_command("import", str(upload), org=org.slug, entity="order", stdout=out, stderr=err)

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (summary["created"], summary["failed"]) == (1, 3)
    assert err.getvalue().splitlines() == [
        "row 2: Row 3 of this order has a problem, so none of its rows were imported.",
        "row 3 Quantity: This value is not a number.",
        "row 5 Quantity: A return gives items back: use a negative quantity.",
    ]
    with scope(organization=org):
        assert list(Order.objects.values_list("number", "total")) == [
            ("900002", Decimal("3.5"))]
