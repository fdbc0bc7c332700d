"""Base classes every tenant-scoped model builds on."""

from django.db import models
from django_scopes import ScopedManager


class TenantModel(models.Model):
    """A row that belongs to one organisation.

    The default manager refuses any query made outside
    `django_scopes.scope(organization=...)`, so a forgotten filter fails a test
    instead of leaking another organisation's data. The request middleware and
    every task open that scope; `unscoped` is for migrations and maintenance.
    """

    organization = models.ForeignKey(
        "identity.Organization", on_delete=models.CASCADE, related_name="+"
    )

    unscoped = models.Manager()
    objects = ScopedManager(organization="organization")

    class Meta:
        abstract = True
        default_manager_name = "objects"
        base_manager_name = "unscoped"


class VersionedModel(TenantModel):
    """A business record with timestamps and an optimistic-locking version."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True
        default_manager_name = "objects"
        base_manager_name = "unscoped"

    def save_new_version(self, *args, **kwargs) -> None:
        """Save an edit of an existing row, raising `version` in the same UPDATE."""
        self.version = models.F("version") + 1
        self.save(*args, **kwargs)
        self.refresh_from_db(fields=["version", "updated_at"])


class SearchEntry(TenantModel):
    """The words one record is found by; written only by `accord.search.reindex`."""

    # Indexed together with the entity below.
    organization = models.ForeignKey(
        "identity.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    entity = models.CharField(max_length=32)
    record_id = models.BigIntegerField()
    title = models.CharField(max_length=300)
    text = models.TextField()

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["record_id", "entity"], name="searchentry_record"),
        ]
        indexes = [models.Index(fields=["organization", "entity"], name="searchentry_org")]

    def __str__(self):
        return f"{self.entity} {self.record_id}: {self.title}"


class DomainEvent(TenantModel):
    """Something that happened to a record, written in the same transaction as the change.

    The table is an outbox: webhooks and automation rules read it after the
    commit, so an event exists exactly when its change does.
    """

    # Indexed together with the time below.
    organization = models.ForeignKey(
        "identity.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    type = models.CharField(max_length=64)
    entity = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    data = models.JSONField(default=dict)
    actor = models.ForeignKey(
        "identity.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(db_index=False)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["organization", "occurred_at", "id"],
                         name="domainevent_org_time"),
            models.Index(fields=["organization", "entity", "object_id"],
                         name="domainevent_record"),
        ]

    def __str__(self):
        return f"{self.type} {self.entity} {self.object_id}"


class IdempotentRequest(TenantModel):
    """The answer to an API POST sent with an `Idempotency-Key`, kept to answer a retry.

    A row without `status_code` is a request still being handled.
    """

    # Indexed by the uniqueness rule below.
    organization = models.ForeignKey(
        "identity.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    user = models.ForeignKey("identity.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=2000)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)
    location = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "user", "key"],
                                    name="idempotentrequest_key"),
        ]

    def __str__(self):
        return f"{self.method} {self.path} ({self.key})"


class RateCounter(models.Model):
    """API requests of one caller in one minute, where no Redis is there to count them."""

    key = models.CharField(max_length=64)
    window = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window"], name="ratecounter_window"),
        ]

    def __str__(self):
        return f"{self.key} @ {self.window}: {self.count}"
