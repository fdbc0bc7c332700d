"""The import engine: a job's file read row by row, checked, matched and written in chunks.

Each chunk's records, ledger rows, audit entries and search text commit in
one transaction, and a job starts again after the last row in its ledger,
so a worker killed mid-job and started again neither loses nor repeats a
row. Only one chunk of rows is held in memory, whatever the file's size.
"""

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from accord.activities import services as timeline
from accord.audit.services import json_safe
from accord.core import statistics
from accord.customers import bulk, duplicates
from accord.customers.models import Company
from accord.customers.validation import clean_company
from accord.errors import InvalidInput
from accord.identity.context import acting_member
from accord.identity.visibility import AREAS, narrows, visible
from accord.search import fold

from . import cells, entities, values
from .adapters import (
    ADAPTERS,
    EXPORT_SYSTEM,
    Draft,
    adapter_for,
    draft_from_card,
    draft_from_cells,
)
from .models import (
    IMPORT_SYSTEM,
    DuplicatePolicy,
    ExternalId,
    ImportJob,
    ImportRow,
    ImportStatus,
    RowAction,
)
from .readers import open_table

logger = logging.getLogger(__name__)
User = get_user_model()

CHUNK = 500  # most rows per transaction
# How long a chunk's transaction should last. On SQLite it holds the
# database's only write lock, which every other writer waits for, so rows
# that are slow to write (a deal moved through its stages) go in smaller
# chunks: 500 deals took 20 seconds, longer than others' requests wait.
CHUNK_SECONDS = 0.5


def next_chunk_size(rows: int, seconds: float) -> int:
    """How many rows the next chunk takes, after `rows` took `seconds` to write: as many
    as fit in CHUNK_SECONDS at that pace, at least one, at most CHUNK, and at most
    twice as many as before, so one fast chunk does not make the next a long one."""
    if rows <= 0 or seconds <= 0:
        return CHUNK
    fitting = int(rows * CHUNK_SECONDS / seconds)
    return max(1, min(CHUNK, fitting, rows * 2))
SAMPLE_ROWS = 200  # rows read to detect each column's date order and number format
PREVIEW_ROWS = 20
PREVIEW_COUNT_ROWS = 1000  # rows checked for the preview's new/matching counts

DEFAULT_OPTIONS = {
    "encoding": None, "delimiter": None, "sheet": None, "mapping": {}, "date_order": None,
    "number_style": None, "duplicate_policy": DuplicatePolicy.FILL,
    "create_missing_links": True, "dry_run": False, "id_system": IMPORT_SYSTEM,
}


class Interrupted(Exception):
    """Raised by a chunk hook to stop a job where it stands (tests, shutdown)."""


def table_for(job: ImportJob):
    """The job's file opened with its encoding, delimiter and sheet; raises ReadError."""
    options = job.options
    path = job.file.path if job.file else options["path"]
    return open_table(path, filename=job.filename, encoding=options.get("encoding"),
                      delimiter=options.get("delimiter"), sheet=options.get("sheet"))


def inspect(job: ImportJob) -> dict:
    """Read the file's head: headers, samples and each column's detected formats.

    Fills the job's options with what was detected where the user chose
    nothing; raises ReadError for a file that cannot be read.
    """
    with table_for(job) as table:
        info = {"kind": table.kind, "headers": list(table.headers),
                "encoding": table.encoding, "delimiter": table.delimiter,
                "sheet_names": list(table.sheet_names or []), "sheet": table.sheet,
                "samples": {}, "date_orders": {}, "number_styles": {}}
        if table.kind == "vcard":
            return info
        samples: dict[str, list[str]] = {header: [] for header in table.headers}
        for row in islice(table.rows(), SAMPLE_ROWS):
            for header, text in zip(table.headers, row.values, strict=False):
                if not values.is_blank(text):
                    samples[header].append(cells.unescape(text))
    for header, texts in samples.items():
        info["samples"][header] = texts[:3]
        if texts:
            info["date_orders"][header] = values.detect_date_order(texts)
            info["number_styles"][header] = values.detect_number_style(texts)
    return info


def apply_inspection(job: ImportJob, info: dict) -> None:
    """Store what `inspect` found in the job, without overriding the user's choices."""
    options = {**DEFAULT_OPTIONS, **job.options}
    options["encoding"] = options.get("encoding") or info["encoding"]
    options["delimiter"] = options.get("delimiter") or info["delimiter"]
    options["sheet"] = options.get("sheet") or info["sheet"]
    options["headers"] = info["headers"]
    options["sheet_names"] = info["sheet_names"]
    options["samples"] = info["samples"]
    options["detected_date_orders"] = {k: v for k, v in info["date_orders"].items() if v}
    options["detected_number_styles"] = {k: v for k, v in info["number_styles"].items() if v}
    job.kind = info["kind"]
    job.options = options


