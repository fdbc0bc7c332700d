"""Turning plain product input (import, demo, API) into clean values, naming every bad field."""

import decimal
import re

from django.utils.translation import gettext as _

from accord.errors import InvalidInput
from accord.money import is_currency
from accord.sales.validation import clean_decimal

from .models import Product

TEXT_LIMITS = {"sku": 64, "name": 200, "category": 120, "description": 20000}
MAX_PRICE = decimal.Decimal("9999999999")  # fits the column with four decimals


def sku_from_name(name: str) -> str:
    """A SKU for a product that has none: its name's words in capitals, joined by hyphens."""
    return "-".join(re.findall(r"[^\W_]+", str(name or ""))).upper()[:64]


def clean_product(org, data: dict, *, current: Product | None = None) -> dict:
    """Validated values for the fields present in `data`; InvalidInput names each bad one.

    A new product (no `current`, or one not saved yet) needs a SKU, a name
    and a price; a SKU is unique in the organisation, whatever its case.
    """
    is_new = current is None or current.pk is None
    errors: dict = {}
    values: dict = {}
    for field, limit in TEXT_LIMITS.items():
        if field in data:
            text = str(data[field] or "").strip()
            if len(text) > limit:
                errors[field] = _("Use at most %(limit)d characters.") % {"limit": limit}
            values[field] = text
    for field, message in (("sku", _("Give the product a SKU.")),
                           ("name", _("Give the product a name."))):
        if (is_new or field in data) and not values.get(field) and field not in errors:
            errors[field] = message
    sku = values.get("sku")
    if sku and "sku" not in errors:
        taken = Product.objects.filter(sku__iexact=sku)
        if not is_new:
            taken = taken.exclude(pk=current.pk)
        if taken.exists():
            errors["sku"] = _("Another product has this SKU.")
    if "unit_price" in data or is_new:
        price = clean_decimal(data.get("unit_price"), "unit_price", errors,
                              minimum=decimal.Decimal(0), maximum=MAX_PRICE)
        if price is None and "unit_price" not in errors:
            errors["unit_price"] = _("Enter the price.")
        values["unit_price"] = price
    if "currency" in data or is_new:
        code = str(data.get("currency") or org.base_currency).strip().upper()
        if not is_currency(code):
            errors["currency"] = _("Use a three-letter ISO 4217 code such as EUR.")
        values["currency"] = code
    if "attributes" in data:
        if not isinstance(data["attributes"] or {}, dict):
            errors["attributes"] = _("Give attributes as an object of names and values.")
        values["attributes"] = data["attributes"] or {}
    if "is_active" in data:
        values["is_active"] = bool(data["is_active"])
    if errors:
        raise InvalidInput(errors)
    return values
