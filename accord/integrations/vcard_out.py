"""Contacts as vCard 4.0 (RFC 6350) cards.

A card is built from the contact's export document (the JSON Lines record),
so the two formats cannot drift apart. Lines end in CRLF and are folded at
75 octets without splitting a UTF-8 character; text values are escaped.
E-mails and phones keep their type, the primary one carries PREF=1, and a
custom label rides in an item group with X-ABLabel, as address books expect.
Phones are written as text, exactly as typed, so nothing is lost on the way
back in.
"""

import datetime as dt

LINE_OCTETS = 75
EMAIL_TYPES = {"work": "work", "home": "home"}
PHONE_TYPES = {"mobile": "cell", "work": "work", "home": "home", "fax": "fax", "other": "voice"}


def escape(value) -> str:
    """A text value with backslash, comma, semicolon and newlines escaped."""
    text = str(value or "")
    text = text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """`line` folded into CRLF-separated pieces of at most 75 octets each."""
    pieces, current, size = [], [], 0
    for char in line:
        octets = len(char.encode("utf-8"))
        if size + octets > LINE_OCTETS:
            pieces.append("".join(current))
            # A continuation line starts with a space, which counts towards its 75.
            current, size = [" "], 1
        current.append(char)
        size += octets
    pieces.append("".join(current))
    return "\r\n".join(pieces) + "\r\n"


def contact_card(document: dict) -> str:
    """One vCard 4.0 card for a contact export document."""
    lines = ["BEGIN:VCARD", "VERSION:4.0", "PRODID:-//Accord//Accord CRM//EN"]
    lines.append(f"UID;VALUE=text:accord-contact-{document['id']}")
    first, last = document.get("first_name") or "", document.get("last_name") or ""
    full = f"{first} {last}".strip() or document.get("email") or f"#{document['id']}"
    lines.append("FN:" + escape(full))
    lines.append(f"N:{escape(last)};{escape(first)};;;")
    company = (document.get("company") or {}).get("name")
    if company:
        lines.append("ORG:" + escape(company))
    if document.get("title"):
        lines.append("TITLE:" + escape(document["title"]))

    groups = iter(range(1, 10_000))
    for email in document.get("emails", []):
        lines += _labelled("EMAIL", _params(EMAIL_TYPES.get(email["kind"]), email["primary"]),
                           escape(email["address"]), email.get("label"), groups)
    for phone in document.get("phones", []):
        params = ";VALUE=text" + _params(PHONE_TYPES.get(phone["kind"]), phone["primary"])
        lines += _labelled("TEL", params, escape(phone["raw"]), phone.get("label"), groups)

    address = [document.get(name) or "" for name in
               ("street", "city", "region", "postal_code", "country")]
    if any(address):
        lines.append("ADR:;;" + ";".join(escape(part) for part in address))
    if document.get("birthday"):
        lines.append("BDAY:" + str(document["birthday"]).replace("-", ""))
    if document.get("tags"):
        lines.append("CATEGORIES:" + ",".join(escape(tag) for tag in document["tags"]))
    if document.get("note"):
        lines.append("NOTE:" + escape(document["note"]))
    if document.get("updated_at"):
        lines.append("REV:" + _timestamp(document["updated_at"]))
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def _params(kind: str | None, primary: bool) -> str:
    params = f";TYPE={kind}" if kind else ""
    return params + (";PREF=1" if primary else "")


def _labelled(name: str, params: str, value: str, label: str | None, groups) -> list[str]:
    if not label:
        return [f"{name}{params}:{value}"]
    group = f"item{next(groups)}"
    return [f"{group}.{name}{params}:{value}", f"{group}.X-ABLabel:{escape(label)}"]


def _timestamp(value) -> str:
    """An instant as a vCard timestamp, `20261204T190642Z`."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
