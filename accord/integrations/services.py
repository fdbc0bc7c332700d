"""Every write to import jobs and mappings, as verbs: create, configure, queue, cancel, undo."""

import datetime as dt
import json
import logging

from django.db import transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import formats, timezone

from accord.activities.models import Activity, Kind
from accord.activities.services import delete_activity
from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import Conflict, InvalidInput, NotFound
from accord.identity.permissions import has_permission, own_unless
from accord.identity.visibility import AREAS, through_contact, through_records, visible

from . import engine, entities
from .adapters import adapter_for
from .models import (
    DuplicatePolicy,
    ImportJob,
    ImportMapping,
    ImportRow,
    ImportStatus,
    RowAction,
)
from .readers import ReadError

logger = logging.getLogger(__name__)

DATE_ORDERS = ("dmy", "mdy", "ymd")
NUMBER_STYLES = ("1,234.56", "1.234,56")
FINISHED = (ImportStatus.DONE, ImportStatus.CANCELLED, ImportStatus.FAILED)
UNDO_BATCH = 500  # ledger rows reverted per transaction
MAX_BYTES = 200 * 2**20  # about a million rows of a wide CSV; more is better split
ERRORS_SHOWN = 100  # ledger errors in an API answer; the CSV has them all
RECORDS_SHOWN = 20  # records an import's page links to; the lists find the others
# The lists that narrow to an import's records (their `import_id` filter), by entity.
FILTERED_LISTS = {"contact": "customers:contact_list", "company": "customers:company_list"}


def visible_imports(membership):
    """The imports this member may see: their own, or everyone's with `imports.any`."""
    return own_unless(membership, ImportJob.objects.select_related("created_by"),
                      "imports.any")


def get_job(membership, job_id) -> ImportJob:
    """An import of the current organisation this member may see, or NotFound.

    Someone else's import answers like an id that does not exist.
    """
    try:
        job = visible_imports(membership).filter(pk=int(job_id)).first()
    except (TypeError, ValueError):
        job = None
    if job is None:
        raise NotFound("No import with this id.")
    return job


JSON_OBJECT = 'Give a JSON object, such as {"Email": "email"}.'


def parse_json_object(text, field: str) -> dict:
    """A JSON object from form text such as the API's `mapping`; InvalidInput otherwise."""
    if text in (None, ""):
        return {}
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput({field: JSON_OBJECT}) from None
    if not isinstance(value, dict):
        raise InvalidInput({field: JSON_OBJECT})
    return value


def clean_options(entity: entities.Entity, options: dict) -> dict:
    """The options a user may set, checked; InvalidInput naming each bad one."""
    errors = {}
    out = {}
    for name in ("encoding", "delimiter", "sheet"):
        if name in options:
            value = options[name]
            if value not in (None, "") and not isinstance(value, str):
                errors[name] = "Give text."
            out[name] = value or None
    if out.get("delimiter") and len(out["delimiter"]) != 1:
        value = {"tab": "\t", "\\t": "\t"}.get(out["delimiter"].lower())
        if value is None:
            errors["delimiter"] = "Give one character, such as ; or , (or tab)."
        out["delimiter"] = value
    if options.get("date_order") not in (None, "") and options["date_order"] not in DATE_ORDERS:
        errors["date_order"] = "Choose one of: " + ", ".join(DATE_ORDERS) + "."
    if "date_order" in options:
        out["date_order"] = options["date_order"] or None
    style = options.get("number_style")
    if style not in (None, "") and style not in NUMBER_STYLES:
        errors["number_style"] = "Choose one of: " + ", ".join(NUMBER_STYLES) + "."
    if "number_style" in options:
        out["number_style"] = style or None
    policy = options.get("duplicate_policy")
    if policy is not None and policy not in DuplicatePolicy.values:
        errors["duplicate_policy"] = "Choose one of: " + ", ".join(DuplicatePolicy.values) + "."
    if policy is not None:
        out["duplicate_policy"] = policy
    for flag in ("create_missing_links", "dry_run"):
        if flag in options:
            out[flag] = bool(options[flag])
    if "id_system" in options:
        system = str(options["id_system"] or "").strip()
        if not system or len(system) > 40:
            errors["id_system"] = "Name the other system in at most 40 characters."
        out["id_system"] = system
    if "mapping" in options:
        out["mapping"] = clean_mapping(entity, options["mapping"])
    unknown = set(options) - set(engine.DEFAULT_OPTIONS)
    for name in sorted(unknown):
        errors[name] = "There is no import option with this name."
    if errors:
        raise InvalidInput(errors)
    return out


