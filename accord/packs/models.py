"""Which industry packs an organisation installed, and every object each one created."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel, VersionedModel


class Installation(VersionedModel):
    """One pack applied to the organisation, at the version last applied.

    `removed_at` is set when the pack is removed; objects kept then (because
    they hold data) stay listed, so a later removal with data deletion can
    still find them.
    """

    name = models.CharField(_("pack"), max_length=60)
    pack_version = models.CharField(_("version"), max_length=20)
    installed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta(VersionedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"],
                                    name="packinstallation_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.pack_version}"


class InstalledObject(TenantModel):
    """An object a pack created: which block made it, under which key, and its version
    then, so removal can tell an untouched object from one somebody changed."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE,
                                     related_name="objects_created")
    block = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    object_id = models.BigIntegerField()
    object_version = models.PositiveIntegerField(null=True, blank=True)
    pack_version = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "installation", "block", "key"],
                                    name="packobject_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.block}: {self.key}"
