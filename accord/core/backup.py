"""Backups of one organisation or of the whole database, and their restore.

A backup is a zip file: `manifest.json` (format version, the migrations each
Accord app has applied, and per table its columns, row count and checksum),
one `data/<app>.<Model>.jsonl` per table with a row per line, and the stored
files the rows name under `files/`. A row is the canonical JSON of its column
values (keys sorted, no spaces), and a table's checksum is the SHA-256 of its
lines in id order, so the same rows give the same checksum in any database.

Rows keep their ids. Restoring an organisation needs each of its ids free in
the target database, else the restore stops naming the table: ids also sit in
places no foreign key describes (audit entries, timelines, events, search
entries and JSON settings name records by entity and id), and rewriting those
safely is not possible in general. Users are global: one who already exists
with the same e-mail is linked and the rows naming them are rewritten to the
existing id; foreign keys to users and to the organisation are the only ids
ever rewritten. Ids of users inside JSON values (rule settings, audit details)
are not rewritten, as nothing says which values are user ids.

Encrypted custom field values are copied as stored, sealed; reading them
after a restore needs the same `FIELD_ENCRYPTION_KEYS` (and `ENCRYPTION_KEYS`
for secrets such as mailbox passwords).
"""

import base64
import datetime
import decimal
import hashlib
import io
import json
import logging
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.core.files.base import ContentFile
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import ExpressionWrapper, F
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django_scopes import scopes_disabled

from accord import search
from accord.identity.models import Membership, Organization, User

logger = logging.getLogger(__name__)

FORMAT = "accord-backup"
FORMAT_VERSION = 1
CHUNK = 2000  # rows read per query and held before inserting; a few MB at most
INSERT_BATCH = 500  # rows per INSERT, under SQLite's limit of variables per statement
# Rebuilt from the records after a restore rather than copied.
DERIVED = ("core.SearchEntry",)
# Rows of a user that are not any organisation's; they follow their user.
USER_TABLES = ("identity.TwoFactorDevice", "identity.RecoveryCode")
NOTE = ("Values of encrypted custom fields are stored sealed, as in the database; reading "
        "them after a restore needs the same FIELD_ENCRYPTION_KEYS, and mailbox and other "
        "secrets need the same ENCRYPTION_KEYS.")

Progress = Callable[[int], object]


class BackupError(Exception):
    """A backup cannot be written or restored; the message says why."""


def tenant_models() -> list[type[models.Model]]:
    """Every model whose rows belong to one organisation, in a stable order."""
    found = []
    for model in apps.get_models():
        field = _field_named(model, "organization")
        if (field is not None and field.related_model is Organization
                and model._meta.label not in DERIVED):
            found.append(model)
    return sorted(found, key=lambda model: model._meta.label)


def migration_state() -> dict[str, list[str]]:
    """The migrations applied to this database, per Accord app."""
    labels = {config.label for config in apps.get_app_configs()
              if config.name.startswith("accord.")}
    state: dict[str, list[str]] = {label: [] for label in sorted(labels)}
    applied = MigrationRecorder(connection).applied_migrations()
    for app_label, name in applied:
        if app_label in state:
            state[app_label].append(name)
    return {label: sorted(names) for label, names in state.items() if names}


def write_backup(path: Path, *, organization: Organization | None = None,
                 progress: Progress | None = None) -> dict:
    """Write `organization` (or every organisation and user) to a backup at `path`;
    the manifest written."""
    progress = progress or (lambda count: None)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "scope": "organization" if organization else "database",
        "created_at": timezone.now().isoformat(),
        "migrations": migration_state(),
        "note": NOTE,
        "derived": list(DERIVED),
        "models": {},
        "files": [],
    }
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with scopes_disabled(), transaction.atomic(), \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        if snapshot:
            # Every table read from one snapshot, so rows written meanwhile
            # cannot leave a foreign key pointing at a row the file lacks.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        organizations = Organization.objects.order_by("pk")
        if organization is not None:
            organizations = organizations.filter(pk=organization.pk)
        manifest["organizations"] = list(organizations.values_list("slug", flat=True))
        _write_table(archive, manifest, Organization, organizations, progress)
        org_ids = list(organizations.values_list("pk", flat=True))
        users: set[int] = set()
        for model in tenant_models():
            rows = model._base_manager.filter(organization_id__in=org_ids)
            users |= _write_table(archive, manifest, model, rows, progress)
        if organization is None:
            everyone = User.objects.all()
        else:
            users |= set(Membership.unscoped.filter(organization=organization)
                         .values_list("user_id", flat=True))
            everyone = User.objects.filter(pk__in=users)
        _write_table(archive, manifest, User, everyone, progress)
        for label in USER_TABLES:
            model = apps.get_model(label)
            _write_table(archive, manifest, model, model._base_manager.filter(
                user__in=everyone), progress)
        archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))

    logger.info("backup.written", extra={
        "organization_id": organization.pk if organization else None,
        "tables": len(manifest["models"]), "files": len(manifest["files"])})
    return manifest


