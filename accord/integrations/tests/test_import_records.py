import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accord.core.demo.sales import STAGES
from accord.customers import services as customers
from accord.identity.models import Role
from accord.integrations import engine, services
from accord.integrations.models import ImportJob
from accord.records import services as records
from accord.records.models import Record
from accord.sales import services as sales

HOUSEHOLD = {
    "key": "household", "singular": "Household", "plural": "Households",
    "title_field": "name",
    "fields": [{"key": "name", "label": "Name", "type": "text", "required": True}],
}
PROPERTY = {
    "key": "property", "singular": "Property", "plural": "Properties",
    "title_field": "address",
    "fields": [
        {"key": "address", "label": "Address", "type": "text", "required": True},
        {"key": "price", "label": "Price", "type": "money", "currency": "EUR"},
        {"key": "status", "label": "Status", "type": "choice",
         "choices": ["Available", "Sold"]},
        {"key": "listed", "label": "Listed on", "type": "date"},
        {"key": "seller", "label": "Seller", "type": "contact"},
        {"key": "agency", "label": "Agency", "type": "company"},
        {"key": "households", "label": "Households", "type": "record",
         "target": "household", "many": True},
    ],
}


def run(path, org, **options) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", str(path), org=org.slug, stdout=out, stderr=err, **options)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def write(tmp_path, text: str, name="properties.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def types(org, admin, in_org):
    with in_org(org):
        records.save_type(org, admin.user, HOUSEHOLD)
        property_type = records.save_type(org, admin.user, PROPERTY)
        household = records.get_type("household")
        records.create_record(org, admin.user, household, data={"values": {"name": "Vos"}})
        records.create_record(org, admin.user, household, data={"values": {"name": "Holt"}})
        customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace",
            "emails": [{"address": "ada@example.com", "is_primary": True}]})
        customers.create_company(org, admin.user, data={"name": "Acme Homes",
                                                        "domain": "acme.example"})
    return property_type


def values_of(org, in_org):
    with in_org(org):
        found = {}
        for record in Record.objects.filter(record_type__key="property").order_by("pk"):
            found[record.title] = {
                **record.values,
                **records.link_values(record, records.fields_of(record.record_type))}
        return found


def test_the_command_imports_records_with_values_and_links(org, admin, types, in_org,
                                                          tmp_path):
    path = write(tmp_path, (
        "Address,Price,Status,Listed on,Seller,Agency,Households\n"
        "1 Canal Street,\"1,250.00\",Available,2026-05-01,ADA@example.com,acme.example,"
        "Vos; Holt\n"
        "2 Dam Square,900,Sold,,,Acme Homes,\n"))

    summary, problems = run(path, org, entity="record:property")

    assert (summary["created"], summary["failed"], problems) == (2, 0, "")
    assert summary["mapping"] == {
        "Address": "cf.address", "Price": "cf.price", "Status": "cf.status",
        "Listed on": "cf.listed", "Seller": "link.seller", "Agency": "link.agency",
        "Households": "link.households"}
    found = values_of(org, in_org)
    assert found["1 Canal Street"]["price"] == {"amount": "1250.00", "currency": "EUR"}
    assert found["1 Canal Street"]["status"] == "Available"
    assert found["1 Canal Street"]["listed"] == "2026-05-01"
    assert found["1 Canal Street"]["seller"] is not None
    assert len(found["1 Canal Street"]["households"]) == 2
    assert found["2 Dam Square"]["agency"] == found["1 Canal Street"]["agency"]
    assert found["2 Dam Square"]["seller"] is None


def test_bad_cells_and_unknown_links_fail_their_row_with_the_reason(org, admin, types,
                                                                   in_org, tmp_path):
    path = write(tmp_path, (
        "Address,Price,Status,Seller,Households\n"
        "1 Canal Street,12.345,Rented,nobody@example.com,Vos\n"
        ",100,Sold,,\n"
        "3 Dam Square,100,Sold,,Vos;Nobody\n"))

    summary, problems = run(path, org, entity="record:property", number_format="1,234.56")

    assert (summary["created"], summary["failed"]) == (0, 3)
    with in_org(org):
        job = ImportJob.objects.get()
        reasons = sorted((row["row"], row["column"], row["reason"])
                         for row in services.first_errors(job, 50))
    assert reasons == [
        (2, "Price", "Amounts have at most two decimal places."),
        (2, "Seller", "No contact has this e-mail address; add it first."),
        (2, "Status", "Choose one of: Available, Sold."),
        (3, "", "Address is required."),
        (4, "Households", "No household has this title; add it first."),
    ]


def test_an_unknown_record_type_stops_the_command_naming_it(org, admin, types, tmp_path):
    path = write(tmp_path, "Address\n1 Canal Street\n")

    with pytest.raises(CommandError) as raised:
        run(path, org, entity="record:boat")

    assert str(raised.value).startswith(
        "There is nothing called 'record:boat' to import; use one of: contact, company,")
    assert str(raised.value).endswith("record:household, record:property.")


