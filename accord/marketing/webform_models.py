"""Web forms that visitors fill in on a public page or another site, and what they sent."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel
from accord.customers.models import ConsentPurpose, LifecycleStage


class FormTarget(models.TextChoices):
    CONTACT = "contact", _("Contact")
    LEAD = "lead", _("Lead")


class ConsentState(models.TextChoices):
    NONE = "", _("Not asked or not given")
    PENDING = "pending", _("Waiting for the e-mail to be confirmed")
    GRANTED = "granted", _("Granted")


class WebForm(VersionedModel):
    """A form designed in Accord, reached by anyone who knows its public key.

    `fields` lists what the form asks, in order: `{"name", "label",
    "required"}`, where a name is a contact field or `cf_<key>` for a
    contact custom field; e-mail is always there and always required.
    """

    name = models.CharField(_("name"), max_length=120)
    public_key = models.CharField(max_length=32, unique=True, editable=False)
    fields = models.JSONField(_("fields"), default=list)
    consent_purpose = models.CharField(_("consent purpose"), max_length=20, blank=True,
                                       choices=ConsentPurpose.choices)
    consent_text = models.CharField(_("consent text"), max_length=1000, blank=True)
    creates = models.CharField(_("creates"), max_length=8, choices=FormTarget.choices,
                               default=FormTarget.CONTACT)
    lifecycle_stage = models.CharField(_("lifecycle stage"), max_length=16, blank=True,
                                       choices=LifecycleStage.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+",
                              verbose_name=_("owner"))
    tags = models.JSONField(_("tags"), default=list, blank=True)
    thank_you = models.CharField(_("thank-you message"), max_length=500, blank=True)
    redirect_url = models.URLField(_("redirect to"), max_length=500, blank=True)
    double_opt_in = models.BooleanField(_("double opt-in"), default=False)
    # Sites whose pages may post to the JSON endpoint from a browser (CORS).
    allowed_origins = models.JSONField(_("allowed origins"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="webform_unique_name"),
        ]
        indexes = [
            models.Index("organization", Lower("name"), "id", name="webform_org_name"),
            models.Index(fields=["organization", "updated_at", "id"], name="webform_org_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:webform", args=[self.pk])


class WebFormSubmission(TenantModel):
    """One accepted post to a web form: what was sent, from where, and what it made."""

    form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    data = models.JSONField(default=dict)
    utm = models.JSONField(default=dict)
    page_url = models.CharField(max_length=2000, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    lead = models.ForeignKey("sales.Lead", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    # The consent text exactly as the visitor saw it, kept whole: the consent
    # record's evidence has room for a summary only.
    consent_text = models.CharField(max_length=1000, blank=True)
    consent_purpose = models.CharField(max_length=20, blank=True,
                                       choices=ConsentPurpose.choices)
    consent = models.CharField(max_length=8, choices=ConsentState.choices, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "form", "created_at", "id"],
                         name="webformsubmission_form"),
            models.Index(fields=["organization", "contact"], name="webformsubmission_contact"),
        ]

    def __str__(self) -> str:
        return f"submission {self.pk} to {self.form_id}"