def clean_mapping(entity: entities.Entity, mapping) -> dict:
    """{header: target} with known targets, each target once; "" or null skips a column."""
    if not isinstance(mapping, dict):
        raise InvalidInput({"mapping": "Give the mapping as an object {header: field}."})
    targets = entity.target_map()
    errors, used, out = [], {}, {}
    for header, key in mapping.items():
        if key in (None, ""):
            continue
        if not isinstance(key, str) or key not in targets:
            errors.append({"field": f"mapping.{header}", "code": "unknown",
                           "message": f"There is no {str(entity.label).lower()} field "
                                      f"“{key}”; use one of: " + ", ".join(targets) + "."})
            continue
        if key in used:
            errors.append({"field": f"mapping.{header}", "code": "repeated",
                           "message": f"Column “{used[key]}” already fills {key}."})
            continue
        used[key] = header
        out[str(header)] = key
    if errors:
        raise InvalidInput(errors)
    return out


def _entity(org, key) -> entities.Entity:
    entity = entities.for_org(org, key)
    if entity is None:
        known = ", ".join(entities.keys_for(org))
        if str(key or "").startswith(entities.RECORD_PREFIX):
            raise InvalidInput({"entity": f"There is no active record type “{key}” to "
                                          f"import; choose one of: {known}."})
        raise InvalidInput({"entity": f"Choose what the file holds: {known}."})
    return entity


@transaction.atomic
def create_job(org, actor, *, entity: str, upload=None, path: str | None = None,
               filename: str | None = None, options: dict | None = None,
               mapping: dict | None = None, require_mapped: bool = False) -> ImportJob:
    """Store an uploaded file (or point at a local `path`) as a new import, ready to map.

    Detects encoding, delimiter, sheet and each column's formats, and maps
    columns from `mapping`, else from a saved mapping for the same headers,
    else from the headers themselves. Raises InvalidInput for a bad entity,
    option or mapping, and for a file that cannot be read (naming `file`); with
    `require_mapped`, for a file none of whose columns is mapped (naming `mapping`)
    or that has no rows (naming `file`), keeping nothing.
    """
    kind = _entity(org, entity)
    chosen = clean_options(kind, dict(options or {}))
    if mapping is not None:
        chosen["mapping"] = clean_mapping(kind, mapping)
    if upload is None and not path:
        raise InvalidInput({"file": "Choose a file to import."})
    if upload is not None and upload.size > MAX_BYTES:
        raise InvalidInput({"file": f"The file is larger than {MAX_BYTES // 2**20} MB; "
                                    "split it into smaller files."})

    name = (filename or getattr(upload, "name", "") or str(path)).rsplit("/", 1)[-1][:255]
    job = ImportJob(organization=org, entity=kind.key, filename=name, options=chosen,
                    created_by=actor if getattr(actor, "pk", None) else None)
    if upload is not None:
        job.file.save(name, upload, save=False)
    else:
        job.options["path"] = str(path)
    try:
        info = engine.inspect(job)
    except ReadError as exc:
        if job.file:
            job.file.delete(save=False)
        raise InvalidInput({"file": str(exc)}) from None
    engine.apply_inspection(job, info)
    if "mapping" not in chosen:
        saved = find_mapping(kind.key, info["headers"])
        job.options["mapping"] = (
            {header: key for header, key in saved.mapping.items() if header in info["headers"]}
            if saved else kind.suggest(info["headers"])
        )
        job.options["mapping_guessed"] = saved is None
    if require_mapped:
        try:
            refuse_unmapped(job)
            refuse_empty(job)
        except InvalidInput:
            if job.file:
                job.file.delete(save=False)
            raise
    if not job.options.get("date_order"):
        job.options["date_order"] = next(iter(job.options["detected_date_orders"].values()),
                                         None)
    if not job.options.get("number_style"):
        job.options["number_style"] = next(
            iter(job.options["detected_number_styles"].values()), None)
    drop_unused_policy(kind, job)
    job.save()

    audit.record(org, actor, Action.CREATE, job, entity="import",
                 changes={"filename": [None, job.filename], "entity": [None, job.entity]})
    logger.info("import.created", extra={"organization_id": org.id, "import_id": job.pk})
    return job


