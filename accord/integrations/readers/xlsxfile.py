"""Excel workbooks (.xlsx), read a row at a time.

openpyxl's read-only mode parses the sheet as it goes, so a large workbook
never sits in memory. A formula gives the value the spreadsheet last
calculated. A workbook written by a program that stores formulas without
calculating them has no value in those cells, and formulas cannot be
evaluated here, so such a cell is read as unreadable, with its formula and
the reason, instead of as empty: its row fails and says why, rather than
coming in without the value. To know which cells those are, the sheet is
read a second time alongside, with formulas instead of values.
"""

import datetime as dt
import os
import re
import zipfile
from collections.abc import Iterator
from decimal import Decimal

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from .base import ReadError, Row, Table, fit_row, make_headers

HALF_SECOND = dt.timedelta(microseconds=500_000)
# A formula element in the sheet's XML, whatever namespace prefix the writer used.
FORMULA_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")
SCAN_CHUNK = 1 << 20  # bytes of the sheet's XML looked at a time


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
        self.formulas = None  # the same workbook read with formulas, when it has any
        self.formula_file = None
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
            if _has_formulas(self.path, worksheet._worksheet_path):
                self.formula_file = open(self.path, "rb")  # noqa: SIM115 - see close()
                self.formulas = load_workbook(self.formula_file, read_only=True)
                self.formula_sheet = self.formulas[self.sheet]
                self.formula_sheet.reset_dimensions()

            header = next(self._cell_rows(), None)
            if header is None:
                raise ReadError(_("The sheet “%(sheet)s” is empty.") % {"sheet": self.sheet})
        except BaseException:
            self.close()
            raise
        self.header_number, cells, _unreadable = header
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
        for number, cells, unreadable in self._cell_rows(after=self.header_number):
            yield fit_row(number, cells, width, unreadable)

    def _cell_rows(self, after: int = 0) -> Iterator[tuple[int, list[str], dict]]:
        """Each row with a value, as texts without trailing blanks, its row number and
        its cells holding a formula with no calculated value (see the module's text)."""
        number = 0
        values_rows = self.worksheet.iter_rows(min_row=1, min_col=1, values_only=True)
        formula_rows = (self.formula_sheet.iter_rows(min_row=1, min_col=1, values_only=True)
                        if self.formulas is not None else None)
        try:
            for number, values in enumerate(values_rows, start=1):
                formulas = next(formula_rows, ()) if formula_rows is not None else ()
                if number <= after:
                    continue
                cells = [cell_text(value) for value in values]
                unreadable = {
                    index: (str(formula), _(
                        "The cell holds a formula the spreadsheet never calculated, and "
                        "formulas cannot be calculated here; open the file in a spreadsheet "
                        "program, save it and upload it again."))
                    for index, formula in enumerate(formulas)
                    if index < len(values) and values[index] is None and _is_formula(formula)
                }
                while cells and not cells[-1].strip() and len(cells) - 1 not in unreadable:
                    cells.pop()
                if cells:
                    yield number, cells, unreadable
        except ReadError:
            raise
        except Exception:
            raise ReadError(_(
                "The workbook is damaged after row %(row)d; open it in your spreadsheet "
                "program, save it again and upload it again."
            ) % {"row": number}) from None

    def close(self) -> None:
        for workbook in (self.workbook, self.formulas):
            if workbook is not None:
                workbook.close()
        for file in (self.file, self.formula_file):
            if file is not None:
                file.close()


def _is_formula(value) -> bool:
    """Whether a cell read with formulas holds one: a text starting with "=", or one of
    openpyxl's array and data-table formula objects."""
    if isinstance(value, str):
        return value.startswith("=")
    return isinstance(value, ArrayFormula | DataTableFormula)


def _has_formulas(path: str, member: str) -> bool:
    """Whether the sheet's XML holds any formula; read in chunks, so it costs a fraction
    of parsing the sheet and spares a workbook without formulas the second reading."""
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
        tail = b""
        while chunk := stream.read(SCAN_CHUNK):
            if FORMULA_ELEMENT.search(tail + chunk):
                return True
            tail = chunk[-64:]
    return False
