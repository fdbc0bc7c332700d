"""The timeline: notes, calls, meetings, logged e-mails, tasks and system events."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class Kind(models.TextChoices):
    NOTE = "note", _("Note")
    CALL = "call", _("Call")
    MEETING = "meeting", _("Meeting")
    EMAIL = "email", _("E-mail")
    TASK = "task", _("Task")
    SYSTEM = "system", _("System event")


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", _("Connected")
    VOICEMAIL = "voicemail", _("Left voicemail")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")


USER_KINDS = [Kind.NOTE, Kind.CALL, Kind.MEETING, Kind.EMAIL, Kind.TASK]


class Activity(VersionedModel):
    """One entry on the timeline of a contact and/or a company.

    A task is an activity with a due date and an assignee; it is done when
    `completed_at` is set. System events (created, stage changed, merged) are
    written by services and carry a stable `event` key with its `data`.
    """

    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("details"), blank=True)
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.CASCADE,
        related_name="activities", verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.CASCADE,
        related_name="activities", verbose_name=_("company"),
    )
    deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.CASCADE,
        related_name="activities", verbose_name=_("deal"),
    )
    custom_record = models.ForeignKey(
        "records.Record", null=True, blank=True, on_delete=models.CASCADE,
        related_name="activities", verbose_name=_("record"),
    )
    occurred_at = models.DateTimeField(_("when"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices,
                                 blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=CallOutcome.choices,
                               blank=True)
    duration_minutes = models.PositiveIntegerField(_("duration (minutes)"), null=True,
                                                   blank=True)
    # Tasks.
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("assignee"),
    )
    remind_at = models.DateTimeField(_("remind at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # System events.
    event = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta(VersionedModel.Meta):
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["organization", "contact", "occurred_at", "id"],
                         name="activity_contact_timeline"),
            models.Index(fields=["organization", "company", "occurred_at", "id"],
                         name="activity_company_timeline"),
            models.Index(fields=["organization", "deal", "occurred_at", "id"],
                         name="activity_deal_timeline"),
            models.Index(fields=["organization", "custom_record", "occurred_at", "id"],
                         name="activity_record_timeline"),
            models.Index(fields=["organization", "assignee", "completed_at", "due_at"],
                         name="activity_tasks"),
            models.Index(fields=["organization", "id"], name="activity_org_id"),
            models.Index(fields=["remind_at"], name="activity_remind_at",
                         condition=models.Q(remind_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()

    def get_absolute_url(self) -> str:
        return reverse("activities:detail", args=[self.pk])

    @property
    def record(self):
        """The contact, company, deal or custom record whose timeline this entry belongs to."""
        return self.contact or self.company or self.deal or self.custom_record

    @property
    def is_task(self) -> bool:
        return self.kind == Kind.TASK

    @property
    def is_done(self) -> bool:
        return self.completed_at is not None

    @property
    def is_overdue(self) -> bool:
        return (self.kind == Kind.TASK and self.completed_at is None
                and self.due_at is not None and self.due_at < timezone.now())


class ReminderDelivery(TenantModel):
    """One reminder e-mail, written before it is sent so it is never sent twice."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="reminders")
    remind_at = models.DateTimeField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "activity", "remind_at"],
                                    name="reminder_once")
        ]

    def __str__(self) -> str:
        return f"reminder {self.activity_id} at {self.remind_at:%Y-%m-%d %H:%M}"


class CalendarFeed(TenantModel):
    """A member's private calendar address; only a hash of its secret is kept.

    Making a new address replaces the old one, which stops working at once.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_read_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="calendarfeed_once"),
        ]

    def __str__(self) -> str:
        return f"calendar of {self.user_id}"
