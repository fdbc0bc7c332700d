"""`accord restore FILE [--org-slug NEW]`: load a backup into this database."""

import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from tqdm import tqdm

from accord.core import backup


class Command(BaseCommand):
    help = (
        "Load a file written by `accord backup` in one transaction: all of it or nothing. "
        "An organisation restores only where its slug is free (or under --org-slug) and "
        "none of its row ids is taken; users with the same e-mail are linked. The search "
        "index is rebuilt. The last line printed is a JSON summary with the row count and "
        "checksum of each table restored."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The backup file.")
        parser.add_argument("--org-slug", metavar="NEW",
                            help="Restore the organisation under this slug.")

    def handle(self, *args, file: str, org_slug: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"There is no file at {file}.")
        if org_slug is not None:
            try:
                validate_slug(org_slug)
            except ValidationError:
                raise CommandError(f"{org_slug!r} is not a slug: use letters, digits, "
                                   "hyphens and underscores.") from None

        try:
            with tqdm(total=backup.total_rows(path), file=sys.stderr, unit="rows",
                      disable=None) as bar:
                summary = backup.restore_backup(path, org_slug=org_slug, progress=bar.update)
        except backup.BackupError as error:
            raise CommandError(f"Nothing was restored. {error}") from None

        self.stdout.write(json.dumps(summary, ensure_ascii=False))
