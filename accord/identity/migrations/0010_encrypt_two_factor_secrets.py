"""Encrypt the TOTP secrets stored in the clear before; going back decrypts them."""

from django.db import migrations

from accord import crypto

BATCH = 500  # rows per transaction-sized step


def _convert(apps, change) -> None:
    TwoFactorDevice = apps.get_model("identity", "TwoFactorDevice")
    devices = TwoFactorDevice._base_manager
    last = 0
    while True:
        rows = list(devices.filter(pk__gt=last).order_by("pk")
                    .values_list("pk", "encrypted_secret")[:BATCH])
        if not rows:
            return
        for pk, value in rows:
            new = change(value)
            if new != value:
                devices.filter(pk=pk).update(encrypted_secret=new)
        last = rows[-1][0]


def _is_encrypted(value: str) -> bool:
    # A Fernet token starts with its version byte 0x80, "gA" in base64; a
    # TOTP secret is base32, upper case, and never does.
    return value.startswith("gA")


def encrypt_secrets(apps, schema_editor):
    _convert(apps, lambda value: value if _is_encrypted(value) else crypto.encrypt(value))


def decrypt_secrets(apps, schema_editor):
    _convert(apps, lambda value: crypto.decrypt(value) if _is_encrypted(value) else value)


class Migration(migrations.Migration):

    dependencies = [
        ('identity', '0009_two_factor_secret_encrypted'),
    ]

    operations = [
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
    ]
