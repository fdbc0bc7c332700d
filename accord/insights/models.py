"""Scores computed from what customers did, each with the numbers it came from."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


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


class ChurnModel(TenantModel):
    """The churn scorecard learnt from one organisation's own history, one per organisation.

    `weights` maps factor key → band → weight of evidence (see
    `accord.insights.churn`). `left` and `stayed` are how many customers it
    learnt from; when either was too few, `weights` is empty and no customer
    gets a churn risk, rather than a number that means nothing.
    """

    base = models.FloatField(_("base log odds"), default=0)
    weights = models.JSONField(_("weights"), default=dict)
    left = models.PositiveIntegerField(_("customers who left"), default=0)
    stayed = models.PositiveIntegerField(_("customers who stayed"), default=0)
    trained_at = models.DateTimeField(_("trained"))

    class Meta(TenantModel.Meta):
        verbose_name = _("churn model")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="churnmodel_organization"),
        ]

    def __str__(self) -> str:
        return f"churn model ({self.left} left, {self.stayed} stayed)"


class RiskLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ChurnScore(TenantModel):
    """One customer's churn risk (0..100) with the factors behind it.

    Written only by `accord.insights.services.compute_churn` for contacts with
    a live subscription. `reasons` lists every factor's part, largest first,
    as `{"factor", "band", "weight", "text"}`; health is `100 - risk`.
    """

    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("contact"))
    risk = models.PositiveSmallIntegerField(_("churn risk"))
    level = models.CharField(_("risk level"), max_length=10, choices=RiskLevel.choices)
    reasons = models.JSONField(_("reasons"), default=list)
    computed_at = models.DateTimeField(_("computed"))

    class Meta(TenantModel.Meta):
        verbose_name = _("churn score")
        constraints = [
            models.UniqueConstraint(fields=["organization", "contact"], name="churnscore_contact"),
        ]
        indexes = [models.Index(fields=["organization", "-risk", "id"], name="churnscore_risk")]

    def __str__(self) -> str:
        return f"{self.risk} {self.level}"

    @property
    def health(self) -> int:
        return 100 - self.risk


class SimilarProduct(TenantModel):
    """Customers who bought SKU `sku` often also bought SKU `other_sku`.

    Written only by `accord.insights.services.compute_similar_products`.
    Products are told apart by the SKU on order lines, so orders imported
    without a catalogue count too; `other_name` is that SKU's catalogue name,
    or the description its latest order line gave. `together` is how many
    customers bought both, `score` that count shrunk by both products'
    popularity (see `accord.insights.recommend`).
    """

    sku = models.CharField(_("SKU"), max_length=64)
    other_sku = models.CharField(_("bought with SKU"), max_length=64)
    other_name = models.CharField(_("name"), max_length=300, blank=True)
    score = models.FloatField()
    together = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku", "other_sku"],
                                    name="similarproduct_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} → {self.other_sku} ({self.score:.3f})"


class LoyaltyProgram(VersionedModel):
    """How an organisation turns purchases into loyalty points and tiers; one per organisation.

    A customer earns `points_per_unit` points for each unit of the base
    currency spent net of returns in the last `months` months (0: ever), and
    holds the highest tier whose threshold their points reach. `tiers` is a
    list of `{"name", "points"}` in rising order, the first at 0 points.
    """

    is_active = models.BooleanField(_("active"), default=False)
    points_per_unit = models.DecimalField(_("points per unit spent"), max_digits=8,
                                          decimal_places=2, default=1)
    months = models.PositiveSmallIntegerField(_("months counted"), default=12)
    tiers = models.JSONField(_("tiers"), default=list)

    class Meta(VersionedModel.Meta):
        verbose_name = _("loyalty programme")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="loyaltyprogram_organization"),
        ]

    def __str__(self) -> str:
        return ", ".join(tier["name"] for tier in self.tiers)


class LoyaltyStatus(TenantModel):
    """One customer's loyalty points and tier, written only by `compute_loyalty`."""

    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="+", verbose_name=_("contact"))
    points = models.PositiveIntegerField(_("points"))
    tier = models.CharField(_("tier"), max_length=60)
    next_tier = models.CharField(_("next tier"), max_length=60, blank=True)
    points_to_next = models.PositiveIntegerField(_("points to the next tier"), default=0)
    computed_at = models.DateTimeField(_("computed"))

    class Meta(TenantModel.Meta):
        verbose_name = _("loyalty status")
        verbose_name_plural = _("loyalty statuses")
        constraints = [
            models.UniqueConstraint(fields=["organization", "contact"],
                                    name="loyaltystatus_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.tier} ({self.points})"
