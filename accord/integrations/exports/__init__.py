"""Exports of contacts, companies and whole organisations: entities, writing and jobs."""

from .entities import REGISTRY
from .services import (
    check_request,
    count_rows,
    export_filename,
    find_export,
    get_export,
    open_download,
    record_export,
    run_export_job,
    start_export,
    visible_exports,
    write_export,
)

__all__ = [
    "REGISTRY", "check_request", "count_rows", "export_filename", "find_export", "get_export",
    "open_download", "record_export", "run_export_job", "start_export", "visible_exports",
    "write_export",
]
