from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel


class SlaTarget(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")


class SlaAlertKind(models.TextChoices):
    WARNING = "warning", _("Due soon")
    BREACH = "breach", _("Breached")


class SlaAlert(TenantModel):
    """One warning or breach of one target of a ticket, written before anyone is told.

    The unique key makes the alert happen once however many workers look at
    the ticket; `sent_at` says the e-mail went out, `failed_at` that the mail
    server refused it and a later run may try again.
    """

    ticket = models.ForeignKey("service.Ticket", on_delete=models.CASCADE,
                               related_name="sla_alerts")
    kind = models.CharField(max_length=8, choices=SlaAlertKind.choices)
    target = models.CharField(max_length=16, choices=SlaTarget.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "ticket", "kind", "target"],
                                    name="slaalert_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "failed_at"], name="slaalert_failed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.target} on ticket {self.ticket_id}"