def test_a_row_with_a_known_external_id_updates_its_record_and_undo_reverts_it(
    org, admin, types, in_org, tmp_path, api_client_for
):
    first = write(tmp_path, "ID,Address,Status\nP-1,1 Canal Street,Available\n", "a.csv")
    second = write(tmp_path, "ID,Address,Status\nP-1,1 Canal Street,Sold\n", "b.csv")
    run(first, org, entity="record:property")

    summary, _ = run(second, org, entity="record:property", duplicates="overwrite")
    sold = values_of(org, in_org)["1 Canal Street"]["status"]
    undone = api_client_for(admin).post(f"/api/v1/imports/{summary['import_id']}/undo")

    assert (summary["created"], summary["updated"]) == (0, 1)
    assert sold == "Sold"
    assert undone.json() == {"removed": 0, "reverted": 1, "not_reverted": []}
    assert values_of(org, in_org)["1 Canal Street"]["status"] == "Available"


def test_undoing_an_import_moves_its_records_to_the_trash(org, admin, types, in_org,
                                                         tmp_path, api_client_for):
    path = write(tmp_path, "Address\n1 Canal Street\n2 Dam Square\n")
    summary, _ = run(path, org, entity="record:property")

    undone = api_client_for(admin).post(f"/api/v1/imports/{summary['import_id']}/undo")

    assert undone.json()["removed"] == 2
    with in_org(org):
        assert Record.objects.filter(record_type__key="property").count() == 0
        assert Record.with_deleted.filter(record_type__key="property").count() == 2


def test_the_api_imports_records_of_a_type_and_links_a_deal_by_name(
    org, admin, types, in_org, api_client_for
):
    with in_org(org):
        records.save_type(org, admin.user, {"key": "matter", "singular": "Matter",
                                            "plural": "Matters", "title_field": "name",
                                            "fields": [
            {"key": "name", "label": "Name", "type": "text"},
            {"key": "deal", "label": "Deal", "type": "deal"}]})
        sales.create_pipeline(org, admin.user, name="New business", stages=STAGES)
        deal = sales.create_deal(org, admin.user, data={"name": "Big Deal"})
    client = api_client_for(admin)
    content = b"Name,Deal\nSmith v Jones,big deal\n"

    response = client.post("/api/v1/imports", {
        "entity": "record:matter",
        "file": SimpleUploadedFile("matters.csv", content, content_type="text/csv")})
    with in_org(org):
        job = engine.run_job(org, admin.user, ImportJob.objects.get(pk=response.json()["id"]))
        matter = Record.objects.get(record_type__key="matter")
        linked = records.link_values(matter, records.fields_of(matter.record_type))

    assert response.status_code == 202
    assert response.json()["mapping"] == {"Name": "cf.name", "Deal": "link.deal"}
    assert (job.created_count, job.failed_count) == (1, 0)
    assert linked == {"deal": deal.pk}


def test_the_api_names_an_unknown_record_type(org, admin, api_client_for):
    response = api_client_for(admin).post("/api/v1/imports", {
        "entity": "record:boat",
        "file": SimpleUploadedFile("boats.csv", b"Name\nA\n", content_type="text/csv")})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "entity"
    assert response.json()["errors"][0]["message"].startswith(
        "There is no active record type “record:boat” to import; choose one of: contact,")


def test_read_only_members_cannot_import_records(org, make_member, types, api_client_for):
    viewer = make_member(org, Role.READ_ONLY)

    response = api_client_for(viewer).post("/api/v1/imports", {
        "entity": "record:property",
        "file": SimpleUploadedFile("p.csv", b"Address\nA\n", content_type="text/csv")})

    assert response.status_code == 403


def test_the_wizard_offers_the_organisations_active_record_types(org, admin, types, in_org,
                                                                client_for):
    with in_org(org):
        records.save_type(org, admin.user, {**HOUSEHOLD, "active": False})

    page = client_for(admin).get("/imports/new/")

    assert page.status_code == 200
    assert b'<option value="record:property">Properties</option>' in page.content
    assert b"record:household" not in page.content


def test_the_wizard_maps_columns_to_the_types_fields_and_links(org, admin, types, in_org,
                                                              client_for):
    client = client_for(admin)
    upload = SimpleUploadedFile("p.csv", b"Address,Households\n1 Canal Street,Vos\n",
                                content_type="text/csv")

    created = client.post("/imports/new/", {"entity": "record:property", "file": upload})
    page = client.get(created["Location"])

    assert created.status_code == 302
    with in_org(org):
        job = ImportJob.objects.get()
    assert job.options["mapping"] == {"Address": "cf.address", "Households": "link.households"}
    assert page.status_code == 200
    assert "Households (by title)" in page.content.decode()

