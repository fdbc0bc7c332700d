"""Segments: saved sets of contacts, described by a condition tree or frozen as a list."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Dynamic")
    FROZEN = "frozen", _("Frozen list")


class Segment(VersionedModel):
    """A named condition tree over an organisation's contacts.

    A dynamic segment is evaluated whenever it is used; a frozen one keeps
    the contacts that matched when it was frozen (`SegmentMember` rows) until
    it is refreshed. The definition is organisation-wide; which members a
    person sees is still limited by record visibility.
    """

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=500, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=SegmentKind.choices,
                            default=SegmentKind.DYNAMIC)
    # A validated tree of the condition language (accord.marketing.conditions).
    conditions = models.JSONField(_("conditions"), default=dict)
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="segment_unique_name"),
        ]
        indexes = [
            models.Index("organization", Lower("name"), "id", name="segment_org_name"),
            models.Index(fields=["organization", "updated_at", "id"], name="segment_org_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:segment", args=[self.pk])

    @property
    def is_frozen(self) -> bool:
        return self.kind == SegmentKind.FROZEN


class SegmentMember(TenantModel):
    """A contact that matched a frozen segment when it was last frozen or refreshed."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "segment", "contact"],
                                    name="segmentmember_unique"),
        ]
        indexes = [
            models.Index(fields=["organization", "contact"], name="segmentmember_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"
from .webform_models import WebForm, WebFormSubmission  # noqa: E402, F401 - registered with the app here
