from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class ExchangeRate(TenantModel):
    """What one unit of `currency` was worth in the organisation's base currency on a day."""

    currency = models.CharField(_("currency"), max_length=3)
    valid_on = models.DateField(_("date"))
    rate = models.DecimalField(_("rate"), max_digits=20, decimal_places=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["currency", "-valid_on"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "currency", "valid_on"],
                                    name="exchangerate_unique_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} on {self.valid_on}"


class Period(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


class Quota(VersionedModel):
    """How much a salesperson is expected to win in a month or quarter (base currency)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("salesperson"))
    period = models.CharField(_("period"), max_length=8, choices=Period.choices)
    starts_on = models.DateField(_("starts on"))
    amount = models.DecimalField(_("quota"), max_digits=16, decimal_places=2)

    class Meta(VersionedModel.Meta):
        ordering = ["starts_on", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "period", "starts_on"],
                                    name="quota_unique_period"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period} {self.starts_on}: {self.amount}"


class RotReminder(TenantModel):
    """One reminder that a deal went quiet, written before it is sent so it goes once."""

    deal = models.ForeignKey("sales.Deal", on_delete=models.CASCADE, related_name="+")
    quiet_since = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "deal", "quiet_since"],
                                    name="rotreminder_once"),
        ]

    def __str__(self) -> str:
        return f"deal {self.deal_id} quiet since {self.quiet_since:%Y-%m-%d}"
