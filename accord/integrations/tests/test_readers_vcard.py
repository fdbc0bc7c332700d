import base64
import tracemalloc
from pathlib import Path

import pytest

from accord.integrations.readers import Card, ReadError, Row, open_table

TESTDATA = Path(__file__).resolve().parents[2] / "testdata"
CASES = TESTDATA / "cases"
VCARDS = TESTDATA / "vcards"


def cards(path, **options):
    return list(open_table(path, **options).cards())


def strings(card: Card):
    """Every text a card holds, to check none keeps a trace of its encoding."""
    values = [card.first_name, card.last_name, card.display_name, card.organization,
              card.department, card.title, card.note, *card.urls]
    for item in card.emails + card.phones + card.addresses:
        values += [value for value in item.values() if isinstance(value, str)]
    return values


def test_quoted_printable_soft_breaks_are_joined_before_decoding():
    zoe, irina = cards(CASES / "vcard21-quoted-printable-soft-breaks" / "phone_export.vcf")

    assert (zoe.number, zoe.first_name, zoe.last_name, zoe.display_name) == (
        1, "Zoé", "Lefèvre-Château", "Zoé Lefèvre-Château")
    assert zoe.phones == [
        {"raw": "+33612345678", "kind": "mobile", "label": "", "is_primary": False}]
    assert zoe.addresses == [{
        "kind": "home", "street": "12 rue des Pêcheurs", "city": "Saint-Étienne",
        "region": "", "postal_code": "42000", "country": "France", "label": "",
    }]
    assert (irina.number, irina.first_name, irina.last_name, irina.display_name) == (
        2, "Ирина", "Соколова-Белоусова", "Ирина Соколова-Белоусова")
    assert irina.phones[0]["raw"] == "+79161234567"
    assert irina.note == "Line one\nLine two = ok"
    for card in (zoe, irina):
        assert card.dropped == []
        for text in strings(card):
            assert "=C3" not in text
            assert "=D0" not in text
            assert "\ufffd" not in text


def test_every_email_phone_and_address_is_kept_with_type_and_label():
    (femke,) = cards(CASES / "vcard-multiple-emails-phones" / "femke.vcf")

    assert (femke.first_name, femke.last_name, femke.display_name) == (
        "Femke", "Achterberg", "Femke Achterberg")
    assert (femke.organization, femke.department, femke.title) == (
        "Polder Logistics B.V.", "Inkoop", "Inkoopmanager")
    assert femke.birthday.isoformat() == "1984-09-17"
    assert femke.emails == [
        {"address": "f.achterberg@polder-logistics.example", "kind": "work", "label": "",
         "is_primary": False},
        {"address": "femke.a@mail.example", "kind": "home", "label": "", "is_primary": True},
        {"address": "facturen@polder-logistics.example", "kind": "other", "label": "Billing",
         "is_primary": False},
    ]
    assert femke.phones == [
        {"raw": "+31 6 12345678", "kind": "mobile", "label": "", "is_primary": False},
        {"raw": "+31 10 123 4567", "kind": "work", "label": "", "is_primary": False},
        {"raw": "+31 10 123 4568", "kind": "fax", "label": "", "is_primary": False},
    ]
    assert femke.addresses == [
        {"kind": "work", "street": "Havenstraat 12", "city": "Rotterdam", "region": "",
         "postal_code": "3011 AB", "country": "Nederland", "label": ""},
        {"kind": "home", "street": "Lindelaan 3", "city": "Delft", "region": "",
         "postal_code": "2611 CD", "country": "Nederland", "label": ""},
    ]
    assert femke.photo is None
    assert femke.dropped == []


def test_preview_rows_show_first_email_and_phone():
    table = open_table(CASES / "vcard-multiple-emails-phones" / "femke.vcf")

    assert table.kind == "vcard"
    assert table.headers == [
        "First name", "Last name", "Company", "Job title", "E-mail", "Phone", "Birthday"]
    assert list(table.rows()) == [Row(2, [
        "Femke", "Achterberg", "Polder Logistics B.V.", "Inkoopmanager",
        "f.achterberg@polder-logistics.example", "+31 6 12345678", "1984-09-17"], [])]


