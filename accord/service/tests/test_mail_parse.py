"""Raw messages into ParsedMail: charsets, MIME shapes, threading ids, kinds."""

import base64
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accord.service.mail.parse import clean_subject, parse_message, ticket_number_in

MAIL = Path(__file__).resolve().parents[2] / "testdata" / "mail"
C1_OR_REPLACEMENT = re.compile("[\x80-\x9f\ufffd]")


def read(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def message(headers: str, body: bytes) -> bytes:
    head = "\r\n".join(textwrap.dedent(headers).strip().splitlines())
    return head.encode("ascii") + b"\r\n\r\n" + body


def test_windows_1252_quoted_printable_case_reads_exactly_as_expected():
    mail = parse_message(read("cases/mail-windows-1252-quoted-printable/inbound.eml"))

    assert mail.from_address == "claire.dumont@client.example"
    assert mail.from_name == "Claire Dumont"
    assert mail.subject == "Devis à mettre à jour – urgent"
    assert ("Merci de m\u2019envoyer le devis mis à jour avant vendredi \u2013 c\u2019est "
            "urgent. Montant prévu : 1\u00a0250 \u20ac HT.") in mail.text.split("\n")
    assert not C1_OR_REPLACEMENT.search(mail.text + mail.subject + mail.html)
    assert "=92" not in mail.text
    assert "?" not in mail.text
    assert mail.text.startswith("Bonjour,\n\nMerci")
    assert mail.date == datetime(2025, 2, 4, 8, 12, 44, tzinfo=UTC)
    assert mail.message_id == "20250204091244.4711@client.example"
    assert mail.kind == "message"


def test_windows_1252_html_part_is_decoded_and_sanitised():
    mail = parse_message(read("cases/mail-windows-1252-quoted-printable/inbound.eml"))

    assert "Merci de m\u2019envoyer le devis mis à jour avant vendredi \u2013 c\u2019est " \
        "urgent." in mail.html
    assert "1&nbsp;250 \u20ac HT." in mail.html
    assert "=3D" not in mail.html
    assert "class=" not in mail.html
    assert mail.html.startswith("<p>Bonjour,</p>")


@pytest.mark.parametrize(("charset", "encoded"), [
    ("iso-2022-jp", "お問い合わせの件".encode("iso2022_jp")),
    ("gb2312", "您好，发票有问题".encode("gb2312")),
    ("ks_c_5601-1987", "안녕하세요 송장 문의".encode("cp949")),
    ("x-mac-cyrillic", "Здравствуйте, счёт".encode("mac_cyrillic")),
    ("iso-8859-8-i", "שלום, חשבונית".encode("iso-8859-8")),
    ("windows-1251", "Добрый день".encode("cp1251")),
])
def test_declared_charsets_python_does_not_know_by_that_name_decode(charset, encoded):
    body = base64.encodebytes(encoded)
    raw = message(f"""
        From: a@example.com
        Subject: charset
        Content-Type: text/plain; charset="{charset}"
        Content-Transfer-Encoding: base64
    """, body)

    mail = parse_message(raw)

    assert mail.text == encoded.decode({
        "iso-2022-jp": "iso2022_jp", "gb2312": "gb2312", "ks_c_5601-1987": "cp949",
        "x-mac-cyrillic": "mac_cyrillic", "iso-8859-8-i": "iso-8859-8",
        "windows-1251": "cp1251"}[charset])


def test_iso_2022_jp_with_microsoft_extension_characters_decodes():
    mail = parse_message(read("php-mime-mail-parser/issue116.eml"))

    assert mail.subject == "ЖД№41 от 28.09.2016"
    assert mail.text == "toto"


def test_encoded_word_subjects_in_several_charsets():
    hebrew = parse_message(read("php-mime-mail-parser/issue149.eml"))
    polish = parse_message(read("php-mime-mail-parser/issue212.eml"))
    russian = parse_message(read("flanker/bilingual-simple.eml"))
    korean = parse_message(read("php-mime-mail-parser/m0018.eml"))

    assert hebrew.subject == "מענה 'אני לא נמצא': Invoice 02722027"
    assert polish.subject == ("Automatyczna odpowiedź: Piotrze, test z 6 miesięcy nauki ciągle "
                              "na Ciebie czeka")
    assert russian.subject == "Simple text. How are you? Как ты поживаешь?"
    assert korean.attachments[0].filename == "사진.JPG"


def test_encoded_word_split_inside_a_multibyte_character_is_joined():
    data = "Grüße aus Köln".encode()
    first, second = base64.b64encode(data[:3]).decode(), base64.b64encode(data[3:]).decode()
    raw = message(f"""
        From: a@example.com
        Subject: =?utf-8?B?{first}?=
         =?UTF-8?B?{second}?=
    """, b"hi")

    assert parse_message(raw).subject == "Grüße aus Köln"


def test_raw_8bit_headers_are_read_as_utf8_marking_only_the_broken_byte():
    mail = parse_message(read("flanker/mailformed-headers.eml"))

    assert mail.from_name == "Юникод запрещен\ufffd"
    assert mail.from_address == "headers@gmail.com"
    assert mail.subject == "´!"
    assert mail.to == ["\u00b4google@example.com"]


def test_undeclared_charset_body_is_detected():
    text = ("Guten Tag, die Lieferung für Köln ist noch nicht angekommen. Bitte prüfen Sie "
            "den Status der Bestellung und melden Sie sich bei uns. Grüße aus Düsseldorf")
    raw = message("""
        From: a@example.com
        Subject: Lieferung
    """, text.encode("cp1252"))

    mail = parse_message(raw)

    assert mail.text == text


def test_valid_utf8_wins_over_a_wrong_single_byte_label():
    raw = message("""
        From: a@example.com
        Subject: label
        Content-Type: text/plain; charset=iso-8859-1
    """, "Preis: 12 € für Zoë".encode())

    assert parse_message(raw).text == "Preis: 12 € für Zoë"


def test_gb2312_labelled_report_reads_without_replacement_characters():
    mail = parse_message(read("php-mime-mail-parser/failure.eml"))

    assert mail.text.startswith("次の受信者またはグループへの配信に失敗しました:")
    assert "\ufffd" not in mail.text


def test_multipart_related_cid_image_becomes_inline_attachment_and_stays_a_cid_link():
    mail = parse_message(read("php-mime-mail-parser/m0129.eml"))
    cid = "c024cb5b0c6eaf060a837c53db9af39b5b564d3956b8d4223fbf308b11b4e79e"

    assert mail.text == "Inline"
    assert f'<img src="cid:{cid}">' in mail.html
    assert len(mail.attachments) == 1
    image = mail.attachments[0]
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "attachment-1.png", "image/png", cid, True)
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_ten_attachments_and_the_plain_text_body():
    mail = parse_message(read("php-mime-mail-parser/m0028.eml"))

    assert mail.text == "This is the plain text content of the email"
    assert len(mail.attachments) == 10
    assert mail.attachments[0].filename == "789AA8B6-3C8F-4E16-9E55-3CD173C3AE3A.txt"
    assert {a.content_type for a in mail.attachments} == {"text/plain"}
    assert not any(a.inline for a in mail.attachments)