def column_formats(job: ImportJob, header: str) -> tuple[str, str | None]:
    """The date order and number style a column is read with: its own, else the job's."""
    options = job.options
    order = ((options.get("detected_date_orders") or {}).get(header)
             or options.get("date_order"))
    style = ((options.get("detected_number_styles") or {}).get(header)
             or options.get("number_style"))
    return order, style


@dataclass
class Outcome:
    draft: Draft
    action: str
    record_id: int | None = None
    errors: list | None = None
    before: dict | None = None
    version_after: int | None = None


class Run:
    """One pass over a job's rows by one actor; holds the per-job lookups."""

    def __init__(self, org, actor, job: ImportJob):
        self.org, self.actor, self.job = org, actor, job
        self.entity = entities.for_org(org, job.entity)
        if self.entity is None:
            raise InvalidInput({"entity": f"There is no active record type “{job.entity}” "
                                          "to import into."})
        self.adapter = adapter_for(self.entity)
        self.options = {**DEFAULT_OPTIONS, **job.options}
        # None when no row of the job can match a record already here.
        self.policy = self.options["duplicate_policy"] or DuplicatePolicy.FILL
        self.system = self.options.get("id_system") or IMPORT_SYSTEM
        self.targets = self.entity.target_map()
        self.fields = [target.custom for target in self.targets.values() if target.custom]
        # Companies rows link to, by ("name", folded name) and ("domain", domain):
        # one record for every row that names it.
        self.companies: dict[tuple[str, str], Company] = {}
        # Companies this run created only because a row linked to them; a
        # row of the file that names one later fills it in.
        self.placeholders: set[int] = set()
        self.members: dict[str, int] = {}
        self.new_companies: list[int] = []  # created in this chunk, not yet checked
        self.tz = timezone.get_current_timezone()
        self.columns: list[tuple[int, str, entities.Target]] = []

    def bind(self, headers: list[str]) -> None:
        mapping = self.options.get("mapping") or {}
        self.columns = []
        for index, header in enumerate(headers):
            key = mapping.get(header)
            if key in self.targets:
                order, style = column_formats(self.job, header)
                self.columns.append((index, header, self.targets[key], order, style))

    # Reading

    def draft(self, item) -> Draft:
        """A row read and checked: every cell that cannot be read and every value the
        record's checks refuse is an error of the draft, which has `values` only when
        there is none. The import and the wizard's preview both read rows here."""
        draft = (draft_from_card(item) if self.job.kind == "vcard"
                 else self._draft_from_row(item))
        # The record is checked with the cells that did read, so that one bad
        # cell does not hide the others of its row.
        self.adapter.clean(self.org, draft, self.fields)
        if draft.errors:
            draft.values = None
        return draft

    def _draft_from_row(self, row) -> Draft:
        row_cells, unread = [], []
        for index, header, target, order, style in self.columns:
            if index in row.unreadable:
                unread.append((target, header, *row.unreadable[index]))
                continue
            text = row.values[index] if index < len(row.values) else ""
            if values.is_blank(text):
                continue
            text = cells.unescape(text)
            try:
                value = cells.read(target, text, date_order=order, number_style=style,
                                   tz=self.tz)
            except ValueError as exc:
                unread.append((target, header, text, str(exc)))
                continue
            row_cells.append((target, header, text, value))
        draft = draft_from_cells(row.number, row_cells, member_of=self.member_of,
                                 owner_required=self.adapter.owner_required, unread=unread)
        if row.extra:
            draft.notes.append({"column": "", "value": ", ".join(row.extra), "reason": (
                "This row has more cells than the file has headers; the extra cells were "
                "not imported.")})
        return draft

    def member_of(self, text: str) -> int:
        key = text.strip().casefold()
        if key not in self.members:
            found = None
            for user in User.objects.filter(memberships__organization=self.org,
                                            memberships__is_active=True):
                if key in (user.email.casefold(), (user.full_name or "").casefold()):
                    found = user.pk
                    break
            self.members[key] = found
        if self.members[key] is None:
            raise ValueError("No active member of this organisation has this e-mail "
                             "address or name.")
        return self.members[key]

    def group_of(self, item) -> str:
        """The raw key a row shares with the other rows of its record ("" if none)."""
        for index, _header, target, _order, _style in self.columns:
            if target.key == "number":
                return item.values[index].strip() if index < len(item.values) else ""
        return ""

    # Links

    def resolve_links(self, draft: Draft, *, create: bool = True) -> None:
        """Find (or create, when the job allows) the companies a row names.

        With `create` false nothing is written: a company the run would make
        is left unlinked, and a row whose company can be neither found nor
        made fails with the reason the run gives. The preview checks this way.
        """
        if self.job.entity in ("contact", "deal"):
            name = draft.links.get("company")
            domain = draft.links.get("company_domain")
            if name or domain:
                company = self._company(name, domain, draft, create=create)
                if company is not None:
                    draft.values["company"] = company
                    draft.data["company"] = company
        elif self.job.entity == "company" and draft.links.get("parent"):
            parent = self._company(draft.links["parent"], None, draft, create=create)
            if parent is not None:
                draft.values["parent"] = parent
                draft.data["parent"] = parent

    @staticmethod
    def _company_keys(name, domain) -> list[tuple[str, str]]:
        keys = []
        if domain and domain[2].strip():
            keys.append(("domain", domain[2].strip().lower()))
        if name and name[2].strip():
            keys.append(("name", fold(name[2].strip())))
        return keys

    def prefetch_companies(self, drafts: list[Draft]) -> None:
        """Find in one go the companies a chunk's rows link to, so each row costs no query."""
        wanted = set()
        for draft in drafts:
            for link in ("company", "parent"):
                domain = draft.links.get("company_domain") if link == "company" else None
                wanted.update(self._company_keys(draft.links.get(link), domain))
        wanted -= set(self.companies)
        if not wanted:
            return
        found = importer_sees(ADAPTERS["company"].lookup(wanted, self.system), Company,
                              "companies")
        records = Company.objects.in_bulk(set(found.values()))
        for key, pk in found.items():
            if pk in records:
                self.companies[key] = records[pk]

    def create_linked_companies(self, drafts: list[Draft]) -> None:
        """Create in one go the companies a chunk's rows link to that do not exist yet,
        as `_company` would row by row; call after `prefetch_companies`.

        Made one by one, each new company cost a dozen statements, most of the
        time of a file naming many companies. Rows are taken in order, so each
        company is the one the same rows would have made, and is credited to
        the row that first names it. A row whose company cannot be made is left
        to `_company`, which reports why.
        """
        planned: dict[tuple[str, str], object] = {}  # key -> a Company, or a place in `new`
        new: list[tuple[dict, Draft, list]] = []  # (cleaned values, first row, keys)
        for draft in drafts:
            name = draft.links.get("company")
            domain = draft.links.get("company_domain")
            if not (name or domain):
                continue
            keys = self._company_keys(name, domain)
            known = next((self.companies.get(key, planned.get(key)) for key in keys
                          if key in self.companies or key in planned), None)
            if known is not None:
                for other in keys:
                    if other not in self.companies:
                        planned.setdefault(other, known)
                continue
            name_value = name[2].strip() if name else ""
            if not self.options.get("create_missing_links") or not name_value:
                continue
            domain_value = dict(keys).get("domain", "")
            try:
                values = clean_company(
                    self.org,
                    {"name": name_value, **({"domain": domain_value} if domain_value else {})})
            except InvalidInput:
                continue
            for key in keys:
                planned[key] = len(new)
            new.append((values, draft, keys))
        if not new:
            return
        companies = bulk.create_companies(self.org, self.actor, [values for values, _, _ in new])
        # Only the keys of the row that names a company first are known now;
        # the other rows add theirs when they are written, as before.
        for company, (_, draft, keys) in zip(companies, new, strict=True):
            self._made_company(company, keys, draft)

    def _made_company(self, company: Company, keys, draft: Draft) -> None:
        """Note a company this import created for `draft`'s row, found by `keys` later."""
        self.new_companies.append(company.pk)
        logger.info("company.created",
                    extra={"organization_id": self.org.id, "company_id": company.pk})
        for key in keys:
            self.companies[key] = company
        self.placeholders.add(company.pk)
        draft.links_created.append({"entity": "company", "id": company.pk})

    def _company(self, name, domain, draft: Draft, *, create: bool = True):
        column, text, _value = name or domain
        keys = self._company_keys(name, domain)
        for key in keys:
            if key in self.companies:
                company = self.companies[key]
                for other in keys:
                    self.companies.setdefault(other, company)
                return company
        found = importer_sees(ADAPTERS["company"].lookup(set(keys), self.system), Company,
                              "companies")
        for key in keys:
            if key in found:
                company = Company.objects.get(pk=found[key])
                for other in keys:
                    self.companies[other] = company
                return company
        name_value = name[2].strip() if name else ""
        if not self.options.get("create_missing_links") or not name_value:
            draft.fail(column, text, "No company with this name or domain exists; allow "
                                     "creating missing companies, or add it first.")
            return None
        domain_value = dict(keys).get("domain", "")
        try:
            values = clean_company(
                self.org,
                {"name": name_value, **({"domain": domain_value} if domain_value else {})})
        except InvalidInput as exc:
            for error in exc.errors:
                draft.fail(column, text, error["message"])
            return None
        if not create:
            return None
        # What `create_company` writes, but the duplicate search runs once for
        # all of a chunk's new companies: run per company it read every pair
        # found so far again, which took half the time of a large import.
        company = bulk.create_companies(self.org, self.actor, [values])[0]
        self._made_company(company, keys, draft)
        return company

    # Writing

    def apply(self, drafts: list[Draft]) -> list[Outcome]:
        """Write one chunk; call inside a transaction. Returns one outcome per draft."""
        if self.adapter.group_rows:
            return self._apply_groups(drafts)
        self.new_companies = []
        valid = [draft for draft in drafts if not draft.errors and draft.skip is None]
        wanted = {key for draft in valid for key in self.match_keys(draft)}
        index = {}
        if self.policy != DuplicatePolicy.CREATE or self.adapter.unique_match:
            index = importer_sees(self.adapter.lookup(wanted, self.system), self.adapter.model,
                                  self.adapter.area)
        self.prefetch_companies(valid)
        if self.job.entity in ("contact", "deal"):
            self.create_linked_companies(valid)
        outcomes: list[Outcome] = []
        pending: list[Outcome] = []
        pending_keys: set = set()
        for draft in drafts:
            if draft.errors:
                outcomes.append(Outcome(draft, RowAction.FAILED, errors=draft.errors))
                continue
            if draft.skip is not None:
                outcomes.append(Outcome(draft, RowAction.SKIPPED, errors=[draft.skip]))
                continue
            parent = draft.links.get("parent") if self.job.entity == "company" else None
            if parent and pending_keys & set(self._company_keys(parent, None)):
                # The parent is a row of this chunk not written yet: write it
                # first, so the link finds it instead of making another.
                self._flush(pending, index)
                pending, pending_keys = [], set()
            self.resolve_links(draft)
            if draft.errors:
                outcomes.append(Outcome(draft, RowAction.FAILED, errors=draft.errors))
                continue
            keys = self.match_keys(draft)
            if self.policy != DuplicatePolicy.CREATE and pending_keys & set(keys):
                self._flush(pending, index)
                pending, pending_keys = [], set()
            match = next(((key, index[key]) for key in keys if key in index), None)
            if match is None and self.job.entity == "company":
                match = next(((key, self.companies[key].pk) for key in keys
                              if key in self.companies
                              and self.companies[key].pk in self.placeholders), None)
            if match is None or (self.policy == DuplicatePolicy.CREATE
                                 and not self.adapter.unique_match):
                outcome = Outcome(draft, RowAction.CREATED)
                outcomes.append(outcome)
                pending.append(outcome)
                pending_keys.update(keys)
                continue
            outcomes.append(self._apply_match(draft, *match))
        self._flush(pending, index)
        if self.new_companies:
            duplicates.find_duplicates_for(self.org, Company, self.new_companies)
            self.new_companies = []
        for outcome in outcomes:
            if outcome.action in (RowAction.CREATED, RowAction.UPDATED) and outcome.draft.note:
                self._add_note(outcome)
        return outcomes

    def match_keys(self, draft: Draft) -> list[tuple[str, str]]:
        """The keys a row finds its record by: the adapter's, then the id the row had in
        the Accord export it comes from, which an earlier import of that export kept.
        So a second import of one export finds even the records it has no e-mail or
        other key for, instead of making them again."""
        keys = self.adapter.keys(draft)
        if draft.export_id and self.adapter.matches_export_ids:
            keys = [*keys, ("export", draft.export_id)]
        return keys

    def _apply_groups(self, drafts: list[Draft]) -> list[Outcome]:
        """Write a chunk whose rows are parts of records: one record per key.

        Every row of a group gets the group's outcome: all created, all
        skipped (the record is already here) or all failed with the reason,
        in a savepoint per group so that one bad record leaves the others.
        """
        outcomes: dict[int, Outcome] = {}
        groups: dict[tuple, list[int]] = {}
        broken: dict[tuple, int] = {}  # key -> number of the first row that failed
        for position, draft in enumerate(drafts):
            key = self.adapter.group_key(draft)
            if draft.errors:
                outcomes[position] = Outcome(draft, RowAction.FAILED, errors=draft.errors)
                broken.setdefault(key, draft.number)
            else:
                groups.setdefault(key, []).append(position)
        # A record is written whole or not at all: the other rows of one with
        # a bad row fail too, naming it.
        for key in set(groups) & set(broken):
            reason = (f"Row {broken[key]} of this {str(self.entity.label).lower()} has a "
                      "problem, so none of its rows were imported.")
            for position in groups.pop(key):
                outcomes[position] = Outcome(drafts[position], RowAction.FAILED, errors=[
                    {"column": "", "value": key[1], "reason": reason}])
        index = self.adapter.lookup(set(groups), self.system)
        context = self.adapter.prepare([drafts[p] for ps in groups.values() for p in ps],
                                       self.system,
                                       create_missing=self.options.get("create_missing_links"))
        label = str(self.entity.label).lower()
        for key, positions in groups.items():
            members = [drafts[position] for position in positions]
            if key in index:
                reason = (f"Matches {label} #{index[key]} by number; its rows are skipped, "
                          "as a record already here is not changed by an import.")
                for position, draft in zip(positions, members, strict=True):
                    outcomes[position] = Outcome(draft, RowAction.SKIPPED, record_id=index[key],
                                                 errors=[{"column": "", "value": key[1],
                                                          "reason": reason}])
                continue
            try:
                with transaction.atomic():
                    record = self.adapter.create_group(self.org, self.actor, members, context)
            except InvalidInput as exc:
                reasons = [{"column": "", "value": key[1], "reason": error["message"]}
                           for error in exc.errors]
                for position, draft in zip(positions, members, strict=True):
                    draft.links_created = []
                    outcomes[position] = Outcome(draft, RowAction.FAILED, errors=reasons)
                continue
            index[key] = record.pk
            for position, draft in zip(positions, members, strict=True):
                outcomes[position] = Outcome(draft, RowAction.CREATED, record_id=record.pk,
                                             version_after=record.version)
        return [outcomes[position] for position in range(len(drafts))]

    def _flush(self, pending: list[Outcome], index: dict) -> None:
        if not pending:
            return
        records = self.adapter.create_many(self.org, self.actor, [o.draft for o in pending])
        externals = []
        for outcome, record in zip(pending, records, strict=True):
            outcome.record_id = record.pk
            outcome.version_after = record.version
            for key in self.match_keys(outcome.draft):
                index.setdefault(key, record.pk)
            if outcome.draft.external_id:
                externals.append(ExternalId(
                    organization=self.org, entity=self.job.entity, record_id=record.pk,
                    system=self.system, value=outcome.draft.external_id))
            if outcome.draft.export_id:
                externals.append(ExternalId(
                    organization=self.org, entity=self.job.entity, record_id=record.pk,
                    system=EXPORT_SYSTEM, value=outcome.draft.export_id))
        ExternalId.objects.bulk_create(externals, ignore_conflicts=True)

    def _apply_match(self, draft: Draft, key: tuple, record_id: int) -> Outcome:
        how = {"email": "e-mail", "ext": "id", "domain": "domain", "name": "name",
               "sku": "SKU", "field": "record type and key",
               "export": "the id of an Accord export"}[key[0]]
        label = str(self.entity.label).lower()
        if draft.export_id:
            # Kept whatever the policy: the export's activities find the record by it.
            ExternalId.objects.bulk_create([ExternalId(
                organization=self.org, entity=self.job.entity, record_id=record_id,
                system=EXPORT_SYSTEM, value=draft.export_id)], ignore_conflicts=True)
        # A company this run made for a link is filled in from its own row,
        # whatever the policy says about records that were there before.
        policy = DuplicatePolicy.FILL if record_id in self.placeholders else self.policy
        if policy == DuplicatePolicy.SKIP:
            return Outcome(draft, RowAction.SKIPPED, record_id=record_id, errors=[{
                "column": "", "value": key[1],
                "reason": f"Matches {label} #{record_id} by {how}; skipped, as this import "
                          "skips duplicates."}])
        if policy == DuplicatePolicy.CREATE:
            return Outcome(draft, RowAction.SKIPPED, record_id=record_id, errors=[{
                "column": "", "value": key[1],
                "reason": f"Matches {label} #{record_id} by {how}; skipped, as no two "
                          f"{str(self.entity.plural).lower()} may share it."}])
        record = self.adapter.get(record_id)
        data, before = self.adapter.changes(record, draft,
                                            fill_only=policy == DuplicatePolicy.FILL)
        if draft.external_id:
            ExternalId.objects.bulk_create([ExternalId(
                organization=self.org, entity=self.job.entity, record_id=record_id,
                system=self.system, value=draft.external_id)], ignore_conflicts=True)
        if not data and draft.note:
            # The row's note is news even when its fields are not: the record
            # gets the note, and the row counts as an update that changed no field.
            return Outcome(draft, RowAction.UPDATED, record_id=record_id, before={},
                           version_after=record.version)
        if not data:
            return Outcome(draft, RowAction.SKIPPED, record_id=record_id, errors=[{
                "column": "", "value": key[1],
                "reason": f"Matches {label} #{record_id} by {how}; it already holds "
                          "these values."}])
        try:
            updated = self.adapter.update(self.org, self.actor, record, data)
        except InvalidInput as exc:
            draft.absorb(exc)
            return Outcome(draft, RowAction.FAILED, errors=draft.errors)
        return Outcome(draft, RowAction.UPDATED, record_id=record_id,
                       before=json_safe(before), version_after=updated.version)

    def _add_note(self, outcome: Outcome) -> None:
        record = self.adapter.get(outcome.record_id)
        where = {"contact": record} if self.job.entity == "contact" else {"company": record}
        note = timeline.log_activity(self.org, self.actor,
                                     data={"kind": "note", "body": outcome.draft.note, **where})
        # In the row's ledger, so that undoing the import takes the note back.
        outcome.draft.links_created.append({"entity": "activity", "id": note.pk})


