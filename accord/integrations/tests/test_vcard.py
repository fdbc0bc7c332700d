"""Address books (vCard) through the `import` command."""

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from accord.activities.models import Activity
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.integrations import services
from accord.integrations.models import ImportJob


def run(path, org, **options) -> dict:
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, entity="contact", stdout=out,
                 stderr=io.StringIO(), **options)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_every_email_and_phone_of_a_card_is_kept_with_its_type(org, admin, in_org, case):
    summary = run(case("vcard-multiple-emails-phones/femke.vcf"), org)

    with in_org(org):
        contact = Contact.objects.select_related("company").get()
        emails = list(contact.emails.values_list("address", "kind", "label", "is_primary"))
        phones = list(contact.phones.values_list("raw", "number", "kind", "is_primary"))
    assert (summary["created"], summary["failed"]) == (1, 0)
    assert (contact.first_name, contact.last_name, contact.title, contact.company.name,
            contact.birthday) == ("Femke", "Achterberg", "Inkoopmanager",
                                  "Polder Logistics B.V.", dt.date(1984, 9, 17))
    assert (contact.street, contact.postal_code, contact.city, contact.country) == (
        "Havenstraat 12", "3011 AB", "Rotterdam", "NL")
    assert sorted(emails) == [
        ("f.achterberg@polder-logistics.example", "work", "", False),
        ("facturen@polder-logistics.example", "other", "Billing", False),
        ("femke.a@mail.example", "home", "", True),
    ]
    assert phones == [("+31 6 12345678", "+31612345678", "mobile", True),
                      ("+31 10 123 4567", "+31101234567", "work", False),
                      ("+31 10 123 4568", "+31101234568", "fax", False)]


def test_values_a_contact_cannot_hold_are_reported_for_the_card(org, admin, in_org, case):
    run(case("vcard-multiple-emails-phones/femke.vcf"), org)

    with in_org(org):
        problems = list(services.error_rows(ImportJob.objects.get()))

    assert [1, "ORG", "Inkoop", "The department was not imported: contacts have no "
                                "department field."] in problems
    assert [1, "ADR", "Lindelaan 3, 2611 CD Delft, Nederland",
            "This home address was not imported: a contact holds one address."] in problems


def test_importing_a_card_again_updates_the_contact_instead_of_duplicating_it(
    org, admin, in_org, case
):
    run(case("vcard-multiple-emails-phones/femke.vcf"), org)
    with in_org(org):
        customers.update_contact(org, admin.user, Contact.objects.get(), data={"title": ""})

    again = run(case("vcard-multiple-emails-phones/femke.vcf"), org)

    assert (again["created"], again["updated"]) == (0, 1)
    with in_org(org):
        contact = Contact.objects.get()
        assert (contact.title, contact.emails.count(), contact.phones.count()) == (
            "Inkoopmanager", 3, 3)


def test_quoted_printable_cards_from_a_phone_decode_whole_characters(org, admin, in_org, case):
    summary = run(case("vcard21-quoted-printable-soft-breaks/phone_export.vcf"), org)

    with in_org(org):
        contacts = list(Contact.objects.order_by("pk"))
        rows = [(c.first_name, c.last_name, c.phone) for c in contacts]
        first = contacts[0]
        note = Activity.objects.get(kind="note", contact=contacts[1]).body
    assert (summary["created"], summary["failed"]) == (2, 0)
    assert rows == [("Zoé", "Lefèvre-Château", "+33612345678"),
                    ("Ирина", "Соколова-Белоусова", "+79161234567")]
    assert (first.street, first.city, first.postal_code, first.country) == (
        "12 rue des Pêcheurs", "Saint-Étienne", "42000", "FR")
    assert note == "Line one\nLine two = ok"


VCARDS = Path(__file__).resolve().parents[2] / "testdata" / "vcards"


@pytest.mark.parametrize("path", sorted(VCARDS.glob("*.vcf")), ids=lambda path: path.name)
def test_every_sample_address_book_imports_without_a_failed_card(org, admin, in_org, path):
    from accord.integrations.readers import open_table

    cards = len(list(open_table(path).cards()))

    summary = run(path, org, duplicates="create")

    assert (summary["failed"], summary["created"]) == (0, cards)


def test_a_placeholder_phone_is_left_out_and_named_while_the_card_comes_in(org, admin,
                                                                            in_org):
    summary = run(VCARDS / "outlook-2003.vcf", org)

    with in_org(org):
        contact = Contact.objects.get()
        job = ImportJob.objects.get(pk=summary["import_id"])
        problems = services.first_errors(job, 20)
        emails = list(contact.emails.values_list("address", flat=True))
    assert (summary["created"], summary["failed"]) == (1, 0)
    assert emails == ["jdoe@hotmail.com"]
    assert {(problem["column"], problem["value"]) for problem in problems} >= {
        ("TEL", "BusinessPhone"), ("TEL", "HomePhone")}
    assert all(problem["reason"].startswith("This value was not imported: ")
               for problem in problems if problem["column"] == "TEL")
