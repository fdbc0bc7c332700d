import csv
from pathlib import Path

import pytest

from accord.customers import phones
from accord.customers.phones import parse_phone
from accord.errors import InvalidInput

CASE = Path(__file__).resolve().parents[2] / "testdata" / "cases" / \
    "phone-leading-zero-and-plus" / "contacts_phones.csv"

EXPECTED = {
    "Lotte Peeters": ("0444 12 34 56", "+32444123456", ""),
    "Aidan Farrell": ("+44 (0)20 7946 0958", "+442079460958", ""),
    "Greta Lund": ("00441632960123", "+441632960123", ""),
    "Paolo Ferri": ("02 1234 5678", "+390212345678", ""),
    "Nina Berg": ("0049 30 901820", "+4930901820", ""),
    "Ravi Menon": ("+1 (555) 010-0199 ext. 42", "+15550100199", "42"),
}


def test_phone_case_keeps_raw_and_gives_e164_and_extension():
    with CASE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    parsed = {row["name"]: parse_phone(row["phone"], row["country"]) for row in rows}

    assert {name: (p.raw, p.e164, p.extension) for name, p in parsed.items()} == EXPECTED


def test_national_number_without_country_is_kept_raw_and_flagged():
    phone = parse_phone("020 7946 0958", "")

    assert (phone.raw, phone.e164, phone.needs_country) == ("020 7946 0958", "", True)


@pytest.mark.parametrize("typed", ["+44 20 7946 0958", "0044 20 7946 0958"])
def test_the_same_number_typed_differently_matches(typed):
    assert parse_phone(typed).e164 == parse_phone("020 7946 0958", "GB").e164 == "+442079460958"


@pytest.mark.parametrize(("typed", "message"), [
    ("call me", "Enter a phone number, such as +44 20 7946 0958."),
    ("+44 12", "This phone number has the wrong number of digits."),
])
def test_impossible_numbers_are_refused_with_the_field_named(typed, message):
    with pytest.raises(InvalidInput) as caught:
        parse_phone(typed, "GB", field="phones.0.number")

    assert caught.value.errors == [
        {"field": "phones.0.number", "code": "invalid", "message": message}
    ]


@pytest.mark.parametrize(("typed", "country", "national"), [
    ("+44 20 7946 0958 ext. 42", "", "02079460958"),
    ("02 1234 5678", "IT", "0212345678"),
    ("8 (495) 123-45-67", "RU", "84951234567"),
    ("011 15 1234 5678", "AR", "0111512345678"),
    ("(202) 555-0143 x12", "US", "2025550143"),
])
def test_national_digits_of_a_number_just_parsed_are_those_of_its_e164_form(typed, country,
                                                                            national):
    e164 = parse_phone(typed, country).e164
    remembered = phones.national_digits(e164)
    phones._national.clear()

    assert (remembered, phones.national_digits(e164)) == (national, national)


def _typings() -> list[tuple[str, str]]:
    """(text, country) pairs: every region's example numbers written the ways people
    write them, near misses of each, and the phone cases of the shared test data."""
    import phonenumbers

    formats = phonenumbers.PhoneNumberFormat
    typings = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE,
                     phonenumbers.PhoneNumberType.MOBILE,
                     phonenumbers.PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, formats.E164)
            spaced = phonenumbers.format_number(example, formats.INTERNATIONAL)
            code = str(example.country_code)
            national = e164[1 + len(code):]
            prefix = metadata.national_prefix or "0"
            typings += [
                (e164, ""), (spaced, ""), (spaced.replace(" ", "-"), region),
                ("00" + e164[1:], ""), (e164[:-1], ""), (e164 + "7", ""),
                (e164[:-3] + " " + e164[-3:], ""), (f"+{code} {prefix}{national}", ""),
                (f"+{code} 0{national}", ""), (f"+{code}{national[:2]}", ""),
                (f"+{code} {national} ext 12", ""), (f"+{code} ({prefix}) {national}", ""),
            ]
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            typings.append((phonenumbers.format_number(example, formats.E164), ""))
    typings += [("+1 555 010 0199", ""), ("+1 1555 010 0199", "US"), ("+49 30 0000123", "DE"),
                ("+0 30 1234567", ""), ("+999 1234 5678", ""), ("+49  30 1234567", ""),
                ("+49 30 1234567-", ""), ("+4930123", ""), ("+49 3", ""), ("+123", "")]
    with CASE.open(encoding="utf-8", newline="") as handle:
        typings += [(row["phone"], row["country"]) for row in csv.DictReader(handle)]
    return typings


def _read(typed: str, country: str):
    try:
        phone = parse_phone(typed, country)
    except InvalidInput as exc:
        return exc.errors
    phones._national.clear()
    return phone, phones.national_digits(phone.e164) if phone.e164 else ""


def test_quick_reading_of_international_numbers_agrees_with_phonenumbers(monkeypatch):
    typings = _typings()
    taken = sum(phones._parse_plain_international("+" + typed.strip()[2:]
                                                 if typed.startswith("00") else typed.strip())
                is not None for typed, _ in typings)
    quick = [_read(typed, country) for typed, country in typings]

    monkeypatch.setattr(phones, "_parse_plain_international", lambda text: None)
    full = [_read(typed, country) for typed, country in typings]

    assert (len(typings) > 2000, taken > len(typings) // 4) == (True, True)
    assert [(typed, country, mine, theirs)
            for (typed, country), mine, theirs in zip(typings, quick, full, strict=True)
            if mine != theirs] == []


@pytest.mark.parametrize("typed", ["+44 20 7946 0958", "", "call me", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨",
                                   "12²³", "０２０ ７９４６", "x1y2z3", "\t 0049 30 901820 \n"])
def test_digits_are_counted_as_python_counts_them(typed):
    assert phones._count_digits(typed) == sum(char.isdigit() for char in typed)