CARD_COUNTS = {
    "John_Doe_ANDROID.vcf": 6, "gmail-list.vcf": 3, "rfc2426-example.vcf": 2,
}


@pytest.mark.parametrize("path", sorted(VCARDS.glob("*.vcf")), ids=lambda path: path.name)
def test_every_sample_file_opens(path):
    table = open_table(path)

    read = list(table.cards())

    assert len(read) == CARD_COUNTS.get(path.name, 1)
    assert [card.number for card in read] == list(range(1, len(read) + 1))
    assert len(list(table.rows())) == len(read)
    for card in read:
        assert card.display_name or card.emails
        for text in strings(card):
            assert "\ufffd" not in text


def test_android_export_with_bare_types_pref_and_a_broken_value():
    read = cards(VCARDS / "John_Doe_ANDROID.vcf")

    assert read[0].emails == [{"address": "john.doe@company.com", "kind": "other",
                               "label": "", "is_primary": True}]
    assert [(p["raw"], p["kind"], p["is_primary"]) for p in read[3].phones] == [
        ("123456", "mobile", True), ("234567", "home", False),
        ("3456789", "mobile", False), ("45678901", "home", False)]
    assert read[3].display_name == "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ"
    assert [p["kind"] for p in read[4].phones] == ["mobile", "work", "fax"]
    assert read[4].organization == "Ñ" * 12
    assert read[4].urls == ["www.company.com", "http://www.company.com"]
    assert "PHOTO: a picture that could not be decoded was not imported" in read[4].dropped
    assert read[5].organization == "Ñ" * 44
    assert read[5].dropped[0] == (
        "ORG: a value that is not valid UTF-8 text was not imported")
    assert read[0].categories == ["My Contacts"]


def test_apple_item_groups_give_labels_and_photo_is_kept():
    (john,) = cards(VCARDS / "John_Doe_IPHONE.vcf")

    assert john.phones[-1] == {"raw": "905-222-1234", "kind": "other",
                               "label": "Assistant phone", "is_primary": False}
    assert john.phones[-2] == {"raw": "905-111-1234", "kind": "other", "label": "Pager",
                               "is_primary": False}
    assert john.phones[0]["is_primary"] is True
    assert john.addresses[1]["street"] == "Street4\nBuilding 6\nFloor 8"
    assert john.urls == ["http://www.ibm.com"]
    media_type, content = john.photo
    assert media_type == "image/jpeg"
    assert content[:2] == b"\xff\xd8"
    assert len(content) == 32531


def test_gmail_labels_escapes_and_folded_note():
    (john,) = cards(VCARDS / "John_Doe_GMAIL.vcf")
    (test,) = cards(VCARDS / "gmail-single2.vcf")

    assert john.display_name == "Mr. John Richter, James Doe Sr."
    assert john.note.startswith('THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND '
                                'CONTRIBUTORS "AS IS" AND ANY EXPRESS')
    assert john.note.endswith("POSSIBILITY OF SUCH DAMAGE.\nFavotire Color: Blue")
    assert john.urls == ["http://www.ibm.com"]
    assert "X-ABRELATEDNAMES: Jenny was not imported" in john.dropped
    assert test.emails[-1] == {"address": "customcategory@example.com", "kind": "other",
                               "label": "CustomEmailCategory", "is_primary": False}
    assert test.addresses[-1]["label"] == "CustomAddressCategory"
    assert test.urls[-1] == "http://www.example6.com"


def test_outlook_quoted_printable_note_and_binary_key():
    (john,) = cards(VCARDS / "outlook-2003.vcf")

    assert john.note == "This is the note field!!\nSecond line\n\nThird line is empty\n"
    assert john.organization == "Company, The"
    assert john.birthday.isoformat() == "1980-03-21"
    assert "KEY: binary data was not imported" in john.dropped


