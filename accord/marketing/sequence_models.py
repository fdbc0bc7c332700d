"""Sequences: several e-mails and steps in order, and the contacts going through them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class SequenceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")


class Sequence(VersionedModel):
    """A named list of steps that each enrolled contact goes through, one after another.

    `steps` is the validated list of the step language (accord.marketing.sequences):
    each step has a `key` that stays the same when steps are added, moved or
    removed, so that enrolments and their messages keep pointing at the
    right step. `exit` holds the conditions that take a contact out early.
    """

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=SequenceStatus.choices,
                              default=SequenceStatus.DRAFT)
    steps = models.JSONField(_("steps"), default=list)
    exit = models.JSONField(_("exit conditions"), default=dict)
    from_name = models.CharField(_("from name"), max_length=120, blank=True)
    from_email = models.EmailField(_("from address"), max_length=254)
    # Members of this segment are enrolled as they appear, while the sequence is active.
    segment = models.ForeignKey("marketing.Segment", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("enrol new members of"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="sequence_unique_name"),
        ]
        indexes = [
            models.Index("organization", Lower("name"), "id", name="sequence_org_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:sequence", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == SequenceStatus.ACTIVE

    def step(self, key: str) -> dict | None:
        return next((step for step in self.steps if step.get("key") == key), None)

    def position(self, key: str) -> int | None:
        return next((n for n, step in enumerate(self.steps) if step.get("key") == key), None)


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("In the sequence")
    COMPLETED = "completed", _("Went through every step")
    EXITED = "exited", _("Left early")
    REMOVED = "removed", _("Taken out")


class EnrolmentSource(models.TextChoices):
    MANUAL = "manual", _("By hand")
    SEGMENT = "segment", _("From a segment")
    RULE = "rule", _("By a workflow rule")
    API = "api", _("Through the API")
    CODE = "code", _("By the system")


class Enrolment(TenantModel):
    """One contact's way through one sequence.

    `step_key` is the step that runs next (blank once finished) and `next_run_at`
    when; the beat runs every active enrolment whose time has come. A contact
    is in a sequence at most once at a time: a second active enrolment is
    refused by the database.
    """

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrolments")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=EnrolmentStatus.choices,
                              default=EnrolmentStatus.ACTIVE)
    source = models.CharField(_("enrolled"), max_length=8, choices=EnrolmentSource.choices,
                              default=EnrolmentSource.MANUAL)
    step_key = models.CharField(_("current step"), max_length=16, blank=True)
    next_run_at = models.DateTimeField(_("next step at"), null=True, blank=True)
    exit_reason = models.CharField(_("exit reason"), max_length=16, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "sequence", "contact"],
                                    condition=Q(status="active"),
                                    name="enrolment_one_active"),
        ]
        indexes = [
            models.Index(fields=["organization", "sequence", "status", "id"],
                         name="enrolment_sequence"),
            models.Index(fields=["organization", "contact"], name="enrolment_contact"),
            # Serves the beat, which looks across organisations for enrolments
            # that are due, so it does not start with the organisation.
            models.Index(fields=["status", "next_run_at"], name="enrolment_due"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in sequence {self.sequence_id}"

    def get_absolute_url(self) -> str:
        return reverse("marketing:enrolment", args=[self.sequence_id, self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == EnrolmentStatus.ACTIVE


class EnrolmentEntry(TenantModel):
    """One line of an enrolment's log: what happened at a step, and why it moved on."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="log")
    step_key = models.CharField(max_length=16, blank=True)
    kind = models.CharField(max_length=16)
    text = models.CharField(max_length=500)
    at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["organization", "enrolment", "id"], name="enrolmententry_log"),
        ]

    def __str__(self) -> str:
        return self.text


class MessageStatus(models.TextChoices):
    EXCLUDED = "excluded", _("Not sent")
    SENDING = "sending", _("Handed to the mail server, not confirmed")
    DEFERRED = "deferred", _("Refused for now, to be tried again")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


class SequenceMessage(TenantModel):
    """The e-mail of one step for one enrolment: the ledger row that makes it go at most once.

    The row is written as `sending` and committed before the e-mail is handed
    to the mail server, and marked `sent` after; a step whose row exists is
    never sent again, unless the mail server refused it for now (`deferred`):
    then the same row is taken again at the retry.
    """

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="messages")
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="messages")
    step_key = models.CharField(max_length=16)
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="+")
    address = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    reason = models.CharField(max_length=16, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The tracked links of the e-mail as sent; a click redirects only to these.
    links = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    clicked_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "enrolment", "step_key"],
                                    name="sequencemessage_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "sequence", "step_key"],
                         name="sequencemessage_step"),
        ]

    def __str__(self) -> str:
        return f"step {self.step_key} of enrolment {self.enrolment_id}"
