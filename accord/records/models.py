"""Record types an organisation defines, their fields, and the records of each type.

A type's plain fields reuse the custom field types of contacts (one
validator for both); relation fields link a record to contacts, companies,
deals or records of a custom type, stored as `RecordLink` rows so that a
linked record finds its way back.
"""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accord.core.models import TenantModel, VersionedModel
from accord.customers.models import FieldType

from .fields import RecordValuesField


class RelationType(models.TextChoices):
    CONTACT = "contact", _("Link to contacts")
    COMPANY = "company", _("Link to companies")
    DEAL = "deal", _("Link to deals")
    RECORD = "record", _("Link to records of a type")


FIELD_TYPE_CHOICES = [*FieldType.choices, *RelationType.choices]


class RecordType(VersionedModel):
    """A kind of record an organisation keeps besides the built-in ones (a property, a
    policy, a matter)."""

    key = models.SlugField(_("key"), max_length=50,
                           help_text=_("Used in addresses and the API; cannot be changed."))
    singular = models.CharField(_("singular label"), max_length=80)
    plural = models.CharField(_("plural label"), max_length=80)
    description = models.CharField(_("description"), max_length=500, blank=True)
    # The key of the field whose value names a record in lists and links.
    title_field = models.CharField(_("title field"), max_length=50, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    # Confidential records are seen by their owner, the members they are
    # shared with and admins only, whatever the role's visibility scope.
    is_confidential = models.BooleanField(_("confidential"), default=False)
    # Keys of the fields that name parties (a client, an opposing party); when
    # there are any, a record is opened only after a conflict check.
    party_fields = models.JSONField(_("party fields"), default=list, blank=True)

    class Meta(VersionedModel.Meta):
        ordering = ["position", "plural", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="recordtype_unique_key"),
        ]
        indexes = [models.Index(fields=["organization", "position", "id"],
                                name="recordtype_org_position")]

    def __str__(self) -> str:
        return str(self.plural)

    def get_absolute_url(self) -> str:
        return reverse("records:list", args=[self.key])


class RecordField(VersionedModel):
    """One field of a record type: a typed value, or a link to other records."""

    record_type = models.ForeignKey(RecordType, on_delete=models.CASCADE,
                                    related_name="fields")
    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=80)
    field_type = models.CharField(_("type"), max_length=16, choices=FIELD_TYPE_CHOICES)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    # Roles that may neither see nor change the field's values (admins always may).
    hidden_from_roles = models.JSONField(_("hidden from roles"), default=list, blank=True)
    # Relation fields: the record type linked to (for "record") and whether
    # one record links to several.
    target = models.ForeignKey(RecordType, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", verbose_name=_("linked type"))
    many = models.BooleanField(_("several"), default=False)
    # Values are stored encrypted (see accord.core.crypto); such a field cannot
    # be searched, filtered, sorted, grouped by or name a record.
    encrypted = models.BooleanField(_("encrypted at rest"), default=False)

    class Meta(VersionedModel.Meta):
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "record_type", "key"],
                                    name="recordfield_unique_key"),
        ]
        indexes = [models.Index(fields=["organization", "record_type", "position"],
                                name="recordfield_org_type")]

    def __str__(self) -> str:
        return self.label

    @property
    def is_relation(self) -> bool:
        return self.field_type in RelationType.values


class LiveRecords(models.Manager):
    """Hides records in the trash."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Record(VersionedModel):
    """One record of a custom type; its typed values sit in `values`, keyed by field key."""

    record_type = models.ForeignKey(RecordType, on_delete=models.CASCADE,
                                    related_name="records")
    # The title field's value as text, kept for lists, sorting and links.
    title = models.CharField(_("title"), max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("owner"),
    )
    # Values of fields marked encrypted are sealed in the row (see fields.py).
    values = RecordValuesField(_("values"), default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    unscoped = models.Manager()
    objects = ScopedManager(_manager_class=LiveRecords, organization="organization")
    with_deleted = ScopedManager(organization="organization")

    class Meta(VersionedModel.Meta):
        indexes = [
            models.Index(fields=["organization", "id"], name="record_org_id"),
            models.Index(F("organization"), F("record_type"), Lower("title"), F("id"),
                         name="record_org_type_title"),
            models.Index(fields=["organization", "record_type", "updated_at", "id"],
                         name="record_org_type_updated"),
            models.Index(fields=["organization", "record_type", "created_at", "id"],
                         name="record_org_type_created"),
            models.Index(fields=["organization", "owner", "id"], name="record_org_owner"),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.record_type.singular} #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("records:detail", args=[self.record_type.key, self.pk])


class RecordLink(TenantModel):
    """A relation field's value: one record linking to a contact, company, deal or record.

    Exactly one of the targets is set, as the field's type says.
    """

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="links")
    field = models.ForeignKey(RecordField, on_delete=models.CASCADE, related_name="links")
    contact = models.ForeignKey("customers.Contact", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="record_links")
    company = models.ForeignKey("customers.Company", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="record_links")
    deal = models.ForeignKey("sales.Deal", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="record_links")
    target = models.ForeignKey(Record, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="incoming_links")
    position = models.PositiveIntegerField(default=0)

    class Meta(TenantModel.Meta):
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["organization", "record", "field"], name="recordlink_record"),
            models.Index(fields=["organization", "contact"], name="recordlink_contact"),
            models.Index(fields=["organization", "company"], name="recordlink_company"),
            models.Index(fields=["organization", "deal"], name="recordlink_deal"),
            models.Index(fields=["organization", "target"], name="recordlink_target"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} → {self.target_id or self.contact_id or self.company_id}"

    @property
    def linked(self):
        return self.contact or self.company or self.deal or self.target


class RecordShare(TenantModel):
    """A member a confidential record is shared with, besides its owner."""

    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "record", "user"],
                                    name="recordshare_unique"),
        ]
        indexes = [models.Index(fields=["organization", "user", "record"],
                                name="recordshare_user")]

    def __str__(self) -> str:
        return f"{self.record_id} → {self.user_id}"
