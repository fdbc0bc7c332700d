"""Turn an uploaded file into rows of text under headers.

`open_table` reads CSV (and other delimited text), XLSX workbooks and vCard
files. Every reader streams: however large the file, only the current row is
held in memory, and `Table.rows()` can be called again to start over.
"""

import os

from django.utils.translation import gettext as _

from .base import ReadError, Row, Table
from .csvfile import DELIMITERS, CsvTable
from .vcard import Card, VcardTable
from .xlsxfile import XlsxTable

__all__ = ["Card", "ReadError", "Row", "Table", "open_table"]

KIND_BY_EXTENSION = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv", ".tab": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".vcf": "vcard", ".vcard": "vcard",
    ".ods": "ods", ".ics": "calendar",
}
ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and encrypted workbooks


def open_table(path, *, filename: str | None = None, encoding: str | None = None,
               delimiter: str | None = None, sheet: str | None = None) -> Table:
    """Open a CSV, XLSX or vCard file as a table of text rows.

    The kind comes from the extension of `filename` (the name the file was
    uploaded under) or of `path`, else from the content. `encoding`,
    `delimiter` and `sheet` override what would be detected. Raises ReadError
    with a sentence the user can act on.
    """
    name = filename or os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    try:
        with open(path, "rb") as raw:
            head = raw.read(4096)
    except OSError:
        raise ReadError(_("The file could not be opened; upload it again.")) from None

    if head.startswith(OLE_SIGNATURE):
        raise ReadError(_(
            "This is an old-style Excel (.xls) or a password-protected workbook; save it "
            "as an .xlsx workbook without a password, or as CSV, and upload that."
        ))
    kind = KIND_BY_EXTENSION.get(extension) or _kind_from_content(head)
    if kind == "ods":
        raise ReadError(_(
            "OpenDocument spreadsheets (.ods) cannot be read yet; save the sheet as an "
            ".xlsx workbook or as CSV and upload that."
        ))
    if kind == "calendar":
        raise ReadError(_(
            "This is a calendar file (iCalendar), which holds events rather than contacts; "
            "export the contacts as vCard or CSV instead."
        ))
    if kind == "csv" and head.startswith(ZIP_SIGNATURE):
        raise ReadError(_(
            "This file is a compressed archive or a workbook, not CSV text; if it is an "
            "Excel workbook, upload it with its .xlsx name."
        ))

    if kind == "xlsx":
        return XlsxTable(path, sheet=sheet)
    if kind == "vcard":
        return VcardTable(path, encoding=encoding)
    prefer = DELIMITERS
    if extension in (".tsv", ".tab"):
        prefer = ("\t", *(d for d in DELIMITERS if d != "\t"))
    return CsvTable(path, encoding=encoding, delimiter=delimiter, prefer=prefer)


def _kind_from_content(head: bytes) -> str:
    if head.startswith(ZIP_SIGNATURE):
        # An OpenDocument file starts with its uncompressed media type.
        return "ods" if b"opendocument.spreadsheet" in head[:200] else "xlsx"
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").replace(b"\x00", b"")
    if text[:11].upper() == b"BEGIN:VCARD":
        return "vcard"
    if text[:15].upper() == b"BEGIN:VCALENDAR":
        return "calendar"
    return "csv"
