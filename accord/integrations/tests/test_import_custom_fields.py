"""Custom field definitions import, so an organisation export restores into an empty one."""

import io
import json
import zipfile

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.customers.models import Company, Contact, CustomField
from accord.identity.models import Role
from accord.integrations import services

FIELDS = [
    {"entity": "contact", "key": "nickname", "label": "Nickname", "field_type": "text",
     "help_text": "What they like to be called"},
    {"entity": "contact", "key": "score", "label": "Score", "field_type": "number",
     "required": True},
    {"entity": "contact", "key": "customer_since", "label": "Customer since",
     "field_type": "date"},
    {"entity": "contact", "key": "interests", "label": "Interests",
     "field_type": "multi_choice", "choices": ["Pumps", "Valves", "Service"]},
    {"entity": "contact", "key": "vip", "label": "VIP", "field_type": "boolean",
     "hidden_from_roles": ["sales", "support"]},
    {"entity": "contact", "key": "allergy", "label": "Allergy", "field_type": "text",
     "encrypted": True},
    {"entity": "company", "key": "tier", "label": "Tier", "field_type": "choice",
     "choices": ["Gold", "Silver", "Bronze"]},
    {"entity": "company", "key": "founded", "label": "Founded", "field_type": "date"},
    {"entity": "company", "key": "fleet", "label": "Fleet size", "field_type": "number"},
    {"entity": "company", "key": "partner", "label": "Partner", "field_type": "boolean"},
    {"entity": "company", "key": "sector_code", "label": "Sector code", "field_type": "text",
     "position": 9},
]
SETTINGS = ("entity", "key", "label", "field_type", "choices", "currency", "required",
            "help_text", "position", "is_active", "hidden_from_roles", "encrypted")


def arrange(org, actor):
    """Eleven fields of six types, two companies and two contacts using them."""
    for data in FIELDS:
        customers.create_custom_field(org, actor, data=data)
    hollow = customers.create_company(org, actor, data={
        "name": "Hollow Oak Ltd", "domain": "hollow.example", "industry": "Pumps",
        "tags": ["Key account"],
        "custom_fields": {"tier": "Gold", "founded": "1998-04-30", "fleet": "12.5",
                          "partner": True, "sector_code": "C28"}})
    customers.create_company(org, actor, data={
        "name": "Brightwater GmbH", "custom_fields": {"tier": "Bronze", "partner": False}})
    customers.create_contact(org, actor, data={
        "first_name": "Dana", "last_name": "Kirsch", "email": "dana@hollow.example",
        "phone": "+44 20 7946 0102", "company": hollow.pk, "lifecycle_stage": "customer",
        "tags": ["Trade fair"], "city": "Leeds", "country": "GB",
        "custom_fields": {"nickname": "Dee", "score": "-3.25", "customer_since": "2020-02-01",
                          "interests": ["Pumps", "Service"], "vip": True,
                          "allergy": "Penicillin"}})
    customers.create_contact(org, actor, data={
        "first_name": "Jonas", "last_name": "Berg", "email": "jonas@brightwater.example",
        "custom_fields": {"score": "7", "vip": False}})


def definitions():
    return [tuple(getattr(field, name) for name in SETTINGS)
            for field in CustomField.objects.order_by("entity", "key")]


def records():
    companies = [(company.name, company.domain, company.industry,
                  sorted(link.tag.name for link in company.tag_links.all()),
                  company.custom_fields)
                 for company in Company.objects.order_by("name")]
    contacts = [(contact.first_name, contact.last_name, contact.email, contact.phone,
                 contact.company.name if contact.company_id else "", contact.lifecycle_stage,
                 sorted(link.tag.name for link in contact.tag_links.all()), contact.city,
                 contact.country, contact.custom_fields)
                for contact in Contact.objects.order_by("last_name")]
    return companies, contacts


def import_file(path, org, entity, **options) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", str(path), org=org.slug, entity=entity, stdout=out, stderr=err,
                 **options)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_an_organisation_export_restores_records_and_custom_fields_into_an_empty_one(
    org, admin, other_org, in_org, tmp_path, settings, format
):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with in_org(org):
        arrange(org, admin.user)
        before = definitions(), records()
    archive = tmp_path / "org.zip"
    call_command("export", org=org.slug, entity="organisation", format=format,
                 output=str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(tmp_path)

    summaries = [import_file(tmp_path / f"{name}.{format}", other_org, entity)[0]
                 for name, entity in (("custom_fields", "custom_field"),
                                      ("companies", "company"), ("contacts", "contact"))]
    with in_org(other_org):
        after = definitions(), records()

    assert [(summary["created"], summary["failed"]) for summary in summaries] == [
        (11, 0), (2, 0), (2, 0)]
    assert after == before
    with in_org(other_org), connection.cursor() as cursor:
        assert CustomField.objects.get(key="allergy").encrypted is True
        cursor.execute("SELECT custom_fields FROM customers_contact WHERE id = %s",
                       [Contact.objects.get(last_name="Kirsch").pk])
        assert "Penicillin" not in str(cursor.fetchone()[0])


def test_a_row_of_an_unknown_type_fails_naming_the_type(org, admin, in_org, tmp_path):
    path = tmp_path / "custom_fields.csv"
    path.write_text("entity,key,label,field_type\r\n"
                    "contact,mood,Mood,rating\r\n"
                    "contact,shoe_size,Shoe size,number\r\n", encoding="utf-8")

    summary, err = import_file(path, org, "custom_field")

    assert (summary["created"], summary["failed"]) == (1, 1)
    with in_org(org):
        job = services.get_job(admin, summary["import_id"])
        assert list(services.error_rows(job)) == [[
            2, "field_type", "rating",
            "Choose one of the field types: text, long_text, number, money, date, datetime, "
            "choice, multi_choice, boolean, url, email, phone."]]
        assert list(CustomField.objects.values_list("key", flat=True)) == ["shoe_size"]
    assert err.startswith("row 2 field_type: Choose one of the field types")


def test_a_row_giving_an_existing_field_another_type_fails(org, admin, in_org, tmp_path):
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "score", "label": "Score", "field_type": "number"})
    path = tmp_path / "custom_fields.csv"
    path.write_text("entity,key,label,field_type\r\ncontact,score,Score,text\r\n",
                    encoding="utf-8")

    summary, err = import_file(path, org, "custom_field", duplicates="overwrite")

    assert (summary["updated"], summary["failed"]) == (0, 1)
    assert err.strip() == ("row 2 field_type: The field score is a number field here, and a "
                           "field's type cannot change.")


