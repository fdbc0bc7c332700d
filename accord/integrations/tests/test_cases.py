"""The reported import cases (accord/testdata/cases), through the `import` command."""

import datetime as dt
import io
import json

from django.core.management import call_command

from accord.activities.models import Activity
from accord.customers import services as customers
from accord.customers.models import Company, Contact, ContactPhone


def run(path, org, **options) -> dict:
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, stdout=out, stderr=io.StringIO(), **options)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_windows_1252_file_stores_every_letter_and_is_found_by_search(
    org, admin, in_org, case, client_for
):
    summary = run(case("csv-windows-1252/contacts_cp1252.csv"), org, entity="contact")

    assert (summary["created"], summary["failed"]) == (4, 0)
    with in_org(org):
        contacts = list(Contact.objects.select_related("company").order_by("pk"))
        rows = [(c.first_name, c.last_name, c.company.name, c.city) for c in contacts]
        notes = list(Activity.objects.filter(kind="note").order_by("contact_id")
                     .values_list("body", flat=True))
    assert rows == [
        ("Ömer", "Özdemir", "Öko Bau GmbH", "Überlingen"),
        ("Élise", "Äbersold", "Café Lumière SARL", "Genève"),
        ("Siobhán", "O\u2019Rourke", "Dún Laoghaire Marine", "Dublin"),
        ("Jörg", "Weiß", "Straßenbau Weiß & Söhne", "München"),
    ]
    assert notes == ["Rückruf erbeten", "Angebot 1.250 \u20ac netto", "Termin 10\u201311 Uhr",
                     "\u201eBestandskunde\u201c"]
    client = client_for(admin)
    assert "Özdemir" in client.get("/contacts/", {"q": "Özdemir"}).text
    found = client.get("/contacts/", {"q": "Weiß"}).text
    assert "Jörg" in found
    assert "Ömer" not in found


def test_phones_keep_what_was_typed_and_get_their_e164(org, admin, in_org, case):
    summary = run(case("phone-leading-zero-and-plus/contacts_phones.csv"), org,
                  entity="contact")

    assert (summary["created"], summary["failed"]) == (6, 0)
    with in_org(org):
        phones = list(ContactPhone.objects.order_by("contact_id").values_list(
            "contact__first_name", "contact__last_name", "raw", "number", "extension"))
    assert phones == [
        ("Lotte", "Peeters", "0444 12 34 56", "+32444123456", ""),
        ("Aidan", "Farrell", "+44 (0)20 7946 0958", "+442079460958", ""),
        ("Greta", "Lund", "00441632960123", "+441632960123", ""),
        ("Paolo", "Ferri", "02 1234 5678", "+390212345678", ""),
        ("Nina", "Berg", "0049 30 901820", "+4930901820", ""),
        ("Ravi", "Menon", "+1 (555) 010-0199 ext. 42", "+15550100199", "42"),
    ]


def test_day_first_dates_are_read_per_column(org, admin, in_org, case):
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "label": "Customer since", "key": "customer_since",
            "field_type": "date"})

    summary = run(case("date-day-first-column/contacts_dates.csv"), org, entity="contact")

    assert (summary["created"], summary["failed"]) == (3, 0)
    assert summary["mapping"]["birthday"] == "birthday"
    assert summary["mapping"]["customer_since"] == "cf.customer_since"
    with in_org(org):
        rows = [(c.first_name, c.birthday, c.custom_fields["customer_since"])
                for c in Contact.objects.order_by("pk")]
    assert rows == [
        ("Hana", dt.date(1985, 4, 3), "2020-02-01"),
        ("Leon", dt.date(1990, 12, 31), "2021-06-15"),
        ("Ines", dt.date(2001, 11, 12), "2022-08-07"),
    ]


def test_german_semicolon_file_gives_one_company_per_name_and_exact_amounts(
    org, admin, in_org, case, tmp_path
):
    with in_org(org):
        for key, kind in [("deal", "text"), ("amount", "number"), ("closes_on", "date"),
                          ("stage", "text")]:
            customers.create_custom_field(org, admin.user, data={
                "entity": "company", "label": key, "key": key, "field_type": kind})
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Name": "cf.deal", "Firma": "name", "Betrag": "cf.amount",
                                   "Abschlussdatum": "cf.closes_on", "Phase": "cf.stage",
                                   "Beschreibung": "description"}))

    summary = run(case("csv-semicolon-decimal-comma/deals_de.csv"), org, entity="company",
                  mapping=str(mapping), duplicates="skip")

    assert (summary["created"], summary["skipped"], summary["failed"]) == (2, 1, 0)
    with in_org(org):
        rows = [(c.name, c.custom_fields["amount"], c.custom_fields["closes_on"], c.description)
                for c in Company.objects.order_by("pk")]
    assert rows == [
        ("Kessler Antriebe AG", "12500.00", "2024-12-31", "Lieferung; Montage und Wartung"),
        ("Brandt & Co. KG", "980.5", "2025-01-15", "Standardpreise"),
    ]
