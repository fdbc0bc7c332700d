"""Saved reports, their scheduled e-mails and the dashboards assembled from them."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class Chart(models.TextChoices):
    BAR = "bar", _("Bar")
    LINE = "line", _("Line")
    PIE = "pie", _("Pie")
    TABLE = "table", _("Table only")


class Frequency(models.TextChoices):
    NEVER = "", _("Not sent")
    DAILY = "daily", _("Daily")
    WEEKLY = "weekly", _("Weekly, on Mondays")
    MONTHLY = "monthly", _("Monthly, on the 1st")


class SavedReport(VersionedModel):
    """A report definition (see `engine.Definition`) kept under a name.

    A private report is seen by its owner only; a shared one by every member
    who may view reports. Either way each reader sees only the records they
    may see, so sharing a report never shares records.
    """

    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    is_shared = models.BooleanField(_("shared with the organisation"), default=False)
    definition = models.JSONField(default=dict)
    frequency = models.CharField(_("send by e-mail"), max_length=8, choices=Frequency.choices,
                                 default=Frequency.NEVER, blank=True)
    # User ids of the members the e-mail goes to; each receives the report as
    # their own visibility shows it.
    recipients = models.JSONField(default=list, blank=True)

    class Meta(VersionedModel.Meta):
        indexes = [models.Index(fields=["organization", "id"], name="savedreport_org")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reports:detail", args=[self.pk])


class ReportDelivery(TenantModel):
    """One scheduled e-mail of a report to one member for one period.

    Written before the mail is sent and unique per period, so a task run
    twice sends nothing twice.
    """

    report = models.ForeignKey(SavedReport, on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+")
    period = models.CharField(max_length=16)  # "2026-12-05", "2026-W49", "2026-12"
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "report", "recipient", "period"],
                                    name="reportdelivery_once"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} to {self.recipient_id} for {self.period}"


class Dashboard(VersionedModel):
    """A member's own page of report tiles."""

    name = models.CharField(_("name"), max_length=120)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")

    class Meta(VersionedModel.Meta):
        indexes = [models.Index(fields=["organization", "owner"], name="dashboard_owner")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reports:dashboard", args=[self.pk])


class DashboardTile(TenantModel):
    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="tiles")
    report = models.ForeignKey(SavedReport, on_delete=models.CASCADE, related_name="tiles")
    position = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "dashboard", "report"],
                                    name="dashboardtile_once"),
        ]

    def __str__(self) -> str:
        return f"{self.dashboard_id}: {self.report_id}"
