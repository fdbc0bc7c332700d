"""`accord rotate_secrets`: re-encrypt stored secrets with the first ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_scopes import scopes_disabled

from accord import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (mailbox passwords, two-factor secrets, single "
        "sign-on client secrets) with the first key of "
        "ENCRYPTION_KEYS. Run it after putting a new key in front; then the old key can go."
    )

    def handle(self, *args, **options):
        from accord.identity.models import SingleSignOn, TwoFactorDevice
        from accord.service.models import Queue

        rotated = 0
        with scopes_disabled(), transaction.atomic():
            for queue in Queue.unscoped.exclude(imap_password="").select_for_update():
                try:
                    queue.imap_password = crypto.rotate(queue.imap_password)
                except ValueError as exc:
                    raise CommandError(f"Queue {queue.pk}: {exc}") from None
                queue.save(update_fields=["imap_password"])
                rotated += 1
            devices = TwoFactorDevice.objects.exclude(encrypted_secret="").select_for_update()
            for device in devices:
                try:
                    device.encrypted_secret = crypto.rotate(device.encrypted_secret)
                except ValueError as exc:
                    raise CommandError(f"Two-factor device {device.pk}: {exc}") from None
                device.save(update_fields=["encrypted_secret"])
                rotated += 1
            providers = SingleSignOn.unscoped.exclude(encrypted_client_secret="")
            for provider in providers.select_for_update():
                try:
                    provider.encrypted_client_secret = crypto.rotate(
                        provider.encrypted_client_secret)
                except ValueError as exc:
                    raise CommandError(f"Single sign-on {provider.pk}: {exc}") from None
                provider.save(update_fields=["encrypted_client_secret"])
                rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} secrets.")
