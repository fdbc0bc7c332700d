# noqa: N999 - the module name is the command's name, `accord import`
"""`accord import FILE --org SLUG --entity ENTITY`: import a CSV, XLSX or vCard file in-process."""

import json
import sqlite3
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_scopes import scope
from tqdm import tqdm

from accord.audit.context import channel
from accord.errors import DomainError
from accord.identity.context import acting_as
from accord.identity.models import Membership, Organization, Role
from accord.identity.permissions import has_permission
from accord.integrations import engine, entities, services
from accord.integrations.models import DuplicatePolicy
from accord.integrations.readers import ReadError

ERRORS_PRINTED = 20  # problems echoed on stderr; the rest are in the job's error file


class _RollBack(Exception):
    pass


class Command(BaseCommand):
    help = (
        "Import companies, contacts, activities (notes, calls, meetings, e-mails and tasks "
        "on records already here), deals, leads, orders, products, custom field "
        "definitions or the records of a custom record type (as --entity says) "
        "from a CSV, XLSX or vCard file, in this process (no worker needed). Columns are "
        "mapped from their headers, or by --mapping. Rows that "
        "match an existing record are handled as --duplicates says. A progress bar goes to "
        "stderr on a terminal, and the first problems are listed there; the last line on "
        "stdout is a JSON summary with the counts of created, updated, skipped and failed "
        "rows. It commits every 500 rows: a run stopped half-way (Ctrl-C) keeps what it "
        "wrote, and its job is cancelled, ready to undo. "
        "Except in a dry run the job is kept: its page under Imports has the file of "
        "every problem and can undo it. Run as `accord import`, it takes background CPU "
        "priority (nice 10), so the web server's requests go first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="The .csv, .xlsx or .vcf file.")
        parser.add_argument("--org", required=True, metavar="SLUG",
                            help="Slug of the organisation to import into.")
        parser.add_argument("--entity", required=True, metavar="ENTITY",
                            help="What each row (or card) of the file is: "
                                 + ", ".join(sorted(entities.REGISTRY))
                                 + ", or record:<key> for a custom record type.")
        parser.add_argument(
            "--mapping", metavar="FILE",
            help='JSON file {"header": "field"} saying which column fills which field '
                 '(fields such as first_name, email, phone, company, cf.<custom key>; an '
                 'empty string skips a column). Default: a mapping saved in the import wizard '
                 'for files with the same columns, else suggested from the headers.')
        parser.add_argument(
            "--dry-run", action="store_true",
            help="Read, check and match every row and print the counts, but write nothing. "
                 "On SQLite it works on a copy of the database file, made in the same "
                 "folder and deleted afterwards, so others keep writing meanwhile.")
        parser.add_argument(
            "--as", dest="acting", metavar="EMAIL",
            help="E-mail of the member the import acts as, who owns new records and appears "
                 "in the audit log (default: the organisation's first admin).")
        parser.add_argument("--encoding", help="Encoding of a CSV file, such as cp1252 "
                                               "(default: detected).")
        parser.add_argument("--delimiter", help="Column separator of a CSV file: , ; | or "
                                                "tab (default: detected).")
        parser.add_argument("--sheet", help="Worksheet of an XLSX file (default: the first).")
        parser.add_argument("--date-order", choices=services.DATE_ORDERS,
                            help="How to read dates such as 03/04/2025 in columns whose values "
                                 "do not tell (default: detected per column, else dmy).")
        parser.add_argument("--number-format", choices=services.NUMBER_STYLES,
                            metavar="FORMAT",
                            help='How to read numbers such as 1.250 in columns whose values do '
                                 'not tell: "1,234.56" or "1.234,56" (default: detected, else '
                                 '"1,234.56").')
        parser.add_argument(
            "--duplicates", choices=DuplicatePolicy.values,
            help="What to do with a row that matches an existing record: skip it, fill the "
                 "record's empty fields, overwrite with the file's non-blank values, or "
                 "create a new record anyway (default: fill). Ignored, with a note on "
                 "stderr, where no row can match: for orders (one already here is always "
                 "skipped), and for activities, deals and custom records when no column "
                 "fills external_id.")

    def handle(self, *args, file: str, org: str, entity: str, mapping: str | None,
               dry_run: bool, acting: str | None, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"There is no file at {file}.")
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation has the slug {org!r}.")
        columns = self._read_mapping(mapping) if mapping else None
        job_options = {
            "encoding": options["encoding"], "delimiter": options["delimiter"],
            "sheet": options["sheet"], "date_order": options["date_order"],
            "number_style": options["number_format"],
            "duplicate_policy": options["duplicates"], "dry_run": dry_run,
        }

        with scope(organization=organization), channel("cli"):
            member = self._member(organization, acting)
            with acting_as(member):
                summary = self._checked_run(organization, member, path, entity, columns,
                                            job_options, dry_run)
        self.stdout.write(json.dumps(summary, ensure_ascii=False))

    def _checked_run(self, organization, member, path, entity, columns, job_options,
                     dry_run) -> dict:
        """Import as `member`: with their rights, seeing only the records and fields their
        role lets them see, as the wizard does."""
        kind = entities.for_org(organization, entity)
        if kind is None:
            raise CommandError(f"There is nothing called {entity!r} to import; use one "
                               "of: " + ", ".join(entities.keys_for(organization)) + ".")
        for permission in ("imports.run", *kind.permissions_to_import()):
            if not has_permission(member, permission):
                raise CommandError(f"{member.user.email} may not import "
                                   f"{str(kind.plural).lower()}: their role does not "
                                   "allow it.")
        try:
            summary = self._run(organization, member.user, path, entity, columns,
                                job_options, dry_run)
        except DomainError as exc:
            messages = [f"{error['field']}: {error['message']}" for error in exc.errors]
            raise CommandError(" ".join(messages) or exc.detail) from None
        except ReadError as exc:
            raise CommandError(str(exc)) from None
        return summary

    def _run(self, organization, user, path, entity, columns, job_options, dry_run) -> dict:
        """Import the file; a real run commits chunk by chunk, as the worker does, so
        other people keep working meanwhile and an interrupted run keeps what it wrote.
        A dry run is rolled back whole, so that its later chunks see the records its
        earlier ones would have made; on a SQLite file it runs on a copy of the database,
        as one transaction would hold SQLite's only write lock for the whole run."""
        if not dry_run:
            job = self._import(organization, user, path, entity, columns, job_options)
            result = self._summary(job, dry_run)
            result["possible_duplicates"] = engine.flag_duplicates(organization, job)
            return result
        with _sqlite_scratch_copy():
            try:
                with transaction.atomic():
                    job = self._import(organization, user, path, entity, columns,
                                       job_options)
                    result = self._summary(job, dry_run)
                    raise _RollBack
            except _RollBack:
                pass
        return result

    def _import(self, organization, user, path, entity, columns, job_options):
        job = services.create_job(organization, user, entity=entity, path=path.resolve(),
                                  filename=path.name, options=job_options, mapping=columns,
                                  require_mapped=True)
        if job_options["duplicate_policy"] and job.options["duplicate_policy"] is None:
            kind = entities.for_org(organization, entity)
            self.stderr.write(f"--duplicates is ignored for this file: {kind.match_hint}")
        job.total_rows = engine.count_rows(job)
        try:
            with tqdm(total=job.total_rows, file=sys.stderr, unit="rows",
                      disable=None) as bar:
                return engine.run_job(organization, user, job, progress=bar.update)
        except KeyboardInterrupt:
            engine.stop(job)
            raise CommandError(
                f"Stopped after {job.rows_done} rows. The rows written stay; undo them on "
                f"the import's page (import #{job.pk}) if you do not want them.") from None

    def _summary(self, job, dry_run: bool) -> dict:
        unmapped = services.unmapped_columns(job)
        if unmapped:
            self.stderr.write(
                "Not imported, as no field has their name: " + ", ".join(unmapped)
                + ". Name their fields with --mapping (a custom field must exist first).")
        problems = services.first_errors(job, ERRORS_PRINTED)
        for problem in problems:
            column = f" {problem['column']}" if problem["column"] else ""
            self.stderr.write(f"row {problem['row']}{column}: {problem['reason']}")
        return {
            "created": job.created_count, "updated": job.updated_count,
            "skipped": job.skipped_count, "failed": job.failed_count,
            "rows": job.rows_done, "status": job.status, "dry_run": dry_run,
            "import_id": None if dry_run else job.pk,
            "mapping": job.options.get("mapping", {}),
            "unmapped": unmapped,
        }

    def _read_mapping(self, name: str) -> dict:
        try:
            with open(name, encoding="utf-8") as handle:
                value = json.load(handle)
        except OSError:
            raise CommandError(f"The mapping file {name} cannot be read.") from None
        except ValueError as exc:
            raise CommandError(f"The mapping file {name} is not valid JSON: {exc}.") from None
        if not isinstance(value, dict) or not all(
            isinstance(key, str) and isinstance(field, str | None) for key, field in value.items()
        ):
            raise CommandError(f'The mapping file {name} must hold one object '
                               '{"header": "field"}.')
        return value

    def _member(self, organization, email: str | None) -> Membership:
        members = Membership.objects.select_related("user").filter(is_active=True)
        if email:
            member = members.filter(user__email=email.strip().lower()).first()
            if member is None:
                raise CommandError(f"{email} is not an active member of {organization.slug}.")
            return member
        member = members.filter(role=Role.ADMIN).order_by("pk").first()
        if member is None:
            raise CommandError(f"{organization.slug} has no active admin; name a member "
                               "with --as EMAIL.")
        return member


@contextmanager
def _sqlite_scratch_copy():
    """Point this process's database connection at a copy of the SQLite file for the
    block, and delete the copy after it; other databases, and SQLite in memory, are left
    as they are.

    Copying reads the database as one snapshot, which in WAL mode never stops other
    processes writing, and the copy costs as much disk as the database for the run.
    """
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        yield
        return
    original = connection.settings_dict["NAME"]
    with tempfile.TemporaryDirectory(dir=Path(original).parent,
                                     prefix="import-dry-run-") as folder:
        copy = Path(folder) / "copy.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(copy)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        connection.close()
        connection.settings_dict["NAME"] = str(copy)
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["NAME"] = original