def checksums(manifest: dict) -> dict[str, str]:
    return {label: table["sha256"] for label, table in manifest["models"].items()}


def read_manifest(archive: zipfile.ZipFile) -> dict:
    """The manifest of a backup this version can restore into this database; BackupError
    naming what differs otherwise."""
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except (KeyError, ValueError):
        raise BackupError("This is not an Accord backup: it has no readable manifest.") from None
    if manifest.get("format") != FORMAT:
        raise BackupError("This is not an Accord backup: its manifest names another format.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(
            f"The backup has format version {version}, newer than this Accord reads "
            f"({FORMAT_VERSION}). Restore it with the Accord version that wrote it.")
    ours, theirs = migration_state(), manifest.get("migrations", {})
    differences = []
    for app_label in sorted(set(ours) | set(theirs)):
        missing = sorted(set(theirs.get(app_label, [])) - set(ours.get(app_label, [])))
        extra = sorted(set(ours.get(app_label, [])) - set(theirs.get(app_label, [])))
        if missing:
            differences.append(f"{app_label}: the backup has {', '.join(missing)} applied, "
                               "this database does not")
        if extra:
            differences.append(f"{app_label}: this database has {', '.join(extra)} applied, "
                               "the backup does not")
    if differences:
        raise BackupError("The backup was written by a database with other migrations; "
                          "migrate both to the same version first. "
                          + "; ".join(differences) + ".")
    return manifest


