"""Subscriptions: a customer's recurring plan, its monthly value and renewal."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import VersionedModel


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", _("Trialing")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    CANCELLED = "cancelled", _("Cancelled")


# Statuses whose subscriptions still bring in their monthly value.
LIVE_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


class Subscription(VersionedModel):
    contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="subscriptions",
                                verbose_name=_("contact"))
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="subscriptions",
                                verbose_name=_("company"))
    product = models.ForeignKey("commerce.Product", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("product"))
    plan_name = models.CharField(_("plan"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=SubscriptionStatus.choices,
                              default=SubscriptionStatus.ACTIVE)
    mrr = models.DecimalField(_("monthly recurring revenue"), max_digits=14, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    started_at = models.DateField(_("started"))
    renews_on = models.DateField(_("renews on"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)

    class Meta(VersionedModel.Meta):
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            models.Index(fields=["organization", "started_at", "id"],
                         name="subscription_org_started"),
            models.Index(fields=["organization", "renews_on", "id"],
                         name="subscription_org_renews"),
            models.Index(fields=["organization", "status", "id"],
                         name="subscription_org_status"),
            models.Index(fields=["organization", "contact"], name="subscription_org_contact"),
            models.Index(fields=["organization", "company"], name="subscription_org_company"),
        ]

    def __str__(self) -> str:
        return self.plan_name

    def get_absolute_url(self) -> str:
        return reverse("commerce:subscription_detail", args=[self.pk])