def test_rfc2231_filename_and_unnamed_attachment():
    raw = message("""
        From: a@example.com
        Subject: files
        Content-Type: multipart/mixed; boundary="b1"
    """, b"\r\n".join([
        b"--b1", b"Content-Type: text/plain", b"", b"See attached.",
        b"--b1", b"Content-Type: application/pdf",
        b"Content-Disposition: attachment; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf",
        b"Content-Transfer-Encoding: base64", b"", base64.b64encode(b"%PDF-1.4 test"),
        b"--b1", b"Content-Type: application/octet-stream",
        b"Content-Disposition: attachment", b"", b"raw",
        b"--b1--", b""]))

    mail = parse_message(raw)

    assert mail.text == "See attached."
    assert [(a.filename, a.content_type, a.content) for a in mail.attachments] == [
        ("Rechnung März.pdf", "application/pdf", b"%PDF-1.4 test"),
        ("attachment-2.bin", "application/octet-stream", b"raw"),
    ]


def test_attachment_filename_keeps_no_path():
    raw = message("""
        From: a@example.com
        Content-Type: multipart/mixed; boundary="b1"
    """, b"\r\n".join([
        b"--b1", b"Content-Type: text/plain", b"", b"x",
        b"--b1", b"Content-Type: text/plain",
        b'Content-Disposition: attachment; filename="../../etc/passwd"', b"", b"y",
        b"--b1--", b""]))

    assert parse_message(raw).attachments[0].filename == "passwd"