def total_rows(path: Path) -> int | None:
    """The rows the backup at `path` holds, for a progress bar; None when unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            tables = json.loads(archive.read("manifest.json"))["models"]
        return sum(table["rows"] for table in tables.values())
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError):
        return None


def restore_backup(path: Path, *, org_slug: str | None = None,
                   progress: Progress | None = None) -> dict:
    """Load the backup at `path` into this database in one transaction; a summary with the
    rows and checksums restored. BackupError, with nothing written, when an organisation's
    slug or any row id is taken, or the file is damaged or from elsewhere."""
    progress = progress or (lambda count: None)
    saved_files: list[tuple] = []  # (storage, name) of each file written
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = read_manifest(archive)
            if org_slug and manifest["scope"] != "organization":
                raise BackupError("--org-slug applies only to the backup of one organisation.")
            with scopes_disabled(), transaction.atomic():
                return _restore(archive, manifest, org_slug, progress, saved_files)
    except zipfile.BadZipFile:
        raise BackupError("This is not an Accord backup: it is not a zip file.") from None
    except BaseException:
        for storage, name in saved_files:
            storage.delete(name)
        raise


def _restore(archive, manifest, org_slug, progress, saved_files) -> dict:
    tables = manifest["models"]
    remap: dict[type[models.Model], dict[int, int]] = {Organization: {}, User: {}}
    summary = {"scope": manifest["scope"], "rows": {}, "checksums": {}}

    slugs = [org_slug] if org_slug else manifest["organizations"]
    taken = sorted(Organization.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    if taken and manifest["scope"] == "organization":
        raise BackupError(f"An organisation with the slug {taken[0]!r} already exists; restore "
                          "under another slug with --org-slug NEW.")
    if taken:
        raise BackupError(f"Organisations with the slugs {', '.join(taken)} already exist; "
                          "restore a whole-database backup into a database without them.")

    def fix_organization(row):
        if org_slug:
            row["slug"] = org_slug
        if Organization.objects.filter(pk=row["id"]).exists():
            row["_old_id"] = row.pop("id")
        return row

    linked: set[int] = set()

    def fix_user(row):
        existing = User.objects.filter(email__iexact=row["email"]).values_list(
            "pk", flat=True).first()
        if existing is not None:
            remap[User][row["id"]] = existing
            linked.add(row["id"])
            return None
        if User.objects.filter(pk=row["id"]).exists():
            row["_old_id"] = row.pop("id")
        return row

    def fix_user_row(model):
        def fix(row):
            if row["user_id"] in linked:
                return None
            if model._base_manager.filter(pk=row["id"]).exists():
                row["_old_id"] = row.pop("id")
            return row
        return fix

    _load_table(archive, tables, Organization, remap, progress, summary,
                before=fix_organization)
    added = _load_table(archive, tables, User, remap, progress, summary, before=fix_user)
    if linked:
        # A linked user counts as restored: the checksum covers them as they are here.
        summary["checksums"]["identity.User"] = _checksum_of(User, sorted(
            {*added, *(remap[User][old] for old in linked)}))
    for model in map(apps.get_model, USER_TABLES):
        _load_table(archive, tables, model, remap, progress, summary, before=fix_user_row(model))
    for model in tenant_models():
        _load_table(archive, tables, model, remap, progress, summary, saved_files=saved_files)
    restored = [apps.get_model(label) for label in summary["rows"]]
    try:
        connection.check_constraints(table_names=[model._meta.db_table for model in restored])
    except IntegrityError as error:
        raise BackupError(f"The restored rows name rows that do not exist: {error}") from None
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), restored):
            cursor.execute(statement)

    org_ids = list(Organization.objects.filter(slug__in=slugs).values_list("pk", flat=True))
    for model in search.registered_models():
        for organization_id in org_ids:
            search.rebuild(model, organization_id=organization_id)
    summary["organizations"] = sorted(slugs)
    summary["users_linked"] = len(linked)
    summary["files"] = len(saved_files)
    logger.info("backup.restored", extra={"organizations": len(org_ids),
                                          "tables": len(summary["rows"])})
    return summary


def _load_table(archive, tables, model, remap, progress, summary, *, before=None,
                saved_files=None) -> list[int]:
    """Insert the rows of `model` from the backup, rewriting foreign keys to organisations
    and users by `remap`; a row that `before` gives an `_old_id` gets a new id, which
    `remap[model]` records. The ids of the rows inserted."""
    label = model._meta.label
    table = tables.get(label)
    if table is None:
        return []
    fields = {field.attname: field for field in model._meta.concrete_fields}
    unknown = sorted(set(table["fields"]) ^ set(fields))
    if unknown:
        raise BackupError(f"The backup's {label} rows differ from this database's columns: "
                          f"{', '.join(unknown)}.")
    remapped = {attname: remap[field.related_model]
                for attname, field in fields.items()
                if field.is_relation and field.related_model in remap}
    digest, count, ids, batch = hashlib.sha256(), 0, [], []
    for line in _lines(archive, f"data/{label}.jsonl"):
        digest.update(line)
        count += 1
        row = json.loads(line)
        if before is not None:
            row = before(row)
            if row is None:
                continue
        for attname, mapping in remapped.items():
            if row.get(attname) in mapping:
                row[attname] = mapping[row[attname]]
        if saved_files is not None:
            _restore_files(archive, fields, row, saved_files)
        batch.append(row)
        if len(batch) >= CHUNK:
            ids += _insert(model, fields, batch, remap)
            progress(len(batch))
            batch = []
    if batch:
        ids += _insert(model, fields, batch, remap)
        progress(len(batch))

    if count != table["rows"] or digest.hexdigest() != table["sha256"]:
        raise BackupError(f"The backup is damaged: the rows of {label} do not match the "
                          "checksum in its manifest.")
    summary["rows"][label] = count
    summary["checksums"][label] = _checksum_of(model, sorted(ids))
    return ids


def _checksum_of(model, ids: list[int]) -> str:
    """The checksum of the rows of `model` with `ids` as this database holds them."""
    digest = hashlib.sha256()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for line in _rows(model, model._base_manager.filter(pk__in=chunk)):
            digest.update(line)
    return digest.hexdigest()


def _insert(model, fields, rows, remap) -> list[int]:
    """Insert `rows`, keeping their ids (which must be free); their ids."""
    label = model._meta.label
    wanted = [row["id"] for row in rows if "id" in row]
    if wanted and model._base_manager.filter(pk__in=wanted).exists():
        raise BackupError(
            f"Rows of {label} with ids in this backup already exist in this database; an "
            "organisation restores only where none of its ids is taken.")
    kept, fresh = [], []
    for row in rows:
        old = row.pop("_old_id", None)
        obj = model(**{attname: fields[attname].to_python(value)
                       for attname, value in row.items()})
        if old is None:
            kept.append(obj)
        else:
            fresh.append((old, obj))
    try:
        with transaction.atomic():
            columns = list(fields.values())
            size = min(INSERT_BATCH, connection.ops.bulk_batch_size(columns, kept) or 1)
            for start in range(0, len(kept), size):
                model._base_manager._insert(kept[start:start + size], fields=columns,
                                            raw=True)
            for old, obj in fresh:
                obj.save_base(raw=True, force_insert=True)
                remap.setdefault(model, {})[old] = obj.pk
    except IntegrityError as error:
        raise BackupError(f"Rows of {label} clash with rows already in this database: "
                          f"{error}") from None
    return [obj.pk for obj in kept] + [obj.pk for _old, obj in fresh]


def _restore_files(archive, fields, row, saved_files) -> None:
    """Put the files `row` names into storage, unless the same file is there already."""
    for attname, field in fields.items():
        name = row.get(attname)
        if not isinstance(field, models.FileField) or not name:
            continue
        try:
            content = archive.read(f"files/{name}")
        except KeyError:
            continue
        if field.storage.exists(name):
            with field.storage.open(name, "rb") as stored:
                if stored.read() == content:
                    continue
        row[attname] = field.storage.save(name, ContentFile(content))
        saved_files.append((field.storage, row[attname]))


def _write_table(archive, manifest, model, queryset, progress) -> set[int]:
    """Write the rows of `queryset` as the table of `model`; the ids of users they name."""
    label = model._meta.label
    fields = list(model._meta.concrete_fields)
    user_columns = [field.attname for field in fields
                    if field.is_relation and field.related_model is User]
    file_fields = [field for field in fields if isinstance(field, models.FileField)]
    digest, count, users, files = hashlib.sha256(), 0, set(), []
    with archive.open(f"data/{label}.jsonl", "w", force_zip64=True) as out:
        for line, row in _rows(model, queryset, with_values=True):
            out.write(line)
            digest.update(line)
            count += 1
            users.update(row[column] for column in user_columns if row[column] is not None)
            files += [(field, row[field.attname]) for field in file_fields
                      if row[field.attname]]
            if count % CHUNK == 0:
                progress(CHUNK)
    progress(count % CHUNK)
    manifest["models"][label] = {"rows": count, "sha256": digest.hexdigest(),
                                 "fields": [field.attname for field in fields]}

    for field, name in files:
        if not field.storage.exists(name):
            logger.warning("backup.file_missing", extra={"table": label})
            continue
        with field.storage.open(name, "rb") as source, \
                archive.open(f"files/{name}", "w", force_zip64=True) as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)
        manifest["files"].append(name)
    return users


def _rows(model, queryset, *, with_values=False) -> Iterator:
    """Canonical JSON lines of the rows of `queryset` in id order (with the row dicts when
    `with_values`), reading stored values: sealed custom values stay sealed."""
    fields = list(model._meta.concrete_fields)
    columns = {}
    for field in fields:
        if isinstance(field, models.JSONField) and type(field) is not models.JSONField:
            # Read the column as plain JSON, past the field's own decoding.
            columns[field.attname] = ExpressionWrapper(F(field.attname),
                                                       output_field=models.JSONField())
    names = [field.attname for field in fields]
    if columns:
        queryset = queryset.annotate(**{f"_raw_{name}": value for name, value in columns.items()})
        selected = [f"_raw_{name}" if name in columns else name for name in names]
    else:
        selected = names
    for values in queryset.order_by("pk").values_list(*selected).iterator(chunk_size=CHUNK):
        row = {name: _plain(value) for name, value in zip(names, values, strict=True)}
        line = (json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                + "\n").encode()
        yield (line, row) if with_values else line


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return duration_iso_string(value)
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def _lines(archive, name) -> Iterator[bytes]:
    try:
        entry = archive.open(name)
    except KeyError:
        raise BackupError(f"The backup is damaged: it lacks {name}.") from None
    with entry, io.BufferedReader(entry) as reader:
        yield from reader


def _field_named(model, name):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
