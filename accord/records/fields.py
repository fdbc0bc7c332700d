"""The model field that holds a record's values, encrypting those of some fields at rest."""

from django.apps import apps
from django_scopes import scopes_disabled

from accord.customers.fields import CustomValuesField


def encrypted_keys(organization_id, record_type_id) -> frozenset[str]:
    """Keys of the record type's fields marked encrypted, active or not."""
    record_field = apps.get_model("records", "RecordField")
    with scopes_disabled():
        return frozenset(record_field.objects.filter(
            organization_id=organization_id, record_type_id=record_type_id, encrypted=True,
        ).values_list("key", flat=True))


class RecordValuesField(CustomValuesField):
    """`Record.values`: sealed and opened as custom field values are, with the encrypted
    fields those of the record's type."""

    def encrypted_keys_for(self, record) -> frozenset[str]:
        return encrypted_keys(record.organization_id, record.record_type_id)
