from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accord.core.models import TenantModel, VersionedModel
from accord.customers.fields import CustomValuesField

from .pipeline import Pipeline, Stage


class LiveDealManager(models.Manager):
    """Hides deals that sit in the trash."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class DealStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    OMITTED = "omitted", _("Omitted")


class Deal(VersionedModel):
    """A sale in progress: its amount, where it stands and who works on it.

    `status` follows the kind of `stage` and is kept on the row so that the
    forecast and the board filter on an index. `amount` is the sum of the
    line items unless `amount_overridden` says a person typed it.
    """

    name = models.CharField(_("name"), max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals",
                                 verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals",
                              verbose_name=_("stage"))
    status = models.CharField(_("status"), max_length=8, choices=DealStatus.choices,
                              default=DealStatus.OPEN)
    amount = models.DecimalField(_("amount"), max_digits=16, decimal_places=4, null=True,
                                 blank=True)
    amount_overridden = models.BooleanField(_("amount typed, not from line items"),
                                            default=False)
    currency = models.CharField(_("currency"), max_length=3)
    expected_close_date = models.DateField(_("expected close"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("owner"),
    )
    company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deals", verbose_name=_("company"),
    )
    contacts = models.ManyToManyField("customers.Contact", through="DealContact",
                                      related_name="deals")
    source = models.CharField(_("source"), max_length=80, blank=True)
    forecast_category = models.CharField(
        _("forecast category"), max_length=12, choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    custom_fields = CustomValuesField(_("custom fields"), default=dict, blank=True)
    stage_entered_at = models.DateTimeField(_("in this stage since"))
    last_activity_at = models.DateTimeField(_("last activity"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    close_reason = models.CharField(_("reason"), max_length=200, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    unscoped = models.Manager()
    objects = ScopedManager(_manager_class=LiveDealManager, organization="organization")
    with_deleted = ScopedManager(organization="organization")

    class Meta(VersionedModel.Meta):
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "pipeline", "stage", "id"],
                         name="deal_board"),
            models.Index(fields=["organization", "status", "expected_close_date"],
                         name="deal_forecast"),
            models.Index(fields=["organization", "status", "closed_on"], name="deal_closed"),
            models.Index(fields=["organization", "owner", "status"], name="deal_owner"),
            models.Index(fields=["organization", "company"], name="deal_company"),
            models.Index(fields=["organization", "id"], name="deal_org_id"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("sales:deal", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == DealStatus.OPEN


class DealContact(TenantModel):
    """A person involved in a deal, with the part they play in it."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="contact_links")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="deal_links")
    role = models.CharField(_("role"), max_length=80, blank=True,
                            help_text=_("For example decision maker, champion, billing."))

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "deal", "contact"],
                                    name="dealcontact_unique"),
        ]
        indexes = [models.Index(fields=["organization", "contact"], name="dealcontact_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} on {self.deal_id} ({self.role})"


class LineItem(TenantModel):
    """A product (or a typed-in item) on a deal, with its quantity and price."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="line_items")
    product = models.ForeignKey("commerce.Product", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("product"))
    name = models.CharField(_("item"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    discount_percent = models.DecimalField(_("discount (%)"), max_digits=5, decimal_places=2,
                                           default=0)
    tax_percent = models.DecimalField(_("tax (%)"), max_digits=5, decimal_places=2, default=0)
    position = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organization", "deal"], name="lineitem_deal")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class StageChange(TenantModel):
    """One move of a deal between stages; the first row of a deal has no `from_stage`.

    `seconds_in_from_stage` is how long the deal sat in the stage it left,
    which is what "average time in stage" is computed from.
    """

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    to_stage = models.ForeignKey(Stage, null=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # The stages' names at the move, shown once a stage is deleted.
    from_stage_name = models.CharField(max_length=120, blank=True)
    to_stage_name = models.CharField(max_length=120, blank=True)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    seconds_in_from_stage = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["organization", "deal", "changed_at"],
                         name="stagechange_deal"),
            models.Index(fields=["organization", "changed_at"], name="stagechange_time"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id}"

    @property
    def from_stage_label(self) -> str:
        """The stage left: its name now, or its name at the move if it was deleted."""
        return self.from_stage.name if self.from_stage is not None else self.from_stage_name

    @property
    def to_stage_label(self) -> str:
        return self.to_stage.name if self.to_stage is not None else self.to_stage_name
