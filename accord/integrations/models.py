"""Import and export jobs: their files, progress and outcome."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord.core.models import VersionedModel


class ExportEntity(models.TextChoices):
    CONTACTS = "contacts", _("Contacts")
    COMPANIES = "companies", _("Companies")
    ORGANISATION = "organisation", _("The whole organisation")


class ExportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    XLSX = "xlsx", _("Excel (XLSX)")
    VCF = "vcf", _("vCard")
    JSONL = "jsonl", _("JSON Lines")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def export_path(job: "ExportJob", filename: str) -> str:
    return f"exports/{job.organization_id}/{job.pk}/{filename}"


class ExportJob(VersionedModel):
    """One export of a list, or of the whole organisation, into a file.

    The file lives in the default storage until `expires_at`, when the beat
    task deletes it and empties `file`; the row stays as a record of the export.
    """

    entity = models.CharField(_("what"), max_length=16, choices=ExportEntity.choices)
    format = models.CharField(_("format"), max_length=8, choices=ExportFormat.choices)
    # The list's query string (filters, search, ordering) the export came from.
    query = models.CharField(max_length=2000, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=ExportStatus.choices,
                              default=ExportStatus.QUEUED)
    rows_written = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    file = models.FileField(upload_to=export_path, max_length=300, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Set before the "export ready" e-mail goes out, so it goes out once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta(VersionedModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "created_at", "id"],
                         name="exportjob_org_created"),
            models.Index(fields=["organization", "created_by", "created_at"],
                         name="exportjob_org_creator"),
            models.Index(fields=["expires_at"], name="exportjob_expires",
                         condition=models.Q(expires_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.get_entity_display()} ({self.get_format_display()})"

    def get_absolute_url(self) -> str:
        return reverse("integrations:export_detail", args=[self.pk])

    def get_download_url(self) -> str:
        return reverse("integrations:export_download", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)

    @property
    def is_downloadable(self) -> bool:
        return (self.status == ExportStatus.DONE and bool(self.file)
                and (self.expires_at is None or self.expires_at > timezone.now()))

    @property
    def filename(self) -> str:
        return self.file.name.rsplit("/", 1)[-1] if self.file else ""
