"""The append-only audit trail: every change, by whom, when, through what."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accord.core.models import TenantModel


class Action(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    DELETE = "delete", _("Moved to trash")
    RESTORE = "restore", _("Restored")
    PURGE = "purge", _("Deleted for good")
    MERGE = "merge", _("Merged")
    ACCESS = "access", _("Admin action")


class AuditEntry(TenantModel):
    """One change to one record. Rows are never updated or deleted by the app."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    actor = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    via = models.CharField(max_length=16)
    ip = models.CharField(max_length=45, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    entity = models.CharField(max_length=40)
    object_id = models.BigIntegerField(null=True)
    object_repr = models.CharField(max_length=200, blank=True)
    # {"field": [old, new]}; values are JSON-safe renderings.
    changes = models.JSONField(default=dict, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["organization", "entity", "object_id", "id"],
                         name="audit_record"),
            models.Index(fields=["organization", "id"], name="audit_org_id"),
            models.Index(fields=["organization", "actor", "id"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.entity}:{self.object_id} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit entries are append-only.")
