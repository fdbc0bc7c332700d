"""Orders and returns with their lines, as a shop or the order desk placed them.

Amounts are kept in the order's own currency. A return (a credit note) is an
order of kind "return" whose lines have negative quantities, linked to the
order it gives back when that order is known.
"""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class OrderKind(models.TextChoices):
    ORDER = "order", _("Order")
    RETURN = "return", _("Return / credit note")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    PAID = "paid", _("Paid")
    FULFILLED = "fulfilled", _("Fulfilled")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned / credited")


class Channel(models.TextChoices):
    WEB = "web", _("Web shop")
    SHOP = "shop", _("Shop")
    PHONE = "phone", _("Phone")
    MARKETPLACE = "marketplace", _("Marketplace")
    OTHER = "other", _("Other")


class Order(VersionedModel):
    number = models.CharField(_("number"), max_length=40)
    kind = models.CharField(_("kind"), max_length=8, choices=OrderKind.choices,
                            default=OrderKind.ORDER)
    original = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="returns", verbose_name=_("original order"))
    contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="orders",
                                verbose_name=_("contact"))
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="orders",
                                verbose_name=_("company"))
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices,
                              default=OrderStatus.PLACED)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices,
                               default=Channel.WEB)
    placed_at = models.DateTimeField(_("placed"))
    currency = models.CharField(_("currency"), max_length=3)
    subtotal = models.DecimalField(_("subtotal"), max_digits=16, decimal_places=4, default=0)
    discount_total = models.DecimalField(_("discount"), max_digits=16, decimal_places=4,
                                         default=0)
    tax_total = models.DecimalField(_("tax"), max_digits=16, decimal_places=4, default=0)
    total = models.DecimalField(_("total"), max_digits=16, decimal_places=4, default=0)
    note = models.TextField(_("note"), blank=True)

    class Meta(VersionedModel.Meta):
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="order_unique_number"),
        ]
        indexes = [
            models.Index(fields=["organization", "placed_at", "id"], name="order_org_placed"),
            models.Index(fields=["organization", "contact", "placed_at"],
                         name="order_org_contact"),
            models.Index(fields=["organization", "company", "placed_at"],
                         name="order_org_company"),
            models.Index(fields=["organization", "total", "id"], name="order_org_total"),
            models.Index(fields=["organization", "updated_at", "id"], name="order_org_updated"),
        ]

    def __str__(self) -> str:
        return str(self.number)

    def get_absolute_url(self) -> str:
        return reverse("commerce:order_detail", args=[self.pk])

    @property
    def is_return(self) -> bool:
        return self.kind == OrderKind.RETURN


class OrderLine(TenantModel):
    """One line of an order: a catalogue product or only a SKU and description.

    `line_total` is the line's net amount after its discount and before tax,
    rounded to the currency's minor unit.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    product = models.ForeignKey("commerce.Product", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("product"))
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2,
                                           default=0)
    tax_percent = models.DecimalField(_("tax (%)"), max_digits=5, decimal_places=2, default=0)
    line_total = models.DecimalField(_("line total"), max_digits=16, decimal_places=4,
                                     default=0)

    class Meta(TenantModel.Meta):
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organization", "order"], name="orderline_order")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku or self.description}"
