"""Export jobs of custom records, and a file exported and imported into another organisation."""

import csv
import io
import json

import openpyxl
import pytest
from django.core.management import call_command

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Membership, Role
from accord.integrations.tasks import run_export
from accord.records import services as records
from accord.records.models import Record

API = "/api/v1/exports"
HOUSEHOLD = {
    "key": "household", "singular": "Household", "plural": "Households",
    "title_field": "name",
    "fields": [{"key": "name", "label": "Name", "type": "text", "required": True}],
}
POLICY = {
    "key": "policy", "singular": "Policy", "plural": "Policies", "title_field": "number",
    "fields": [
        {"key": "number", "label": "Number", "type": "text", "required": True},
        {"key": "premium", "label": "Premium", "type": "money"},
        {"key": "cover", "label": "Cover", "type": "multi_choice",
         "choices": ["Fire", "Theft", "Flood"]},
        {"key": "rate", "label": "Rate", "type": "number"},
        {"key": "starts", "label": "Starts", "type": "date"},
        {"key": "signed", "label": "Signed at", "type": "datetime"},
        {"key": "paid", "label": "Paid", "type": "boolean"},
        {"key": "notes", "label": "Notes", "type": "long_text"},
        {"key": "site", "label": "Site", "type": "url"},
        {"key": "holder", "label": "Holder", "type": "contact"},
        {"key": "insurer", "label": "Insurer", "type": "company"},
        {"key": "households", "label": "Households", "type": "record",
         "target": "household", "many": True},
        {"key": "margin", "label": "Margin", "type": "number",
         "hidden_from_roles": ["manager"]},
    ],
}
VALUES = {
    "number": "=SUM(A1:A2)", "premium": {"amount": "1250.50", "currency": "EUR"},
    "cover": ["Fire", "Flood"], "rate": "-3.25", "starts": "2026-05-01",
    "signed": "2026-05-01T09:30:00Z", "paid": True, "notes": "Two lines\nof notes",
    "site": "https://example.com/p/1", "margin": "12",
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def arrange(org, actor, *, with_records: bool):
    """The two types, a contact, a company and two households; one policy when asked."""
    records.save_type(org, actor, HOUSEHOLD)
    policy = records.save_type(org, actor, POLICY)
    household = records.get_type("household")
    vos = records.create_record(org, actor, household, data={"values": {"name": "Vos"}})
    holt = records.create_record(org, actor, household, data={"values": {"name": "Holt"}})
    ada = customers.create_contact(org, actor, data={
        "first_name": "Ada", "last_name": "Lovelace",
        "emails": [{"address": "ada@example.com", "is_primary": True}]})
    acme = customers.create_company(org, actor, data={"name": "Acme Insurance"})
    if with_records:
        records.create_record(org, actor, policy, data={"values": {
            **VALUES, "holder": ada.pk, "insurer": acme.pk, "households": [vos.pk, holt.pk]}})
    return policy


def named_values(org, in_org) -> list[dict]:
    """Each policy's values with its links by name, comparable between organisations."""
    with in_org(org):
        found = []
        for record in Record.objects.filter(record_type__key="policy").order_by("pk"):
            links = {link.field.key: link.linked for link in record.links.all()}
            households = sorted(link.linked.title for link in record.links.all()
                                if link.field.key == "households")
            found.append({**record.values, "holder": links["holder"].email,
                          "insurer": links["insurer"].name, "households": households})
        return found


def export_file(org, fmt: str, tmp_path) -> bytes:
    path = tmp_path / f"policies.{fmt}"
    call_command("export", org=org.slug, entity="record:policy", format=fmt,
                 output=str(path), stderr=io.StringIO())
    return path.read_bytes()


def test_csv_export_writes_every_field_as_the_import_reads_it(org, admin, in_org, tmp_path):
    with in_org(org):
        arrange(org, admin.user, with_records=True)

    text = export_file(org, "csv", tmp_path).decode("utf-8-sig")

    header, row = list(csv.reader(io.StringIO(text)))
    cells = dict(zip(header, row, strict=True))
    assert header[:2] == ["ID", "Number"]
    assert {key: cells[key] for key in ("Number", "Premium", "Cover", "Rate", "Paid",
                                        "Holder", "Insurer", "Households")} == {
        "Number": "'=SUM(A1:A2)", "Premium": "1250.50 EUR", "Cover": "Fire; Flood",
        "Rate": "-3.25", "Paid": "yes", "Holder": "ada@example.com",
        "Insurer": "Acme Insurance", "Households": "Vos; Holt"}


def test_a_round_trip_into_an_empty_organisation_keeps_every_value(
    org, other_org, admin, in_org, tmp_path
):
    with in_org(org):
        arrange(org, admin.user, with_records=True)
    with in_org(other_org):
        arrange(other_org, Membership.objects.get(role=Role.ADMIN).user, with_records=False)
    path = tmp_path / "round.csv"
    path.write_bytes(export_file(org, "csv", tmp_path))

    out = io.StringIO()
    call_command("import", str(path), org=other_org.slug, entity="record:policy",
                 stdout=out, stderr=io.StringIO())
    summary = json.loads(out.getvalue().strip().splitlines()[-1])

    assert (summary["created"], summary["failed"]) == (1, 0)
    assert named_values(other_org, in_org) == named_values(org, in_org)


def test_xlsx_round_trip_keeps_every_value(org, other_org, admin, in_org, tmp_path):
    with in_org(org):
        arrange(org, admin.user, with_records=True)
    with in_org(other_org):
        arrange(other_org, Membership.objects.get(role=Role.ADMIN).user, with_records=False)
    path = tmp_path / "round.xlsx"
    path.write_bytes(export_file(org, "xlsx", tmp_path))

    out = io.StringIO()
    call_command("import", str(path), org=other_org.slug, entity="record:policy",
                 stdout=out, stderr=io.StringIO())

    assert openpyxl.load_workbook(path).active["B2"].value == "'=SUM(A1:A2)"
    assert named_values(other_org, in_org) == named_values(org, in_org)


def test_an_api_export_job_leaves_out_fields_hidden_from_the_role(
    org, admin, make_member, in_org, api_client_for
):
    with in_org(org):
        arrange(org, admin.user, with_records=True)
    manager = make_member(org, Role.MANAGER)
    client = api_client_for(manager)

    started = client.post(API, {"entity": "record:policy", "format": "jsonl"},
                          content_type="application/json")
    run_export(started.json()["id"])
    job = client.get(f"{API}/{started.json()['id']}").json()
    download = client.get(job["download_url"])
    document = json.loads(b"".join(download.streaming_content))

    assert started.status_code == 202
    assert (job["status"], job["rows"]) == ("done", 1)
    assert "margin" not in document["values"]
    assert document["values"]["number"] == "=SUM(A1:A2)"
    assert document["values"]["holder"]["name"] == "ada@example.com"
    assert [item["name"] for item in document["values"]["households"]] == ["Vos", "Holt"]


def test_an_api_csv_export_leaves_out_the_hidden_column(org, admin, make_member, in_org,
                                                        api_client_for):
    with in_org(org):
        arrange(org, admin.user, with_records=True)
    client = api_client_for(make_member(org, Role.MANAGER))

    job_id = client.post(API, {"entity": "record:policy", "format": "csv"},
                         content_type="application/json").json()["id"]
    run_export(job_id)
    download = client.get(client.get(f"{API}/{job_id}").json()["download_url"])
    header = next(csv.reader(io.StringIO(b"".join(download.streaming_content)
                                         .decode("utf-8-sig"))))

    assert "Margin" not in header
    assert "Premium" in header


def test_an_unknown_record_type_answers_422_naming_the_entity(org, admin, api_client_for):
    response = api_client_for(admin).post(API, {"entity": "record:boat", "format": "csv"},
                                          content_type="application/json")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "entity"
    assert response.json()["errors"][0]["message"].startswith(
        "There is no active record type “record:boat” to export.")


def test_the_exports_page_offers_active_record_types(org, admin, in_org, client_for):
    with in_org(org):
        arrange(org, admin.user, with_records=False)

    page = client_for(admin).get("/exports/")

    assert b'<option value="record:policy">Policies</option>' in page.content


def test_the_exports_page_offers_record_types_only_to_who_sees_every_record(
    org, admin, make_member, in_org, client_for
):
    manager = make_member(org, Role.MANAGER)
    with in_org(org):
        arrange(org, admin.user, with_records=False)
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {"records": "team"}})

    page = client_for(manager).get("/exports/").content.decode()
    posted = client_for(manager).post("/exports/", {"entity": "record:policy", "format": "csv"})

    assert "Export custom records" not in page
    assert "record:policy" not in page
    assert posted.status_code == 403


def test_the_exports_page_starts_a_record_export_and_lists_it_by_type(org, admin, in_org,
                                                                     client_for):
    with in_org(org):
        arrange(org, admin.user, with_records=True)
    client = client_for(admin)

    started = client.post("/exports/", {"entity": "record:policy", "format": "xlsx"})
    listed = client.get("/exports/")

    assert started.status_code == 302
    assert ">Policies</a>" in listed.content.decode()
