from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel


class Outreach(TenantModel):
    """One templated e-mail an agent sent to a chosen set of customers."""

    subject = models.CharField(_("subject"), max_length=250)
    body = models.TextField(_("message"))
    reason = models.CharField(_("why these customers"), max_length=120, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.subject


class OutreachRecipient(TenantModel):
    """One customer's copy of an outreach: written before the e-mail, so it goes once.

    `status` moves from pending to sending (claimed by one worker) to sent or
    failed; a worker lost while sending leaves it at sending and it is not
    sent again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    outreach = models.ForeignKey(Outreach, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE, related_name="+")
    address = models.EmailField(max_length=254)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "outreach", "contact"],
                                    name="outreachrecipient_unique"),
        ]
