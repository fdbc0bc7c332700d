"""Currencies and money arithmetic: ISO 4217 codes, minor units, document totals.

Amounts are `Decimal`s from the first digit to the last; a float never
touches money.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

# Active ISO 4217 codes of currencies in circulation (funds and precious
# metals left out: nobody invoices in them).
CURRENCIES = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
    "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN",
    "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN",
    "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
})


def is_currency(code: str) -> bool:
    return code in CURRENCIES


# ISO 4217 minor units where they are not two decimals.
MINOR_UNITS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
         "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
}


class Rounding(models.TextChoices):
    """Where tax is rounded to the currency's minor unit on a document with lines."""

    PER_LINE = "line", _("Round each line")
    DOCUMENT = "document", _("Round the document total")


def minor_unit(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-up to the minor unit of `currency` (cents, yen, fils)."""
    exponent = Decimal(1).scaleb(-minor_unit(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal(0)
    tax_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineTotals:
    net: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    lines: list[LineTotals]
    net: Decimal
    tax: Decimal
    total: Decimal


def document_totals(lines: list[Line], currency: str, rounding: str = Rounding.PER_LINE
                    ) -> Totals:
    """Line nets, tax and total of a quote or order, exact to the minor unit.

    Each line's net is rounded, so the shown lines always add up to the shown
    net. Tax is rounded per line, or once on the document's unrounded tax,
    as `rounding` says; the total is always net plus tax as shown.
    """
    hundred = Decimal(100)
    computed = []
    exact_tax = Decimal(0)
    for line in lines:
        gross = Decimal(line.quantity) * Decimal(line.unit_price)
        net = quantize(gross * (hundred - Decimal(line.discount_percent)) / hundred, currency)
        tax = net * Decimal(line.tax_percent) / hundred
        exact_tax += tax
        computed.append(LineTotals(net=net, tax=quantize(tax, currency)))
    net = sum((line.net for line in computed), Decimal(0))
    if rounding == Rounding.DOCUMENT:
        tax = quantize(exact_tax, currency)
    else:
        tax = sum((line.tax for line in computed), Decimal(0))
    net = quantize(net, currency)
    tax = quantize(tax, currency)
    return Totals(lines=computed, net=net, tax=tax, total=net + tax)