def test_matching_fields_are_filled_or_overwritten_as_the_policy_says(
    org, admin, in_org, tmp_path
):
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "company", "key": "tier", "label": "Tier", "field_type": "choice",
            "choices": ["Gold"], "required": True})
    path = tmp_path / "custom_fields.csv"
    path.write_text("entity,key,label,field_type,help_text,required,is_active\r\n"
                    "company,tier,Account tier,choice,Set by sales,no,no\r\n",
                    encoding="utf-8")

    filled, _ = import_file(path, org, "custom_field", duplicates="fill")
    with in_org(org):
        after_fill = CustomField.objects.values_list("label", "help_text", "required",
                                                     "is_active").get()
    overwritten, _ = import_file(path, org, "custom_field", duplicates="overwrite")
    created, err = import_file(path, org, "custom_field", duplicates="create")
    with in_org(org):
        after_overwrite = CustomField.objects.values_list("label", "help_text", "required",
                                                          "is_active").get()

    assert (filled["updated"], overwritten["updated"], created["skipped"]) == (1, 1, 1)
    assert after_fill == ("Tier", "Set by sales", True, True)
    assert after_overwrite == ("Account tier", "Set by sales", False, False)
    assert err.strip().endswith("by record type and key; skipped, as no two custom fields "
                                "may share it.")


def test_only_members_who_manage_custom_fields_may_import_them(
    org, make_member, api_client_for, tmp_path
):
    manager = make_member(org, Role.MANAGER, email="manager@example.com")
    content = b"entity,key,label,field_type\r\ncontact,mood,Mood,text\r\n"

    answer = api_client_for(manager).post("/api/v1/imports", {
        "entity": "custom_field",
        "file": SimpleUploadedFile("custom_fields.csv", content, content_type="text/csv")})
    path = tmp_path / "custom_fields.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError) as refused:
        import_file(path, org, "custom_field", acting="manager@example.com")

    assert answer.status_code == 403
    assert str(refused.value) == ("manager@example.com may not import custom fields: their "
                                  "role does not allow it.")


def test_undo_deactivates_the_fields_an_import_created_and_keeps_their_values(
    org, admin, in_org, api_client_for, tmp_path
):
    path = tmp_path / "custom_fields.csv"
    path.write_text("entity,key,label,field_type\r\ncontact,mood,Mood,text\r\n",
                    encoding="utf-8")
    summary, _ = import_file(path, org, "custom_field")
    with in_org(org):
        customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "custom_fields": {"mood": "Cheerful"}})

    undone = api_client_for(admin).post(f"/api/v1/imports/{summary['import_id']}/undo")

    assert undone.json() == {"removed": 1, "reverted": 0, "not_reverted": []}
    with in_org(org):
        assert CustomField.objects.values_list("key", "is_active").get() == ("mood", False)
        assert Contact.objects.get().custom_fields == {"mood": "Cheerful"}
        assert AuditEntry.objects.filter(entity="custom_field").count() == 2


def test_the_wizard_previews_custom_fields_and_refuses_members_who_may_not_manage_them(
    org, admin, member, client_for, in_org, tmp_path
):
    with in_org(org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "score", "label": "Score", "field_type": "number"})
    path = tmp_path / "custom_fields.csv"
    path.write_text("entity,key,label,field_type,choices\r\n"
                    "contact,score,Score,number,\r\n"
                    "company,tier,Tier,choice,Gold; Silver\r\n"
                    "ticket,mood,Mood,rating,\r\n", encoding="utf-8")

    def upload(client):
        return client.post("/imports/new/", {
            "file": SimpleUploadedFile(path.name, path.read_bytes()),
            "entity": "custom_field"})

    refused = upload(client_for(member))
    uploaded = upload(client_for(admin))
    preview = client_for(admin).get(f"{uploaded['Location'].removesuffix('map/')}preview/")

    assert refused.status_code == 403
    assert uploaded.status_code == 302
    assert "Of the first 3 rows: 1 looks new, 1 matches an existing record or an earlier row, 1 " \
           "is invalid." in preview.text
    assert "Choose one of the field types: text, long_text, number" in preview.text
    assert "A row matches the field of its record type with the same key." in preview.text
