"""The model field that holds a record's custom field values, encrypting some at rest."""

from django.apps import apps
from django.db import models
from django_scopes import scopes_disabled

from accord.core import crypto


def encrypted_keys(organization_id, entity: str) -> frozenset[str]:
    """Keys of the organisation's fields of `entity` marked encrypted, active or not."""
    custom_field = apps.get_model("customers", "CustomField")
    with scopes_disabled():
        keys = custom_field.objects.filter(
            organization_id=organization_id, entity=entity, encrypted=True,
        ).values_list("key", flat=True)
        return frozenset(keys)


def encrypted_keys_of(instance) -> frozenset[str] | None:
    """Keys of the encrypted fields whose values `instance` holds in its custom values
    field; None for a model without one."""
    for field in instance._meta.concrete_fields:
        if isinstance(field, CustomValuesField):
            return field.encrypted_keys_for(instance)
    return None


def sealed_changes(organization_id, entity: str, changes: dict, *,
                   keys: frozenset[str] | None = None, instance=None) -> dict:
    """Audit `changes` ({field: [old, new]}) of a record of `entity` (the `instance`, when
    given) with the values of encrypted custom fields (or of `keys`, when the caller
    looked them up) sealed, so the audit trail never holds them in plain text."""
    pair = changes.get("custom_fields")
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return changes
    if keys is None and instance is not None:
        keys = encrypted_keys_of(instance)
    if keys is None:
        keys = encrypted_keys(organization_id, entity)
    sides = [crypto.seal_keys(side, keys) if isinstance(side, dict) else side for side in pair]
    return {**changes, "custom_fields": sides}


def unsealed_changes(changes: dict) -> dict:
    """Audit `changes` with sealed custom field values opened, for those who may see them."""
    pair = changes.get("custom_fields")
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return changes
    sides = [crypto.unseal_all(side) if isinstance(side, dict) else side for side in pair]
    return {**changes, "custom_fields": sides}


class CustomValuesField(models.JSONField):
    """A record's custom field values, on a model named as its `Entity` (a subclass
    says where else the encrypted keys come from, see `encrypted_keys_for`).

    The values of fields marked encrypted are sealed (see accord.core.crypto)
    when the record is saved and opened when it is loaded, so code that reads
    `record.custom_fields` sees plain values and the row never holds them.

    Writes that skip `save()` (a queryset's `update`, `bulk_update`, raw SQL)
    skip the sealing too, so they seal with `crypto.seal_keys` and
    `encrypted_keys` first, as `bulk.save_new` and `sealing` do.
    """

    def deconstruct(self):
        # The column is a plain JSON column; sealing happens in Python, so
        # migrations see a JSONField and none of the apps needs one for this.
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        if crypto.is_sealed(value):
            # One value read through a key path (`custom_fields__<key>`).
            return crypto.unseal(value)
        if isinstance(value, dict) and any(crypto.is_sealed(item) for item in value.values()):
            return crypto.unseal_all(value)
        return value

    def pre_save(self, model_instance, add):
        return self.seal_for(model_instance, getattr(model_instance, self.attname))

    def seal_for(self, record, values: dict | None) -> dict | None:
        """`values` as `record`'s row stores them: the encrypted fields' values sealed."""
        if not isinstance(values, dict) or not values:
            return values
        return crypto.seal_keys(values, self.encrypted_keys_for(record))

    def encrypted_keys_for(self, record) -> frozenset[str]:
        """Keys of the fields marked encrypted among those `record` holds values of."""
        return encrypted_keys(record.organization_id, self.model._meta.model_name)
