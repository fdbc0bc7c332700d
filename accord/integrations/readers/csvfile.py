"""Comma-separated (and semicolon, tab or bar separated) text files.

The encoding and the delimiter are decided on the first megabyte; the rest of
the file is streamed through the same decoder, so a byte that does not fit the
chosen encoding further down is reported with its row instead of being
replaced or dropped.
"""

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from contextlib import closing
from itertools import islice

from charset_normalizer import from_bytes
from django.utils.translation import gettext as _

from .base import ReadError, Row, Table, fit_row, make_headers

SAMPLE_BYTES = 1 << 20  # 1 MiB: thousands of rows to judge by, read at once in a blink
SNIFF_CHARS = 1 << 16  # the delimiter shows within the first few dozen rows
SNIFF_RECORDS = 50
DELIMITERS = (",", ";", "\t", "|")
# Longer than any note a person writes, short enough that a quote left open
# is reported before it swallows the rest of a large file. The csv module's
# own default (128 KiB) turns away real long notes.
FIELD_LIMIT = 1 << 20
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))

# The five byte values that Windows-1252 leaves undefined; a file holding one
# of them is not Windows-1252, and ISO-8859-1 is the safe reading.
CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")

# Single-byte code pages of non-Latin scripts that charset-normalizer tells
# apart reliably. Its guesses among the Latin code pages are not reliable on
# a few lines of names (it offers cp1250 for German text), so Latin text goes
# by the Windows-1252 rule instead.
NON_LATIN_CODE_PAGES = frozenset({
    "cp1251", "koi8_r", "koi8_u", "mac_cyrillic", "cp866", "iso8859_5",
    "cp1253", "iso8859_7", "cp1255", "iso8859_8", "cp1256", "iso8859_6",
})

ENCODING_NAMES = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16", "utf-32": "UTF-32", "cp1252": "Windows-1252",
    "latin-1": "ISO-8859-1 (Latin-1)",
}

# A byte the decoder cannot read becomes one private-use character that
# carries its value, so the row holding it can be found and reported; rows
# are checked for these before anyone sees them.
_MARK_HANDLER = "accord-readers-mark"
_MARK_BASE = 0x10FF00
_MARKED = re.compile("[\U0010ff00-\U0010ffff]")
_SEP_LINE = re.compile(r"sep=([^\r\n\"])(?:\r\n|\r|\n)", re.I)


def _mark_undecodable(exc: UnicodeError):
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return chr(_MARK_BASE + exc.object[exc.start]), exc.start + 1


codecs.register_error(_MARK_HANDLER, _mark_undecodable)


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    """The encoding of a file from its first bytes (`complete` when that is the whole file).

    Byte-order marks first, then UTF-16 without one (every other byte NUL), then
    strict UTF-8, then a non-Latin code page if charset-normalizer is sure,
    else Windows-1252, or ISO-8859-1 when a byte undefined in Windows-1252 occurs.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    if _mostly_high_byte_words(sample):
        guess = from_bytes(sample).best()
        if guess is not None and guess.encoding in NON_LATIN_CODE_PAGES:
            return guess.encoding
    if CP1252_UNDEFINED.intersection(sample):
        return "latin-1"
    return "cp1252"


# Share of control characters (other than tab, line ends and NUL, which is
# removed with a note) above which a file is taken for binary. Text has
# hardly any; a few in a small file (a form feed in a cell) are still text.
BINARY_CONTROL_SHARE = 0.05
BINARY_CONTROL_MIN = 32


# The characters of Unicode's category Cc (control), which is exactly
# U+0000-U+001F and U+007F-U+009F, but for tab, line ends and NUL.
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _looks_binary(text: str) -> bool:
    controls = len(_CONTROL.findall(text))
    return controls >= BINARY_CONTROL_MIN and controls > BINARY_CONTROL_SHARE * len(text)


def _mostly_high_byte_words(sample: bytes) -> bool:
    """Whether bytes above 0x7F come in runs, as whole words of a non-Latin script do.

    In Latin text they are single accented letters between ASCII ones, and a
    code-page guess on them is not to be trusted.
    """
    high = [byte > 0x7F for byte in sample[:SNIFF_CHARS]]
    count = sum(high)
    if count < 8:
        return False
    in_runs = sum(
        1 for index, is_high in enumerate(high)
        if is_high and ((index and high[index - 1]) or
                        (index + 1 < len(high) and high[index + 1]))
    )
    return in_runs > count * 0.6


def _utf16_without_bom(sample: bytes) -> str | None:
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sample[0:pairs * 2:2].count(0)
    odd_nuls = sample[1:pairs * 2:2].count(0)
    # Text in a Latin script has a NUL in nearly every other byte in UTF-16;
    # a stray NUL in an 8-bit file does not come close.
    if odd_nuls > pairs * 0.3 and even_nuls < pairs * 0.05:
        return "utf-16-le"
    if even_nuls > pairs * 0.3 and odd_nuls < pairs * 0.05:
        return "utf-16-be"
    return None


def sniff_delimiter(text: str, *, complete: bool, prefer: tuple[str, ...] = DELIMITERS) -> str:
    """The delimiter that splits the first records into the same number of fields.

    Quotes are respected (a quoted delimiter or line break is data). Among
    delimiters that split the header into two or more fields, the one whose
    records most often have the header's width wins; ties go by `prefer`.
    A file with a single column reads as comma-separated.
    """
    text = text[:SNIFF_CHARS]
    complete = complete and len(text) < SNIFF_CHARS
    best, best_score = ",", -1.0
    for delimiter in prefer:
        records = list(islice(csv.reader(io.StringIO(text, newline=""),
                                         delimiter=delimiter), SNIFF_RECORDS + 1))
        if not complete and len(records) > 1:
            records.pop()  # it may be cut off by the end of the sample
        widths = [len(record) for record in records if any(record)]
        if not widths or widths[0] < 2:
            continue
        rest = widths[1:SNIFF_RECORDS]
        score = sum(width == widths[0] for width in rest) / len(rest) if rest else 1.0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def normalize_encoding(name: str) -> str:
    """Python's name for an encoding a user chose ("UTF8", "Windows-1252"), or ReadError."""
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise ReadError(
            _("“%(encoding)s” is not an encoding this importer knows; choose another one.")
            % {"encoding": name}
        ) from None
    return "latin-1" if codec.name == "iso8859-1" else codec.name


