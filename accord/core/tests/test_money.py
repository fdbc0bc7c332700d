"""Document totals add up to the minor unit under both rounding policies."""

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from accord.money import Line, Rounding, document_totals, quantize

CASE = (Path(__file__).resolve().parents[2] / "testdata" / "cases" / "money-tax-rounding"
        / "order_lines.csv")


def orders() -> dict[str, list[Line]]:
    grouped = defaultdict(list)
    with CASE.open(newline="") as handle:
        for row in csv.DictReader(handle):
            grouped[row["order"]].append(Line(
                quantity=Decimal(row["quantity"]), unit_price=Decimal(row["unit_price"]),
                tax_percent=Decimal(row["tax_rate"])))
    return grouped


@pytest.mark.parametrize(("order", "currency", "rounding", "net", "tax", "total"), [
    ("SO-1001", "EUR", Rounding.PER_LINE, "66.66", "15.34", "82.00"),
    ("SO-1002", "EUR", Rounding.PER_LINE, "9.10", "1.73", "10.83"),
    ("SO-1003", "JPY", Rounding.PER_LINE, "202", "0", "202"),
    ("SO-1001", "EUR", Rounding.DOCUMENT, "66.66", "15.33", "81.99"),
    ("SO-1002", "EUR", Rounding.DOCUMENT, "9.10", "1.73", "10.83"),
])
def test_order_totals_match_the_stated_values(order, currency, rounding, net, tax, total):
    totals = document_totals(orders()[order], currency, rounding)
    assert (totals.net, totals.tax, totals.total) == (Decimal(net), Decimal(tax),
                                                      Decimal(total))
    # What is shown adds up: the lines to the net, net and tax to the total.
    assert sum(line.net for line in totals.lines) == totals.net
    assert totals.net + totals.tax == totals.total


def test_line_taxes_are_rounded_half_up_per_line():
    totals = document_totals(orders()["SO-1001"], "EUR", Rounding.PER_LINE)
    assert [line.tax for line in totals.lines] == [Decimal("12.78"), Decimal("2.56")]


def test_yen_lines_are_whole_yen():
    totals = document_totals(orders()["SO-1003"], "JPY")
    assert [line.net for line in totals.lines] == [Decimal("101"), Decimal("101")]


@pytest.mark.parametrize(("amount", "currency", "expected"), [
    ("0.005", "EUR", "0.01"), ("2.5", "JPY", "3"), ("1.0005", "KWD", "1.001"),
    ("-0.005", "EUR", "-0.01"),
])
def test_quantize_rounds_half_up_to_the_minor_unit(amount, currency, expected):
    assert quantize(Decimal(amount), currency) == Decimal(expected)


def test_a_discount_is_taken_before_tax():
    totals = document_totals([Line(Decimal(2), Decimal("10.00"), Decimal(10), Decimal(20))],
                             "EUR")
    assert (totals.net, totals.tax, totals.total) == (Decimal("18.00"), Decimal("3.60"),
                                                      Decimal("21.60"))
