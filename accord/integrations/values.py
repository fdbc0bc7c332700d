"""Turn the text of an imported cell into a typed value, or say why not.

Readers hand every cell over as text; these helpers decide what the text
means. Dates and numbers are ambiguous cell by cell ("03/04/1985", "1.200"),
so the order of date parts and the number style are decided once per column
from all of its values, and each cell is then read under that decision; a
cell that does not fit raises ValueError with a reason instead of being
guessed at.
"""

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

BLANKS = frozenset({"na", "n/a", "null", "none", "#n/a"})

DATE_ORDERS = ("dmy", "mdy", "ymd")
MONTHS = {
    name: number
    for number, names in enumerate((
        ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
        ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
        ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
        ("dec", "december"),
    ), start=1)
    for name in names
}
_SEP = r"(?:\s*[./-]\s*|\s+)"
_TIME = (
    r"(?:[T\s]\s*|,\s*)(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,6})\d*)?)?"
    r"\s*(?P<ampm>[ap]\.?\s?m\.?)?"
    r"\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)
_NUMERIC_DATE = re.compile(
    rf"(?P<a>\d{{1,4}}){_SEP}(?P<b>\d{{1,2}}){_SEP}(?P<c>\d{{1,4}})(?:{_TIME})?", re.I)
_COMPACT_DATE = re.compile(rf"(?P<a>\d{{4}})(?P<b>\d{{2}})(?P<c>\d{{2}})(?:{_TIME})?", re.I)
_NAMED_DATE = re.compile(
    rf"(?:(?P<day1>\d{{1,2}})\.?{_SEP}?(?P<month1>[a-z]{{3,9}})\.?,?{_SEP}?(?P<year1>\d{{2,4}})"
    rf"|(?P<month2>[a-z]{{3,9}})\.?{_SEP}?(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?,?{_SEP}?"
    rf"(?P<year2>\d{{4}}))(?:{_TIME})?",
    re.I,
)

NUMBER_STYLES = ("1,234.56", "1.234,56")
# Grouping that either style allows besides its own thousands separator:
# spaces (plain, no-break, narrow no-break, thin) and the Swiss apostrophe.
_GROUP_SPACES = " \u00a0\u202f\u2009'\u2019"
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$")
_MINUS = "-\u2212"

TRUE_WORDS = frozenset({
    "yes", "y", "true", "t", "1", "x", "on", "\u2713", "\u2714",
    "ja", "j", "wahr", "oui", "vrai", "si", "s\u00ed", "sim", "da",
})
FALSE_WORDS = frozenset({
    "no", "n", "false", "f", "0", "off", "nein", "falsch", "non", "faux", "nee", "nao",
    "n\u00e3o",
})


def is_blank(text: str) -> bool:
    """Whether a cell means "no value": empty, only spaces, or NA, N/A, NULL, None, #N/A."""
    stripped = text.strip()
    return not stripped or stripped.casefold() in BLANKS


def detect_date_order(samples: Iterable[str]) -> str | None:
    """The order of a column's dates: "dmy", "mdy" or "ymd", or None if it cannot tell.

    One value whose first part is above 12 makes the column day-first, one
    whose second part is, month-first; a column with both, or with only
    values that read either way, or with no dates at all, answers None.
    """
    day_first = month_first = year_first = year_last = False
    for text in samples:
        if is_blank(text):
            continue
        match = _NUMERIC_DATE.fullmatch(text.strip())
        if not match:
            if _COMPACT_DATE.fullmatch(text.strip()):
                year_first = True
            continue
        a, b, c = match.group("a", "b", "c")
        if len(a) > 2:
            year_first = True
            continue
        year_last = True
        if int(a) > 12:
            day_first = True
        if int(b) > 12:
            month_first = True
    if year_first and not year_last:
        return "ymd"
    if year_first or day_first == month_first:
        return None
    return "dmy" if day_first else "mdy"


def parse_date(text: str, order: str) -> dt.date:
    """The date in `text`, its parts read in `order` ("dmy", "mdy" or "ymd").

    A year written first with four digits is read year-first whatever the
    order, and month names (English) say for themselves which part is the
    month. Two-digit years 00-68 are 2000-2068, 69-99 are 1969-1999.
    Raises ValueError with the reason.
    """
    return _parse(text, order)[0]


def parse_datetime(text: str, order: str, tz) -> dt.datetime:
    """The moment in `text`: an aware datetime, in `tz` when the text gives no offset.

    A date without a time is midnight in `tz`. `tz` is a tzinfo or a zone
    name such as "Europe/Berlin". Raises ValueError with the reason.
    """
    if isinstance(tz, str):
        tz = ZoneInfo(tz)
    day, match = _parse(text, order)
    if not match or match.group("hour") is None:
        return dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    second = int(match.group("second") or 0)
    microsecond = int((match.group("fraction") or "0").ljust(6, "0"))
    ampm = (match.group("ampm") or "").replace(".", "").replace(" ", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(_("has an hour above 12 together with AM or PM"))
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(_("has a time of day that does not exist"))
    zone = match.group("zone")
    if zone:
        tz = _fixed_offset(zone)
    return dt.datetime.combine(day, dt.time(hour, minute, second, microsecond), tzinfo=tz)


def _parse(text: str, order: str) -> tuple[dt.date, re.Match | None]:
    if order not in DATE_ORDERS:
        raise ValueError(_("needs a date order: day-month-year, month-day-year or "
                           "year-month-day"))
    stripped = text.strip()
    if not stripped:
        raise ValueError(_("is empty"))
    match = _NUMERIC_DATE.fullmatch(stripped)
    if match:
        a, b, c = match.group("a", "b", "c")
        if len(a) > 2:
            year, month, day = a, b, c
        elif order == "ymd":
            if len(c) > 2:
                raise ValueError(_("has its year last, not first"))
            year, month, day = a, b, c
        elif order == "dmy":
            day, month, year = a, b, c
        else:
            month, day, year = a, b, c
        return _make_date(year, month, day), match
    match = _COMPACT_DATE.fullmatch(stripped)
    if match and order == "ymd":
        return _make_date(*match.group("a", "b", "c")), match
    match = _NAMED_DATE.fullmatch(stripped)
    if match:
        if match.group("month1"):
            day, name, year = match.group("day1", "month1", "year1")
        else:
            name, day, year = match.group("month2", "day2", "year2")
        month = MONTHS.get(name.lower())
        if month is None:
            raise ValueError(_("has a month name this importer does not know"))
        return _make_date(year, str(month), day), match
    raise ValueError(_("is not a date"))


def _make_date(year: str, month: str, day: str) -> dt.date:
    number = int(year)
    if len(year) <= 2:
        number += 2000 if number < 69 else 1900
    elif len(year) == 3:
        raise ValueError(_("has a three-digit year"))
    if not 1 <= int(month) <= 12:
        raise ValueError(_("has month %(month)s, which does not exist") % {"month": month})
    try:
        return dt.date(number, int(month), int(day))
    except ValueError:
        raise ValueError(
            _("has day %(day)s, which month %(month)s of %(year)d does not have")
            % {"day": day, "month": int(month), "year": number}
        ) from None


def _fixed_offset(zone: str) -> dt.tzinfo:
    if zone.upper() in ("Z", "UTC", "GMT"):
        return dt.UTC
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return dt.timezone(sign * offset)


def detect_number_style(samples: Iterable[str]) -> str | None:
    """"1,234.56" or "1.234,56" from a column's values, or None if it cannot tell.

    A value with both separators, or with a separator not followed by exactly
    three digits, or with one separator used twice, shows the style; values
    like "1.200" or "7" read either way. A column that shows both answers None.
    """
    seen = set()
    for text in samples:
        if is_blank(text):
            continue
        body = _number_body(text)
        if body is None:
            continue
        style = _style_of(body)
        if style:
            seen.add(style)
    return seen.pop() if len(seen) == 1 else None


def _style_of(body: str) -> str | None:
    dot, comma = body.rfind("."), body.rfind(",")
    if dot >= 0 and comma >= 0:
        return "1,234.56" if dot > comma else "1.234,56"
    separator = "." if dot >= 0 else "," if comma >= 0 else None
    if separator is None:
        return None
    dotted = separator == "."
    if body.count(separator) > 1:
        return "1.234,56" if dotted else "1,234.56"
    if len(body) - body.rfind(separator) - 1 != 3:
        return "1,234.56" if dotted else "1.234,56"
    return None


def parse_decimal(text: str, style: str) -> Decimal:
    """The exact number in `text` written in `style` ("1,234.56" or "1.234,56").

    Currency symbols or codes and spaces may stand around it, thousands may be
    grouped with the style's separator, spaces or an apostrophe, and a minus
    sign or parentheses make it negative. Raises ValueError saying what is
    wrong; junk never reads as 0.
    """
    if style not in NUMBER_STYLES:
        raise ValueError(_("needs a number format: 1,234.56 or 1.234,56"))
    if is_blank(text):
        raise ValueError(_("is empty"))
    stripped = text.strip()
    negative = False
    if stripped.startswith("(") and stripped.endswith(")"):
        negative, stripped = True, stripped[1:-1]
    body = _number_body(stripped)
    if body is None:
        raise ValueError(_("is not a number"))
    if body[0] in _MINUS:
        if negative:
            raise ValueError(_("is negative twice, with both a minus sign and parentheses"))
        negative, body = True, body[1:]
    elif body[0] == "+":
        body = body[1:]
    if re.fullmatch(r"[\d.,]+[eE][+-]?\d+", body):
        raise ValueError(_("is in scientific notation; format the column as a number in the "
                           "spreadsheet and export it again"))
    thousands, decimal = (",", ".") if style == "1,234.56" else (".", ",")
    if body.count(decimal) > 1:
        raise ValueError(_("has more than one decimal separator (%(separator)s)")
                         % {"separator": decimal})
    whole, _sep, fraction = body.partition(decimal)
    if not whole and fraction:
        whole = "0"
    groups = re.split(f"[{re.escape(thousands + _GROUP_SPACES)}]", whole)
    if not all(group.isascii() and group.isdigit() for group in (*groups, fraction or "0")):
        raise ValueError(_("is not a number in the format %(style)s") % {"style": style})
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        raise ValueError(
            _("has a thousands separator in the wrong place for the format %(style)s")
            % {"style": style}
        )
    number = Decimal(f"{''.join(groups)}.{fraction}" if fraction else "".join(groups))
    return -number if negative else number


def _number_body(text: str) -> str | None:
    """The number with currency and surrounding spaces taken off, or None if nothing is left."""
    body = _CURRENCY_CODE.sub("", text.strip())
    body = "".join(char for char in body if unicodedata.category(char) != "Sc").strip()
    body = body.strip(_GROUP_SPACES)
    if not body or not any(char.isdigit() for char in body):
        return None
    return body


def parse_bool(text: str) -> bool:
    """Yes or no from words such as yes/no, true/false, 1/0, y/n, x, ja/nein, oui/non."""
    word = text.strip().casefold().rstrip(".")
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    if not word:
        raise ValueError(_("is empty"))
    raise ValueError(_("is not yes or no"))


def parse_identifier(text: str) -> str:
    """An id as text: "17850.0", as spreadsheets write whole numbers, is "17850".

    Leading zeros and everything else are kept; only surrounding spaces go.
    """
    stripped = text.strip()
    if re.fullmatch(r"\d+\.0+", stripped):
        return stripped.partition(".")[0]
    return stripped
