import pytest

from accord.customers.custom_fields import clean_values
from accord.customers.models import CustomField, FieldType
from accord.errors import InvalidInput


def field(key, field_type, **extra):
    return CustomField(key=key, label=key.title(), field_type=field_type, **extra)


FIELDS = [
    field("plan", FieldType.CHOICE, choices=["Basic", "Pro"]),
    field("services", FieldType.MULTI_CHOICE, choices=["Phone", "Fiber", "TV"]),
    field("monthly", FieldType.MONEY, currency="USD"),
    field("seats", FieldType.NUMBER),
    field("renewal", FieldType.DATE),
    field("last_login", FieldType.DATETIME),
    field("churned", FieldType.BOOLEAN),
    field("site", FieldType.URL),
    field("billing", FieldType.EMAIL),
    field("hotline", FieldType.PHONE),
    field("notes", FieldType.LONG_TEXT),
]


def test_values_are_stored_in_their_canonical_form():
    values = clean_values(FIELDS, {
        "plan": "Pro", "services": ["TV", "Phone"], "monthly": "29.9", "seats": 12,
        "renewal": "2027-01-31", "last_login": "2026-05-01T11:30:00+02:00", "churned": "No",
        "site": "https://example.com/a", "billing": "Billing@Example.com",
        "hotline": "+44 20 7946 0958", "notes": "  called twice  ",
    }, partial=False)

    assert values == {
        "plan": "Pro", "services": ["Phone", "TV"],
        "monthly": {"amount": "29.90", "currency": "USD"}, "seats": "12",
        "renewal": "2027-01-31", "last_login": "2026-05-01T09:30:00Z", "churned": False,
        "site": "https://example.com/a", "billing": "billing@example.com",
        "hotline": "+442079460958", "notes": "called twice",
    }


def test_every_bad_value_is_named_with_its_reason():
    with pytest.raises(InvalidInput) as caught:
        clean_values(FIELDS, {
            "plan": "Gold", "monthly": "12.345", "seats": "many", "renewal": "31/01/2027",
            "last_login": "2026-05-01T11:30:00", "churned": "maybe", "site": "example",
            "unknown": 1,
        }, partial=False)

    assert caught.value.as_dict() == {
        "custom_fields.unknown": "There is no custom field with this key.",
        "custom_fields.plan": "Choose one of: Basic, Pro.",
        "custom_fields.monthly": "Amounts have at most two decimal places.",
        "custom_fields.seats": "Enter a number, such as 42 or 3.5.",
        "custom_fields.renewal": "Enter a date as YYYY-MM-DD.",
        "custom_fields.last_login": "Include the time zone, such as Z or +02:00.",
        "custom_fields.churned": "Enter yes or no.",
        "custom_fields.site": "Enter a full web address starting with https://.",
    }


def test_blank_money_such_as_a_single_space_is_empty_not_zero():
    assert clean_values(FIELDS, {"monthly": " "}, partial=False) == {}


def test_partial_update_keeps_other_values_and_clears_with_null():
    current = {"plan": "Pro", "seats": "3"}

    values = clean_values(FIELDS, {"seats": None}, current, partial=True)

    assert values == {"plan": "Pro"}


def test_required_field_must_have_a_value():
    required = [field("plan", FieldType.CHOICE, choices=["Basic"], required=True)]

    with pytest.raises(InvalidInput) as caught:
        clean_values(required, {}, partial=False)

    assert caught.value.as_dict() == {"custom_fields.plan": "Plan is required."}


@pytest.mark.parametrize(("value", "message"), [
    ("1e30", "Enter an amount, such as 1250.00."),
    ({"amount": "1e400", "currency": "USD"}, "Enter an amount, such as 1250.00."),
    ({"amount": "5", "currency": "EUR"}, "This field holds amounts in USD."),
])
def test_money_out_of_range_or_in_another_currency_is_refused(value, message):
    with pytest.raises(InvalidInput) as caught:
        clean_values(FIELDS, {"monthly": value}, partial=False)

    assert caught.value.as_dict() == {"custom_fields.monthly": message}


def test_numbers_are_stored_written_out_and_absurd_exponents_refused():
    assert clean_values(FIELDS, {"seats": "1E+3"}, partial=False) == {"seats": "1000"}
    with pytest.raises(InvalidInput) as caught:
        clean_values(FIELDS, {"seats": "1e400"}, partial=False)

    assert caught.value.as_dict() == {"custom_fields.seats": "Enter a number, such as 42 or 3.5."}


def test_impossible_calendar_date_is_refused_with_the_usual_message():
    with pytest.raises(InvalidInput) as caught:
        clean_values(FIELDS, {"renewal": "2027-02-30"}, partial=False)

    assert caught.value.as_dict() == {"custom_fields.renewal": "Enter a date as YYYY-MM-DD."}


def test_text_with_a_nul_character_is_refused():
    with pytest.raises(InvalidInput) as caught:
        clean_values(FIELDS, {"notes": "A\x00B"}, partial=False)

    assert caught.value.as_dict() == {
        "custom_fields.notes": "Remove the NUL character; it cannot be stored."}
