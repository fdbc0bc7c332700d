"""What the API reads and writes for imports."""

import datetime as dt

from ninja import Field, Schema

from . import services
from .models import ImportJob


class ImportParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
    status: str | None = Field(None, description="Only imports with this status.")


class ImportErrorOut(Schema):
    row: int = Field(description="Row number in the file; the header is row 1.")
    column: str
    value: str
    reason: str


class ImportOut(Schema):
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    entity: str
    status: str = Field(description="uploaded, queued, running, done, failed, cancelled or "
                                    "undone.")
    filename: str
    kind: str = Field(description="csv, xlsx or vcard.")
    total_rows: int | None
    rows_done: int
    progress: int = Field(description="Per cent of rows processed.")
    created: int
    updated: int
    skipped: int
    failed: int
    cancel_requested: bool
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str
    mapping: dict[str, str] = Field(description="{header: field} the file is read with.")
    unmapped: list[str] = Field(description="Columns of the file that fill no field, when "
                                            "the mapping was guessed from the headers: no "
                                            "field has their name. Their values are not "
                                            "imported.")
    options: dict

    @staticmethod
    def resolve_created(job: ImportJob) -> int:
        return job.created_count

    @staticmethod
    def resolve_updated(job: ImportJob) -> int:
        return job.updated_count

    @staticmethod
    def resolve_skipped(job: ImportJob) -> int:
        return job.skipped_count

    @staticmethod
    def resolve_failed(job: ImportJob) -> int:
        return job.failed_count

    @staticmethod
    def resolve_mapping(job: ImportJob) -> dict:
        return job.options.get("mapping") or {}

    @staticmethod
    def resolve_unmapped(job: ImportJob) -> list[str]:
        return services.unmapped_columns(job)

    @staticmethod
    def resolve_options(job: ImportJob) -> dict:
        shown = ("encoding", "delimiter", "sheet", "date_order", "number_style",
                 "duplicate_policy", "create_missing_links", "dry_run", "id_system", "undo")
        return {name: job.options.get(name) for name in shown if name in job.options}


class ImportDetailOut(ImportOut):
    errors: list[ImportErrorOut] = Field(
        default_factory=list,
        description="The first 100 problems; GET /imports/{id}/errors has them all as CSV.")


class ImportPage(Schema):
    items: list[ImportOut]
    next: str | None


class NotRevertedOut(Schema):
    row: int
    record_id: int | None
    reason: str


class UndoOut(Schema):
    removed: int = Field(description="Records the import created, now in the trash.")
    reverted: int = Field(description="Records the import changed, given their old values.")
    not_reverted: list[NotRevertedOut]
