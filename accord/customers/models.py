"""Companies, contacts and what hangs off them: e-mails, phones, links, tags, consent."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accord.core.models import TenantModel, VersionedModel

from .fields import CustomValuesField


class LiveManager(models.Manager):
    """Hides records that sit in the trash or were merged into another record."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True, merged_into__isnull=True)


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("Marketing-qualified lead")
    SQL = "sql", _("Sales-qualified lead")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    EVANGELIST = "evangelist", _("Evangelist")
    OTHER = "other", _("Other")


class CompanySize(models.TextChoices):
    MICRO = "1-9", _("1–9")
    SMALL = "10-49", _("10–49")
    MEDIUM = "50-249", _("50–249")
    LARGE = "250-999", _("250–999")
    ENTERPRISE = "1000+", _("1,000+")


class Address(models.Model):
    street = models.CharField(_("street"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=120, blank=True)
    region = models.CharField(_("region"), max_length=120, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True,
                               help_text=_("ISO 3166 two-letter code"))

    class Meta:
        abstract = True


class CustomerRecord(VersionedModel, Address):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("owner"),
    )
    source = models.CharField(_("source"), max_length=80, blank=True)
    custom_fields = CustomValuesField(_("custom fields"), default=dict, blank=True)
    # Lower-cased, accent-folded names and addresses; what search matches on.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when this record was merged into another: the survivor answers for
    # its id from then on, and lists treat it like a deleted record. Purging
    # the survivor for good takes these shells with it.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="merged_records",
        editable=False,
    )
    # The folded names duplicate detection groups records by, in SQL: the
    # whole name, and a looser key for names spelled a little differently
    # (last name and first initial for a person, first word for a company).
    name_key = models.CharField(max_length=200, blank=True, default="", editable=False)
    block_key = models.CharField(max_length=110, blank=True, default="", editable=False)

    unscoped = models.Manager()
    objects = ScopedManager(_manager_class=LiveManager, organization="organization")
    with_deleted = ScopedManager(organization="organization")

    class Meta(VersionedModel.Meta):
        abstract = True


