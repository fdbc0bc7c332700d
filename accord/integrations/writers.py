"""Streaming file writers for exports: CSV, XLSX and JSON Lines.

Each writer takes a binary stream, writes one row or record at a time and
keeps nothing but the current row in memory (XLSX rows go to openpyxl's
temporary file until `close`). Spreadsheet writers neutralise text a
spreadsheet program would run as a formula; numbers stay numbers.
"""

import csv
import datetime as dt
import decimal
import io
import json

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from accord.errors import InvalidInput

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NUMBER_TYPES = (int, float, decimal.Decimal)
XLSX_MAX_ROWS = 1_048_576  # the most rows one worksheet holds, header included


def escape_cell(value):
    """Neutralise text a spreadsheet would run as a formula; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def text_cell(value) -> str:
    """`value` as the text of a CSV cell (None is empty), neutralised like `escape_cell`."""
    return escape_cell("" if value is None else str(value))


def cell_text(value) -> str:
    """A value that is not a number as spreadsheet text: ISO dates, yes/no, plain strings."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def iso_utc(moment: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, the way the API writes instants."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _is_number(value) -> bool:
    return isinstance(value, NUMBER_TYPES) and not isinstance(value, bool)


class _Text:
    """A UTF-8 text layer over the caller's binary stream that leaves it open."""

    def __init__(self, stream):
        self.text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()

    def abort(self) -> None:
        self.close()


class CsvWriter(_Text):
    """UTF-8 with a byte-order mark (so Excel reads accents), comma-separated, CRLF."""

    content_type = "text/csv; charset=utf-8"
    extension = "csv"

    def __init__(self, stream):
        super().__init__(stream)
        self.text.write("\ufeff")
        self.csv = csv.writer(self.text, lineterminator="\r\n")

    def write_row(self, values) -> None:
        self.csv.writerow([
            value if _is_number(value) else escape_cell(cell_text(value)) for value in values
        ])


class XlsxWriter:
    """One worksheet, written by openpyxl in write-only mode.

    Text always goes in as a string cell (never a formula), after the same
    escaping as CSV so that a copy into another sheet stays inert too.
    """

    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"

    def __init__(self, stream, *, title: str = "Export"):
        self.stream = stream
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title[:31])
        self.rows = 0

    def write_row(self, values) -> None:
        if self.rows >= XLSX_MAX_ROWS:
            raise InvalidInput({"format": "An XLSX worksheet holds at most 1,048,576 rows; "
                                          "export as CSV or JSON Lines instead."})
        self.sheet.append([self._cell(value) for value in values])
        self.rows += 1

    def _cell(self, value):
        if _is_number(value):
            return value
        # Control characters other than TAB, CR and LF are not allowed in the file format.
        text = ILLEGAL_CHARACTERS_RE.sub("", escape_cell(cell_text(value)))
        if text.startswith("="):
            # openpyxl reads a plain string starting with = as a formula;
            # escaping already prevents that, and this makes sure of it.
            cell = WriteOnlyCell(self.sheet, value=text)
            cell.data_type = "s"
            return cell
        return text

    def close(self) -> None:
        self.workbook.save(self.stream)

    def abort(self) -> None:
        """Finish the worksheet's temporary file without writing the workbook."""
        self.sheet.close()


class JsonLinesWriter(_Text):
    """One JSON object per line; money and other decimals as strings, instants in UTC."""

    content_type = "application/x-ndjson"
    extension = "jsonl"

    def write_record(self, document: dict) -> None:
        self.text.write(json.dumps(document, ensure_ascii=False, default=_json_value,
                                   separators=(",", ":")))
        self.text.write("\n")


def _json_value(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return iso_utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"Cannot write {type(value).__name__} as JSON")


class VcardWriter(_Text):
    """vCard 4.0 cards, one after the other; see accord.integrations.vcard_out."""

    content_type = "text/vcard; charset=utf-8"
    extension = "vcf"

    def write_record(self, document: dict) -> None:
        from .vcard_out import contact_card

        self.text.write(contact_card(document))
