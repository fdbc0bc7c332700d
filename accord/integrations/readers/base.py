"""What every reader returns: a table of text rows under unique headers."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _


class ReadError(Exception):
    """A file that cannot be read as asked.

    `str(exc)` is a sentence a user can act on, such as "The file is not valid
    UTF-8 (byte 0x96 in row 3); choose its encoding."
    """


@dataclass
class Row:
    number: int
    values: list[str]
    extra: list[str]
    # Cells that hold something the file does not let us read, by column
    # index: (what the cell holds, why it cannot be read). Their text is "".
    unreadable: dict[int, tuple[str, str]] = field(default_factory=dict)


_SPACE = re.compile(r"\s+")


def make_headers(cells: list[str]) -> list[str]:
    """Header names that can be told apart: trimmed, never blank, never repeated.

    A blank header becomes "Column 3" (its position), a repeated one "Email (2)".
    Whitespace inside a header, line breaks included, becomes one space.
    """
    names = []
    for position, cell in enumerate(cells, start=1):
        name = _SPACE.sub(" ", cell.replace("\ufeff", "")).strip()
        names.append(name or _("Column %(number)d") % {"number": position})
    taken = {name.casefold() for name in names}
    seen: set[str] = set()
    headers = []
    for name in names:
        unique = name
        if name.casefold() in seen:
            copy = 2
            while (unique := f"{name} ({copy})").casefold() in taken:
                copy += 1
            taken.add(unique.casefold())
        seen.add(unique.casefold())
        headers.append(unique)
    return headers


def fit_row(number: int, cells: list[str], width: int,
            unreadable: dict[int, tuple[str, str]] | None = None) -> Row:
    """A row of exactly `width` values; cells past it, less trailing blanks, go to extra.

    `unreadable` cells past `width` are dropped with the other extra cells.
    """
    values = cells[:width]
    if len(values) < width:
        values += [""] * (width - len(values))
    extra = cells[width:]
    while extra and not extra[-1]:
        extra.pop()
    kept = {index: cell for index, cell in (unreadable or {}).items() if index < width}
    return Row(number=number, values=values, extra=extra, unreadable=kept)


class Table:
    """An opened file: its headers and a way to stream its rows.

    `rows()` starts again from the top each time it is called, and holds only
    the current row in memory. `close()` releases the file; a table is also a
    context manager.
    """

    kind: str = ""
    headers: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet_names: list[str]
    sheet: str | None = None

    def __init__(self) -> None:
        self.headers = []
        self.sheet_names = []
        # Sentences about what reading changed in the data (removed NUL
        # bytes, dropped header cells); filled while rows are read.
        self.notes: list[str] = []

    def rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def cards(self) -> Iterator:
        raise TypeError("Only a vCard table has cards.")

    def close(self) -> None:
        """Release the file; nothing to do for readers that reopen it on each pass."""

    def note(self, sentence: str) -> None:
        if sentence not in self.notes:
            self.notes.append(sentence)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
