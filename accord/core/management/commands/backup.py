"""`accord backup [--org SLUG] --output FILE`: write an organisation or the whole database."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accord.core import backup
from accord.identity.models import Organization


class Command(BaseCommand):
    help = (
        "Write every row of one organisation (its records, settings, audit trail and the "
        "users who are its members) and the files it stores, or of the whole database, to "
        "a zip file that `accord restore` loads. The last line printed is a JSON summary "
        "with the row count and checksum of each table."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", metavar="SLUG",
                            help="Only this organisation (default: the whole database).")
        parser.add_argument("--output", metavar="FILE", required=True,
                            help="The backup file to write (a zip file).")

    def handle(self, *args, org: str | None, output: str, **options):
        organization = None
        if org:
            organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"No organisation has the slug {org!r}.")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"There is no folder {path.parent} to write {path.name} in.")

        with tqdm(file=sys.stderr, unit="rows", disable=None) as bar:
            manifest = backup.write_backup(path, organization=organization,
                                           progress=bar.update)

        self.stdout.write(json.dumps({
            "output": str(path),
            "scope": manifest["scope"],
            "organizations": manifest["organizations"],
            "rows": {label: table["rows"] for label, table in manifest["models"].items()},
            "files": len(manifest["files"]),
            "checksums": backup.checksums(manifest),
        }, ensure_ascii=False))
