"""Tokens made before scopes existed keep full access: they get "*"."""

from django.db import migrations

BATCH = 1000  # ids per UPDATE, short enough never to hold the table for long


def grant_full_access(apps, schema_editor):
    ApiToken = apps.get_model("identity", "ApiToken")
    # The base manager is unscoped both here and on the live model, so the
    # same function serves the migration and its test.
    tokens = ApiToken._base_manager
    ids = list(tokens.filter(scopes=[]).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        tokens.filter(pk__in=ids[start:start + BATCH]).update(scopes=["*"])


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0007_api_token_scopes_expiry'),
    ]

    operations = [
        # Going back leaves "*" in place: the older schema ignores the column.
        migrations.RunPython(grant_full_access, migrations.RunPython.noop),
    ]
