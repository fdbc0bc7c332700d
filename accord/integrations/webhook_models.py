"""Outgoing webhooks: subscriptions, one delivery per event, and each attempt at it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class Webhook(VersionedModel):
    """A receiver URL subscribed to some event types, signing with its secret.

    The secret is kept as given because every delivery is signed with it; it
    is shown once, when created, and never returned again.
    """

    url = models.URLField(_("URL"), max_length=2000)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(max_length=128)
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    pause_reason = models.CharField(_("paused because"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["id"]
        indexes = [models.Index(fields=["organization", "is_active"], name="webhook_active")]

    def __str__(self) -> str:
        return self.url

    @property
    def is_sending(self) -> bool:
        return self.is_active and self.paused_at is None


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Gave up")


class WebhookDelivery(TenantModel):
    """One event for one webhook; retried until delivered or a day has passed."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("core.DomainEvent", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A sender holds the delivery until this time, so that two workers never
    # send it at once; a sender that dies lets the claim lapse.
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "webhook", "event"],
                                    name="webhookdelivery_once"),
        ]
        indexes = [
            models.Index(fields=["organization", "webhook", "id"], name="webhookdelivery_log"),
            models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.type} to webhook {self.webhook_id}"


class WebhookAttempt(TenantModel):
    """One HTTP request of a delivery, with what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["started_at", "id"]
        indexes = [models.Index(fields=["organization", "delivery"], name="webhookattempt_log")]

    def __str__(self) -> str:
        return f"attempt at {self.started_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