class Company(CustomerRecord):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=253, blank=True)
    website = models.URLField(_("website"), max_length=300, blank=True)
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=CompanySize.choices, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    description = models.TextField(_("description"), blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries",
        verbose_name=_("parent company"),
    )

    class Meta(CustomerRecord.Meta):
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        indexes = [
            models.Index(fields=["organization", "id"], name="company_org_id"),
            models.Index(fields=["organization", "name", "id"], name="company_org_name"),
            # Lists sort by name case-insensitively; this index serves that order,
            # and counts a run of names without reading the rows (`search.first_rows`;
            # on PostgreSQL through the included name).
            models.Index(F("organization"), Lower("name"), F("id"), name="company_org_lower_name",
                         condition=Q(deleted_at__isnull=True, merged_into__isnull=True),
                         include=["name"]),
            models.Index(fields=["organization", "domain"], name="company_org_domain"),
            models.Index(fields=["organization", "updated_at", "id"], name="company_org_updated"),
            models.Index(fields=["organization", "owner", "id"], name="company_org_owner"),
            models.Index(fields=["organization", "name_key"], name="company_org_name_key"),
            models.Index(fields=["organization", "block_key"], name="company_org_block_key"),
            models.Index(fields=["organization", "phone"], name="company_org_phone"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Detection owns the rule for the key and imports this module itself.
        from .duplicates import company_name_keys

        self.name_key, self.block_key = company_name_keys(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key", "block_key"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("customers:company_detail", args=[self.pk])


class Contact(CustomerRecord):
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    # The primary e-mail and phone are kept here too, for lists and search;
    # `emails` and `phones` hold every address with its type.
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts",
        verbose_name=_("company"),
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=16, choices=LifecycleStage.choices,
        default=LifecycleStage.LEAD,
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)

    class Meta(CustomerRecord.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["organization", "id"], name="contact_org_id"),
            models.Index(fields=["organization", "last_name", "first_name", "id"],
                         name="contact_org_name"),
            # Of live contacts only, as lists and `search.first_rows` ask for them;
            # the name itself is included so that PostgreSQL can count a run of
            # names from the index alone (SQLite reads the expression's value).
            models.Index(F("organization"), Lower("last_name"), F("id"),
                         name="contact_org_lower_last",
                         condition=Q(deleted_at__isnull=True, merged_into__isnull=True),
                         include=["last_name"]),
            models.Index(fields=["organization", "email"], name="contact_org_email"),
            models.Index(fields=["organization", "updated_at", "id"], name="contact_org_updated"),
            models.Index(fields=["organization", "created_at", "id"], name="contact_org_created"),
            models.Index(fields=["organization", "lifecycle_stage", "id"],
                         name="contact_org_stage"),
            models.Index(fields=["organization", "owner", "id"], name="contact_org_owner"),
            models.Index(fields=["organization", "company", "id"], name="contact_org_company"),
            models.Index(fields=["organization", "name_key"], name="contact_org_name_key"),
            models.Index(fields=["organization", "block_key"], name="contact_org_block_key"),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"#{self.pk}"

    def save(self, *args, **kwargs):
        # Detection owns the rule for the keys and imports this module itself.
        from .duplicates import contact_name_keys

        self.name_key, self.block_key = contact_name_keys(self.first_name, self.last_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"first_name", "last_name"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "name_key", "block_key"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("customers:contact_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return str(self)


class EmailKind(models.TextChoices):
    WORK = "work", _("Work")
    HOME = "home", _("Personal")
    OTHER = "other", _("Other")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    WORK = "work", _("Work")
    HOME = "home", _("Home")
    FAX = "fax", _("Fax")
    OTHER = "other", _("Other")


class ContactEmail(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    address = models.EmailField(_("e-mail"), max_length=254)
    kind = models.CharField(_("type"), max_length=8, choices=EmailKind.choices,
                            default=EmailKind.WORK)
    label = models.CharField(_("label"), max_length=60, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        ordering = ["-is_primary", "id"]
        indexes = [
            models.Index(fields=["organization", "address"], name="contactemail_org_addr"),
            # Duplicate detection compares addresses case-insensitively.
            models.Index(F("organization"), Lower("address"), name="contactemail_org_lower"),
        ]

    def __str__(self) -> str:
        return self.address


class ContactPhone(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    # `number` is E.164, or empty when the number is national and its country
    # unknown; `raw` is exactly what was typed and is what people see.
    number = models.CharField(_("E.164"), max_length=20, blank=True)
    raw = models.CharField(_("phone"), max_length=64)
    extension = models.CharField(_("extension"), max_length=10, blank=True)
    kind = models.CharField(_("type"), max_length=8, choices=PhoneKind.choices,
                            default=PhoneKind.MOBILE)
    label = models.CharField(_("label"), max_length=60, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["organization", "number"], name="contactphone_org_number")]

    def __str__(self) -> str:
        return self.number


class Affiliation(TenantModel):
    """A contact's role at a company; a contact may hold several."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="affiliations")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="affiliations")
    title = models.CharField(_("role or title"), max_length=120, blank=True)
    is_primary = models.BooleanField(default=False)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "contact", "company"],
                                    name="affiliation_unique")
        ]
        indexes = [models.Index(fields=["organization", "company"], name="affiliation_org_co")]

    def __str__(self) -> str:
        return f"{self.contact} @ {self.company}"


class Tag(VersionedModel):
    name = models.CharField(_("name"), max_length=60)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta(VersionedModel.Meta):
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tag_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ContactTag(TenantModel):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="contact_links")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "contact", "tag"],
                                    name="contacttag_unique")
        ]
        indexes = [models.Index(fields=["organization", "tag", "contact"], name="contacttag_tag")]


class CompanyTag(TenantModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="company_links")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "company", "tag"],
                                    name="companytag_unique")
        ]
        indexes = [models.Index(fields=["organization", "tag", "company"], name="companytag_tag")]


class LifecycleChange(TenantModel):
    """One move of a contact between lifecycle stages, for history and reports."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE,
                                related_name="lifecycle_changes")
    from_stage = models.CharField(max_length=16, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["organization", "contact", "changed_at"],
                                name="lifecycle_org_contact")]

    def __str__(self) -> str:
        return f"{self.from_stage or '—'} → {self.to_stage}"


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    POST = "post", _("Post")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    NEWSLETTER = "newsletter", _("Newsletter")
    PRODUCT_UPDATES = "product_updates", _("Product updates")
    SURVEYS = "surveys", _("Surveys")
    # Care purposes: a patient may agree to be reminded of an appointment or
    # invited back for a check-up without agreeing to any marketing.
    APPOINTMENTS = "appointments", _("Appointment reminders")
    RECALLS = "recalls", _("Recalls")


# Purposes only some organisations use; the preference centre offers them
# once the organisation has recorded a consent for them.
CARE_PURPOSES = (ConsentPurpose.APPOINTMENTS, ConsentPurpose.RECALLS)


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentMethod(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    VERBAL = "verbal", _("Verbal")
    WRITTEN = "written", _("Written")
    EMAIL = "email", _("E-mail")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")


class Consent(TenantModel):
    """A consent event; a contact's current consent per channel and purpose is the latest
    one in effect (see `consents_in_effect`)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    status = models.CharField(_("status"), max_length=10, choices=ConsentStatus.choices)
    method = models.CharField(_("how"), max_length=12, choices=ConsentMethod.choices)
    recorded_at = models.DateTimeField(_("when"))
    evidence = models.CharField(_("evidence"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["organization", "contact", "channel", "purpose"],
                                name="consent_org_contact")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {self.status}"


def consents_in_effect(consents, now: dt.datetime | None = None):
    """Narrow a Consent queryset to the rows already in effect at `now`.

    Consent can no longer be recorded with a time ahead of the clock, but rows
    stored before that rule may carry one; such a row has not happened yet, so
    it must not outrank a withdrawal recorded since.
    """
    return consents.filter(recorded_at__lte=now or timezone.now())


class Entity(models.TextChoices):
    CONTACT = "contact", _("Contact")
    COMPANY = "company", _("Company")
    DEAL = "deal", _("Deal")
    TICKET = "ticket", _("Ticket")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Number")
    MONEY = "money", _("Money")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    BOOLEAN = "boolean", _("Yes/no")
    URL = "url", _("URL")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")


class CustomField(VersionedModel):
    """A typed field an organisation adds to contacts or companies."""

    entity = models.CharField(_("record type"), max_length=16, choices=Entity.choices)
    key = models.SlugField(_("key"), max_length=50,
                           help_text=_("Used in the API and imports; cannot be changed."))
    label = models.CharField(_("label"), max_length=80)
    field_type = models.CharField(_("type"), max_length=16, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Roles that may neither see nor change the field's values (admins always may).
    hidden_from_roles = models.JSONField(_("hidden from roles"), default=list, blank=True)
    # Values are stored encrypted (see accord.core.crypto); such a field cannot
    # be searched, filtered, sorted or grouped by.
    encrypted = models.BooleanField(_("encrypted at rest"), default=False)

    class Meta(VersionedModel.Meta):
        ordering = ["entity", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "entity", "key"],
                                    name="customfield_unique_key")
        ]

    def __str__(self) -> str:
        return self.label


class SavedView(TenantModel):
    """A named list view: filters, sort and columns, for one user or everyone."""

    entity = models.CharField(max_length=16, choices=Entity.choices)
    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    is_shared = models.BooleanField(_("shared with everyone"), default=False)
    query = models.CharField(max_length=2000, blank=True)
    columns = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        ordering = ["name"]
        indexes = [models.Index(fields=["organization", "entity", "owner"], name="savedview_org")]

    def __str__(self) -> str:
        return self.name


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Dismissed")
    MERGED = "merged", _("Merged")


class DuplicatePair(TenantModel):
    """Two contacts or two companies that look like the same one, and what became of it.

    The records are named by id, lower id first, rather than by foreign key:
    a pair spans either entity, and merging must not re-point it like the
    records' other links. A dismissed pair stays dismissed on later scans.
    """

    entity = models.CharField(max_length=16, choices=Entity.choices)
    low_id = models.BigIntegerField()
    high_id = models.BigIntegerField()
    score = models.PositiveSmallIntegerField()
    # [{"signal": "email", "score": 95, "value": "ana@example.com"}, ...]
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=DuplicateStatus.choices,
                              default=DuplicateStatus.OPEN)
    found_at = models.DateTimeField()
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "entity", "low_id", "high_id"],
                                    name="duplicatepair_unique"),
            models.CheckConstraint(condition=models.Q(low_id__lt=F("high_id")),
                                   name="duplicatepair_ordered"),
        ]
        indexes = [
            models.Index(fields=["organization", "entity", "status", "score", "id"],
                         name="duplicatepair_queue"),
            models.Index(fields=["organization", "entity", "high_id"],
                         name="duplicatepair_high"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.low_id}/{self.high_id}: {self.score}"

    @property
    def record_ids(self) -> tuple[int, int]:
        return (self.low_id, self.high_id)

    def other_id(self, record_id: int) -> int:
        return self.high_id if record_id == self.low_id else self.low_id
