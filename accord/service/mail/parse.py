"""Raw RFC 5322 bytes into one normalised `ParsedMail`, whatever state the MIME is in.

The ticket code never looks at `email.message` objects: it gets decoded text,
sanitised HTML, attachments as bytes, the threading ids and what kind of mail
it is (a customer's message or something a machine sent).
"""

import binascii
import codecs
import functools
import hashlib
import logging
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

import charset_normalizer
import nh3

from accord.service.mail.quoting import trim_quoted

logger = logging.getLogger(__name__)

KINDS = ("message", "auto_reply", "bounce", "complaint", "receipt")

# Labels mail programs write that Python's codecs do not know, or know as a
# narrower charset than the one actually sent. Latin-1 and ASCII labels are
# read as windows-1252, as browsers do: Outlook declares iso-8859-1 and sends
# curly quotes and the euro sign from windows-1252, which would otherwise come
# out as C1 control characters.
CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "iso-8859-6-e": "iso-8859-6",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-mac-ce": "mac_latin2",
    "x-mac-greek": "mac_greek",
    "x-mac-turkish": "mac_turkish",
    "x-mac-icelandic": "mac_iceland",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "x-windows-949": "cp949",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cn-gb": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso_8859-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "iso-8859-9": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
}

# Declared charsets so often wrong that valid UTF-8 bytes win over them.
LOOSE_LABELS = {"", "us-ascii", "ascii", "ansi_x3.4-1968", "iso-8859-1", "latin1", "latin-1",
                "iso_8859-1", "windows-1252", "cp1252", "unknown-8bit", "x-unknown", "unknown",
                "default", "8bit"}

# C0 controls except tab and line feed, DEL and the C1 block: never useful in
# a ticket, and C1 characters are the trace of a wrong single-byte charset.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
ASCII_SPACE = re.compile(r"[ \t\r\n\f\v]+")
ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
MESSAGE_ID = re.compile(r"<\s*([^<>\s]+)\s*>")
ADDR_SPEC = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
TICKET_TAG = re.compile(r"\[#(\d{1,12})\]")
REPLY_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|vs|fwd?|wg|tr|antw|odp|rv)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.IGNORECASE)
AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[- ]?reply|auto(?:matic)? response|out of (?:the )?"
    r"office|abwesenheit|automatische antwort|r[ée]ponse automatique|automatyczna odpowied"
    r"|respuesta autom[áa]tica|risposta automatica|automatisch antwoord|autosvar)",
    re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|returned mail|delivery status notification"
    r"|delivery failure|mail delivery failed|failure notice|delayed mail"
    r"|unzustellbar|non remis)", re.IGNORECASE)
# Seven-bit charsets whose escape sequences must reach their codec.
SEVEN_BIT_CODECS = {"utf-7", "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2", "iso2022_jp_2004",
                    "iso2022_jp_3", "iso2022_jp_ext", "iso2022_kr", "hz"}
# Below this many bytes a statistical guess is mostly wrong (a lone accented
# byte in a header comes out as Korean): windows-1252 is the better bet.
GUESS_MIN_BYTES = 32
WIDE_CODECS = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"]
BODY_TYPES = {"text/plain", "text/html"}
EMBEDDED_MESSAGES = {"message/rfc822", "message/global"}

# Tags whose content is no text for a reader, and tags that end a line.
HIDDEN_TAGS = {"script", "style", "title", "template", "head"}
BREAK_TAGS = {"br", "tr", "li", "dt", "dd", "div", "table", "ul", "ol", "dl", "hr", "section",
              "article", "header", "footer", "nav", "aside", "address", "figure", "form",
              "center", "caption", "details", "summary"}
