"""Every message of the shared real-mail collection parses, and reports stay out of tickets."""

import re
from pathlib import Path

import pytest

from accord.service.mail.parse import KINDS, parse_message

EMAILS = Path("/work/shared/data/emails")
C1 = re.compile("[\x80-\x9f]")


def all_messages() -> list[Path]:
    return sorted(EMAILS.rglob("*.eml")) if EMAILS.is_dir() else []


@pytest.fixture
def emails():
    if not EMAILS.is_dir():
        pytest.skip("the shared mail collection is not on this machine")
    return EMAILS


def test_every_message_parses_into_clean_text(emails):
    paths = all_messages()

    parsed = {path.relative_to(emails).as_posix(): parse_message(path.read_bytes())
              for path in paths}

    assert len(parsed) == 89
    for name, mail in parsed.items():
        assert mail.kind in KINDS, name
        assert mail.message_id, name
        assert not C1.search(mail.text + mail.subject + mail.from_name), name
        assert all(attachment.filename for attachment in mail.attachments), name


def test_bounces_and_complaints_are_never_customer_messages(emails):
    reports = sorted((emails / "flanker" / "bounce").glob("*.eml")) + sorted(
        (emails / "flanker" / "complaints").glob("*.eml"))

    kinds = {path.name: parse_message(path.read_bytes()).kind for path in reports}

    assert len(kinds) == 11
    assert {name for name, kind in kinds.items() if kind == "message"} == set()
    assert kinds["aol.eml"] == "complaint"
    assert kinds["office365.eml"] == "bounce"


def test_known_values_of_real_messages(emails):
    def parsed(name):
        return parse_message((emails / name).read_bytes())

    many = parsed("php-mime-mail-parser/issue408.eml")
    korean = parsed("php-mime-mail-parser/m0018.eml")
    cid = parsed("php-mime-mail-parser/m0025.eml")
    threaded = parsed("flanker/multi-received-headers.eml")
    octet = parsed("flanker/outlook-express.eml")

    assert many.subject == "test mail with more than 300 attachments"
    assert len(many.attachments) == 328
    assert korean.attachments[0].filename == "사진.JPG"
    assert [(a.filename, a.content_id, a.inline) for a in cid.attachments] == [
        ("logo.jpg", "image-1", True), ("background.jpg", "image-10", True),
        ("attachment.txt", "", False)]
    assert threaded.in_reply_to == ["AANLkTinUdYK2NpEiYCKGnCEp_OXKqst_bWNdBVHsfDVh@mail.gmail.com"]
    assert threaded.all_ids == [
        "AANLkTinUdYK2NpEiYCKGnCEp_OXKqst_bWNdBVHsfDVh@mail.gmail.com",
        "AANLkTi=1ANR2FzeeQ-vK3-_ty0gUrOsAxMRYkob6CL-c@mail.gmail.com"]
    assert octet.attachments[0].content_type == "application/octet-stream"
