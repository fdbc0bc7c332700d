"""Every write to the product catalogue, as verbs.

Each service takes the organisation and the acting user first and writes
the change with its audit entry in one transaction.
"""

import logging

from django.db import transaction

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import StaleVersion

from .models import Product
from .validation import clean_product

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = ["sku", "name", "description", "category", "unit_price", "currency",
                  "is_active"]


@transaction.atomic
def create_product(org, actor, *, data: dict) -> Product:
    """A new product of the catalogue; InvalidInput names each bad value."""
    values = clean_product(org, data)

    product = Product.objects.create(organization=org, **values)

    audit.record(org, actor, Action.CREATE, product,
                 changes=audit.diff({}, audit.snapshot(product, PRODUCT_FIELDS)))
    logger.info("product.created", extra={"organization_id": org.id, "product_id": product.pk})
    return product


@transaction.atomic
def update_product(org, actor, product: Product, *, data: dict,
                   expected_version: int | None = None) -> Product:
    """Change a product's fields; StaleVersion when someone saved since `expected_version`."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    if expected_version is not None and int(expected_version) != product.version:
        raise StaleVersion(current_version=product.version)
    values = clean_product(org, data, current=product)

    before = audit.snapshot(product, PRODUCT_FIELDS)
    for field, value in values.items():
        setattr(product, field, value)
    changes = audit.diff(before, audit.snapshot(product, PRODUCT_FIELDS))
    if changes:
        product.save_new_version()
        audit.record(org, actor, Action.UPDATE, product, changes=changes)
        logger.info("product.updated",
                    extra={"organization_id": org.id, "product_id": product.pk})
    return product