def importer_sees(found: dict, model, area: str) -> dict:
    """The matches in `found` ({key: record id}) that the importing member may see.

    A row matching only records hidden from the member is taken as new, as
    when no record matched: an import neither changes a record its member may
    not see nor tells that one exists. Imports run by code see everything.
    """
    member = acting_member()
    if member is None or not found or area not in AREAS or not narrows(member, area):
        return found
    seen = set(visible(model._base_manager.filter(pk__in=set(found.values())), member, area)
               .values_list("pk", flat=True))
    return {key: pk for key, pk in found.items() if pk in seen}


def _items(table, kind: str) -> Iterator:
    return table.cards() if kind == "vcard" else table.rows()


def has_rows(job: ImportJob) -> bool:
    """Whether the job's file holds at least one row (or card) to import."""
    with table_for(job) as table:
        return next(iter(_items(table, job.kind)), None) is not None


def count_rows(job: ImportJob) -> int:
    with table_for(job) as table:
        return sum(1 for _ in _items(table, job.kind))


def run_job(org, actor, job: ImportJob, *, after_chunk: Callable | None = None,
            progress: Callable[[int], None] | None = None) -> ImportJob:
    """Import every row of `job` not yet in its ledger; resumable, chunk by chunk.

    Call inside the organisation's scope and audit channel. A dry run writes
    its ledger and counts but rolls every record back. `after_chunk(job)`
    runs after each committed chunk; raising from it leaves the job running,
    to be resumed. Raises ReadError when the file cannot be read.
    """
    run = Run(org, actor, job)
    if job.total_rows is None:
        job.total_rows = count_rows(job)
    done_up_to = job.ledger.aggregate(last=Max("row"))["last"] or 0
    _recount(job)
    job.status = ImportStatus.RUNNING
    job.started_at = job.started_at or timezone.now()
    job.heartbeat_at = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status=job.status, started_at=job.started_at, heartbeat_at=job.heartbeat_at,
        total_rows=job.total_rows, rows_done=job.rows_done,
        created_count=job.created_count, updated_count=job.updated_count,
        skipped_count=job.skipped_count, failed_count=job.failed_count,
    )
    if progress and job.rows_done:
        progress(job.rows_done)

    with table_for(job) as table, _small_page_cache(), _frozen_heap():
        run.bind(table.headers)
        items = (item for item in _items(table, job.kind) if item.number > done_up_to)
        carry: list = []
        size = CHUNK
        while True:
            if _cancel_requested(job):
                return _finish(job, ImportStatus.CANCELLED)
            chunk = carry + list(islice(items, max(0, size - len(carry))))
            carry = []
            if not chunk:
                break
            if run.adapter.group_rows:
                # A record's rows stay in one chunk, so it is written whole and
                # a resumed job starts at the beginning of a record.
                last = run.group_of(chunk[-1])
                for item in items:
                    if run.group_of(item) != last:
                        carry = [item]
                        break
                    chunk.append(item)
            try:
                written, seconds = _write_chunk(run, job, chunk)
            except IntegrityError:
                # Another run of the same job wrote these rows first: it is
                # ahead of this one, so this one stops and leaves it the job.
                logger.warning("import.concurrent_run", extra={
                    "organization_id": org.id, "import_id": job.pk})
                return job
            size = next_chunk_size(written, seconds)
            if progress:
                progress(written)
            if after_chunk:
                after_chunk(job)
    return _finish(job, ImportStatus.DONE)


