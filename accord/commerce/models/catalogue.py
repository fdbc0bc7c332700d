"""The product catalogue: what an organisation sells, with a price per currency."""

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class Product(VersionedModel):
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.CharField(_("category"), max_length=120, blank=True)
    unit_price = models.DecimalField(_("price"), max_digits=14, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku"], name="product_unique_sku"),
        ]
        indexes = [
            models.Index("organization", Lower("name"), "id", name="product_org_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def price_in(self, currency: str):
        """The list price in `currency`, or None when the price list has none."""
        if currency == self.currency:
            return self.unit_price
        price = self.prices.filter(currency=currency).first()
        return price.unit_price if price else None


class ProductPrice(TenantModel):
    """A product's list price in another currency than its own."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(_("currency"), max_length=3)
    unit_price = models.DecimalField(_("price"), max_digits=14, decimal_places=4)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "product", "currency"],
                                    name="productprice_unique_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.unit_price} {self.currency}"


class BehaviourEvent(TenantModel):
    """Something a customer did in another system (viewed a product, logged in...).

    `external_id` is the sender's id for the event; a second event with the
    same id is a repeat and is not stored again.
    """

    external_id = models.CharField(_("event id"), max_length=200)
    type = models.CharField(_("type"), max_length=100)
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="behaviour_events")
    occurred_at = models.DateTimeField(_("when"))
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    # Which request stored the row, to tell stored events from repeats.
    batch = models.UUIDField(editable=False)

    class Meta(TenantModel.Meta):
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "external_id"],
                                    name="behaviourevent_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "contact", "occurred_at"],
                         name="behaviourevent_contact"),
            models.Index(fields=["organization", "type", "occurred_at"],
                         name="behaviourevent_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} ({self.external_id})"
