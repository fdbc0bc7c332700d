"""`accord rotate_secrets`: re-encrypt stored secrets with the first ENCRYPTION_KEYS key."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_scopes import scopes_disabled

from accord import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (mailbox passwords) with the first key of "
        "ENCRYPTION_KEYS. Run it after putting a new key in front; then the old key can go."
    )

    def handle(self, *args, **options):
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
        self.stdout.write(f"Re-encrypted {rotated} secrets.")