LINE, PARAGRAPH = "\x01", "\x02"  # break markers, never in the data (controls are removed)
PARAGRAPH_TAGS = {"p", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"}

SAFE_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
REMOVED_WITH_CONTENT = {"script", "style", "title", "template"}


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    content_id: str
    inline: bool


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_name: str
    from_address: str
    reply_to: str
    to: list[str]
    cc: list[str]
    date: datetime | None
    text: str
    html: str
    reply_text: str
    attachments: list[ParsedAttachment]
    kind: str
    ticket_number: int | None
    all_ids: list[str]


def parse_message(raw: bytes) -> ParsedMail:
    """Read one message; never raises, however broken the MIME.

    A message the `email` package cannot walk at all still gives its headers
    as far as they can be read and its body bytes as text.
    """
    try:
        return _parse(raw)
    except Exception:
        logger.exception("mail.parse_fallback", extra={"size": len(raw)})
        return _parse_minimal(raw)


def ticket_number_in(subject: str) -> int | None:
    """The number of the first "[#1042]" tag anywhere in the subject."""
    match = TICKET_TAG.search(subject or "")
    return int(match.group(1)) if match else None


def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes (any language, repeated) and ticket tags."""
    text = TICKET_TAG.sub(" ", subject or "")
    text = collapse_spaces(text)
    while True:
        stripped = REPLY_PREFIX.sub("", text, count=1)
        if stripped == text:
            return text.strip()
        text = stripped


def collapse_spaces(text: str) -> str:
    """ASCII whitespace runs to one space; a no-break space is content and stays."""
    return ASCII_SPACE.sub(" ", text).strip()


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Text from bytes in the declared charset, or in the charset they turn out to be in.

    Valid UTF-8 wins over a missing label or a one-byte charset's; a label that does
    not fit the bytes gives way to charset-normalizer's guess; only bytes that
    fit no charset become U+FFFD.
    """
    if not data:
        return ""
    label = (declared or "").strip().strip("\"'").lower()
    codec = _codec_for(label)
    if data.isascii() and b"\x1b" not in data and codec not in SEVEN_BIT_CODECS:
        return clean_text(data.decode("ascii"))
    loose = label in LOOSE_LABELS or _single_byte(codec)
    attempts = ["utf-8"] if loose and not data.isascii() else []
    if codec:
        attempts.append(codec)
    for name in attempts:
        try:
            return clean_text(data.decode(name))
        except (UnicodeDecodeError, LookupError):
            continue
    if codec == "iso2022_jp":
        decoded = _decode_iso2022jp_extended(data)
        if decoded is not None:
            return clean_text(decoded)
    if loose:
        mostly_utf8 = _mostly_utf8(data)
        if mostly_utf8 is not None:
            return clean_text(mostly_utf8)
    if len(data) >= GUESS_MIN_BYTES:
        # Without NUL bytes the text is no UTF-16 or UTF-32, whatever the odds say.
        excluded = [] if b"\x00" in data else WIDE_CODECS
        guess = charset_normalizer.from_bytes(data, cp_exclusion=excluded).best()
        if guess is not None:
            return clean_text(str(guess))
    return clean_text(data.decode(codec or "cp1252", errors="replace"))


def clean_text(text: str) -> str:
    """One line ending (\\n), no byte-order mark, no control characters but tab and newline."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "")
    return CONTROL_CHARS.sub("", text)


def decode_header_value(raw: str) -> str:
    """A header's text: unfolded, raw 8-bit bytes and RFC 2047 encoded-words decoded."""
    text = _undo_surrogates(unfold(raw))
    return clean_text(_decode_encoded_words(text)).replace("\n", " ")


def unfold(raw: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", raw).replace("\r", "").replace("\n", "")


def html_to_text(markup: str) -> str:
    """Readable plain text from HTML: block elements end lines, entities are decoded."""
    reader = _TextFromHtml()
    try:
        reader.feed(markup)
        reader.close()
    except Exception:
        # HTMLParser gives up on some byte salad; what it read so far is kept.
        logger.warning("mail.html_unreadable")
    return reader.text()


def sanitize_html(markup: str) -> str:
    """The HTML reduced to nh3's allow-list: no scripts, styles, event handlers or
    data-/hx- attributes; `cid:` image sources stay for inline images."""
    return nh3.clean(markup, url_schemes=SAFE_URL_SCHEMES,
                     clean_content_tags=REMOVED_WITH_CONTENT,
                     link_rel="noopener noreferrer nofollow")


def _parse(raw: bytes) -> ParsedMail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    headers = _Headers(message)

    body = _Body()
    body.walk(message)
    text = "\n\n".join(t for t in body.texts if t.strip())
    html_parts = [h for h in body.htmls if h.strip()]
    if not text and not html_parts:
        for inner in body.embedded:
            inner_body = _Body()
            inner_body.walk(inner)
            text = "\n\n".join(t for t in inner_body.texts if t.strip())
            html_parts = [h for h in inner_body.htmls if h.strip()]
            if text or html_parts:
                break
    html = sanitize_html("\n".join(html_parts)) if html_parts else ""
    if not text and html_parts:
        text = html_to_text("\n".join(html_parts))
    if not text and not html and not body.attachments:
        text = _body_as_text(raw)
    text = text.rstrip().lstrip("\n")

    subject = collapse_spaces(headers.text("subject"))
    from_name, from_address = headers.first_address("from")
    in_reply_to = headers.ids("in-reply-to")
    references = headers.ids("references")
    return ParsedMail(
        message_id=headers.message_id(raw),
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        from_name=from_name,
        from_address=from_address,
        reply_to=headers.first_address("reply-to")[1],
        to=headers.addresses("to"),
        cc=headers.addresses("cc"),
        date=headers.date(),
        text=text,
        html=html,
        reply_text=trim_quoted(text),
        attachments=body.attachments,
        kind=_kind(message, headers, body.types, subject, from_address),
        ticket_number=ticket_number_in(subject),
        all_ids=_unique(in_reply_to + references),
    )


def _parse_minimal(raw: bytes) -> ParsedMail:
    head, _, _ = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    fields = {}
    for line in re.sub(rb"\n[ \t]+", b" ", head).split(b"\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower().decode("ascii", "replace") not in fields:
            fields[name.strip().lower().decode("ascii", "replace")] = value.strip()
    subject = collapse_spaces(decode_header_value(
        fields.get("subject", b"").decode("ascii", "surrogateescape")))
    text = _body_as_text(raw).rstrip().lstrip("\n")
    return ParsedMail(
        message_id=_hashed_id(raw), in_reply_to=[], references=[], subject=subject,
        from_name="", from_address="", reply_to="", to=[], cc=[], date=None, text=text,
        html="", reply_text=trim_quoted(text), attachments=[], kind="message",
        ticket_number=ticket_number_in(subject), all_ids=[],
    )


class _Headers:
    """Header values read from the raw stored strings, decoded here rather than by
    `email.policy`, which gives up on unknown charsets and 8-bit bytes."""

    def __init__(self, message: Message):
        self.fields: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self.fields.setdefault(name.strip().lower(), []).append(str(value))

    def raw(self, name: str) -> str:
        values = self.fields.get(name)
        return unfold(values[0]) if values else ""

    def has(self, name: str) -> bool:
        return name in self.fields

    def text(self, name: str) -> str:
        values = self.fields.get(name)
        return decode_header_value(values[0]) if values else ""

    def ids(self, name: str) -> list[str]:
        return _ids_in(" ".join(unfold(value) for value in self.fields.get(name, [])))

    def message_id(self, raw: bytes) -> str:
        ids = self.ids("message-id")
        return ids[0] if ids else _hashed_id(raw)

    def addresses(self, name: str) -> list[str]:
        return _unique([address for _, address in self._pairs(name) if address])

    def first_address(self, name: str) -> tuple[str, str]:
        for display, address in self._pairs(name):
            if address:
                return display, address
        return "", ""

    def date(self) -> datetime | None:
        value = self.raw("date")
        if not value:
            return None
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    def _pairs(self, name: str) -> list[tuple[str, str]]:
        values = [_undo_surrogates(unfold(value)) for value in self.fields.get(name, [])]
        pairs = []
        for display, address in getaddresses(values):
            address = address.strip().lower()
            pairs.append((collapse_spaces(decode_header_value(display)).strip("\"' "),
                          address if ADDR_SPEC.match(address) else ""))
        return pairs


class _Body:
    """Walks the MIME tree once: body text and HTML, attachments, and the content
    types met (for telling bounces and reports apart); embedded messages are kept
    whole as attachments and not walked into."""

    def __init__(self):
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.embedded: list[Message] = []
        self.types: set[str] = set()

    def walk(self, part: Message, *, inline_default: bool = False) -> None:
        content_type = _content_type(part)
        self.types.add(content_type)
        if content_type.startswith("message/"):
            self._attach(part, content_type, inline_default)
            payload = part.get_payload()
            if content_type in EMBEDDED_MESSAGES and isinstance(payload, list) and payload:
                self.embedded.append(payload[0])
            return
        if content_type.startswith("multipart/"):
            children = part.get_payload()
            if not isinstance(children, list):
                # Declared multipart without a usable boundary: the body is text.
                self.texts.append(self._decoded(part))
            elif content_type == "multipart/alternative":
                self._alternative(children)
            elif content_type == "multipart/related":
                self._related(part, children)
            else:
                for child in children:
                    self.walk(child)
            return
        disposition = _disposition(part)
        if content_type in BODY_TYPES and disposition != "attachment" and (
                disposition == "inline" or not _filename(part)):
            if content_type == "text/html":
                self.htmls.append(self._decoded(part))
            else:
                self.texts.append(_unflow(self._decoded(part), part))
            return
        self._attach(part, content_type, inline_default)

    def _alternative(self, children: list[Message]) -> None:
        # Each alternative is read on its own; the last one with text and the
        # last one with HTML are the richest versions (RFC 2046 order).
        readings = []
        for child in children:
            reading = _Body()
            reading.walk(child)
            readings.append(reading)
            self.attachments.extend(reading.attachments)
            self.embedded.extend(reading.embedded)
            self.types |= reading.types
        with_text = [r for r in readings if any(t.strip() for t in r.texts)]
        with_html = [r for r in readings if any(h.strip() for h in r.htmls)]
        if with_text:
            self.texts.extend(with_text[-1].texts)
        if with_html:
            self.htmls.extend(with_html[-1].htmls)

    def _related(self, part: Message, children: list[Message]) -> None:
        start = MESSAGE_ID.search(str(part.get_param("start") or ""))
        root = children[0] if children else None
        if start:
            for child in children:
                if _content_id(child) == start.group(1):
                    root = child
        for child in children:
            self.walk(child, inline_default=child is not root)

    def _decoded(self, part: Message) -> str:
        data = _payload_bytes(part)
        charset = _param(part, "charset")
        if not charset and _content_type(part) == "text/html":
            found = re.search(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", data[:4096], re.IGNORECASE)
            charset = found.group(1).decode("ascii") if found else None
        return decode_bytes(data, charset)

    def _attach(self, part: Message, content_type: str, inline_default: bool) -> None:
        disposition = _disposition(part)
        content_id = _content_id(part)
        number = len(self.attachments) + 1
        filename = _filename(part)
        if not filename:
            extension = ".eml" if content_type in EMBEDDED_MESSAGES else (
                mimetypes.guess_extension(content_type) or ".bin")
            filename = f"attachment-{number}{extension}"
        inline = disposition == "inline" or (disposition is None and (
            inline_default or bool(content_id)))
        self.attachments.append(ParsedAttachment(
            filename=filename, content_type=content_type, content=_payload_bytes(part),
            content_id=content_id, inline=inline,
        ))


class _TextFromHtml(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.hidden = 0
        self.preformatted = 0

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN_TAGS:
            self.hidden += 1
        elif tag == "pre":
            self.preformatted += 1
        if tag == "br":
            self.chunks.append("\n")
        elif tag in PARAGRAPH_TAGS:
            self.chunks.append(PARAGRAPH)
        elif tag in BREAK_TAGS:
            self.chunks.append(LINE)
        if tag == "li":
            self.chunks.append("- ")
        elif tag in ("td", "th"):
            self.chunks.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag == "br":
            self.chunks.append("\n")
        elif tag in BREAK_TAGS:
            self.chunks.append(LINE)

    def handle_endtag(self, tag):
        if tag in HIDDEN_TAGS:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "pre":
            self.preformatted = max(0, self.preformatted - 1)
        if tag in PARAGRAPH_TAGS:
            self.chunks.append(PARAGRAPH)
        elif tag in BREAK_TAGS and tag != "br":
            self.chunks.append(LINE)

    def handle_data(self, data):
        if self.hidden:
            return
        data = CONTROL_CHARS.sub("", data)
        self.chunks.append(data if self.preformatted else re.sub(r"[ \t\r\n\f]+", " ", data))

    def text(self) -> str:
        # Block edges asked for a line or paragraph break; where several meet,
        # the biggest one wins instead of adding up.
        joined = re.sub(f"(?: *[{LINE}{PARAGRAPH}] *)+",
                        lambda run: "\n\n" if PARAGRAPH in run.group() else "\n",
                        "".join(self.chunks))
        lines = [line.strip(" ") for line in clean_text(joined).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def _kind(message: Message, headers: _Headers, types: set[str], subject: str,
          from_address: str) -> str:
    report_type = (_param(message, "report-type") or "").lower()
    if "message/feedback-report" in types or report_type == "feedback-report":
        return "complaint"
    if "message/disposition-notification" in types or report_type == "disposition-notification":
        return "receipt"
    sender = from_address.partition("@")[0]
    auto_submitted = headers.raw("auto-submitted").strip().lower()
    machine_sent = (auto_submitted not in ("", "no")) or headers.raw("return-path").strip() == "<>"
    if ("message/delivery-status" in types or report_type == "delivery-status"
            or headers.has("x-failed-recipients")
            or sender == "mailer-daemon"
            or ((machine_sent or sender == "postmaster") and BOUNCE_SUBJECT.match(subject))):
        return "bounce"
    precedence = headers.raw("precedence").strip().lower()
    if (auto_submitted not in ("", "no") or headers.has("x-autoreply")
            or headers.has("x-autorespond") or precedence in ("bulk", "junk", "auto_reply")
            or AUTO_REPLY_SUBJECT.match(subject)):
        return "auto_reply"
    return "message"


def _decode_encoded_words(text: str) -> str:
    pieces: list[tuple[bool, str, bytes | str]] = []
    position = 0
    for match in ENCODED_WORD.finditer(text):
        between = text[position:match.start()]
        # Whitespace between two encoded-words is folding, not content.
        if between and not (pieces and pieces[-1][0] and not between.strip(" \t")):
            pieces.append((False, "", between))
        charset = match.group(1).partition("*")[0]
        data = _word_bytes(match.group(2).lower(), match.group(3))
        if data is None:
            pieces.append((False, "", match.group(0)))
        elif pieces and pieces[-1][0] and pieces[-1][1].lower() == charset.lower():
            # Same charset continued: a multibyte character may be split across
            # the two words, so their bytes are decoded together.
            pieces[-1] = (True, charset, pieces[-1][2] + data)
        else:
            pieces.append((True, charset, data))
        position = match.end()
    if position == 0:
        return text
    pieces.append((False, "", text[position:]))
    return "".join(
        decode_bytes(value, charset) if encoded else value
        for encoded, charset, value in pieces)


@functools.lru_cache(maxsize=64)
def _single_byte(codec: str | None) -> bool:
    # Text in a one-byte charset that is also valid UTF-8 takes pairs like "Ã©"
    # in a row, which nobody writes; mail labelled wrongly is far more common.
    if not codec or codec in SEVEN_BIT_CODECS:
        return False
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except (LookupError, UnicodeDecodeError):
        return False


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with a few broken bytes (a cut-off character) rather than a wrong guess:
    only the broken bytes become U+FFFD."""
    decoded = data.decode("utf-8", errors="replace")
    broken = decoded.count("\ufffd")
    readable = sum(1 for char in decoded if char > "\x7f") - broken
    return decoded if readable >= 3 * broken else None


def _undo_surrogates(text: str) -> str:
    """Raw 8-bit header bytes (kept by the parser as surrogate escapes) decoded."""
    if not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"))


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding == "q":
            return binascii.a2b_qp(payload.encode("ascii"), header=True)
        padded = payload + "=" * (-len(payload) % 4)
        return binascii.a2b_base64(padded.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None


def _codec_for(label: str) -> str | None:
    if not label:
        return None
    name = CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decode_iso2022jp_extended(data: bytes) -> str | None:
    """ISO-2022-JP as Microsoft mail programs write it, with the NEC and IBM
    extension rows (circled numbers, "№", roman numerals) that Python's codec
    refuses: each JIS X 0208 run is re-coded to Shift_JIS and read as cp932."""
    out = bytearray()
    two_byte = False
    index = 0
    while index < len(data):
        if data.startswith((b"\x1b$B", b"\x1b$@"), index):
            two_byte, index = True, index + 3
        elif data.startswith((b"\x1b(B", b"\x1b(J"), index):
            two_byte, index = False, index + 3
        elif two_byte and index + 1 < len(data) and data[index] > 0x20:
            first, second = data[index], data[index + 1]
            lead = ((first + 1) >> 1) + (0x70 if first <= 0x5E else 0xB0)
            odd_row = (0x1F if second <= 0x5F else 0x20)
            trail = second + (odd_row if first % 2 else 0x7E)
            out += bytes((lead, trail))
            index += 2
        else:
            out.append(data[index])
            index += 1
    try:
        return out.decode("cp932")
    except UnicodeDecodeError:
        return None


def _unflow(text: str, part: Message) -> str:
    """Joins the soft-broken lines of format=flowed text (RFC 3676)."""
    if (_param(part, "format") or "").lower() != "flowed":
        return text
    delete_space = (_param(part, "delsp") or "").lower() == "yes"
    lines: list[str] = []
    carry = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]
        if line.endswith(" ") and line != "-- ":
            carry += line[:-1] if delete_space else line
            continue
        lines.append(carry + line)
        carry = ""
    if carry:
        lines.append(carry)
    return "\n".join(lines)


def _payload_bytes(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    try:
        whole = part.as_bytes()
    except Exception:
        return str(part.get_payload()).encode("utf-8", "surrogateescape")
    if _content_type(part) in EMBEDDED_MESSAGES:
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            try:
                return inner[0].as_bytes()
            except Exception:
                logger.warning("mail.embedded_unreadable")
    _, _, body = whole.replace(b"\r\n", b"\n").partition(b"\n\n")
    return body


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _param(part: Message, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except Exception:
        return None
    if isinstance(value, tuple):
        value = value[2]
    return str(value) if value is not None else None


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = decode_header_value(str(name))
    name = re.split(r"[\\/]", name)[-1]
    return collapse_spaces(name).strip(". ")


def _content_id(part: Message) -> str:
    for name, value in part.raw_items():
        if name.lower() == "content-id":
            return unfold(str(value)).strip().strip("<>").strip()
    return ""


def _ids_in(value: str) -> list[str]:
    ids = MESSAGE_ID.findall(value)
    if not ids:
        ids = [token for token in re.split(r"[\s,]+", value) if "@" in token]
    return _unique(ids)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _hashed_id(raw: bytes) -> str:
    return f"{hashlib.sha256(raw).hexdigest()[:40]}@missing-id.invalid"


def _body_as_text(raw: bytes) -> str:
    normalised = raw.replace(b"\r\n", b"\n")
    _, separator, body = normalised.partition(b"\n\n")
    return decode_bytes(body if separator else normalised)