def test_vcard4_uris_pref_and_altid():
    (simon,) = cards(VCARDS / "rfc6350-example.vcf")
    (john,) = cards(VCARDS / "vcard40_full.vcf")
    (taro,) = cards(VCARDS / "vcard40_multilang.vcf")

    assert simon.phones == [
        {"raw": "+1-418-656-9254 ext. 102", "kind": "work", "label": "", "is_primary": True},
        {"raw": "+1-418-262-6501", "kind": "mobile", "label": "", "is_primary": False},
    ]
    assert simon.birthday is None
    assert "BDAY: --0203 was not imported" in simon.dropped
    assert john.display_name == "Dr. John Q. Public, III"
    assert [(e["address"], e["is_primary"]) for e in john.emails] == [
        ("john.public@example.com", False), ("johnny@personal.example.org", True)]
    assert "IMPP: xmpp:john@jabber.example.com was not imported" in john.dropped
    assert "PHOTO: http://www.example.com/pub/photos/jqpublic.gif was not imported" in (
        john.dropped)
    assert (taro.display_name, taro.first_name, taro.last_name) == (
        "Yamada Taro", "Taro", "Yamada")
    assert taro.dropped == []


def test_data_uri_photo_and_8bit_text_without_charset(tmp_path):
    picture = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
    path = tmp_path / "export.vcf"
    path.write_bytes(
        b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ren\xe9e M\xfcller\r\n"
        b"PHOTO:data:image/png;base64," + base64.b64encode(picture) + b"\r\n"
        b"END:VCARD\r\n"
    )

    (card,) = cards(path)

    assert card.display_name == "Renée Müller"
    assert card.photo == ("image/png", picture)


def test_utf16_file_and_kind_from_content(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Weiß;Jörg;;;\r\nEND:VCARD\r\n"
                     .encode("utf-16"))

    table = open_table(path)

    assert table.kind == "vcard"
    assert [(card.first_name, card.last_name) for card in table.cards()] == [("Jörg", "Weiß")]


def test_a_file_without_cards_is_refused(tmp_path):
    path = tmp_path / "contacts.vcf"
    path.write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", encoding="utf-8")

    with pytest.raises(ReadError) as raised:
        open_table(path)

    assert str(raised.value) == (
        "The file holds no contact cards (no line says BEGIN:VCARD).")


def test_cards_are_streamed(tmp_path):
    path = tmp_path / "many.vcf"
    with path.open("w", encoding="utf-8", newline="") as out:
        for number in range(20_000):
            out.write(f"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Person {number};Anna;;;\r\n"
                      f"EMAIL;TYPE=WORK:anna.{number}@example.org\r\n"
                      f"NOTE:{'A long note line. ' * 20}\r\nEND:VCARD\r\n")
    table = open_table(path)

    tracemalloc.start()
    try:
        count = sum(1 for _card in table.cards())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert path.stat().st_size > 8_000_000
    assert count == 20_000
    assert peak < 1_000_000


def test_custom_type_with_accents_becomes_the_label(tmp_path):
    path = tmp_path / "types.vcf"
    path.write_bytes("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jörg Weiß\r\n"
                     "TEL;TYPE=Büro:+49 30 901820\r\nEND:VCARD\r\n".encode())

    (card,) = cards(path)

    assert card.phones == [
        {"raw": "+49 30 901820", "kind": "other", "label": "Büro", "is_primary": False}]


def test_a_card_inside_a_card_is_reported_not_read(tmp_path):
    path = tmp_path / "agent.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Vos;Anke\r\nAGENT:\r\n"
                     b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:Assistent;Piet\r\nEND:VCARD\r\n"
                     b"TEL;WORK:+31 20 123 4567\r\nEND:VCARD\r\n")

    (card,) = cards(path)

    assert (card.first_name, card.last_name) == ("Anke", "Vos")
    assert card.phones[0]["raw"] == "+31 20 123 4567"
    assert card.dropped == ["AGENT: a card inside this card was not imported"]


def test_chosen_encoding_is_the_default_charset(tmp_path):
    path = tmp_path / "latin.vcf"
    path.write_bytes(b"BEGIN:VCARD\r\nVERSION:2.1\r\nN:M\xfcller;J\xfcrgen\r\nEND:VCARD\r\n")

    table = open_table(path, encoding="ISO-8859-1")

    assert [card.last_name for card in table.cards()] == ["Müller"]


def test_unknown_charset_falls_back_to_utf8(tmp_path):
    path = tmp_path / "odd.vcf"
    path.write_bytes("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=X-UNHEARD:Müller;Anna\r\n"
                     "END:VCARD\r\n".encode())

    (card,) = cards(path)

    assert (card.first_name, card.last_name, card.dropped) == ("Anna", "Müller", [])
