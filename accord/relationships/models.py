"""How two contacts are related: a role read from one side, its inverse from the other."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accord.core.models import VersionedModel

# key: (label, inverse label). "B is A's parent" reads from B's side as
# "A is B's child".
BUILTIN_ROLES = {
    "spouse": (_("Spouse"), _("Spouse")),
    "partner": (_("Partner"), _("Partner")),
    "parent": (_("Parent"), _("Child")),
    "child": (_("Child"), _("Parent")),
    "beneficiary": (_("Beneficiary"), _("Benefactor")),
    "decision_maker": (_("Decision maker"), _("Represented person")),
    "guarantor": (_("Guarantor"), _("Guaranteed person")),
    "referrer": (_("Referrer"), _("Referred")),
    "assistant": (_("Assistant"), _("Assisted person")),
}


class RelationshipRole(VersionedModel):
    """A role the organisation added to the built-in ones."""

    key = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=60)
    inverse_label = models.CharField(_("inverse label"), max_length=60)

    class Meta(VersionedModel.Meta):
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"],
                                    name="relationshiprole_unique_key"),
        ]

    def __str__(self) -> str:
        return self.label


class Relationship(VersionedModel):
    """`related` is `contact`'s `role` (the spouse, the guarantor...) from `started_on`
    until `ended_on`; an ended relationship stays as history."""

    contact = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="relationships")
    related = models.ForeignKey("customers.Contact", on_delete=models.CASCADE,
                                related_name="related_by")
    role = models.CharField(_("role"), max_length=50)
    started_on = models.DateField(_("from"), null=True, blank=True)
    ended_on = models.DateField(_("to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta(VersionedModel.Meta):
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~Q(contact=F("related")),
                                   name="relationship_not_self"),
        ]
        indexes = [
            models.Index(fields=["organization", "contact"], name="relationship_contact"),
            models.Index(fields=["organization", "related"], name="relationship_related"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.role} {self.related_id}"
