"""The demo's orders: one day of a real online shop's invoices, given to demo customers.

The invoices are the 623 lines of 1 December 2010 in the UCI "Online
Retail" data set (CC BY 4.0), kept in `accord/testdata`: 47 invoices, 3 of
them credit notes and one a guest's. Each of the shop's customer numbers
becomes one demo customer (a contact at the "customer" stage, in plan
order), and the day is moved to yesterday so that the orders sit on recent
timelines. Prices stay in pounds sterling, with the rate of that December
to the organisation's base currency so that purchase summaries add them up.
"""

import csv
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from accord.commerce import orders as commerce_orders
from accord.customers.models import LifecycleStage
from accord.sales import services as sales

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parents[2] / "testdata" / "online_retail_2010-12-01.csv"
CURRENCY = "GBP"
# What a pound was worth in US dollars in December 2010, for a demo based in USD.
GBP_RATES = {"USD": Decimal("1.5600"), "EUR": Decimal("1.1800")}


@dataclass
class OrdersReport:
    orders: int = 0
    returns: int = 0
    guests: int = 0


def load_orders(org, admin, contacts: list, *, now: dt.datetime) -> OrdersReport:
    """Write the day's invoices as orders of `contacts`; call inside the org's scope."""
    report = OrdersReport()
    if not DATA.is_file():
        # An installed copy without the test data has no invoices to show.
        logger.warning("demo.orders_missing", extra={"organization_id": org.id})
        return report
    with DATA.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    invoices: dict[str, list[dict]] = {}
    for row in rows:
        invoices.setdefault(row["InvoiceNo"], []).append(row)

    first = dt.datetime.fromisoformat(rows[0]["InvoiceDate"]).date()
    shift = (timezone.localdate(now) - dt.timedelta(days=1)) - first
    customers = [contact for contact in contacts
                 if contact.lifecycle_stage == LifecycleStage.CUSTOMER]
    if org.base_currency in GBP_RATES:
        sales.set_exchange_rate(org, admin, currency=CURRENCY, valid_on=first + shift,
                                rate=GBP_RATES[org.base_currency])
    known: dict[str, object] = {}

    for number, lines in invoices.items():
        customer = lines[0]["CustomerID"].partition(".")[0]
        contact = None
        if customer and customers:
            if customer not in known:
                known[customer] = customers[len(known) % len(customers)]
            contact = known[customer]
        placed = dt.datetime.fromisoformat(lines[0]["InvoiceDate"]) + shift
        commerce_orders.create_order(org, admin, data={
            "number": number,
            "kind": "return" if number.startswith("C") else "order",
            "contact": contact.pk if contact else None,
            "channel": "web", "currency": CURRENCY,
            "placed_at": timezone.make_aware(placed),
            "lines": [{"sku": line["StockCode"], "description": line["Description"],
                       "quantity": line["Quantity"], "unit_price": line["UnitPrice"]}
                      for line in lines],
        })
        report.orders += 1
        report.returns += number.startswith("C")
        report.guests += contact is None
    return report
