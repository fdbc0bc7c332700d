"""Product feeds: a catalogue file another system publishes, read on a schedule."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class FeedFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    JSON = "json", _("JSON")


class FeedSchedule(models.TextChoices):
    HOURLY = "hourly", _("Every hour")
    DAILY = "daily", _("Every day")
    MANUAL = "manual", _("Only when started by hand")


class ProductFeed(VersionedModel):
    """Where a product information system publishes the catalogue, and how often to read it.

    Each run downloads the file and imports it as products, matched by SKU,
    with the import's own checks, error file and undo; `deactivate_missing`
    also switches off active products the file no longer lists.
    """

    name = models.CharField(_("name"), max_length=120)
    url = models.URLField(_("address"), max_length=1000)
    format = models.CharField(_("format"), max_length=8, choices=FeedFormat.choices,
                              default=FeedFormat.CSV)
    schedule = models.CharField(_("schedule"), max_length=8, choices=FeedSchedule.choices,
                                default=FeedSchedule.DAILY)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    deactivate_missing = models.BooleanField(_("switch off products the feed drops"),
                                             default=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "id"], name="productfeed_org_id")]

    def __str__(self) -> str:
        return self.name


class FeedRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ProductFeedRun(TenantModel):
    """One reading of a feed: what was downloaded and what the import made of it."""

    feed = models.ForeignKey(ProductFeed, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(_("status"), max_length=8, choices=FeedRunStatus.choices,
                              default=FeedRunStatus.RUNNING)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    bytes = models.PositiveIntegerField(_("bytes read"), default=0)
    import_job = models.ForeignKey("integrations.ImportJob", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    deactivated = models.PositiveIntegerField(_("switched off"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organization", "feed", "-started_at"],
                                name="productfeedrun_feed")]

    def __str__(self) -> str:
        return f"{self.feed_id} {self.started_at:%Y-%m-%d %H:%M} {self.status}"
