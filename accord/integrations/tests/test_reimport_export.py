"""Importing one Accord export twice finds the records the first import made."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accord.customers import services as customers
from accord.customers.models import Company, Contact, CustomField


def export(org, entity: str, tmp_path):
    path = tmp_path / f"{entity}.csv"
    call_command("export", org=org.slug, entity=entity, format="csv", output=str(path),
                 stderr=io.StringIO())
    return path


def run_import(org, path, entity: str, duplicates: str = "skip") -> dict:
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, entity=entity, duplicates=duplicates,
                 stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().splitlines()[-1])


@pytest.mark.django_db
def test_a_second_import_of_an_export_makes_nothing_twice(org, other_org, admin, in_org,
                                                          tmp_path):
    with in_org(org):
        customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "emails": [
                {"address": "ada@example.org", "kind": "work", "label": "",
                 "is_primary": True}]})
        # No e-mail: only the export's ID column can find this one again.
        customers.create_contact(org, admin.user, data={"first_name": "Walk-in",
                                                        "last_name": "Customer"})
        customers.create_company(org, admin.user, data={"name": "Holt & Vos"})
    contacts, companies = export(org, "contacts", tmp_path), export(org, "companies", tmp_path)

    first = [run_import(other_org, companies, "company"), run_import(other_org, contacts,
                                                                     "contact")]
    second = [run_import(other_org, companies, "company"), run_import(other_org, contacts,
                                                                      "contact")]

    assert [summary["created"] for summary in first] == [1, 2]
    assert [(summary["created"], summary["skipped"]) for summary in second] == [(0, 1), (0, 2)]
    with in_org(other_org):
        assert sorted(Contact.objects.values_list("first_name", flat=True)) == [
            "Ada", "Walk-in"]
        assert Company.objects.count() == 1


@pytest.mark.django_db
def test_a_row_found_by_its_export_id_is_updated_under_the_fill_policy(
    org, other_org, admin, in_org, tmp_path
):
    with in_org(org):
        walk_in = customers.create_contact(org, admin.user, data={"first_name": "Walk-in"})
    path = export(org, "contacts", tmp_path)
    run_import(other_org, path, "contact")
    with in_org(org):
        customers.update_contact(org, admin.user, walk_in, data={"title": "Buyer"},
                                 expected_version=walk_in.version)
    path = export(org, "contacts", tmp_path)

    summary = run_import(other_org, path, "contact", duplicates="fill")

    assert (summary["created"], summary["updated"]) == (0, 1)
    with in_org(other_org):
        assert list(Contact.objects.values_list("first_name", "title")) == [
            ("Walk-in", "Buyer")]


@pytest.mark.django_db
def test_a_deals_file_with_an_export_id_column_keeps_its_duplicate_choice(admin,
                                                                          api_client_for):
    def start(mapping: dict):
        return api_client_for(admin).post("/api/v1/imports", {
            "file": SimpleUploadedFile("deals.csv", b"Name,Old id\r\nRenewal,17\r\n",
                                       content_type="text/csv"),
            "entity": "deal", "mapping": json.dumps(mapping),
            "options": json.dumps({"duplicate_policy": "fill"})})

    with_export_id = start({"Name": "name", "Old id": "export_id"})
    without = start({"Name": "name"})

    assert with_export_id.status_code == without.status_code == 202
    assert with_export_id.json()["options"]["duplicate_policy"] == "fill"
    assert without.json()["options"]["duplicate_policy"] is None


@pytest.mark.django_db
def test_money_fields_of_any_currency_come_back_with_their_currency(org, other_org, admin,
                                                                    in_org, tmp_path):
    for each in (org, other_org):
        with in_org(each):
            for entity in ("contact", "company"):
                CustomField.objects.create(organization=each, entity=entity, key="budget",
                                           label="Budget", field_type="money")
    with in_org(org):
        customers.create_contact(org, admin.user, data={
            "first_name": "Ana", "custom_fields": {"budget": {"amount": "1200.50",
                                                              "currency": "USD"}}})
        customers.create_company(org, admin.user, data={
            "name": "Acme", "custom_fields": {"budget": {"amount": "80", "currency": "JPY"}}})
        # A currency with no amount is an empty field, as it was.
        customers.create_contact(org, admin.user, data={"first_name": "Ben"})

    summaries = [run_import(other_org, export(org, entity, tmp_path), kind)
                 for entity, kind in (("companies", "company"), ("contacts", "contact"))]

    assert [(summary["created"], summary["failed"]) for summary in summaries] == [
        (1, 0), (2, 0)]
    assert "Budget currency" not in summaries[1]["unmapped"]
    with in_org(other_org):
        assert dict(Contact.objects.values_list("first_name", "custom_fields")) == {
            "Ana": {"budget": {"amount": "1200.50", "currency": "USD"}}, "Ben": {}}
        assert Company.objects.get().custom_fields == {
            "budget": {"amount": "80.00", "currency": "JPY"}}
