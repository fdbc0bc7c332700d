"""Headers that make a ticket's outgoing replies thread in the customer's mail program."""

import re
import uuid

from accord.service.mail.parse import clean_subject

# RFC 5322 wants the whole chain, but some servers reject headers over a few
# kilobytes: a very long chain keeps its root and the most recent ids, which
# is what mail programs thread on.
REFERENCES_KEEP_FIRST = 1
REFERENCES_KEEP_LAST = 20
DOMAIN = re.compile(r"^[A-Za-z0-9.-]+$")


def reply_headers(answered_message_id: str, chain: list[str]) -> dict[str, str]:
    """In-Reply-To names the answered message; References the chain in order, ending
    with the answered message, de-duplicated and cut to its first and last ids when
    very long.

    Values are single lines with ids in angle brackets; the mail library folds the
    long References line when it writes the message (Django refuses header values
    that contain line breaks).
    """
    answered = _bare(answered_message_id)
    ids = list(dict.fromkeys(bare for bare in map(_bare, chain) if bare and bare != answered))
    if answered:
        ids.append(answered)
    if len(ids) > REFERENCES_KEEP_FIRST + REFERENCES_KEEP_LAST:
        ids = ids[:REFERENCES_KEEP_FIRST] + ids[-REFERENCES_KEEP_LAST:]
    headers = {}
    if answered:
        headers["In-Reply-To"] = f"<{answered}>"
    if ids:
        headers["References"] = " ".join(f"<{bare}>" for bare in ids)
    return headers


def make_message_id(domain: str) -> str:
    """A new, globally unique Message-ID (without <>) on the given domain.

    Raises ValueError for a domain that cannot stand in a Message-ID.
    """
    domain = domain.strip().lower()
    if not DOMAIN.match(domain) or domain.startswith(".") or domain.endswith("."):
        raise ValueError("not a domain name usable in a Message-ID")
    return f"{uuid.uuid4().hex}@{domain}"


def tag_subject(subject: str, number: int) -> str:
    """"Re: <subject> [#number]": reply prefixes and tags of any language are replaced,
    so tagging an already tagged subject gives the same subject back."""
    base = clean_subject(subject)
    return f"Re: {base} [#{number}]" if base else f"Re: [#{number}]"


def _bare(message_id: str) -> str:
    return (message_id or "").strip().strip("<>").strip()