def test_nested_message_is_kept_as_eml_attachment_and_outer_text_read():
    mail = parse_message(read("flanker/enclosed.eml"))

    assert mail.text == "Hello"
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("thanks.eml", "message/rfc822")]
    assert b"Subject: Thanks!" in mail.attachments[0].content


def test_message_that_is_only_a_forward_takes_text_from_the_forwarded_message():
    inner = message("""
        From: b@example.com
        Subject: original
        Content-Type: text/plain; charset=utf-8
    """, "Die ursprüngliche Anfrage".encode())
    raw = message("""
        From: a@example.com
        Subject: Fwd: original
        Content-Type: multipart/mixed; boundary="b1"
    """, b"--b1\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--b1--\r\n")

    mail = parse_message(raw)

    assert mail.text == "Die ursprüngliche Anfrage"
    assert mail.attachments[0].content_type == "message/rfc822"


@pytest.mark.parametrize(("name", "expected"), [
    ("flanker/missing-boundaries.eml", "Hi This is a broken message"),
    ("flanker/no-ctype.eml", "Hello,\nI'm just testing message parsing\n\nBR,\nBob"),
    ("flanker/mailformed-headers.eml", "Hello"),
])
def test_broken_mime_still_yields_text(name, expected):
    mail = parse_message(read(name))

    assert expected in mail.text


