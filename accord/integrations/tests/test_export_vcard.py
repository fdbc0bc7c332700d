"""vCard 4.0 output: types, PREF, labels, escaping and folding, read back by a small parser."""

from accord.integrations.vcard_out import contact_card, escape, fold


def unfold(card: str) -> list[str]:
    """The logical lines of a card: CRLF then a space continues the previous line."""
    assert card.endswith("\r\n")
    return card[:-2].replace("\r\n ", "").split("\r\n")


def parse(card: str) -> list[tuple[str, dict, str]]:
    """(name with group, params, raw value) for each property, in order."""
    properties = []
    for line in unfold(card):
        head, _, value = line.partition(":")
        name, *params = head.split(";")
        properties.append((name, dict(param.split("=", 1) for param in params), value))
    return properties


FEMKE = {
    "id": 42,
    "first_name": "Femke", "last_name": "Achterberg", "title": "Inkoop; Noord, Zuid",
    "company": {"id": 7, "name": "Polder Logistics B.V."},
    "emails": [
        {"address": "femke.a@mail.example", "kind": "home", "label": "", "primary": True},
        {"address": "f.achterberg@polder-logistics.example", "kind": "work", "label": "",
         "primary": False},
        {"address": "facturen@polder-logistics.example", "kind": "other", "label": "Billing",
         "primary": False},
    ],
    "phones": [
        {"raw": "+31 6 12345678", "e164": "+31612345678", "extension": "", "kind": "mobile",
         "label": "", "primary": True},
        {"raw": "+31 10 123 4567", "e164": "+31101234567", "extension": "", "kind": "work",
         "label": "", "primary": False},
        {"raw": "+31 10 123 4568", "e164": "+31101234568", "extension": "", "kind": "fax",
         "label": "", "primary": False},
    ],
    "street": "Havenstraat 12", "city": "Rotterdam", "region": "", "postal_code": "3011 AB",
    "country": "NL", "birthday": "1984-09-17", "tags": ["vip"],
    "updated_at": "2026-12-04T19:06:42Z",
}


def test_card_keeps_every_email_and_phone_with_type_pref_and_label():
    properties = parse(contact_card(FEMKE))

    assert properties == [
        ("BEGIN", {}, "VCARD"),
        ("VERSION", {}, "4.0"),
        ("PRODID", {}, "-//Accord//Accord CRM//EN"),
        ("UID", {"VALUE": "text"}, "accord-contact-42"),
        ("FN", {}, "Femke Achterberg"),
        ("N", {}, "Achterberg;Femke;;;"),
        ("ORG", {}, "Polder Logistics B.V."),
        ("TITLE", {}, "Inkoop\\; Noord\\, Zuid"),
        ("EMAIL", {"TYPE": "home", "PREF": "1"}, "femke.a@mail.example"),
        ("EMAIL", {"TYPE": "work"}, "f.achterberg@polder-logistics.example"),
        ("item1.EMAIL", {}, "facturen@polder-logistics.example"),
        ("item1.X-ABLabel", {}, "Billing"),
        ("TEL", {"VALUE": "text", "TYPE": "cell", "PREF": "1"}, "+31 6 12345678"),
        ("TEL", {"VALUE": "text", "TYPE": "work"}, "+31 10 123 4567"),
        ("TEL", {"VALUE": "text", "TYPE": "fax"}, "+31 10 123 4568"),
        ("ADR", {}, ";;Havenstraat 12;Rotterdam;;3011 AB;NL"),
        ("BDAY", {}, "19840917"),
        ("CATEGORIES", {}, "vip"),
        ("REV", {}, "20261204T190642Z"),
        ("END", {}, "VCARD"),
    ]


def test_card_lines_end_in_crlf_and_fold_at_75_octets_between_characters():
    long_name = "Łukasz Żółćkiewicz-Świątkowska " * 4
    card = contact_card({**FEMKE, "title": long_name, "note": "Line one\nLine two; more"})
    physical = card.encode("utf-8").split(b"\r\n")[:-1]

    assert b"\n" not in card.encode("utf-8").replace(b"\r\n", b"")
    assert max(len(line) for line in physical) == 75
    for line in physical:
        line.decode("utf-8")  # a character split across lines would not decode
    assert ("TITLE", {}, long_name) in parse(card)
    assert ("NOTE", {}, "Line one\\nLine two\\; more") in parse(card)


def test_escape_and_fold_edge_cases():
    assert escape("a\\b,c;d\r\ne") == "a\\\\b\\,c\\;d\\ne"
    assert fold("X" * 75) == "X" * 75 + "\r\n"
    assert fold("X" * 76) == "X" * 75 + "\r\n X\r\n"
    assert fold("X" * 74 + "é") == "X" * 74 + "\r\n é\r\n"
