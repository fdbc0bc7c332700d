"""vCard files (versions 2.1, 3.0 and 4.0), a card at a time.

Lines are read as bytes so that each value can be decoded with its own
CHARSET, and quoted-printable values are joined across their soft line breaks
before the bytes are decoded (a break may fall inside a UTF-8 character).
Whatever a card holds that has no place in `Card` is listed, as a sentence,
in `Card.dropped` rather than lost without a word.

Lines must end in LF or CRLF: a file with CR alone (classic Mac OS) reads as
one long line and is refused as holding no cards, because lines are split as
bytes before any value is decoded.
"""

import base64
import binascii
import codecs
import datetime as dt
import io
import os
import quopri
import re
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from .base import ReadError, Row, Table
from .csvfile import normalize_encoding

PREVIEW_HEADERS = ["First name", "Last name", "Company", "Job title", "E-mail", "Phone",
                   "Birthday"]
DROPPED_TEXT_LENGTH = 80  # enough to recognise a value in a report line

# Bookkeeping of the programs that wrote the card, and properties that only
# repeat what another one holds (LABEL is ADR formatted for an envelope,
# X-ABADR the country code of an Apple address): nothing a user entered is
# lost by leaving them out, so they are not reported either.
SILENT = frozenset({
    "VERSION", "PRODID", "REV", "UID", "CLASS", "PROFILE", "NAME", "SOURCE", "MAILER",
    "SORT-STRING", "KIND", "LABEL", "CLIENTPIDMAP", "X-ABLABEL", "X-ABADR", "X-ABUID",
    "X-ABSHOWAS", "X-MS-OL-DESIGN", "X-MS-OL-DEFAULT-POSTAL-ADDRESS", "X-EVOLUTION-FILE-AS",
    "X-GENERATOR", "X-ETAG", "X-ID", "X-COUCHDB-APPLICATION-ANNOTATIONS",
})
MEDIA_TYPES = {"jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png",
               "gif": "image/gif", "bmp": "image/bmp", "webp": "image/webp"}
ENCODING_WORDS = frozenset({"quoted-printable", "base64", "b", "8bit", "7bit"})
PHONE_KINDS = (("fax", "fax"), ("cell", "mobile"), ("mobile", "mobile"),
               ("iphone", "mobile"), ("work", "work"), ("home", "home"))
PHONE_TYPE_WORDS = frozenset({"voice", "pref", "msg", "text", "video", "other"})
EMAIL_TYPE_WORDS = frozenset({"internet", "pref", "x400", "other"})
ADDRESS_TYPE_WORDS = frozenset({"pref", "postal", "parcel", "dom", "intl", "other"})

_APPLE_LABEL = re.compile(r"_\$!<(.*)>!\$_")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass
class Card:
    """One contact from a vCard file; `number` is its position in the file, from 1."""

    number: int
    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    organization: str = ""
    department: str = ""
    title: str = ""
    birthday: dt.date | None = None
    note: str = ""
    emails: list[dict] = field(default_factory=list)
    phones: list[dict] = field(default_factory=list)
    addresses: list[dict] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    photo: tuple[str, bytes] | None = None
    dropped: list[str] = field(default_factory=list)
    version: str = ""


@dataclass
class Property:
    group: str
    name: str
    params: dict[str, list[str]]
    raw: bytes
    types: set[str]  # lower case, for matching
    type_words: list[str] = field(default_factory=list)  # as written, for labels

    def param(self, key: str) -> str:
        values = self.params.get(key)
        return values[0] if values else ""


class VcardTable(Table):
    kind = "vcard"

    def __init__(self, path, *, encoding: str | None = None) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.charset = normalize_encoding(encoding) if encoding else "utf-8"
        self.headers = list(PREVIEW_HEADERS)
        with closing(self.cards()) as cards:
            first = next(cards, None)
        if first is None:
            raise ReadError(_("The file holds no contact cards (no line says BEGIN:VCARD)."))

    def rows(self) -> Iterator[Row]:
        """The cards under fixed headers, first e-mail and phone only, for a preview.

        The header counts as row 1, so card n is row n + 1.
        """
        for card in self.cards():
            email = card.emails[0]["address"] if card.emails else ""
            phone = card.phones[0]["raw"] if card.phones else ""
            birthday = card.birthday.isoformat() if card.birthday else ""
            yield Row(number=card.number + 1, values=[
                card.first_name, card.last_name, card.organization, card.title, email,
                phone, birthday,
            ], extra=[])

    def cards(self) -> Iterator[Card]:
        number = 0
        with _physical_lines(self.path) as lines:
            for properties in _cards(_logical_lines(lines)):
                number += 1
                yield build_card(number, properties, self.charset)


