"""Turning plain product input (import, demo, API) into clean values, naming every bad field."""

import decimal
import re

from accord.errors import InvalidInput
from accord.money import is_currency

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
    errors: dict[str, str] = {}
    values: dict = {}
    for field, limit in TEXT_LIMITS.items():
        if field in data:
            text = str(data[field] or "").strip()
            if len(text) > limit:
                errors[field] = f"Use at most {limit} characters."
            values[field] = text
    for field, message in (("sku", "Give the product a SKU."),
                           ("name", "Give the product a name.")):
        if (is_new or field in data) and not values.get(field) and field not in errors:
            errors[field] = message
    if values.get("sku") and "sku" not in errors:
        taken = Product.objects.filter(sku__iexact=values["sku"])
        if current is not None and current.pk is not None:
            taken = taken.exclude(pk=current.pk)
        if taken.exists():
            errors["sku"] = "Another product has this SKU."
    if "unit_price" in data or is_new:
        values["unit_price"] = _price(data.get("unit_price"), errors)
    if "currency" in data and data["currency"] not in (None, ""):
        code = str(data["currency"]).strip().upper()
        if not is_currency(code):
            errors["currency"] = "Use a three-letter ISO 4217 code such as EUR."
        values["currency"] = code
    elif is_new:
        values["currency"] = org.base_currency
    if "is_active" in data:
        values["is_active"] = bool(data["is_active"])
    if errors:
        raise InvalidInput([{"field": field, "message": message}
                            for field, message in errors.items()])
    return values


def _price(value, errors: dict) -> decimal.Decimal | None:
    if value in (None, ""):
        errors["unit_price"] = "Enter the price."
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        price = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        errors["unit_price"] = "Enter a number such as 1250.50."
        return None
    if not price.is_finite() or price.as_tuple().exponent < -4:
        errors["unit_price"] = "Enter a number with at most four decimal places."
    elif price < 0 or price > MAX_PRICE:
        errors["unit_price"] = f"Enter a price from 0 to {MAX_PRICE}."
    else:
        return price
    return None
