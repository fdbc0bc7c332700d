"""Data-subject requests and retention rules, with the runs that carried them out."""

import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class RequestKind(models.TextChoices):
    EXPORT = "export", _("Export")
    ERASE = "erase", _("Erase")
    ANONYMISE = "anonymise", _("Anonymise")


class RequestStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


def archive_path(request: "DataRequest", filename: str) -> str:
    # A random folder: the reference alone does not lead to the file.
    return f"privacy/{request.organization_id}/{secrets.token_hex(16)}/{filename}"


def new_reference() -> str:
    return "DSR-" + secrets.token_hex(5).upper()


class DataRequest(VersionedModel):
    """One data-subject request: an export, an erasure or an anonymisation of a contact.

    The row never holds the person's name or address. `subject_hash` is a
    keyed hash of the contact's e-mail addresses, so a later request by the
    same person can be matched without keeping who they are; `contact_id` is
    a plain number that points nowhere once the contact is erased.
    """

    reference = models.CharField(_("reference"), max_length=20, default=new_reference,
                                 editable=False)
    kind = models.CharField(_("kind"), max_length=10, choices=RequestKind.choices)
    status = models.CharField(_("status"), max_length=8, choices=RequestStatus.choices,
                              default=RequestStatus.QUEUED)
    contact_id = models.BigIntegerField(_("contact"))
    subject_hash = models.CharField(max_length=64, blank=True, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # {"activities": 3, "orders": 1, ...}: what the request touched, by area.
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    file = models.FileField(upload_to=archive_path, max_length=300, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Set before the "request done" e-mail goes out, so it goes out once.
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta(VersionedModel.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "reference"],
                                    name="datarequest_reference"),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at", "id"],
                         name="datarequest_org_created"),
            models.Index(fields=["organization", "contact_id"], name="datarequest_org_contact"),
            models.Index(fields=["expires_at"], name="datarequest_expires",
                         condition=models.Q(expires_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_kind_display()})"

    def get_absolute_url(self) -> str:
        return reverse("privacy:request_detail", args=[self.pk])

    def get_download_url(self) -> str:
        return reverse("privacy:request_archive", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in (RequestStatus.DONE, RequestStatus.FAILED)

    @property
    def is_downloadable(self) -> bool:
        return (self.kind == RequestKind.EXPORT and self.status == RequestStatus.DONE
                and bool(self.file)
                and (self.expires_at is None or self.expires_at > timezone.now()))

    @property
    def filename(self) -> str:
        return f"{self.reference.lower()}.zip"


class RetentionEntity(models.TextChoices):
    TICKET_MESSAGE = "ticket_message", _("Ticket messages")
    LEAD = "lead", _("Leads")
    ACTIVITY = "activity", _("Activities")
    CONTACT = "contact", _("Contacts")
    FORM_SUBMISSION = "form_submission", _("Form submissions")
    CUSTOM_RECORD = "custom_record", _("Custom records")


class RetentionCondition(models.TextChoices):
    TICKET_CLOSED = "ticket_closed", _("of tickets closed or solved longer ago than the age")
    NOT_CONTACTED = "not_contacted", _("not changed or contacted for longer than the age")
    OLDER_THAN = "older_than", _("that happened longer ago than the age")
    INACTIVE_NO_CONSENT = "inactive_no_consent", _(
        "with no activity, order or deal for longer than the age and no consent given")
    RECEIVED_BEFORE = "received_before", _("received longer ago than the age")
    DATE_PASSED = "date_passed", _("whose date field is longer ago than the age")
    CREATED_BEFORE = "created_before", _("created longer ago than the age")


class RetentionAction(models.TextChoices):
    DELETE = "delete", _("Delete")
    ANONYMISE = "anonymise", _("Anonymise")


class RetentionRule(VersionedModel):
    """Keep one kind of record no longer than `age_days` under one condition."""

    name = models.CharField(_("name"), max_length=120)
    entity = models.CharField(_("records"), max_length=20, choices=RetentionEntity.choices)
    condition = models.CharField(_("condition"), max_length=24,
                                 choices=RetentionCondition.choices)
    age_days = models.PositiveIntegerField(_("age in days"))
    action = models.CharField(_("action"), max_length=10, choices=RetentionAction.choices)
    is_active = models.BooleanField(_("active"), default=True)
    # Only for custom records: the type whose records go, and for the
    # `date_passed` condition the key of its date field the age counts from.
    record_type = models.ForeignKey("records.RecordType", null=True, blank=True,
                                    on_delete=models.CASCADE, related_name="+",
                                    verbose_name=_("record type"))
    date_field = models.CharField(_("date field"), max_length=50, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "id"], name="retentionrule_org_id")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("privacy:rule_detail", args=[self.pk])


class RetentionRun(TenantModel):
    """One run of one rule: when, how it was started, and how many records it took."""

    rule = models.ForeignKey(RetentionRule, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # "schedule" for the nightly run, "manual" when a member ran it.
    trigger = models.CharField(max_length=10)
    matched = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organization", "rule", "started_at"],
                                name="retentionrun_rule")]

    def __str__(self) -> str:
        return f"{self.rule_id} @ {self.started_at}: {self.processed}"
