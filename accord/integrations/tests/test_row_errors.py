"""A row not taken names every invalid cell it has, whatever else is wrong with it.

A cell that cannot be read (a number, a date) does not stop the checks of
the record: the row is checked with the cells that did read, and a check
that fails only because the unread cell is missing (a required field) is
not reported a second time.
"""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accord.core.demo.sales import STAGES
from accord.customers import services as customers
from accord.integrations import services
from accord.integrations.models import ImportJob
from accord.records import services as records
from accord.sales import services as sales


def run(path, org, entity="contact") -> dict:
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, entity=entity, stdout=out,
                 stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def problems(org, in_org, import_id) -> list[tuple]:
    with in_org(org):
        return [tuple(row) for row in services.error_rows(ImportJob.objects.get(pk=import_id))]


def add_field(org, admin, in_org, entity, label, field_type, **more):
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": entity, "label": label, "key": label.lower().replace(" ", "_"),
            "field_type": field_type, **more})


def test_a_contact_row_reports_each_invalid_cell(org, admin, in_org, tmp_path):
    add_field(org, admin, in_org, "contact", "Tier", "choice", choices=["Gold", "Silver"])
    add_field(org, admin, in_org, "contact", "Score", "number")
    add_field(org, admin, in_org, "contact", "Customer since", "date")
    path = tmp_path / "contacts.csv"
    path.write_text("First name,Last name,E-mail,Phone,Tier,Score,Customer since\n"
                    "A2,Multi,a2@example.com,12,Platinum,x,\n"
                    "A3,Multi,bad,,,,2020-13-01\n")

    summary = run(path, org)

    assert (summary["created"], summary["failed"]) == (0, 2)
    assert problems(org, in_org, summary["import_id"]) == [
        (2, "Score", "x", "This value is not a number."),
        (2, "Phone", "12", "Enter a phone number, such as +44 20 7946 0958."),
        (2, "Tier", "Platinum", "Choose one of: Gold, Silver."),
        (3, "Customer since", "2020-13-01", "This value has month 13, which does not exist."),
        (3, "E-mail", "bad", "Enter a valid e-mail address, such as name@example.com."),
    ]


def test_an_unreadable_required_cell_is_reported_once_beside_the_others(org, admin, in_org,
                                                                         tmp_path):
    add_field(org, admin, in_org, "contact", "Score", "number", required=True)
    path = tmp_path / "contacts.csv"
    path.write_text("First name,Last name,E-mail,Score\nAda,Vos,ada@,x\n")

    summary = run(path, org)

    assert problems(org, in_org, summary["import_id"]) == [
        (2, "Score", "x", "This value is not a number."),
        (2, "E-mail", "ada@", "Enter a valid e-mail address, such as name@example.com."),
    ]


def test_the_preview_marks_every_invalid_cell_of_a_row(org, admin, client_for, in_org,
                                                       tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Email,Name,Birthday\nnope,Grace Hopper,31/02/1906\n")
    client = client_for(admin)
    client.post("/imports/new/", {
        "file": SimpleUploadedFile(path.name, path.read_bytes()), "entity": "contact"})
    with in_org(org):
        job = ImportJob.objects.get()

    preview = client.get(f"/imports/{job.pk}/preview/")

    assert "Of the first 1 row: 0 look new, 0 match an existing record or an earlier row, 1 " \
           "is invalid." in preview.text
    assert ('<span class="danger"><strong>nope</strong><br><span class="small">Enter a valid '
            'e-mail address, such as name@example.com.</span></span>') in preview.text
    assert ('<span class="danger"><strong>31/02/1906</strong><br><span class="small">This '
            'value has day 31, which month 2 of 1906 does not have.</span></span>') in preview.text


def entity_case(org, admin, in_org, entity):
    """A file of `entity` whose row 2 has an unreadable cell of a required field and another
    invalid cell, and the problems each must report."""
    if entity == "company":
        add_field(org, admin, in_org, "company", "Score", "number", required=True)
        return ("Name,Employees,Website,Score\nKessler AG,many,not a site,x\n", [
            (2, "Employees", "many", "This value is not a number."),
            (2, "Score", "x", "This value is not a number."),
            (2, "Website", "not a site", "Enter a web address such as https://example.com."),
        ])
    if entity == "deal":
        with in_org(org):
            sales.create_pipeline(org, admin.user, name="New business", stages=STAGES)
        # A won deal needs an amount: the unreadable one is reported, not a missing one.
        return ("Name,Amount,Currency,Stage,Company\nBig one,lots,EURO,Won,Kessler AG\n", [
            (2, "Amount", "lots", "This value is not a number."),
            (2, "Currency", "EURO", "Use a three-letter ISO 4217 code such as EUR."),
        ])
    if entity == "product":
        return ("SKU,Name,Price,Currency\nP-1,Widget,cheap,EURO\n", [
            (2, "Price", "cheap", "This value is not a number."),
            (2, "Currency", "EURO", "Use a three-letter ISO 4217 code such as EUR."),
        ])
    if entity == "lead":
        return ("First name,Last name,E-mail,Country\nAda,Vos,bad,Atlantis\n", [
            (2, "Country", "Atlantis", "Use a two-letter country code, such as GB or DE, or the "
                                       "country's name in English."),
            (2, "E-mail", "bad", "Enter an e-mail address such as name@example.com."),
        ])
    if entity == "order":
        return ("Order number,SKU,Quantity,Unit price,Discount (%)\nO-1,P-1,some,x,150\n", [
            (2, "Quantity", "some", "This value is not a number."),
            (2, "Unit price", "x", "This value is not a number."),
            (2, "Discount (%)", "150", "Must be at most 100."),
        ])
    with in_org(org):
        records.save_type(org, admin.user, {
            "key": "property", "singular": "Property", "plural": "Properties",
            "title_field": "address",
            "fields": [
                {"key": "address", "label": "Address", "type": "text", "required": True},
                {"key": "rooms", "label": "Rooms", "type": "number", "required": True},
                {"key": "status", "label": "Status", "type": "choice",
                 "choices": ["Available", "Sold"]},
            ]})
    return ("Address,Rooms,Status\nMain Street 1,three,Let\n", [
        (2, "Rooms", "three", "This value is not a number."),
        (2, "Status", "Let", "Choose one of: Available, Sold."),
    ])


@pytest.mark.parametrize("entity", ["company", "deal", "product", "lead", "order",
                                    "record:property"])
def test_each_kind_of_record_reports_every_invalid_cell_of_a_row(org, admin, in_org, tmp_path,
                                                                 entity):
    text, expected = entity_case(org, admin, in_org, entity)
    path = tmp_path / "rows.csv"
    path.write_text(text)

    summary = run(path, org, entity=entity)

    assert summary["failed"] == 1
    assert problems(org, in_org, summary["import_id"]) == expected
