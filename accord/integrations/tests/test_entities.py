"""Which field a column header is suggested for, and how a cell is read."""

import pytest

from accord.customers import services as customers
from accord.integrations import cells, entities

GOOGLE = ["Name", "Given Name", "Family Name", "E-mail 1 - Value", "E-mail 2 - Value",
          "Phone 1 - Value", "Organization 1 - Name", "Organization 1 - Title", "Birthday",
          "Group Membership"]
OUTLOOK = ["First Name", "Last Name", "E-mail Address", "E-mail 2 Address", "Mobile Phone",
           "Business Phone", "Business Fax", "Company", "Job Title", "Business Street",
           "Business City", "Business Postal Code", "Business Country/Region", "Notes"]


def test_google_contacts_headers(org, in_org):
    with in_org(org):
        suggested = entities.get("contact").suggest(GOOGLE)

    assert suggested == {
        "Name": "name", "Given Name": "first_name", "Family Name": "last_name",
        "E-mail 1 - Value": "email", "E-mail 2 - Value": "email_home",
        "Phone 1 - Value": "phone", "Organization 1 - Name": "company",
        "Organization 1 - Title": "title", "Birthday": "birthday", "Group Membership": "tags",
    }


def test_outlook_headers(org, in_org):
    with in_org(org):
        suggested = entities.get("contact").suggest(OUTLOOK)

    assert suggested == {
        "First Name": "first_name", "Last Name": "last_name", "E-mail Address": "email",
        "E-mail 2 Address": "email_home", "Mobile Phone": "phone_mobile",
        "Business Phone": "phone_work", "Business Fax": "phone_fax", "Company": "company",
        "Job Title": "title", "Business Street": "street", "Business City": "city",
        "Business Postal Code": "postal_code", "Business Country/Region": "country",
        "Notes": "note",
    }


def test_german_french_and_dutch_headers(org, in_org):
    with in_org(org):
        contact = entities.get("contact")
        german = contact.suggest(["Vorname", "Nachname", "E-Mail-Adresse", "Firma", "PLZ",
                                  "Ort", "Handy"])
        french = contact.suggest(["Prénom", "Nom", "Courriel", "Société", "Ville"])
        dutch = contact.suggest(["Voornaam", "Achternaam", "E-mailadres", "Bedrijf",
                                 "Woonplaats", "Mobiel"])

    assert german == {"Vorname": "first_name", "Nachname": "last_name",
                      "E-Mail-Adresse": "email", "Firma": "company", "PLZ": "postal_code",
                      "Ort": "city", "Handy": "phone_mobile"}
    assert french == {"Prénom": "first_name", "Nom": "last_name", "Courriel": "email",
                      "Société": "company", "Ville": "city"}
    assert dutch == {"Voornaam": "first_name", "Achternaam": "last_name",
                     "E-mailadres": "email", "Bedrijf": "company", "Woonplaats": "city",
                     "Mobiel": "phone_mobile"}


def test_accord_export_headers_and_field_keys_map_by_themselves(org, admin, in_org):
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "label": "Customer since", "key": "customer_since",
            "field_type": "date"})
        contact = entities.get("contact")
        export = contact.suggest(["First name", "Last name", "E-mail", "Phone", "Job title",
                                  "Company", "Lifecycle stage", "Customer since"])
        keys = contact.suggest(["first_name", "email", "cf.customer_since"])

    assert export == {
        "First name": "first_name", "Last name": "last_name", "E-mail": "email",
        "Phone": "phone", "Job title": "title", "Company": "company",
        "Lifecycle stage": "lifecycle_stage", "Customer since": "cf.customer_since"}
    assert keys == {"first_name": "first_name", "email": "email",
                    "cf.customer_since": "cf.customer_since"}


def test_a_header_never_takes_a_field_twice_and_unknown_ones_stay_unmapped(org, in_org):
    with in_org(org):
        suggested = entities.get("contact").suggest(["Email", "E-mail", "Shoe size"])

    assert suggested == {"Email": "email"}


def test_a_misspelt_long_header_maps_but_a_different_short_word_does_not(org, in_org):
    with in_org(org):
        # "Contract" (a telco plan) is one letter from "Contact", a name.
        suggested = entities.get("contact").suggest(["E-mail adress", "Contract", "Phone no"])

    assert suggested == {"E-mail adress": "email"}


def test_the_header_key_ignores_order_case_and_byte_order_mark():
    assert entities.header_key(["\ufeffemail", "First Name"]) == entities.header_key(
        ["first name", "Email"])
    assert entities.header_key(["email"]) != entities.header_key(["email", "phone"])


@pytest.mark.parametrize(("text", "code"), [
    ("NL", "NL"), ("de", "DE"), ("Nederland", "NL"), ("France", "FR"), ("Deutschland", "DE"),
    ("United Kingdom", "GB"),
])
def test_countries_are_read_from_codes_and_names(text, code):
    assert cells.country(text) == code


def test_an_unknown_country_name_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="two-letter country code"):
        cells.country("Atlantis")


@pytest.mark.parametrize(("text", "kept"), [
    ("'=1+2", "=1+2"), ("'+44 20", "+44 20"), ("'-5", "-5"), ("'@x", "@x"), ("'\tx", "\tx"),
    ("'Plain", "'Plain"), ("'", "'"), ("''=x", "''=x"),
])
def test_only_the_quote_an_export_adds_is_removed(text, kept):
    assert cells.unescape(text) == kept
