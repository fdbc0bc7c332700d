"""Import and export jobs: their files, options, progress and outcome."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel
from accord.records.models import RecordType


class ExportEntity(models.TextChoices):
    CONTACTS = "contacts", _("Contacts")
    COMPANIES = "companies", _("Companies")
    DEALS = "deals", _("Deals")
    PRODUCTS = "products", _("Products")
    ORDERS = "orders", _("Orders")
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

    entity = models.CharField(_("what"), max_length=64)
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

    def get_entity_display(self) -> str:
        """The entity's label; a custom record type ("record:property") by its plural."""
        if self.entity in ExportEntity.values:
            return str(ExportEntity(self.entity).label)
        record_type = RecordType.objects.filter(
            organization_id=self.organization_id,
            key=self.entity.removeprefix("record:")).first()
        return str(record_type.plural) if record_type else self.entity

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


def upload_path(job: "ImportJob", filename: str) -> str:
    # A random folder per upload: two files with the same name never collide
    # and a guessed path reveals nothing.
    return f"imports/{job.organization_id}/{uuid.uuid4().hex}/{filename[-100:]}"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    UNDONE = "undone", _("Undone")


class DuplicatePolicy(models.TextChoices):
    SKIP = "skip", _("Skip rows that match an existing record")
    FILL = "fill", _("Fill empty fields of the matching record")
    OVERWRITE = "overwrite", _("Overwrite the matching record with the file's values")
    CREATE = "create", _("Always create a new record")


class RowAction(models.TextChoices):
    CREATED = "created", _("Created")
    UPDATED = "updated", _("Updated")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")


class ImportJob(VersionedModel):
    """One uploaded file being brought into one entity, and how far it got."""

    entity = models.CharField(_("record type"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices,
                              default=ImportStatus.UPLOADED)
    file = models.FileField(upload_to=upload_path, max_length=300)
    filename = models.CharField(_("file name"), max_length=255)
    kind = models.CharField(max_length=8, blank=True)
    # encoding, delimiter, sheet, mapping {header: field}, date_order,
    # number_style, duplicate_policy, create_missing_links, dry_run
    options = models.JSONField(default=dict, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "id"], name="importjob_org_id"),
            models.Index(fields=["status", "heartbeat_at"], name="importjob_status_beat"),
        ]

    def __str__(self) -> str:
        return self.filename

    def get_absolute_url(self) -> str:
        return reverse("integrations:import_detail", args=[self.pk])

    @property
    def progress(self) -> int:
        """Per cent of rows processed, 0 while the total is unknown."""
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.rows_done / self.total_rows))

    @property
    def is_active(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportRow(TenantModel):
    """What happened to one row of an import; written in the same transaction as the row."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="ledger")
    row = models.PositiveIntegerField()
    action = models.CharField(max_length=8, choices=RowAction.choices)
    record_id = models.BigIntegerField(null=True, blank=True)
    # [{column, value, reason}] for a failed row; one plain reason for a skipped one.
    errors = models.JSONField(default=list, blank=True)
    # The previous values of the fields an update changed, and the record's
    # version right after it, so undo can tell whether someone edited since.
    before = models.JSONField(default=dict, blank=True)
    version_after = models.PositiveIntegerField(null=True, blank=True)
    # Records created along the way to link this row, such as its company.
    links_created = models.JSONField(default=list, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["job", "row"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "job", "row"],
                                    name="importrow_unique_row"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row} {self.action}"


class ImportMapping(VersionedModel):
    """A named column mapping, offered again for files with the same headers."""

    entity = models.CharField(_("record type"), max_length=64)
    name = models.CharField(_("name"), max_length=80)
    # Folded headers, sorted and joined; how a new file finds this mapping.
    header_key = models.CharField(max_length=64)
    mapping = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "entity", "header_key"],
                                name="importmapping_headers")]

    def __str__(self) -> str:
        return self.name


# The system an import records ids under when it is not told another's name.
IMPORT_SYSTEM = "import"


class ExternalId(TenantModel):
    """A record's id in another system, so rows can find it again by that id."""

    entity = models.CharField(max_length=64)
    record_id = models.BigIntegerField()
    system = models.CharField(max_length=40)
    value = models.CharField(max_length=200)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "entity", "system", "value"],
                                    name="externalid_unique"),
        ]
        indexes = [models.Index(fields=["organization", "entity", "record_id"],
                                name="externalid_record")]

    def __str__(self) -> str:
        return f"{self.system}:{self.value}"


# Outgoing webhooks live in their own module; importing them here registers them.
from .webhook_models import DeliveryStatus, Webhook, WebhookAttempt, WebhookDelivery  # noqa: E402, F401
