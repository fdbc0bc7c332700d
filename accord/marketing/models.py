"""Segments of contacts, e-mail templates, campaigns with their recipients, and the
suppression list."""

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


class EmailTemplate(VersionedModel):
    """A reusable e-mail: subject, sanitised HTML and its plain-text part.

    Subject and both bodies may hold merge fields and `{% if %}` blocks
    (accord.merge_fields); the HTML is sanitised when it is saved. When
    `text_by_hand` is false the plain text is derived from the HTML on save.
    """

    name = models.CharField(_("name"), max_length=120)
    subject = models.CharField(_("subject"), max_length=250)
    html = models.TextField(_("HTML body"))
    text = models.TextField(_("plain-text body"), blank=True)
    text_by_hand = models.BooleanField(_("plain text written by hand"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="emailtemplate_unique_name"),
        ]
        indexes = [
            models.Index("organization", Lower("name"), "id", name="emailtemplate_org_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:template", args=[self.pk])


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")


class TestMetric(models.TextChoices):
    OPENS = "opens", _("Most opens")
    CLICKS = "clicks", _("Most clicks")


class Campaign(VersionedModel):
    """One e-mail sent once to the contacts of a segment.

    Subject and bodies are copied from the template when the campaign starts,
    so changing the template afterwards does not change what was sent.

    With `subject_b` and a `test_percent`, the campaign first sends a subject
    test: that share of its recipients, half with the template's subject (A)
    and half with `subject_b` (B). The others are held for `test_hours`; then
    the subject with the better open (or click) rate, the `winner`, goes to
    them. A test of 100 % sends both subjects to halves of everyone.
    """

    name = models.CharField(_("name"), max_length=120)
    template = models.ForeignKey(EmailTemplate, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("template"))
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("segment"))
    from_name = models.CharField(_("from name"), max_length=120, blank=True)
    from_email = models.EmailField(_("from address"), max_length=254)
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    # The clock time of `scheduled_at` in the organisation's time zone is kept
    # in each recipient's own time zone: 09:00 for everyone, wherever they are.
    in_recipient_time_zone = models.BooleanField(_("in each recipient's time zone"),
                                                 default=False)
    started_at = models.DateTimeField(_("started"), null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True, editable=False)
    # Written by the sending job after each batch; a campaign in `sending`
    # whose heartbeat is old has lost its worker and is resumed.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    subject = models.CharField(max_length=250, blank=True, editable=False)
    html = models.TextField(blank=True, editable=False)
    text = models.TextField(blank=True, editable=False)
    subject_b = models.CharField(_("second subject to test"), max_length=250, blank=True)
    test_percent = models.PositiveSmallIntegerField(_("recipients in the test (%)"), default=0)
    test_hours = models.PositiveSmallIntegerField(_("hours before the winner is chosen"),
                                                  default=4)
    test_metric = models.CharField(_("the winner has"), max_length=8,
                                   choices=TestMetric.choices, default=TestMetric.OPENS)
    test_ends_at = models.DateTimeField(null=True, blank=True, editable=False)
    winner = models.CharField(max_length=1, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(VersionedModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "created_at", "id"], name="campaign_org_created"),
            # Serves the scheduler, which looks across organisations for
            # campaigns that are due, so it does not start with the organisation.
            models.Index(fields=["status", "scheduled_at"], name="campaign_due"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("marketing:campaign", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


class RecipientStatus(models.TextChoices):
    EXCLUDED = "excluded", _("Excluded")
    PENDING = "pending", _("Waiting")
    HELD = "held", _("Held for the subject test's winner")
    SENDING = "sending", _("Handed to the mail server, not confirmed")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")
    CANCELLED = "cancelled", _("Not sent: the campaign was cancelled")


class ExclusionReason(models.TextChoices):
    NO_EMAIL = "no_email", _("No e-mail address")
    DO_NOT_CONTACT = "do_not_contact", _("Marked do not contact")
    NO_CONSENT = "no_consent", _("No e-mail marketing consent")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    SUPPRESSED = "suppressed", _("Suppressed address")
    BOUNCED = "bounced", _("Bounced before")


class CampaignRecipient(TenantModel):
    """One contact of a campaign: the ledger row that makes each e-mail go at most once.

    The row is marked `sending` and committed before its e-mail is handed to
    the mail server, and `sent` after; a row found in `sending` is never sent
    again.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="+")
    address = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=10, choices=RecipientStatus.choices,
                              default=RecipientStatus.PENDING)
    reason = models.CharField(max_length=16, choices=ExclusionReason.choices, blank=True)
    # "a" or "b" for the halves of a subject test; empty for everyone else.
    variant = models.CharField(max_length=1, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    open_count = models.PositiveIntegerField(default=0)
    clicked_at = models.DateTimeField(null=True, blank=True)
    click_count = models.PositiveIntegerField(default=0)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "campaign", "contact"],
                                    name="campaignrecipient_unique"),
        ]
        indexes = [
            models.Index(fields=["organization", "campaign", "status", "id"],
                         name="campaignrecipient_status"),
            models.Index(fields=["organization", "contact"], name="campaignrecipient_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in campaign {self.campaign_id}"


class CampaignLink(TenantModel):
    """A link of a campaign's HTML; click tracking redirects only to these URLs."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)
    click_count = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "campaign", "position"],
                                    name="campaignlink_unique"),
        ]

    def __str__(self) -> str:
        return self.url


class LinkClick(TenantModel):
    """A recipient's clicks on one link: counted, first one timed."""

    recipient = models.ForeignKey(CampaignRecipient, on_delete=models.CASCADE,
                                  related_name="clicks")
    link = models.ForeignKey(CampaignLink, on_delete=models.CASCADE, related_name="clicks")
    count = models.PositiveIntegerField(default=1)
    first_at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "recipient", "link"],
                                    name="linkclick_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} clicked {self.link_id}"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINT = "complaint", _("Marked as spam")
    MANUAL = "manual", _("Added by hand")


class SuppressedAddress(TenantModel):
    """An address no campaign of the organisation sends to, whoever it belongs to."""

    # Stored lower-case, so that one address is one row.
    address = models.CharField(_("e-mail address"), max_length=254)
    reason = models.CharField(_("reason"), max_length=12, choices=SuppressionReason.choices,
                              default=SuppressionReason.MANUAL)
    note = models.CharField(_("note"), max_length=300, blank=True)
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "address"],
                                    name="suppressedaddress_unique"),
        ]

    def __str__(self) -> str:
        return self.address


class TextStatus(models.TextChoices):
    SENDING = "sending", _("Handed to the provider, not confirmed")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class TextMessage(TenantModel):
    """A text message (SMS) to a contact: the row is committed as `sending` before the
    provider is called, so a message whose outcome is unknown is never sent again."""

    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="text_messages")
    to = models.CharField(max_length=20)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=TextStatus.choices,
                              default=TextStatus.SENDING)
    provider_id = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=300, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "contact", "created_at"],
                                name="textmessage_contact")]

    def __str__(self) -> str:
        return f"Text to {self.to}"


from .sequence_models import (  # noqa: E402, F401 - registered with the app here
    Enrolment,
    EnrolmentEntry,
    Sequence,
    SequenceMessage,
)
from .webform_models import WebForm, WebFormSubmission  # noqa: E402, F401 - registered with the app here
