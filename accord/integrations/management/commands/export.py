"""`accord export --org SLUG --entity E --format F [--output FILE]`: an export, in-process."""

import codecs
import io
import shutil
import sys
import tempfile

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope
from tqdm import tqdm

from accord.audit.context import channel
from accord.errors import DomainError
from accord.identity.models import Membership, Organization
from accord.integrations import exports
from accord.integrations.models import ExportEntity, ExportFormat

User = get_user_model()


class Command(BaseCommand):
    help = (
        "Export contacts, companies, deals, products, orders or the whole organisation to a "
        "file, or to standard output when no --output is given. Records are streamed from "
        "the database, so any number of them takes the same memory. The whole organisation "
        "is a .zip with one file each for contacts, companies, products, deals, orders (a "
        "row per order line), activities, tags and custom field definitions. "
        "The export is written to the organisation's audit log. Run as `accord export`, it "
        "takes background CPU priority (nice 10), so the web server's requests go first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, metavar="SLUG",
                            help="Slug of the organisation to export from.")
        parser.add_argument("--entity", required=True, metavar="ENTITY",
                            help="What to export: " + ", ".join(ExportEntity.values)
                                 + ", or record:<key> for a custom record type.")
        parser.add_argument("--format", required=True, metavar="FORMAT",
                            help="csv, xlsx, vcf (contacts only) or jsonl.")
        parser.add_argument("--output", metavar="FILE",
                            help="File to write; standard output when left out (XLSX and "
                                 "zip files too, so redirect it).")
        parser.add_argument("--as", dest="acting", metavar="EMAIL",
                            help="E-mail of the member the audit entry names; without it "
                                 "the entry says the command line did it.")
        parser.add_argument("--query", default="", metavar="QUERY",
                            help='A list query string, as in the list\'s address: '
                                 '"lifecycle_stage=customer&tag=vip&ordering=-updated_at".')

    def handle(self, *args, org: str, entity: str, format: str, output: str | None,
               acting: str | None, query: str, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation has the slug {org!r}.")
        if entity not in ExportEntity.values and not entity.startswith("record:"):
            raise CommandError(f"Unknown entity {entity!r}; choose one of "
                               + ", ".join(ExportEntity.values) + ".")
        if format not in ExportFormat.values:
            raise CommandError(f"Unknown format {format!r}; choose one of "
                               + ", ".join(ExportFormat.values) + ".")
        actor = self._actor(organization, acting)

        with scope(organization=organization), channel("cli"):
            try:
                exports.check_request(entity, format, query)
                rows = self._write(entity, format, query, output)
                exports.record_export(organization, actor, entity=entity, format=format,
                                      query=query, rows=rows)
            except DomainError as exc:
                messages = [error["message"] for error in exc.errors] or [exc.detail]
                raise CommandError(" ".join(messages)) from None
        if output:
            self.stderr.write(f"{rows} rows written to {output}")

    def _actor(self, organization, email: str | None):
        if not email:
            return None
        membership = Membership.unscoped.select_related("user").filter(
            organization=organization, user__email=email.strip().lower(), is_active=True,
        ).first()
        if membership is None:
            raise CommandError(f"{email} is not an active member of {organization.slug}.")
        return membership.user

    def _write(self, entity: str, format: str, query: str, output: str | None) -> int:
        bar = None
        if self.stderr.isatty():
            bar = tqdm(total=exports.count_rows(entity, query), unit=" rows", file=sys.stderr)

        def progress(rows: int) -> None:
            if bar is not None:
                bar.update(rows - bar.n)

        try:
            if output:
                try:
                    stream = open(output, "wb")  # noqa: SIM115 - closed below
                except OSError as exc:
                    raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
                with stream:
                    return exports.write_export(entity, format, stream, query=query,
                                                progress=progress)
            return self._write_stdout(entity, format, query, progress)
        finally:
            if bar is not None:
                bar.close()

    def _write_stdout(self, entity: str, format: str, query: str, progress) -> int:
        target = self._binary_stdout()
        if target is None:
            if format == ExportFormat.XLSX or entity == ExportEntity.ORGANISATION:
                raise CommandError("This output is binary: use --output FILE.")
            target = io.BufferedWriter(_TextSink(self.stdout))
        if format == ExportFormat.XLSX or entity == ExportEntity.ORGANISATION:
            # A zip is finished only at its end, so it is built in a temporary
            # file and copied out; standard output cannot seek back.
            with tempfile.TemporaryFile() as spool:
                rows = exports.write_export(entity, format, spool, query=query,
                                            progress=progress)
                spool.seek(0)
                shutil.copyfileobj(spool, target)
        else:
            rows = exports.write_export(entity, format, target, query=query,
                                        progress=progress)
        target.flush()
        return rows

    def _binary_stdout(self):
        """The byte stream under standard output, or None when only text can be written."""
        stream = getattr(self.stdout, "_out", self.stdout)
        if isinstance(stream, io.BufferedIOBase | io.RawIOBase):
            return stream
        return getattr(stream, "buffer", None)


class _TextSink(io.RawIOBase):
    """Bytes in, UTF-8 text out to a stream that only takes text."""

    def __init__(self, out):
        self.out = out
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.out.write(self.decoder.decode(bytes(data)), ending="")
        return len(data)