def unmapped_columns(job: ImportJob) -> list[str]:
    """The file's columns that fill no field and were not skipped on purpose: with a
    mapping guessed from the headers, those no field's name or synonym matched (a custom
    field not defined yet, say), in file order. A mapping someone chose (or saved) leaves
    out only what they meant to."""
    if not job.options.get("mapping_guessed"):
        return []
    mapping = job.options.get("mapping") or {}
    return [header for header in job.options.get("headers") or []
            if header.strip() and header not in mapping]


@transaction.atomic
def configure_job(org, actor, job: ImportJob, *, options: dict) -> ImportJob:
    """Change how a not yet started import reads and maps its file.

    A new encoding, delimiter or sheet reads the file again (and re-suggests
    the mapping when the headers changed). Conflict once the job has started.
    """
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != ImportStatus.UPLOADED:
        raise Conflict("This import has started; its settings can no longer change.")
    kind = _entity(org, job.entity)
    chosen = clean_options(kind, options)
    reread = any(name in chosen and chosen[name] != job.options.get(name)
                 for name in ("encoding", "delimiter", "sheet"))
    job.options = {**job.options, **chosen}
    if "mapping" in chosen:
        job.options["mapping_guessed"] = False
        refuse_unmapped(job)
    if reread:
        try:
            info = engine.inspect(job)
        except ReadError as exc:
            raise InvalidInput({"encoding": str(exc)}) from None
        headers_before = job.options.get("headers")
        engine.apply_inspection(job, info)
        if info["headers"] != headers_before and "mapping" not in chosen:
            job.options["mapping"] = kind.suggest(info["headers"])
            job.options["mapping_guessed"] = True
    drop_unused_policy(kind, job)
    job.save_new_version()
    return job


def drop_unused_policy(kind: entities.Entity, job: ImportJob) -> None:
    """Set the job's duplicate policy to None when no row of its file can match a record
    already here (see `Entity.offers_duplicate_policy`), so the job never shows a choice
    that changes nothing. The run then treats it as "fill", which no row reaches."""
    if not kind.offers_duplicate_policy(job.options.get("mapping")):
        job.options["duplicate_policy"] = None


def refuse_unmapped(job: ImportJob) -> None:
    """InvalidInput naming `mapping` when no column of the job's file fills a field: such
    an import would fail every row, so it is refused before it starts."""
    if any((job.options.get("mapping") or {}).values()):
        return
    headers = [header for header in job.options.get("headers") or [] if header.strip()]
    shown = ", ".join(headers[:10]) + (", …" if len(headers) > 10 else "")
    raise InvalidInput({"mapping": (
        f"No column of the file fills a field (its headers: {shown or 'none'}). "
        "Map at least one column to a field.")})


EMPTY_FILE = "The file has no rows below its header, so there is nothing to import."


def refuse_empty(job: ImportJob) -> None:
    """InvalidInput naming `file` when the job's file holds no row (or no card)."""
    if not engine.has_rows(job):
        raise InvalidInput({"file": EMPTY_FILE if job.kind != "vcard" else
                            "The file holds no contact card, so there is nothing to import."})


