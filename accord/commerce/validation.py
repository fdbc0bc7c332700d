"""Turning plain product input (import, demo, API) into clean values, naming every bad field."""

import datetime as dt
import decimal
import re

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accord.customers.models import Company, Contact
from accord.customers.validation import Collector, may_link
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


# Shared by orders and subscriptions.


def to_pk(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def clean_moment(value, field: str, errors: Collector) -> dt.datetime | None:
    """An aware datetime from ISO 8601 text; a time without a zone is in the current one."""
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = parse_datetime(str(value or "").strip()) if value else None
        except ValueError:
            moment = None
        if moment is None:
            errors.add(field, _("Enter a date and time such as 2025-03-01T09:30:00Z."))
            return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def clean_choice(value, choices, field: str, errors: Collector):
    if value not in choices.values:
        errors.add(field, _("Choose one of: %(values)s.") % {"values": ", ".join(choices.values)})
        return None
    return value


def find_contact(value, errors: Collector, *, kept=None) -> Contact | None:
    """The contact `value` names; one the acting member may not see reads as missing,
    unless it is `kept`, the id linked already."""
    if value in (None, ""):
        return None
    contact = Contact.objects.filter(pk=to_pk(value)).first() if to_pk(value) else None
    if contact is not None and not may_link(contact, "contacts", kept=kept):
        contact = None
    if contact is None:
        errors.add("contact", _("No contact with this id."))
    return contact


def find_company(value, errors: Collector, *, kept=None) -> Company | None:
    """The company `value` names, checked like `find_contact`."""
    if value in (None, ""):
        return None
    company = Company.objects.filter(pk=to_pk(value)).first() if to_pk(value) else None
    if company is not None and not may_link(company, "companies", kept=kept):
        company = None
    if company is None:
        errors.add("company", _("No company with this id."))
    return company
