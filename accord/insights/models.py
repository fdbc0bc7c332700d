"""Scores computed from what customers did, each with the numbers it came from."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel


class Segment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALIST = "potential_loyalist", _("Potential loyalist")
    NEW = "new", _("New")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


class RfmScore(TenantModel):
    """Recency, frequency and monetary value of one contact who bought, and their scores.

    Written only by `accord.insights.services.compute_rfm`; a contact
    without a purchase has no row. `monetary` is in the organisation's base
    currency, returns taken off. Each score 1..5 is the contact's quintile
    among the organisation's customers, 5 the best.
    """

    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("contact"))
    recency_days = models.PositiveIntegerField(_("days since the last order"))
    frequency = models.PositiveIntegerField(_("orders"))
    monetary = models.DecimalField(_("net spent"), max_digits=18, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3)
    r = models.PositiveSmallIntegerField(_("recency score"))
    f = models.PositiveSmallIntegerField(_("frequency score"))
    m = models.PositiveSmallIntegerField(_("monetary score"))
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)
    computed_at = models.DateTimeField(_("computed"))

    class Meta(TenantModel.Meta):
        verbose_name = _("RFM score")
        verbose_name_plural = _("RFM scores")
        constraints = [
            models.UniqueConstraint(fields=["organization", "contact"], name="rfmscore_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.r}{self.f}{self.m} {self.segment}"

    @property
    def code(self) -> str:
        return f"{self.r}{self.f}{self.m}"
