"""Phone numbers: normalised to E.164 where possible, the original always kept."""

import re
from dataclasses import dataclass

import phonenumbers

from accord.errors import InvalidInput

# Digits, the usual separators and an extension ("ext. 42", "x42"); no other letters.
_DIGITS = re.compile(r"\D")
PHONE_TEXT = re.compile(r"\+?[\d\s().\-/]+((ext\.?|extension|x|#)\s*\d{1,10})?", re.IGNORECASE)


@dataclass(frozen=True)
class Phone:
    raw: str
    e164: str  # empty when the number is national and no country is known
    extension: str = ""

    @property
    def needs_country(self) -> bool:
        return not self.e164


def parse_phone(raw: str, country: str = "", field: str = "phone") -> Phone:
    """Parse `raw` as typed, reading a national number in `country` (ISO code).

    A national number with no known country is kept as typed and flagged as
    needing a country rather than given a guessed code. Input that cannot be a
    phone number at all raises InvalidInput naming `field`.
    """
    text = raw.strip()
    digits = _count_digits(text)
    if digits < 3 or not PHONE_TEXT.fullmatch(text):
        raise InvalidInput({field: "Enter a phone number, such as +44 20 7946 0958."})
    international = text.startswith(("+", "00"))
    if not international and not country:
        return Phone(raw=text, e164="")
    if text.startswith("00"):
        text = "+" + text[2:]
    if international:
        quick = _parse_plain_international(text)
        if quick is not None:
            country_code, national = quick
            e164 = f"+{country_code}{national}"
            if e164 not in _national:
                _remember_national_of(phonenumbers.PhoneNumber(
                    country_code=country_code, national_number=int(national)), e164)
            return Phone(raw=raw.strip(), e164=e164)
    try:
        parsed = phonenumbers.parse(text, None if international else country.upper())
    except phonenumbers.NumberParseException:
        raise InvalidInput({field: "This is not a phone number we can read."}) from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidInput({field: "This phone number has the wrong number of digits."})
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    _remember_national(parsed, e164)
    return Phone(raw=raw.strip(), e164=e164, extension=parsed.extension or "")


_ASCII_DIGITS = "0123456789"


def _count_digits(text: str) -> int:
    """How many characters of `text` are digits, Unicode ones ("٣", "²") included."""
    if text.isascii():
        return sum(text.count(digit) for digit in _ASCII_DIGITS)
    return sum(char.isdigit() for char in text)


# "+", then digits in groups split by single spaces or hyphens: no trunk
# "(0)", extension or letters, which only the full parser reads right.
_PLAIN_INTERNATIONAL = re.compile(r"\+[1-9]\d*(?:[ -]\d+)*")


def _parse_plain_international(text: str) -> tuple[int, str] | None:
    """(country code, national number) of a plainly written international number that
    `phonenumbers.parse` would read the same way and find possible, else None.

    The full parse is most of the cost of a phone in a large import, and most
    numbers there are written "+49 30 1234567". Anything this is not sure of,
    a national prefix after the country code or a length not possible in the
    country among them, is left to the full parser, which also words the error.
    """
    if not _PLAIN_INTERNATIONAL.fullmatch(text):
        return None
    digits = _DIGITS.sub("", text)
    for size in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions is not None:
            break
    else:
        return None
    national = digits[size:]
    # Non-geographic codes ("001") and national numbers beginning with a
    # zero (kept as a leading zero, or a trunk prefix typed after the code)
    # are read by rules of their own.
    if regions[0] == "001" or not national or national[0] == "0":
        return None
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    if prefix and re.match(prefix, national):
        # The parser may take these digits for a national prefix and drop them.
        return None
    general = metadata.general_desc
    if len(national) not in general.possible_length + general.possible_length_local_only:
        return None
    return int(digits[:size]), national


# The national digits of the numbers parsed last, so that indexing a number
# just validated does not parse it again: the parse is most of the cost of a
# phone in an import. Cleared when full, so it never holds more than this.
NATIONAL_REMEMBERED = 10_000  # the phones of several import chunks
_national: dict[str, str] = {}


def _remember_national(parsed, e164: str) -> None:
    # Formatted as the E.164 form parses: without the extension, which the
    # national format would otherwise append.
    _remember_national_of(phonenumbers.PhoneNumber(
        country_code=parsed.country_code, national_number=parsed.national_number,
        italian_leading_zero=parsed.italian_leading_zero,
        number_of_leading_zeros=parsed.number_of_leading_zeros), e164)


def _remember_national_of(plain, e164: str) -> None:
    """Remember the national digits of `plain`, a number without an extension."""
    if len(_national) >= NATIONAL_REMEMBERED:
        _national.clear()
    _national[e164] = _DIGITS.sub("", phonenumbers.format_number(
        plain, phonenumbers.PhoneNumberFormat.NATIONAL))


def display_phone(e164: str) -> str:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def national_digits(e164: str) -> str:
    """The digits of the number as dialled inside its country ("02079460958"), or ""."""
    remembered = _national.get(e164)
    if remembered is not None:
        return remembered
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return _DIGITS.sub("", national)