IMPORT_CACHE_KIB = 32 * 1024  # SQLite pages kept while importing; the inserts go to the end


@contextmanager
def _small_page_cache():
    """Hold SQLite's page cache small while a job runs, and restore it afterwards.

    The connection's cache (256 MiB in the settings, for reading) fills with
    the pages an import writes, so the worker's memory grew with the file;
    an import touches few pages more than once, so a small cache costs little.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (before,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB:d}")
    try:
        yield
    finally:
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(before):d}")


@contextmanager
def _frozen_heap():
    """Leave the objects alive before the job out of garbage collection while it runs.

    An import allocates many short-lived objects, so the collector runs
    often, and each full run walked every object of the loaded application
    too: a sixth of an import's time. Objects made during the job are
    collected as usual, so memory stays as flat as before.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _DryRun(Exception):
    def __init__(self, outcomes):
        self.outcomes = outcomes


def _write_chunk(run: Run, job: ImportJob, chunk: list) -> tuple[int, float]:
    """Write one chunk in a transaction; (rows written, seconds the transaction took)."""
    drafts = [run.draft(item) for item in chunk]
    started = time.monotonic()
    with transaction.atomic():
        _commit_without_flush_wait()
        try:
            # A dry run writes each chunk and rolls it back, so its counts
            # come from the real write path. A later chunk therefore does not
            # see the records an earlier one would have created: a duplicate
            # more than a chunk apart counts as new. The import command
            # avoids this by rolling the whole run back at once instead.
            with transaction.atomic():
                outcomes = run.apply(drafts)
                if run.options.get("dry_run"):
                    raise _DryRun(outcomes)
        except _DryRun as stop:
            outcomes = stop.outcomes
            for outcome in outcomes:
                outcome.record_id, outcome.before, outcome.version_after = None, None, None
                outcome.draft.links_created = []
            run.companies.clear()
        except BaseException:
            run.companies.clear()
            raise
        _write_ledger(run.org, job, outcomes)
        tally = dict.fromkeys(RowAction.values, 0)
        for outcome in outcomes:
            tally[outcome.action] += 1
        now = timezone.now()
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=F("rows_done") + len(outcomes),
            created_count=F("created_count") + tally[RowAction.CREATED],
            updated_count=F("updated_count") + tally[RowAction.UPDATED],
            skipped_count=F("skipped_count") + tally[RowAction.SKIPPED],
            failed_count=F("failed_count") + tally[RowAction.FAILED],
            heartbeat_at=now,
        )
    seconds = time.monotonic() - started
    job.refresh_from_db(fields=["rows_done", "created_count", "updated_count", "skipped_count",
                                "failed_count", "heartbeat_at"])
    logger.info("import.chunk_written", extra={
        "organization_id": run.org.id, "import_id": job.pk, "rows": len(outcomes)})
    return len(outcomes), seconds


