"""Every write to the product catalogue, as verbs.

Each service takes the organisation and the acting user first, writes the
change with its audit entry and domain event in one transaction, and checks
`expected_version` where the caller saw a version. A product is never
deleted, only deactivated: deal line items and orders keep pointing at it.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accord import events
from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.money import is_currency
from accord.sales.validation import clean_decimal

from .models import Product, ProductPrice
from .validation import MAX_PRICE, clean_product

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = ["sku", "name", "description", "category", "unit_price", "currency",
                  "attributes", "is_active"]


def get_product(product_id) -> Product:
    try:
        product = Product.objects.filter(pk=int(product_id)).first()
    except (TypeError, ValueError):
        product = None
    if product is None:
        raise NotFound(_("No product with this id."))
    return product


def _clean_prices(raw, own_currency: str) -> list[tuple[str, Decimal]]:
    if not isinstance(raw, list):
        raise InvalidInput({"prices": _("Give prices as a list of {currency, unit_price}.")})
    errors: list[dict] = []
    prices = []
    seen = set()
    for index, item in enumerate(raw):
        prefix = f"prices.{index}."
        item = item if isinstance(item, dict) else {}
        code = str(item.get("currency") or "").strip().upper()
        field_errors: dict = {}
        if not is_currency(code):
            field_errors["currency"] = _("Use a three-letter ISO 4217 code such as EUR.")
        elif code == own_currency:
            field_errors["currency"] = _("This is the product's own currency; set unit_price.")
        elif code in seen:
            field_errors["currency"] = _("This currency is listed twice.")
        price = clean_decimal(item.get("unit_price"), "unit_price", field_errors,
                              minimum=Decimal(0), maximum=MAX_PRICE)
        if price is None and "unit_price" not in field_errors:
            field_errors["unit_price"] = _("Enter the price.")
        errors.extend({"field": prefix + field, "message": message}
                      for field, message in field_errors.items())
        if not field_errors:
            seen.add(code)
            prices.append((code, price))
    if errors:
        raise InvalidInput(errors)
    return prices


def _price_list(product: Product) -> list[str]:
    return [f"{price.unit_price.normalize():f} {price.currency}"
            for price in product.prices.order_by("currency")]


def _event_data(product: Product) -> dict:
    return {"id": product.pk, "sku": product.sku, "name": product.name,
            "unit_price": str(product.unit_price), "currency": product.currency,
            "is_active": product.is_active}


def _write_prices(org, product: Product, prices: list[tuple[str, Decimal]]) -> None:
    ProductPrice.objects.filter(product=product).exclude(
        currency__in=[code for code, _price in prices]).delete()
    for code, price in prices:
        ProductPrice.objects.update_or_create(organization=org, product=product, currency=code,
                                              defaults={"unit_price": price})


@transaction.atomic
def create_product(org, actor, *, data: dict) -> Product:
    """A new catalogue product with its prices in other currencies; InvalidInput."""
    values = clean_product(org, data)
    prices = _clean_prices(data["prices"], values["currency"]) if data.get("prices") else []

    product = Product.objects.create(organization=org, **values)
    _write_prices(org, product, prices)

    changes = audit.diff({}, audit.snapshot(product, PRODUCT_FIELDS))
    if prices:
        changes["prices"] = [None, _price_list(product)]
    audit.record(org, actor, Action.CREATE, product, changes=changes)
    events.emit(org, actor, "product.created", product, data=_event_data(product))
    logger.info("product.created", extra={"organization_id": org.id, "product_id": product.pk})
    return product


@transaction.atomic
def update_product(org, actor, product: Product, *, data: dict,
                   expected_version: int | None = None) -> Product:
    """Change a product's fields, and its other-currency prices when `prices` is given.

    StaleVersion when someone saved since `expected_version`; InvalidInput.
    """
    product = Product.objects.select_for_update().get(pk=product.pk)
    if expected_version is not None and expected_version != product.version:
        raise StaleVersion(current_version=product.version)
    values = clean_product(org, data, current=product)
    currency = values.get("currency", product.currency)
    prices = _clean_prices(data["prices"], currency) if "prices" in data else None
    if prices is None and product.prices.filter(currency=currency).exists():
        raise InvalidInput({"currency": _("The product has a price in this currency; "
                                          "send prices without it.")})

    before = audit.snapshot(product, PRODUCT_FIELDS)
    before_prices = _price_list(product)
    for field, value in values.items():
        setattr(product, field, value)
    if prices is not None:
        _write_prices(org, product, prices)
    changes = audit.diff(before, audit.snapshot(product, PRODUCT_FIELDS))
    if prices is not None and _price_list(product) != before_prices:
        changes["prices"] = [before_prices, _price_list(product)]
    if not changes:
        return product
    product.save_new_version()
    audit.record(org, actor, Action.UPDATE, product, changes=changes)
    events.emit(org, actor, "product.updated", product,
                data={**_event_data(product), "changed": sorted(changes)})
    return product


def set_product_prices(org, actor, product: Product, *, prices: list[dict],
                       expected_version: int | None = None) -> Product:
    """Replace the product's prices in other currencies than its own."""
    return update_product(org, actor, product, data={"prices": prices},
                          expected_version=expected_version)


def deactivate_product(org, actor, product: Product, *,
                       expected_version: int | None = None) -> Product:
    """Take a product out of the catalogue; deals and orders that name it keep it."""
    return update_product(org, actor, product, data={"is_active": False},
                          expected_version=expected_version)
