"""Workflow rules: a trigger, conditions on the record's contact, ordered actions, a run log."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class Trigger(models.TextChoices):
    CREATED = "created", _("A record is created")
    FIELD_CHANGED = "field_changed", _("A field changes")
    STAGE_MOVED = "stage_moved", _("A deal moves to a stage")
    TICKET_STATUS = "ticket_status", _("A ticket's status changes")
    DATE_REACHED = "date_reached", _("A date is reached")
    EVENT = "event", _("An event is received")
    BEHAVIOUR = "behaviour", _("A contact does something (behaviour event)")
    SCHEDULE = "schedule", _("Every day at a time")


class Rule(VersionedModel):
    """What sets a rule off (`trigger` with its `settings`), whom it is for, what it does.

    `conditions` is a tree of the segment condition language, checked against
    the contact of the record the rule runs for; `actions` is the ordered list
    the run works through, each `{"type": ..., <its settings>}`.
    """

    name = models.CharField(_("name"), max_length=200)
    trigger = models.CharField(_("trigger"), max_length=32, choices=Trigger.choices)
    settings = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    starter = models.CharField(max_length=64, blank=True)
    # The day (in the organisation's time zone) a date or schedule rule last
    # looked for records, so each looks once a day however often beat ticks.
    last_checked_on = models.DateField(null=True, blank=True)
    # The member a round-robin assignment gave the last record to.
    last_assignee_id = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey("identity.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # Who saved the rule last: its runs keep to what that member may see
    # (automation.authors).
    edited_by = models.ForeignKey("identity.User", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        indexes = [
            models.Index(fields=["organization", "is_active", "trigger"], name="rule_active"),
            models.Index(fields=["organization", "id"], name="rule_org_id"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("automation:rule", args=[self.pk])


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Conditions not met")
    STOPPED = "stopped", _("Stopped")
    FAILED = "failed", _("Failed")


class RuleRun(TenantModel):
    """One run of a rule for one record, set off once by one trigger.

    `key` names what set it off (`event:<id>`, `date:<record>:<day>`...),
    unique per rule, so an event delivered twice runs the rule once. `log`
    holds one entry per action done, failed or skipped, in order.
    """

    # Indexed by the uniqueness rule below.
    organization = models.ForeignKey(
        "identity.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    key = models.CharField(max_length=100)
    event = models.ForeignKey("core.DomainEvent", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    trigger_text = models.CharField(max_length=300, blank=True)
    entity = models.CharField(max_length=64)  # "record:" and a type key of up to 50
    object_id = models.BigIntegerField()
    depth = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=RunStatus.choices,
                              default=RunStatus.PENDING)
    # The rule's actions when the run began, so that a run waiting for days
    # finishes what it started even if the rule is edited meanwhile.
    actions = models.JSONField(default=list, blank=True)
    next_action = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    resume_at = models.DateTimeField(null=True, blank=True)
    log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "rule", "key"], name="rulerun_key"),
        ]
        indexes = [
            models.Index(fields=["organization", "rule", "id"], name="rulerun_rule"),
            # Read across organisations by the beat task that wakes runs up.
            models.Index(fields=["status", "resume_at"], name="rulerun_waiting"),
        ]

    def __str__(self):
        return f"{self.rule_id} {self.key}: {self.status}"