def test_garbage_bytes_do_not_raise():
    for raw in (b"", b"\x00\xff\xfe", b"Content-Type: multipart/mixed\r\n\r\n--\r\n",
                b"Subject: =?utf-8?B?####?=\r\nFrom: <<<@>>>\r\nDate: yesterday\r\n\r\nbody",
                b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xe9t\xe9"):
        mail = parse_message(raw)
        assert mail.kind == "message"
        assert mail.message_id


def test_unknown_charset_label_falls_back_to_detection():
    mail = parse_message(b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n"
                         + "Bonjour, voilà le récépissé demandé pour la livraison de "
                           "lundi.".encode("cp1252"))

    assert mail.text == "Bonjour, voilà le récépissé demandé pour la livraison de lundi."


def test_missing_message_id_is_stable_hash_of_raw():
    raw = b"From: a@example.com\r\nSubject: no id\r\n\r\nbody"

    first, second = parse_message(raw), parse_message(raw)

    assert first.message_id == second.message_id
    assert first.message_id.endswith("@missing-id.invalid")
    assert parse_message(raw + b"!").message_id != first.message_id


def test_html_only_mail_derives_text_and_sanitises_html():
    html = (b'<html><head><title>T</title><style>p{color:red}</style>'
            b'<script>alert(1)</script></head><body>'
            b'<p onclick="steal()" data-x="1" hx-get="/admin">Hello &amp; welcome</p>'
            b'<div>Line one<br>Line two</div><ul><li>first</li><li>second</li></ul>'
            b'<a href="javascript:alert(1)">bad</a> <a href="https://example.com/x">good</a>'
            b'<img src="cid:logo@x" alt="logo"><img src="https://tracker.example/p.gif">'
            b'</body></html>')
    raw = message("""
        From: a@example.com
        Subject: html
        Content-Type: text/html; charset=utf-8
    """, html)

    mail = parse_message(raw)

    assert mail.text == "Hello & welcome\n\nLine one\nLine two\n- first\n- second\nbad good"
    for forbidden in ("script", "alert", "onclick", "data-x", "hx-get", "style", "javascript"):
        assert forbidden not in mail.html
    assert '<img src="cid:logo@x" alt="logo">' in mail.html
    assert 'href="https://example.com/x"' in mail.html


def test_alternative_prefers_plain_text_for_text_and_keeps_html():
    raw = message("""
        From: a@example.com
        Subject: alt
        Content-Type: multipart/alternative; boundary="b1"
    """, b"\r\n".join([
        b"--b1", b"Content-Type: text/plain; charset=utf-8", b"", b"Plain version",
        b"--b1", b"Content-Type: text/html; charset=utf-8", b"", b"<p>HTML <b>version</b></p>",
        b"--b1--", b""]))

    mail = parse_message(raw)

    assert mail.text == "Plain version"
    assert mail.html == "<p>HTML <b>version</b></p>"
    assert mail.attachments == []


def test_mail_without_html_has_empty_html():
    assert parse_message(read("flanker/no-ctype.eml")).html == ""


def test_thread_case_ids_are_unfolded_and_all_collected():
    first = parse_message(read("cases/mail-thread-by-references/01_outgoing_agent_reply.eml"))
    second = parse_message(read("cases/mail-thread-by-references/02_customer_reply.eml"))
    third = parse_message(read(
        "cases/mail-thread-by-references/03_customer_followup_no_ticket_number.eml"))

    assert first.message_id == "ticket-1042-article-2@accord.example"
    assert second.in_reply_to == ["ticket-1042-article-2@accord.example"]
    assert second.ticket_number == 1042
    assert third.message_id == "CAF3z5@mail.dewit-bouw.example"
    assert third.in_reply_to == ["CAF2y7@mail.dewit-bouw.example"]
    assert third.references == ["CAF1x9@mail.dewit-bouw.example",
                                "ticket-1042-article-2@accord.example",
                                "CAF2y7@mail.dewit-bouw.example"]
    assert set(third.all_ids) == {"CAF1x9@mail.dewit-bouw.example",
                                  "ticket-1042-article-2@accord.example",
                                  "CAF2y7@mail.dewit-bouw.example"}
    assert len(third.all_ids) == 3
    assert third.ticket_number is None
    assert third.subject == "AW: invoice"
    assert clean_subject(third.subject) == "invoice"
    assert third.date == datetime(2025, 3, 10, 10, 40, tzinfo=UTC)
    assert third.from_name == "Pieter de Wit"


def test_references_are_deduplicated_in_order():
    raw = b"References: <a@x> <b@x>\r\n <a@x>\r\n\t<c@x>\r\nIn-Reply-To: <c@x>\r\n\r\nhi"

    mail = parse_message(raw)

    assert mail.references == ["a@x", "b@x", "c@x"]
    assert mail.all_ids == ["c@x", "a@x", "b@x"]


def test_addresses_are_lower_cased_and_listed():
    raw = message("""
        From: "Doe, Jane" <Jane.Doe@Example.COM>
        Reply-To: Help <HELP@example.com>
        To: Support <support@accord.example>, other@EXAMPLE.org
        Cc: =?utf-8?Q?J=C3=B6rg?= <joerg@example.de>, not an address
        Date: Mon, 10 Mar 2025 11:15:00 +0100
    """, b"hi")

    mail = parse_message(raw)

    assert (mail.from_name, mail.from_address) == ("Doe, Jane", "jane.doe@example.com")
    assert mail.reply_to == "help@example.com"
    assert mail.to == ["support@accord.example", "other@example.org"]
    assert mail.cc == ["joerg@example.de"]
    assert mail.date == datetime(2025, 3, 10, 10, 15, tzinfo=UTC)


def test_unparseable_from_and_date_are_empty():
    mail = parse_message(b"From: nobody\r\nDate: the day after tomorrow\r\n\r\nhi")

    assert (mail.from_name, mail.from_address, mail.date) == ("", "", None)


@pytest.mark.parametrize(("subject", "number"), [
    ("[#1042] Question", 1042),
    ("Re: Question about invoice [#77]", 77),
    ("Invoice #1042", None),
    ("[1042] Invoice", None),
    ("", None),
])
def test_ticket_number_in_subject(subject, number):
    assert ticket_number_in(subject) == number


@pytest.mark.parametrize(("subject", "clean"), [
    ("Re: [#1042] Question about invoice", "Question about invoice"),
    ("RE[2]: AW: Sv: VS: invoice", "invoice"),
    ("Fwd: WG: TR: Fw: re: Preisliste", "Preisliste"),
    ("Re:Re:Re: x", "x"),
    ("Regarding the delivery", "Regarding the delivery"),
    ("Trouble: printer", "Trouble: printer"),
])
def test_clean_subject(subject, clean):
    assert clean_subject(subject) == clean


def test_reply_text_trims_quoted_history():
    raw = message("""
        From: a@example.com
        Subject: Re: x
        Content-Type: text/plain; charset=utf-8
    """, b"Yes, Tuesday works.\r\n\r\nOn Mon, 10 Mar 2025 at 10:00, Support "
         b"<support@accord.example> wrote:\r\n> Does Tuesday work?\r\n")

    mail = parse_message(raw)

    assert mail.reply_text == "Yes, Tuesday works."
    assert "> Does Tuesday work?" in mail.text


@pytest.mark.parametrize(("name", "kind"), [
    ("flanker/bounce/gmail-no-dns.eml", "bounce"),
    ("flanker/bounce/mailbox-full.eml", "bounce"),
    ("php-mime-mail-parser/failure.eml", "bounce"),
    ("flanker/complaints/yahoo.eml", "complaint"),
    ("flanker/disposition-notification.eml", "receipt"),
    ("php-mime-mail-parser/issue212.eml", "auto_reply"),
    ("flanker/no-ctype.eml", "message"),
    ("cases/mail-thread-by-references/02_customer_reply.eml", "message"),
])
def test_kind_of_real_messages(name, kind):
    assert parse_message(read(name)).kind == kind


@pytest.mark.parametrize(("headers", "kind"), [
    ("Auto-Submitted: auto-replied", "auto_reply"),
    ("Auto-Submitted: auto-generated", "auto_reply"),
    ("Auto-Submitted: no", "message"),
    ("X-Autoreply: yes", "auto_reply"),
    ("X-Autorespond: Out of office", "auto_reply"),
    ("Precedence: bulk", "auto_reply"),
    ("Precedence: junk", "auto_reply"),
    ("Precedence: auto_reply", "auto_reply"),
    ("Subject: Out of Office: invoice", "auto_reply"),
    ("Subject: Automatic reply: invoice", "auto_reply"),
    ("Subject: Abwesenheitsnotiz: Rechnung", "auto_reply"),
    ("X-Failed-Recipients: someone@example.com", "bounce"),
    ("Subject: Undeliverable: invoice\r\nAuto-Submitted: auto-replied", "bounce"),
    ("Subject: Mail delivery failed\r\nReturn-Path: <>", "bounce"),
    ("Subject: Undeliverable package, please help", "message"),
])
def test_kind_from_headers(headers, kind):
    raw = b"From: person@example.com\r\n" + headers.encode() + b"\r\n\r\nHello"

    assert parse_message(raw).kind == kind


def test_mailer_daemon_sender_is_a_bounce_and_postmaster_needs_a_bounce_subject():
    daemon = parse_message(b"From: MAILER-DAEMON@example.com\r\nSubject: hi\r\n\r\nx")
    postmaster = parse_message(b"From: Postmaster <postmaster@example.com>\r\nSubject: "
                               b"About your domain\r\n\r\nx")
    failed = parse_message(b"From: postmaster@example.com\r\nSubject: Undeliverable Mail"
                           b"\r\n\r\nx")

    assert (daemon.kind, postmaster.kind, failed.kind) == ("bounce", "message", "bounce")
