from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accord.core.models import TenantModel, VersionedModel
from accord.customers.models import CompanySize


class LiveLeadManager(models.Manager):
    """Hides leads that sit in the trash."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


WEB_FORM_SOURCE = "web form"


class Lead(VersionedModel):
    """Someone who may become a customer, before they are a contact.

    `score` is `fit_points` (from field rules, recomputed on every change)
    plus `behaviour_points` (from events, which decay); `score_reasons` holds
    the field rules that match now, so the page can say why.
    """

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    domain = models.CharField(_("domain"), max_length=253, blank=True)
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    company_size = models.CharField(_("company size"), max_length=10,
                                    choices=CompanySize.choices, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True,
                               help_text=_("Two-letter ISO code, such as DE."))
    source = models.CharField(_("source"), max_length=80, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=LeadStatus.choices,
                              default=LeadStatus.NEW)
    disqualify_reason = models.CharField(_("disqualified because"), max_length=200,
                                         blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("owner"),
    )
    description = models.TextField(_("description"), blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    score = models.IntegerField(_("score"), default=0)
    fit_points = models.IntegerField(default=0, editable=False)
    behaviour_points = models.IntegerField(default=0, editable=False)
    score_reasons = models.JSONField(default=list, blank=True, editable=False)
    behaviour_decayed_at = models.DateTimeField(null=True, blank=True, editable=False)
    converted_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("contact"),
    )
    converted_company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("company"),
    )
    converted_deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("deal"),
    )
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    unscoped = models.Manager()
    objects = ScopedManager(_manager_class=LiveLeadManager, organization="organization")
    with_deleted = ScopedManager(organization="organization")

    class Meta(VersionedModel.Meta):
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "id"], name="lead_org_id"),
            models.Index(fields=["organization", "status", "id"], name="lead_status"),
            models.Index(fields=["organization", "owner", "status"], name="lead_owner"),
            models.Index(fields=["organization", "score", "id"], name="lead_score"),
            models.Index(fields=["organization", "created_at", "id"], name="lead_created"),
            models.Index(fields=["organization", "email"], name="lead_email"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.company_name or f"#{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    @property
    def is_converted(self) -> bool:
        return self.status == LeadStatus.CONVERTED


class LeadEntryKind(models.TextChoices):
    NOTE = "note", _("Note")
    SYSTEM = "system", _("System event")
    BEHAVIOUR = "behaviour", _("Behaviour event")


class LeadActivity(TenantModel):
    """One entry on a lead's timeline; moved onto the contact when the lead converts."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=10, choices=LeadEntryKind.choices)
    event = models.CharField(max_length=64, blank=True)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["organization", "lead", "occurred_at", "id"],
                                name="leadactivity_lead")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event} on {self.lead_id}"


class LeadSettings(TenantModel):
    """An organisation's lead settings: who gets unmatched leads, and how points fade."""

    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("fallback owner"),
        help_text=_("Gets every new lead that no assignment rule matches."),
    )
    decay_mode = models.CharField(
        _("behaviour points fade"), max_length=8, blank=True,
        choices=[("", _("never")), ("halve", _("by half")), ("subtract", _("by a number"))],
    )
    decay_points = models.PositiveIntegerField(_("points taken each time"), default=0)
    decay_every_days = models.PositiveIntegerField(_("every (days)"), default=30)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        constraints = [models.UniqueConstraint(fields=["organization"],
                                               name="leadsettings_one_per_org")]

    def __str__(self) -> str:
        return f"lead settings of {self.organization_id}"


class MatchKind(models.TextChoices):
    ALWAYS = "always", _("Every lead")
    COUNTRY = "country", _("Country is one of")
    SOURCE = "source", _("Source is")
    FIELD = "field", _("A field")


class Operator(models.TextChoices):
    EQUALS = "equals", _("equals")
    CONTAINS = "contains", _("contains")
    IS_SET = "is_set", _("is filled in")


# The lead fields a rule may test, with the words shown for them.
RULE_FIELDS = {
    "first_name": _("first name"), "last_name": _("last name"), "email": _("e-mail"),
    "phone": _("phone"), "title": _("job title"), "company_name": _("company"),
    "domain": _("domain"), "website": _("website"), "industry": _("industry"),
    "company_size": _("company size"), "country": _("country"), "source": _("source"),
    "description": _("description"),
}


class AssignmentRule(VersionedModel):
    """Who gets a new lead that matches: one member, or the next of a team in turn.

    Rules are tried by `position`; the first that matches assigns. A team
    rule keeps the member it chose last in `last_assigned`, and the row is
    locked while the next one is chosen, so two leads arriving together go
    to two different people.
    """

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(default=0)
    match = models.CharField(_("applies to"), max_length=8, choices=MatchKind.choices,
                             default=MatchKind.ALWAYS)
    field = models.CharField(_("field"), max_length=20, blank=True)
    operator = models.CharField(_("test"), max_length=8, choices=Operator.choices,
                                default=Operator.EQUALS)
    value = models.CharField(_("value"), max_length=200, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("assign to"))
    team = models.ForeignKey("identity.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", verbose_name=_("round robin in team"))
    last_assigned = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(VersionedModel.Meta):
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["organization", "position"], name="assignrule_pos")]

    def __str__(self) -> str:
        return self.name


class ScoringRule(VersionedModel):
    """Points added (or taken, when negative) for a fact about a lead or for an event.

    A field rule counts once while its test holds; an event rule counts each
    time an event of `event_type` is recorded for the lead.
    """

    name = models.CharField(_("name"), max_length=120)
    field = models.CharField(_("field"), max_length=20, blank=True)
    operator = models.CharField(_("test"), max_length=8, choices=Operator.choices,
                                default=Operator.EQUALS)
    value = models.CharField(_("value"), max_length=200, blank=True)
    event_type = models.CharField(_("event"), max_length=64, blank=True,
                                  help_text=_("For example email.opened or page.visited."))
    points = models.IntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(VersionedModel.Meta):
        ordering = ["id"]
        indexes = [models.Index(fields=["organization", "event_type"], name="scorerule_event")]

    def __str__(self) -> str:
        return self.name

    @property
    def on_event(self) -> bool:
        return bool(self.event_type)


class LeadScoreChange(TenantModel):
    """One change of a lead's score: by how much, which rule, and why in words."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="score_changes")
    rule = models.ForeignKey(ScoringRule, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    points = models.IntegerField()
    score = models.IntegerField()
    reason = models.CharField(max_length=300)
    at = models.DateTimeField()

    class Meta(TenantModel.Meta):
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["organization", "lead", "at"], name="scorechange_lead")]

    def __str__(self) -> str:
        return f"{self.points:+d} on {self.lead_id}: {self.reason}"


class CaptureForm(VersionedModel):
    """A web form on another site that posts leads here, found by its secret token."""

    name = models.CharField(_("name"), max_length=120)
    token = models.CharField(max_length=64, unique=True, editable=False)
    thank_you = models.CharField(_("thank-you message"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(VersionedModel.Meta):
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class FormSubmission(TenantModel):
    """One post to a capture form, kept for a while to slow down floods from one address."""

    form = models.ForeignKey(CaptureForm, on_delete=models.CASCADE, related_name="submissions")
    ip_hash = models.CharField(max_length=64)
    accepted = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["organization", "ip_hash", "created_at"],
                                name="formsubmission_ip")]

    def __str__(self) -> str:
        return f"submission to {self.form_id}"
