"""Excel workbooks (.xlsx), read a row at a time.

openpyxl's read-only mode parses the sheet as it goes, so a large workbook
never sits in memory. A formula gives the value the spreadsheet last
calculated; a workbook written by a program that stores formulas without
calculating them therefore reads as empty in those cells, as the formulas
cannot be evaluated here.
"""

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import load_workbook

from .base import ReadError, Row, Table, fit_row, make_headers

HALF_SECOND = dt.timedelta(microseconds=500_000)


def cell_text(value) -> str:
    """A cell's value as the text a user would type for it.

    Whole numbers lose the ".0" spreadsheets store them with, other floats
    are written in their shortest exact form without exponent, dates as
    YYYY-MM-DD, date-times as YYYY-MM-DDTHH:MM:SS and booleans as TRUE/FALSE.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, dt.datetime):
        # Excel keeps times as fractions of a day; the float behind 10:30
        # often reads back as 10:29:59.999999.
        value = (value + HALF_SECOND).replace(microsecond=0)
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        moment = dt.datetime.combine(dt.date(2000, 1, 1), value) + HALF_SECOND
        return moment.time().replace(microsecond=0).isoformat()
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


class XlsxTable(Table):
    kind = "xlsx"

    def __init__(self, path, *, sheet: str | None = None) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.workbook = None
        # Given an open file, openpyxl does not insist on an .xlsx name, which
        # a temporary upload file does not have.
        self.file = open(self.path, "rb")  # noqa: SIM115 - open until close()
        try:
            self.workbook = load_workbook(self.file, read_only=True, data_only=True)
        except Exception:
            self.file.close()
            # openpyxl raises whatever its zip and XML layers raise for a
            # damaged file; to the user they all mean the same.
            raise ReadError(_(
                "The file could not be read as an Excel workbook (.xlsx); open it in your "
                "spreadsheet program, save it as .xlsx or CSV and upload it again."
            )) from None
        self.sheet_names = list(self.workbook.sheetnames)
        try:
            self.sheet = self._choose_sheet(sheet)
            worksheet = self.workbook[self.sheet]
            if not hasattr(worksheet, "iter_rows"):
                raise ReadError(_("The sheet “%(sheet)s” holds a chart, not cells; choose "
                                  "another sheet.") % {"sheet": self.sheet})
            # The size a workbook declares is sometimes wrong (some programs
            # write none, some the whole grid), so rows are read to their end.
            worksheet.reset_dimensions()
            self.worksheet = worksheet

            header = next(self._cell_rows(), None)
            if header is None:
                raise ReadError(_("The sheet “%(sheet)s” is empty.") % {"sheet": self.sheet})
        except BaseException:
            self.close()
            raise
        self.header_number, cells = header
        self.headers = make_headers(cells)

    def _choose_sheet(self, sheet: str | None) -> str:
        if not self.sheet_names:
            raise ReadError(_("The workbook has no sheets."))
        if sheet is None:
            return self.sheet_names[0]
        if sheet in self.sheet_names:
            return sheet
        for name in self.sheet_names:
            if name.strip().casefold() == sheet.strip().casefold():
                return name
        raise ReadError(
            _("The workbook has no sheet “%(sheet)s”; its sheets are: %(names)s.")
            % {"sheet": sheet, "names": ", ".join(self.sheet_names)}
        )

    def rows(self) -> Iterator[Row]:
        width = len(self.headers)
        for number, cells in self._cell_rows(after=self.header_number):
            yield fit_row(number, cells, width)

    def _cell_rows(self, after: int = 0) -> Iterator[tuple[int, list[str]]]:
        """Each row with a value, as texts without trailing blanks, and its row number."""
        number = 0
        try:
            for number, values in enumerate(
                    self.worksheet.iter_rows(min_row=1, min_col=1, values_only=True), start=1):
                if number <= after:
                    continue
                cells = [cell_text(value) for value in values]
                while cells and not cells[-1].strip():
                    cells.pop()
                if cells:
                    yield number, cells
        except ReadError:
            raise
        except Exception:
            raise ReadError(_(
                "The workbook is damaged after row %(row)d; open it in your spreadsheet "
                "program, save it again and upload it again."
            ) % {"row": number}) from None

    def close(self) -> None:
        if self.workbook is not None:
            self.workbook.close()
        self.file.close()