def suggest_encoding(encoding: str, byte: int) -> str:
    if encoding.startswith("utf"):
        return "ISO-8859-1 (Latin-1)" if byte in CP1252_UNDEFINED else "Windows-1252"
    if encoding == "cp1252":
        return "ISO-8859-1 (Latin-1)"
    return "UTF-8"


class CsvTable(Table):
    kind = "csv"

    def __init__(self, path, *, encoding: str | None = None, delimiter: str | None = None,
                 prefer: tuple[str, ...] = DELIMITERS) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self._nul_note = ""
        with open(self.path, "rb") as raw:
            sample = raw.read(SAMPLE_BYTES + 1)
        complete = len(sample) <= SAMPLE_BYTES
        sample = sample[:SAMPLE_BYTES]
        if not sample.strip():
            raise ReadError(_("The file is empty."))

        if encoding:
            self.encoding = normalize_encoding(encoding)
        else:
            self.encoding = detect_encoding(sample, complete=complete)
        decoder = codecs.getincrementaldecoder(self.encoding)(_MARK_HANDLER)
        text = decoder.decode(sample, final=complete)
        if _looks_binary(text):
            raise ReadError(_("This does not look like a text file: choose a CSV, XLSX or "
                              "vCard file."))

        # Excel writes "sep=;" as a first line to name the delimiter; it is
        # not a row and is skipped.
        hint = _SEP_LINE.match(text.lstrip("\ufeff"))
        self.skip_lines = 1 if hint else 0
        if delimiter:
            if len(delimiter) != 1 or delimiter in "\"\r\n":
                raise ReadError(_("The delimiter must be one character, such as ; or |."))
            self.delimiter = delimiter
        elif hint:
            self.delimiter = hint.group(1)
        else:
            self.delimiter = sniff_delimiter(text, complete=complete, prefer=prefer)

        with closing(self._records()) as records:
            header = next(records, None)
        if header is None:
            raise ReadError(_("The file has no header row."))
        self.header_number, cells = header
        self.headers = make_headers(cells)
        if _MARKED.search(text):
            # Reading on stops at the row with the byte and says which it is.
            for _row in self.rows():
                pass

    def rows(self) -> Iterator[Row]:
        width = len(self.headers)
        with closing(self._records()) as records:
            next(records, None)
            for number, cells in records:
                yield fit_row(number, cells, width)

    def _records(self) -> Iterator[tuple[int, list[str]]]:
        """Each record that is not blank, with its row number (blank rows count too)."""
        position = _Position()
        nul_rows: list[int] = []
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, errors=_MARK_HANDLER,
                                    newline="")
            lines = self._checked_lines(text, position, nul_rows)
            reader = csv.reader(lines, delimiter=self.delimiter)
            while True:
                position.number += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error:
                    raise ReadError(
                        _("Row %(row)d could not be read: a field is longer than %(limit)s "
                          "characters, which usually means a quote is not closed.")
                        % {"row": position.number, "limit": f"{csv.field_size_limit():,}"}
                    ) from None
                if any(cells):
                    yield position.number, cells

    def _checked_lines(self, text, position, nul_rows) -> Iterator[str]:
        for _skipped in zip(range(self.skip_lines), text, strict=False):
            pass
        for line in text:
            marked = _MARKED.search(line)
            if marked:
                byte = ord(marked.group()) - _MARK_BASE
                raise ReadError(
                    _("The file is not valid %(encoding)s (byte 0x%(byte)02X in row %(row)d); "
                      "choose its encoding, for example %(suggestion)s.")
                    % {"encoding": ENCODING_NAMES.get(self.encoding, self.encoding),
                       "byte": byte, "row": position.number,
                       "suggestion": suggest_encoding(self.encoding, byte)}
                )
            if "\x00" in line:
                line = line.replace("\x00", "")
                self._note_nul(nul_rows, position.number)
            yield line

    def _note_nul(self, nul_rows: list[int], number: int) -> None:
        # NUL is not text (PostgreSQL cannot even store it), so it is removed
        # and the table says where, instead of refusing the whole file.
        if nul_rows and nul_rows[-1] == number:
            return
        nul_rows.append(number)
        if self._nul_note in self.notes:
            self.notes.remove(self._nul_note)
        self._nul_note = _nul_note(nul_rows)
        self.notes.append(self._nul_note)


class _Position:
    number = 0


def _nul_note(rows: list[int]) -> str:
    if len(rows) == 1:
        return _("NUL bytes were removed from row %(row)d; they are not text.") % {
            "row": rows[0]}
    return _("NUL bytes were removed from %(count)d rows, the first being row %(row)d; "
             "they are not text.") % {"count": len(rows), "row": rows[0]}
