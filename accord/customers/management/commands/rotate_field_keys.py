"""`accord rotate_field_keys`: re-encrypt the values of encrypted custom fields and record
fields with the first key."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope
from tqdm import tqdm

from accord.audit.context import channel
from accord.customers import sealing
from accord.identity.models import Organization


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored value of encrypted custom fields and fields of custom "
        "record types (in records and in the audit trail) with the first key of "
        "FIELD_ENCRYPTION_KEYS, in batches that each commit. Run it after putting a new key "
        "in front; once it reports no unreadable "
        "values, the old key can go. A run that stops can be started again: values already "
        "on the first key are skipped. A progress bar goes to stderr on a terminal; the last "
        "line on stdout is a JSON summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG",
                            help="Only this organisation (all of them without it).")
        parser.add_argument("--batch-size", type=int, default=sealing.BATCH, metavar="N",
                            help=f"Rows per transaction (default {sealing.BATCH}).")

    def handle(self, *args, org=None, batch_size=sealing.BATCH, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be 1 or more.")
        organizations = Organization.objects.order_by("pk")
        if org is not None:
            organizations = organizations.filter(slug=org)
            if not organizations.exists():
                raise CommandError(f"There is no organisation with the slug {org!r}.")
        totals = {"rotated": 0, "current": 0, "unreadable": 0}
        for organization in organizations.iterator():
            with scope(organization=organization), channel("cli"):
                total = sealing.rotation_total(organization)
                with tqdm(total=total, file=sys.stderr, unit="rows", disable=None,
                          desc=organization.slug) as bar:
                    counts = sealing.rotate_org(organization, batch=batch_size,
                                                progress=bar.update)
            for name, count in counts.items():
                totals[name] += count
        self.stdout.write(json.dumps(totals))
        if totals["unreadable"]:
            raise CommandError(
                f"{totals['unreadable']} rows hold values no key in FIELD_ENCRYPTION_KEYS "
                "opens; they were left as they are. Keep the old keys until they are found.")
