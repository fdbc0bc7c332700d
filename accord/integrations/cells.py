"""Reading one cell of a file as the value its target field expects.

Every function here takes the text of a cell and returns a typed value or
raises ValueError with a reason a user can act on; the validation of
`accord.customers` then sees exactly what a form or the API would send.
"""

import datetime as dt
import decimal
import re

from accord.customers.text import trim
from accord.customers.validation import COUNTRY_CODES
from accord.search import fold

from . import values
from .entities import Target

DEFAULT_DATE_ORDER = "dmy"  # used when neither the column nor the user says otherwise
DEFAULT_NUMBER_STYLE = "1,234.56"
# What Accord's exports put before a cell a spreadsheet would run as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def unescape(text: str) -> str:
    """Drop the `'` an export put before a formula-like cell: export → import is lossless."""
    if len(text) > 1 and text[0] == "'" and text[1] in FORMULA_PREFIXES:
        return text[1:]
    return text


def _country_names() -> dict[str, str]:
    # Imported here, on the first country given by name: the module pulls in
    # phonenumbers' whole geocoding table, about 100 MiB in memory, which a
    # file with country codes never needs.
    from phonenumbers.geodata.locale import LOCALE_DATA

    names: dict[str, str] = {}
    for code, translations in LOCALE_DATA.items():
        if code not in COUNTRY_CODES:
            continue
        for name in translations.values():
            if name and not name.startswith("*"):
                names.setdefault(fold(name), code)
    return names


_COUNTRIES: dict[str, str] | None = None


def country(text: str) -> str:
    """An ISO code from a code or a country's name in a common language ("Nederland" → NL)."""
    global _COUNTRIES  # noqa: PLW0603 - built once, on first use, from a large table
    stripped = text.strip()
    if len(stripped) == 2:
        return stripped.upper()
    if _COUNTRIES is None:
        _COUNTRIES = _country_names()
    code = _COUNTRIES.get(fold(stripped))
    if code is None:
        raise ValueError("Use a two-letter country code, such as GB or DE, or the country's "
                         "name in English.")
    return code


def choice(target: Target, text: str) -> str:
    wanted = text.strip().casefold()
    for value, label in target.choices:
        if wanted in (str(value).casefold(), str(label).casefold()):
            return value
    return text.strip()


def read(target: Target, text: str, *, date_order: str | None, number_style: str | None,
         tz: dt.tzinfo | None = None):
    """The typed value of `text` for `target`; ValueError(reason) when it cannot be read."""
    try:
        return _read(target, text, date_order or DEFAULT_DATE_ORDER,
                     number_style or DEFAULT_NUMBER_STYLE, tz)
    except _Fragment as exc:
        raise ValueError(f"This value {exc}.") from None


class _Fragment(ValueError):
    """A reason from `values`, which reads "is not a date": it needs a subject."""


def _read(target: Target, text: str, date_order: str, number_style: str, tz):
    kind = target.kind
    if kind == "money":
        return _money(text, number_style)
    try:
        if kind in ("date", "cf.date"):
            return values.parse_date(text, date_order)
        if kind in ("datetime", "cf.datetime"):
            return values.parse_datetime(text, date_order, tz)
        if kind in ("decimal", "integer", "cf.number", "cf.money"):
            number = values.parse_decimal(text, number_style)
        elif kind in ("bool", "cf.boolean"):
            return values.parse_bool(text)
        elif kind == "identifier":
            return values.parse_identifier(text)
    except ValueError as exc:
        raise _Fragment(str(exc)) from None
    if kind == "integer":
        if number != number.to_integral_value():
            raise ValueError("Enter a whole number.")
        return int(number)
    if kind in ("decimal", "cf.number", "cf.money"):
        return number
    if kind in ("tags", "cf.multi_choice"):
        # Accord's exports join several values with "; ", typed lists use commas.
        return [part.strip() for part in re.split(r"[;,]", text) if part.strip()]
    if kind == "choice":
        return choice(target, text)
    if kind == "country":
        return country(text)
    return text if kind == "cf.long_text" else trim(text)


def _money(text: str, number_style: str) -> dict:
    """An amount that may name its currency: "1,250.00 EUR", "EUR 1250" or "1250"."""
    parts = text.split()
    code = ""
    if len(parts) == 2 and len(parts[0]) == 3 and parts[0].isalpha():
        code, text = parts[0], parts[1]
    elif len(parts) == 2 and len(parts[1]) == 3 and parts[1].isalpha():
        text, code = parts[0], parts[1]
    try:
        amount = values.parse_decimal(text, number_style)
    except ValueError as exc:
        raise _Fragment(str(exc)) from None
    money = {"amount": format(amount, "f")}
    if code:
        money["currency"] = code.upper()
    return money


def as_custom_value(value):
    """What `custom_fields.clean_values` accepts for a typed value."""
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