def _commit_without_flush_wait() -> None:
    """On PostgreSQL, let this chunk's commit return before its log reaches the disk.

    Waiting for that flush was about a tenth of an import's time. A database
    crash can lose the last chunks committed this way, but never part of one:
    a chunk's ledger goes with its records, so a resumed job writes those rows
    again. SQLite's commits already skip that wait (synchronous=NORMAL in WAL).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _write_ledger(org, job: ImportJob, outcomes: list[Outcome]) -> None:
    """One ledger row per outcome, written without building a model instance for each."""
    fields = {name: ImportRow._meta.get_field(name)
              for name in ("errors", "before", "links_created")}

    def as_json(name, value):
        return fields[name].get_db_prep_save(value, connection)

    empty = {name: as_json(name, value) for name, value in (
        ("errors", []), ("before", {}), ("links_created", []))}
    rows = []
    for o in outcomes:
        errors = (o.errors or []) + o.draft.notes
        rows.append((
            org.pk, job.pk, o.draft.number, o.action, o.record_id,
            as_json("errors", errors) if errors else empty["errors"],
            as_json("before", o.before) if o.before else empty["before"],
            o.version_after,
            (as_json("links_created", o.draft.links_created) if o.draft.links_created
             else empty["links_created"]),
        ))
    bulk.insert_rows(ImportRow, ("organization_id", "job_id", "row", "action", "record_id",
                                 "errors", "before", "version_after", "links_created"),
                     rows, now=timezone.now())


DUPLICATE_CHUNK = 1000


def flag_duplicates(org, job: ImportJob) -> int:
    """Look for likely duplicates of every record the import created or updated, for the
    review queue; returns how many open pairs involve them. Safe to run again."""
    adapter = ADAPTERS.get(job.entity)
    if adapter is None or not adapter.has_duplicates:
        return 0
    model = adapter.model
    ids = list(job.ledger.filter(action__in=[RowAction.CREATED, RowAction.UPDATED],
                                 record_id__isnull=False)
               .order_by("record_id").values_list("record_id", flat=True).distinct())
    too_large: dict = {}  # names too common to compare, found once for every batch
    for start in range(0, len(ids), DUPLICATE_CHUNK):
        # Each batch writes in short transactions of its own (see look_for_duplicates).
        duplicates.look_for_duplicates(org, model, ids[start:start + DUPLICATE_CHUNK],
                                       too_large=too_large)
    # Counted once at the end: a pair of two records of the import involves
    # two batches, and counted per batch it was counted twice.
    return duplicates.count_open_pairs(model, ids)


def _recount(job: ImportJob) -> None:
    counts = dict(job.ledger.values_list("action").annotate(n=Count("id")).order_by())
    job.created_count = counts.get(RowAction.CREATED, 0)
    job.updated_count = counts.get(RowAction.UPDATED, 0)
    job.skipped_count = counts.get(RowAction.SKIPPED, 0)
    job.failed_count = counts.get(RowAction.FAILED, 0)
    job.rows_done = sum(counts.values())


def _cancel_requested(job: ImportJob) -> bool:
    return ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists()


def stop(job: ImportJob) -> ImportJob:
    """Mark a run interrupted in this process as cancelled: the rows it committed stay,
    and the job can be undone like any cancelled one."""
    return _finish(job, ImportStatus.CANCELLED)


def _finish(job: ImportJob, status: str) -> ImportJob:
    job.status = status
    job.finished_at = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(status=status, finished_at=job.finished_at,
                                               heartbeat_at=job.finished_at)
    job.refresh_from_db()
    if job.created_count:
        # Many new rows change which index answers a list fastest.
        statistics.refresh()
    logger.info("import.finished", extra={
        "organization_id": job.organization_id, "import_id": job.pk, "status": status,
        "rows_created": job.created_count, "rows_updated": job.updated_count,
        "rows_skipped": job.skipped_count, "rows_failed": job.failed_count})
    return job


# Preview


@dataclass
class PreviewRow:
    number: int
    cells: list  # [(text, reason or "")] in header order
    errors: list
    notes: list
    match: str  # "new", "match" or "invalid"


def preview(org, actor, job: ImportJob, *, limit: int = PREVIEW_ROWS) -> dict:
    """The first rows as they would be read, with every bad cell and its reason.

    Also counts, over the first PREVIEW_COUNT_ROWS rows, how many look new,
    match an existing record, or are invalid. Writes nothing.
    """
    run = Run(org, actor, job)
    with table_for(job) as table:
        run.bind(table.headers)
        headers = list(table.headers) if job.kind != "vcard" else []
        read = [(item, run.draft(item))
                for item in islice(_items(table, job.kind), PREVIEW_COUNT_ROWS)]
    valid = [draft for _, draft in read if not draft.errors]
    if not run.adapter.group_rows:
        # The companies rows name are looked up as the run does, so a row the
        # run would fail for its company is invalid here too.
        run.prefetch_companies(valid)
    found = importer_sees(
        run.adapter.lookup({key for draft in valid for key in run.match_keys(draft)},
                           run.system), run.adapter.model, run.adapter.area)
    rows: list[PreviewRow] = []
    counts = {"new": 0, "match": 0, "invalid": 0, "checked": len(read)}
    seen: set = set()
    for item, draft in read:
        if not draft.errors and not run.adapter.group_rows:
            parent = draft.links.get("parent") if job.entity == "company" else None
            # A parent that is an earlier row of the file is written first.
            if not (parent and seen & set(run._company_keys(parent, None))):
                run.resolve_links(draft, create=False)
        status = "invalid"
        if not draft.errors:
            keys = run.match_keys(draft)
            duplicate = any(key in found or key in seen for key in keys)
            status = ("match" if duplicate and (run.policy != DuplicatePolicy.CREATE
                                                or run.adapter.unique_match) else "new")
            if not run.adapter.group_rows:
                # The other rows of a record are parts of it, not duplicates.
                seen.update(keys)
        counts[status] += 1
        if len(rows) < limit:
            bad = {error["column"]: error["reason"] for error in draft.errors}
            texts = item.values if headers else []
            rows.append(PreviewRow(
                draft.number,
                [(cells.unescape(text), bad.get(header, ""))
                 for header, text in zip(headers, texts, strict=False)],
                draft.errors, draft.notes, status))
    return {"headers": headers, "rows": rows, "counts": counts}


def interpretation(job: ImportJob, header: str, sample: str) -> str:
    """How a sample cell of a date or number column will be read, for the mapping page."""
    order, style = column_formats(job, header)
    order = order or cells.DEFAULT_DATE_ORDER
    style = style or cells.DEFAULT_NUMBER_STYLE
    try:
        value = values.parse_date(sample, order)
        return value.isoformat()
    except ValueError:
        pass
    try:
        return format(values.parse_decimal(sample, style), "f")
    except ValueError:
        return ""