@transaction.atomic
def queue_job(org, actor, job: ImportJob) -> ImportJob:
    """Hand an uploaded import to the worker; Conflict if it was queued already, and
    InvalidInput when no column is mapped or the file has no rows."""
    from .tasks import run_import

    refuse_unmapped(job)
    refuse_empty(job)

    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.UPLOADED).update(
        status=ImportStatus.QUEUED, heartbeat_at=timezone.now())
    if not updated:
        raise Conflict("This import has been started already.")
    audit.record(org, actor, Action.UPDATE, job, entity="import",
                 changes={"status": [ImportStatus.UPLOADED, ImportStatus.QUEUED]})
    transaction.on_commit(lambda: run_import.delay(job.pk))
    job.refresh_from_db()
    return job


@transaction.atomic
def cancel_job(org, actor, job: ImportJob) -> ImportJob:
    """Stop an import between chunks; what was committed stays and can be undone."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status in (ImportStatus.UPLOADED, ImportStatus.QUEUED):
        job.status = ImportStatus.CANCELLED
        job.finished_at = timezone.now()
    elif job.status == ImportStatus.RUNNING:
        job.cancel_requested = True
    else:
        raise Conflict("This import has finished; undo it instead.")
    job.save_new_version()
    audit.record(org, actor, Action.UPDATE, job, entity="import",
                 changes={"cancel_requested": [False, True]})
    return job


def _already_undone(job: ImportJob) -> str:
    """Say that `job` was undone, and when if it was undone since its time was kept."""
    when = job.options.get("undone_at")
    if not when:
        return "This import was already undone."
    moment = timezone.localtime(dt.datetime.fromisoformat(when))
    # As record pages show a moment (the `date` filter's DATETIME_FORMAT).
    return f"This import was already undone on {formats.date_format(moment, 'DATETIME_FORMAT')}."


def undo_job(org, actor, job: ImportJob) -> dict:
    """Take back what an import did: created records go to the trash, updates are reverted.

    An updated record that changed after the import keeps its values and is
    reported with the reason. Conflict while the job runs or when it was
    undone already. Returns {"removed", "reverted", "not_reverted": [...]}.
    """
    # Undo runs in the caller's request, batch by batch; it is not a worker
    # job yet, so undoing a very large import keeps that request busy.
    if job.status == ImportStatus.UNDONE:
        raise Conflict(_already_undone(job))
    if job.status not in FINISHED:
        raise Conflict("Only a finished, cancelled or failed import can be undone.")
    if job.options.get("dry_run"):
        raise Conflict("A dry run wrote nothing, so there is nothing to undo.")
    adapter = adapter_for(_entity(org, job.entity))
    report = {"removed": 0, "reverted": 0, "not_reverted": []}
    created_by_job = set()
    reverted_versions: dict[int, int] = {}
    last = None
    while True:
        rows = job.ledger.filter(action__in=[RowAction.CREATED, RowAction.UPDATED])
        if last is not None:
            rows = rows.filter(row__lt=last)
        batch = list(rows.order_by("-row")[:UNDO_BATCH])
        if not batch:
            break
        last = batch[-1].row
        with transaction.atomic():
            _undo_batch(org, actor, adapter, batch, report, created_by_job, reverted_versions)

    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.UNDONE)
        job.refresh_from_db()
        job.options = {**job.options, "undo": report, "undone_at": timezone.now().isoformat()}
        job.save_new_version()
        audit.record(org, actor, Action.UPDATE, job, entity="import",
                     changes={"status": [None, ImportStatus.UNDONE]})
    logger.info("import.undone", extra={
        "organization_id": org.id, "import_id": job.pk, "removed": report["removed"],
        "reverted": report["reverted"], "not_reverted": len(report["not_reverted"])})
    return report


def _undo_batch(org, actor, adapter, batch, report, created_by_job, reverted_versions) -> None:
    from accord.customers import bulk
    from accord.customers.models import Company, Contact

    created = [row.record_id for row in batch if row.action == RowAction.CREATED]
    created_by_job.update(created)
    # A created record someone edited or merged another into since keeps
    # what was added to it: it stays, and the report says why.
    last_versions = dict(batch[0].job.ledger.filter(record_id__in=created)
                         .values("record_id").annotate(last=Max("version_after"))
                         .values_list("record_id", "last"))
    kept = {pk for pk, version in adapter.model.objects.filter(pk__in=created)
            .values_list("pk", "version") if version != last_versions.get(pk)}
    for row in batch:
        if row.action == RowAction.CREATED and row.record_id in kept:
            report["not_reverted"].append({
                "row": row.row, "record_id": row.record_id,
                "reason": "The record was changed after the import; it was kept."})
    report["removed"] += len(adapter.remove(org, actor,
                                            [pk for pk in created if pk not in kept]))
    # The notes the import added to records it did not create (those of the
    # created ones go with them, or stay with a record that is kept).
    notes = {link["id"]: row for row in batch
             if row.action == RowAction.UPDATED and row.record_id not in created_by_job
             for link in row.links_created if link.get("entity") == "activity"}
    for note in Activity.objects.filter(pk__in=notes, kind=Kind.NOTE):
        if note.version != 1:
            report["not_reverted"].append({
                "row": notes[note.pk].row, "record_id": notes[note.pk].record_id,
                "reason": "The note it added was changed after the import; it was kept."})
            continue
        delete_activity(org, actor, note)
    links = [link["id"] for row in batch for link in row.links_created
             if link.get("entity") == "company"]
    unused = [pk for pk in links if not Contact.objects.filter(company_id=pk).exists()]
    bulk.trash(org, actor, Company, unused)
    for row in batch:
        if row.action != RowAction.UPDATED or row.record_id in created_by_job:
            continue
        if not row.before:
            continue  # the row added a note and changed no field
        record = adapter.get(row.record_id)
        expected = reverted_versions.get(row.record_id, row.version_after)
        reason = None
        if record is None:
            reason = "The record is in the trash or was deleted."
        elif record.version != expected:
            reason = "The record was changed after the import; its values were kept."
        else:
            try:
                record = adapter.update(org, actor, record, row.before)
            except InvalidInput as exc:
                reason = "The old values are no longer valid: " + exc.errors[0]["message"]
        if reason:
            report["not_reverted"].append({"row": row.row, "record_id": row.record_id,
                                           "reason": reason})
            continue
        reverted_versions[row.record_id] = record.version
        report["reverted"] += 1


def imported_records(membership, job: ImportJob, limit: int = RECORDS_SHOWN) -> list[dict]:
    """The first records (in file order) the import created or updated that are still
    here and that `membership` may see, as {"action", "name", "url"}; `url` is empty for
    a record without a page of its own (a product, a custom field)."""
    entity = entities.for_org(job.organization, job.entity)
    if entity is None or not has_permission(membership, f"{entity.permission}.view"):
        return []
    firsts = (job.ledger.filter(action__in=[RowAction.CREATED, RowAction.UPDATED],
                                record_id__isnull=False)
              .values("record_id", "action").annotate(first_row=Min("row"))
              .order_by("first_row")[:limit * 2])
    actions: dict[int, str] = {}
    for first in firsts:
        actions.setdefault(first["record_id"], first["action"])
    ids = list(actions)[:limit]
    records = adapter_for(entity).model.objects.filter(pk__in=ids)
    if entity.permission in AREAS:
        records = visible(records, membership, entity.permission)
    elif job.entity == "activity":
        records = through_records(records, membership)
    elif job.entity == "order":
        records = through_contact(records, membership)
    found = records.in_bulk()
    return [{"action": actions[pk], "name": str(found[pk]),
             "url": found[pk].get_absolute_url()
             if hasattr(found[pk], "get_absolute_url") else ""}
            for pk in ids if pk in found]


def openable_imports(membership, job_ids, entity: str):
    """The imports of `entity` among `job_ids` that `membership` may open; without a
    membership (code acting for the organisation), every one of the organisation."""
    jobs = ImportJob.objects.filter(pk__in=job_ids, entity=entity)
    if membership is None:
        return jobs
    if not has_permission(membership, "imports.view"):
        return jobs.none()
    return own_unless(membership, jobs, "imports.any")


def ledger_records(membership, job_ids, entity: str):
    """The ids of the `entity` records that the imports `job_ids` created or updated, as a
    subquery on the ledger (by its job index) for a `pk__in` filter. An import that
    `membership` may not open, or one of another entity, adds none."""
    jobs = openable_imports(membership, job_ids, entity).values("pk")
    return ImportRow.objects.filter(
        job__in=jobs, action__in=[RowAction.CREATED, RowAction.UPDATED]
    ).values("record_id")


def records_touched(job: ImportJob) -> dict:
    """{"created", "changed"}: how many distinct records the import made, and how many
    records that were here before it changed. Rows repeating a record count it once;
    a record the import made and a later row changed counts only as made."""
    rows = job.ledger.filter(record_id__isnull=False)
    created = rows.filter(action=RowAction.CREATED).values("record_id")
    return {
        "created": created.distinct().count(),
        "changed": (rows.filter(action=RowAction.UPDATED).exclude(record_id__in=created)
                    .values("record_id").distinct().count()),
    }


def imported_list(membership, job: ImportJob) -> dict | None:
    """{"count", "url"} of the list of every record the import created or updated that
    `membership` sees; None when there is none, when the entity's list cannot narrow to
    an import, or when the member may not view that list."""
    list_name = FILTERED_LISTS.get(job.entity)
    entity = entities.for_org(job.organization, job.entity)
    if list_name is None or entity is None or not has_permission(
        membership, f"{entity.permission}.view"
    ):
        return None
    records = entity.model.objects.filter(pk__in=ledger_records(membership, [job.pk],
                                                                job.entity))
    count = visible(records, membership, entity.permission).count()
    if not count:
        return None
    return {"count": count, "url": f"{reverse(list_name)}?import_id={job.pk}"}


def error_rows(job: ImportJob):
    """[row, column, value, reason] for every problem: failed and skipped rows, dropped values."""
    rows = job.ledger.exclude(errors=[]).order_by("row").only("row", "errors")
    for ledger in rows.iterator(chunk_size=1000):
        for error in ledger.errors:
            yield [ledger.row, error.get("column", ""), error.get("value", ""),
                   error.get("reason", "")]


def first_errors(job: ImportJob, limit: int = ERRORS_SHOWN) -> list[dict]:
    found = []
    for row, column, value, reason in error_rows(job):
        found.append({"row": row, "column": column, "value": value, "reason": reason})
        if len(found) >= limit:
            break
    return found


# Mappings


def find_mapping(entity: str, headers: list[str]) -> ImportMapping | None:
    """The most recent saved mapping for files with these headers (case, accents, BOM aside)."""
    key = entities.header_key(headers)
    return (ImportMapping.objects.filter(entity=entity, header_key=key)
            .order_by("-updated_at", "-id").first())


@transaction.atomic
def save_mapping(org, actor, *, entity: str, name: str, headers: list[str],
                 mapping: dict) -> ImportMapping:
    """Save a column mapping under a name, replacing one of the same name and entity."""
    kind = _entity(org, entity)
    name = (name or "").strip()
    if not name:
        raise InvalidInput({"mapping_name": "Give the mapping a name."})
    if len(name) > 80:
        raise InvalidInput({"mapping_name": "Keep the name under 80 characters."})
    cleaned = clean_mapping(kind, mapping)
    saved = ImportMapping.objects.filter(entity=kind.key, name=name).first()
    if saved is None:
        saved = ImportMapping(organization=org, entity=kind.key, name=name,
                              created_by=actor if getattr(actor, "pk", None) else None)
    saved.header_key = entities.header_key(headers)
    saved.mapping = cleaned
    if saved.pk:
        saved.save_new_version()
    else:
        saved.save()
    audit.record(org, actor, Action.UPDATE if saved.version > 1 else Action.CREATE, saved,
                 entity="import_mapping", changes={"mapping": [None, cleaned]})
    return saved
