from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class PortalSettings(VersionedModel):
    """How an organisation's customer portal behaves; one row per organisation.

    The portal is off until an admin switches it on, so nothing of an
    organisation is reachable from outside before someone decided so.
    """

    is_enabled = models.BooleanField(_("portal switched on"), default=False)
    share_company_tickets = models.BooleanField(
        _("contacts see their company's tickets"), default=False,
        help_text=_("When on, a contact signed in to the portal also sees and answers the "
                    "tickets of other contacts of the same company."),
    )

    class Meta(VersionedModel.Meta):
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="portalsettings_unique_org"),
        ]

    def __str__(self) -> str:
        return f"portal of {self.organization_id}"


class PortalSignInRequest(TenantModel):
    """Someone asked for a sign-in link: a row for every request, known address or not.

    The rows are what the throttle counts, so an unknown address is slowed
    down exactly like a known one. Only a request for a live contact gets a
    token, kept as a hash; `used_at` makes it work once.
    """

    email_hash = models.CharField(max_length=64)
    ip = models.CharField(max_length=45, blank=True)
    contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], condition=~models.Q(token_hash=""),
                                    name="portalsignin_unique_token"),
        ]
        indexes = [
            models.Index(fields=["organization", "email_hash", "created_at"],
                         name="portalsignin_address"),
            models.Index(fields=["organization", "ip", "created_at"], name="portalsignin_ip"),
        ]

    def __str__(self) -> str:
        return f"sign-in request {self.pk}"