@contextmanager
def _physical_lines(path: str) -> Iterator[Iterator[bytes]]:
    """The file's lines as bytes without line ends; a UTF-16 file is turned into UTF-8."""
    with open(path, "rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = io.TextIOWrapper(raw, encoding="utf-16", newline="")
            yield (line.rstrip("\r\n").encode("utf-8") for line in text)
        else:
            yield (line.rstrip(b"\r\n").removeprefix(codecs.BOM_UTF8) for line in raw)


def _logical_lines(lines: Iterator[bytes]) -> Iterator[bytes]:
    """Unfold continued lines and join quoted-printable soft line breaks.

    A line starting with a space or tab continues the one before (the one
    space is folding, not data). A quoted-printable value ending in "=" goes on
    at the start of the next line; the "=" and the line break are removed here,
    before any byte is decoded.
    """
    current: bytes | None = None
    quoted_printable = False
    for line in lines:
        if current is not None:
            if line[:1] in (b" ", b"\t"):
                if quoted_printable and current.endswith(b"="):
                    current = current[:-1]
                current += line[1:]
                continue
            if quoted_printable and current.endswith(b"=") and line.upper() != b"END:VCARD":
                current = current[:-1] + line
                continue
            if current:
                yield current
        current = line
        head = line.split(b":", 1)[0].upper()
        quoted_printable = b"QUOTED-PRINTABLE" in head
    if current:
        yield current


def _cards(lines: Iterator[bytes]) -> Iterator[list[Property]]:
    properties: list[Property] = []
    depth = 0
    for line in lines:
        keyword = line.strip().upper()
        if keyword == b"BEGIN:VCARD":
            depth += 1
            if depth == 1:
                properties = []
            continue
        if keyword == b"END:VCARD":
            if depth == 1:
                yield properties
            depth = max(depth - 1, 0)
            continue
        if depth == 1:
            prop = parse_property(line)
            if prop is not None:
                properties.append(prop)
    if depth:
        yield properties  # a last card without END:VCARD still counts


def parse_property(line: bytes) -> Property | None:
    """Split `group.NAME;param=value;...:value`; None for a line that is not a property."""
    head, colon, raw = _split_head(line)
    if not colon:
        return None
    parts = _split_unquoted(_text(head), ";")
    name = parts[0].strip()
    group, _dot, name = name.rpartition(".")
    params: dict[str, list[str]] = {}
    types: set[str] = set()
    type_words: list[str] = []
    for part in parts[1:]:
        key, equals, value = part.partition("=")
        if not equals:
            key, value = ("ENCODING" if part.lower() in ENCODING_WORDS else "TYPE"), part
        key = key.strip().upper()
        value = _param_value(value)
        values = value.split(",") if key == "TYPE" else [value]
        params.setdefault(key, []).extend(values)
        if key == "TYPE":
            type_words += [item.strip() for item in values if item.strip()]
            types.update(word.lower() for word in type_words)
    if "PREF" in params:
        types.add("pref")
    return Property(group=group, name=name.upper(), params=params, raw=raw, types=types,
                    type_words=type_words)


def _text(raw: bytes) -> str:
    """Bytes outside a value's CHARSET (names, parameters, labels) as text, never failing."""
    for charset in ("utf-8", "cp1252"):
        try:
            return raw.decode(charset)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _split_head(line: bytes) -> tuple[bytes, bytes, bytes]:
    """Name and parameters, and the value: the first colon outside double quotes divides them."""
    quoted = False
    for index, byte in enumerate(line):
        if byte == 0x22:
            quoted = not quoted
        elif byte == 0x3A and not quoted:
            return line[:index], b":", line[index + 1:]
    return line, b"", b""


def _split_unquoted(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _param_value(value: str) -> str:
    value = value.strip().strip('"')
    # Parameter values escape with carets: ^n a line break, ^' a quote, ^^ a caret.
    return re.sub(r"\^([n'^])", lambda m: {"n": "\n", "'": '"', "^": "^"}[m.group(1)], value)


def build_card(number: int, properties: list[Property], charset: str) -> Card:
    card = Card(number=number)
    labels = {prop.group.lower(): _clean_label(prop) for prop in properties
              if prop.group and prop.name == "X-ABLABEL"}
    seen_altids: set[tuple[str, str]] = set()
    given_parts: list[str] = []
    notes: list[str] = []
    for prop in properties:
        altid = prop.param("ALTID")
        if altid:
            # Variants of one value (another language, another form) share
            # an ALTID; the first stands for all of them.
            if (prop.name, altid) in seen_altids:
                continue
            seen_altids.add((prop.name, altid))
        if prop.name == "VERSION":
            card.version = prop.raw.decode("ascii", "replace").strip()
        if prop.name in SILENT:
            continue
        label = labels.get(prop.group.lower(), "") if prop.group else ""
        if prop.name == "PHOTO":
            _take_photo(card, prop)
            continue
        if prop.name == "AGENT" and not prop.raw.strip():
            # In vCard 2.1 an AGENT (an assistant, say) is a whole card on the
            # lines that follow; it is reported rather than read.
            card.dropped.append(_("AGENT: a card inside this card was not imported"))
            continue
        text = _decode(card, prop, charset)
        if text is None:
            continue
        handler = HANDLERS.get(prop.name)
        if prop.name == "N":
            given_parts += _take_name(card, text)
        elif prop.name == "NOTE":
            if _unescape(text).strip():
                notes.append(_unescape(text))
        elif handler is not None:
            handler(card, prop, text, label)
        else:
            _drop(card, prop.name, _unescape(text), binary=_is_binary(prop))
    card.note = "\n\n".join(notes)
    if not card.display_name:
        card.display_name = " ".join(part for part in (card.first_name, card.last_name) if part)
    for part in given_parts:
        if part and part not in card.display_name:
            _drop(card, "N", part)
    return card


def _decode(card: Card, prop: Property, default_charset: str) -> str | None:
    """The value as text: quoted-printable undone, then the bytes decoded with CHARSET."""
    raw = prop.raw
    encoding = prop.param("ENCODING").lower()
    if encoding == "quoted-printable":
        raw = quopri.decodestring(raw)
    declared = prop.param("CHARSET")
    try:
        return _lines(raw.decode(declared or default_charset))
    except LookupError:
        # A CHARSET no one has heard of says nothing about the bytes.
        return _lines(_text(raw))
    except UnicodeDecodeError:
        if not declared and default_charset == "utf-8":
            # Without a CHARSET, 8-bit text that is not UTF-8 comes from
            # Windows address books; Windows-1252 decodes it as they meant.
            try:
                return _lines(raw.decode("cp1252"))
            except UnicodeDecodeError:
                return _lines(raw.decode("latin-1"))
    card.dropped.append(
        _("%(property)s: a value that is not valid %(charset)s text was not imported")
        % {"property": prop.name, "charset": declared or default_charset}
    )
    return None


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _take_name(card: Card, text: str) -> list[str]:
    parts = [_unescape(part).strip() for part in _split_escaped(text, ";")]
    parts += [""] * (5 - len(parts))
    if card.first_name or card.last_name:
        _drop(card, "N", " ".join(part for part in parts if part))
        return []
    card.last_name, card.first_name = parts[0], parts[1]
    return [part.replace(",", " ") for part in parts[2:5]]


def _take_display_name(card: Card, prop: Property, text: str, label: str) -> None:
    value = _unescape(text).strip()
    if not card.display_name:
        card.display_name = value
    elif value != card.display_name:
        _drop(card, prop.name, value)


def _take_organization(card: Card, prop: Property, text: str, label: str) -> None:
    parts = [_unescape(part).strip() for part in _split_escaped(text, ";")]
    if card.organization or card.department:
        _drop(card, prop.name, ", ".join(part for part in parts if part))
        return
    card.organization = parts[0]
    card.department = ", ".join(part for part in parts[1:] if part)


def _take_title(card: Card, prop: Property, text: str, label: str) -> None:
    value = _unescape(text).strip()
    if card.title:
        _drop(card, prop.name, value)
    else:
        card.title = value


def _take_birthday(card: Card, prop: Property, text: str, label: str) -> None:
    value = _unescape(text).strip()
    match = re.fullmatch(r"(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?", value)
    birthday = None
    if match:
        try:
            birthday = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            birthday = None
    if birthday is None or card.birthday is not None:
        _drop(card, prop.name, value)
    else:
        card.birthday = birthday


def _take_email(card: Card, prop: Property, text: str, label: str) -> None:
    address = _unescape(text).strip()
    if not address:
        return
    kind = "work" if "work" in prop.types else "home" if "home" in prop.types else "other"
    card.emails.append({
        "address": address, "kind": kind,
        "label": label or _custom_label(prop, EMAIL_TYPE_WORDS | {"work", "home"}),
        "is_primary": _is_primary(prop) and not any(e["is_primary"] for e in card.emails),
    })


def _take_phone(card: Card, prop: Property, text: str, label: str) -> None:
    value = _unescape(text).strip()
    if value.lower().startswith("tel:") or prop.param("VALUE").lower() == "uri":
        value = _phone_from_uri(value)
    if not value:
        return
    kind = next((kind for word, kind in PHONE_KINDS if word in prop.types), "other")
    known = {word for word, _kind in PHONE_KINDS} | PHONE_TYPE_WORDS
    card.phones.append({
        "raw": value, "kind": kind, "label": label or _custom_label(prop, known),
        "is_primary": _is_primary(prop) and not any(p["is_primary"] for p in card.phones),
    })


def _phone_from_uri(value: str) -> str:
    number, *params = value.removeprefix("tel:").removeprefix("TEL:").split(";")
    extension = next((param[4:] for param in params if param.lower().startswith("ext=")), "")
    return f"{number} ext. {extension}" if extension else number


def _take_address(card: Card, prop: Property, text: str, label: str) -> None:
    parts = [_unescape(part).strip() for part in _split_escaped(text, ";")]
    parts += [""] * (7 - len(parts))
    post_box, extended, street, city, region, postal_code, country = parts[:7]
    if not any(parts):
        return
    kind = "work" if "work" in prop.types else "home" if "home" in prop.types else "other"
    card.addresses.append({
        "kind": kind,
        "street": "\n".join(part for part in (street, extended) if part),
        "city": city, "region": region, "postal_code": postal_code, "country": country,
        "label": label or _custom_label(prop, ADDRESS_TYPE_WORDS | {"work", "home"}),
    })
    if post_box:
        _drop(card, "ADR", post_box)


def _take_url(card: Card, prop: Property, text: str, label: str) -> None:
    value = _unescape(text).strip()
    if value:
        card.urls.append(value)


def _take_categories(card: Card, prop: Property, text: str, label: str) -> None:
    for part in _split_escaped(text, ","):
        value = _unescape(part).strip()
        if value and value not in card.categories:
            card.categories.append(value)


def _take_photo(card: Card, prop: Property) -> None:
    raw = prop.raw.strip()
    encoding = prop.param("ENCODING").lower()
    media_type = _media_type(prop.param("TYPE") or prop.param("MEDIATYPE"))
    data = None
    if encoding in ("b", "base64"):
        data = raw
    elif raw[:5].lower() == b"data:":
        header, _comma, data = raw.partition(b",")
        if b";base64" not in header.lower():
            data = None
        media_type = _media_type(header[5:].split(b";")[0].decode("ascii", "replace"))
    if data is None:
        _drop(card, "PHOTO", _text(raw))
        return
    try:
        content = base64.b64decode(re.sub(rb"\s+", b"", data), validate=True)
    except (binascii.Error, ValueError):
        card.dropped.append(_("PHOTO: a picture that could not be decoded was not imported"))
        return
    if card.photo is not None:
        card.dropped.append(_("PHOTO: a second picture was not imported"))
        return
    card.photo = (media_type or _sniff_media_type(content), content)


def _media_type(value: str) -> str:
    value = value.strip().lower()
    if "/" in value:
        return value
    return MEDIA_TYPES.get(value, "")


def _sniff_media_type(content: bytes) -> str:
    if content.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content.startswith(b"GIF8"):
        return "image/gif"
    return "application/octet-stream"


HANDLERS = {
    "FN": _take_display_name,
    "ORG": _take_organization,
    "TITLE": _take_title,
    "BDAY": _take_birthday,
    "EMAIL": _take_email,
    "TEL": _take_phone,
    "ADR": _take_address,
    "URL": _take_url,
    "CATEGORIES": _take_categories,
}


def _custom_label(prop: Property, known) -> str:
    """Type words the kind does not cover ("school", "Büro"), as written, to label a value."""
    words: list[str] = []
    for word in prop.type_words:
        lowered = word.lower()
        if word.isupper():
            word = word.capitalize()  # PAGER is how exporters write a keyword
        if lowered not in known and not lowered.startswith("x-") and word not in words:
            words.append(word)
    return ", ".join(words)[:60]


def _is_primary(prop: Property) -> bool:
    return "pref" in prop.types and prop.param("PREF") in ("", "1")


def _is_binary(prop: Property) -> bool:
    return prop.param("ENCODING").lower() in ("b", "base64")


def _clean_label(prop: Property) -> str:
    text = _unescape(_text(prop.raw)).strip()
    apple = _APPLE_LABEL.fullmatch(text)
    if apple:
        words = _CAMEL.sub(" ", apple.group(1))
        text = words[:1].upper() + words[1:].lower()
    return text[:60]


def _drop(card: Card, name: str, value: str, *, binary: bool = False) -> None:
    value = " ".join(value.split())
    if not value:
        return
    if binary:
        card.dropped.append(_("%(property)s: binary data was not imported") % {
            "property": name})
        return
    if len(value) > DROPPED_TEXT_LENGTH:
        value = value[:DROPPED_TEXT_LENGTH - 1] + "…"
    card.dropped.append(_("%(property)s: %(value)s was not imported") % {
        "property": name, "value": value})


def _split_escaped(text: str, separator: str) -> list[str]:
    """Split on `separator` where it is not escaped with a backslash; escapes stay."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


_ESCAPE = re.compile(r"\\(.)", re.S)


def _unescape(text: str) -> str:
    """Undo vCard escapes: \\n and \\N are line breaks, any other escaped character is itself."""
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)
