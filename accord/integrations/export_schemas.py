"""What the exports API reads and writes."""

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict

from .models import ExportJob

FilterValue = str | int | float | bool | list[str | int | float | bool]


class ExportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    entity: str = Field(description="contacts, companies, deals, products, orders (a row "
                                    "per order line), organisation, or record:<key> for the "
                                    "records of an active custom record type. Only contacts "
                                    "and companies take q, filters and ordering.")
    format: Literal["csv", "xlsx", "vcf", "jsonl"]
    q: str | None = Field(None, description="Search words, as `q` on the list.")
    filters: dict[str, FilterValue] | None = Field(
        None, description="The field filters the list API takes, such as "
                          '`{"lifecycle_stage": ["customer"], "tag": "vip", '
                          '"cf.score.gte": 10}`.',
    )
    ordering: str | None = Field(None, description="A sortable field of the list, `-` in "
                                                   "front for descending.")


class ExportOut(Schema):
    id: int
    entity: str
    format: str
    status: str = Field(description="queued, running, done or failed.")
    query: str = Field(description="The list query string the export was made from.")
    rows: int = Field(description="Rows written so far; all of them once done.")
    total: int | None = Field(description="Rows the export will hold, once counted.")
    size: int | None = Field(description="Size of the file in bytes, once done.")
    error: str
    download_url: str | None = Field(description="Where to fetch the file, once done; "
                                                 "null before and after it expired.")
    created_at: dt.datetime
    updated_at: dt.datetime
    finished_at: dt.datetime | None
    expires_at: dt.datetime | None
    version: int

    @staticmethod
    def resolve_rows(job: ExportJob) -> int:
        return job.rows_written

    @staticmethod
    def resolve_download_url(job: ExportJob) -> str | None:
        if not job.is_downloadable:
            return None
        return f"/api/v1/exports/{job.pk}/download"


class ExportPage(Schema):
    items: list[ExportOut]
    next: str | None


class ExportListParams(Schema):
    limit: int | None = Field(None, description="Items per page, 1 to 500 (default 50).")
    cursor: str | None = Field(None, description="The `next` value of the previous page.")
