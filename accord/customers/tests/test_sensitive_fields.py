"""Sensitive custom fields: hidden from chosen roles on every page, list, export and API."""

import io
import json

import pytest

from accord.customers import services
from accord.customers.models import Contact, CustomField, SavedView
from accord.errors import InvalidInput
from accord.identity.models import Role
from accord.integrations.exports import write_export

INCOME = "Household income 9a7f"


@pytest.fixture
def income(org, admin, client_for, in_org):
    """A money field on contacts hidden from sales, made through the settings page."""
    response = client_for(admin).post("/settings/custom-fields/new", {
        "entity": "contact", "label": INCOME, "key": "income", "field_type": "money",
        "currency": "EUR", "hidden_from_roles": ["sales", "manager"], "position": "",
    })
    assert response.status_code == 302
    with in_org(org):
        field = CustomField.objects.get(key="income")
        services.create_custom_field(org, admin.user, data={
            "entity": "contact", "label": "Shoe size", "key": "shoe", "field_type": "number"})
    return field


@pytest.fixture
def contact(org, admin, income, in_org):
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "emails": [{"address": "ada@x.io"}],
            "custom_fields": {"income": "85000", "shoe": "38"}})
        services.update_contact(org, admin.user, contact,
                                data={"custom_fields": {"income": "91000"}})
        return Contact.objects.get(pk=contact.pk)


def download(client, url: str) -> str:
    return b"".join(client.get(url).streaming_content).decode()


@pytest.fixture
def seller(org, make_member):
    return make_member(org, Role.SALES)


def test_the_setting_is_stored_shown_and_refused_for_admins(org, admin, income, client_for,
                                                            api_client_for, in_org):
    assert income.hidden_from_roles == ["manager", "sales"]
    listing = client_for(admin).get("/settings/custom-fields/").content.decode()
    assert "Sensitive" in listing

    answer = api_client_for(admin).get(f"/api/v1/custom-fields/{income.pk}").json()
    assert answer["hidden_from_roles"] == ["manager", "sales"]

    response = client_for(admin).post(f"/settings/custom-fields/{income.pk}/", {
        "label": INCOME, "currency": "EUR", "hidden_from_roles": ["admin"], "position": "1"})
    assert response.status_code == 422
    assert "admin is not one of the available choices" in response.content.decode()
    with in_org(org), pytest.raises(InvalidInput) as refused:
        services.update_custom_field(org, admin.user, income, data={
            "label": INCOME, "currency": "EUR", "hidden_from_roles": ["admin", "sales"]})
    assert refused.value.as_dict() == {
        "hidden_from_roles": "Admins see every field; a field cannot be hidden from them."}


def test_pages_and_forms_leave_the_field_out_and_keep_its_value(org, admin, seller, contact,
                                                                client_for, in_org):
    page = client_for(seller).get(f"/contacts/{contact.pk}/").content.decode()
    assert INCOME not in page
    assert "91000" not in page.replace(",", "")
    assert "Shoe size" in page
    assert INCOME in client_for(admin).get(f"/contacts/{contact.pk}/").content.decode()

    form = client_for(seller).get(f"/contacts/{contact.pk}/edit/").content.decode()
    assert "cf_income" not in form
    assert "cf_shoe" in form
    response = client_for(seller).post(f"/contacts/{contact.pk}/edit/", {
        "version": contact.version, "first_name": "Ada", "last_name": "King",
        "lifecycle_stage": "lead", "emails_0_address": "ada@x.io", "cf_shoe": "39"})
    assert response.status_code == 302
    with in_org(org):
        saved = Contact.objects.get(pk=contact.pk)
    assert saved.last_name == "King"
    assert saved.custom_fields["income"] == {"amount": "91000.00", "currency": "EUR"}
    assert saved.custom_fields["shoe"] == "39"


def test_the_api_neither_shows_nor_takes_the_field(org, admin, seller, contact,
                                                   api_client_for, in_org):
    api = api_client_for(seller)
    read = api.get(f"/api/v1/contacts/{contact.pk}").json()
    assert read["custom_fields"] == {"shoe": "38"}
    listed = api.get("/api/v1/contacts").json()["items"]
    assert listed[0]["custom_fields"] == {"shoe": "38"}
    full = api_client_for(admin).get(f"/api/v1/contacts/{contact.pk}").json()
    assert full["custom_fields"]["income"] == {"amount": "91000.00", "currency": "EUR"}

    for query in ("cf.income=91000", "cf.income.gte=1", "ordering=cf.income"):
        response = api.get(f"/api/v1/contacts?{query}")
        assert response.status_code == 422, query

    response = api.patch(f"/api/v1/contacts/{contact.pk}", {
        "version": contact.version, "custom_fields": {"income": "1"}},
        content_type="application/json")
    assert response.status_code == 422
    assert [(error["field"], error["message"]) for error in response.json()["errors"]] == [
        ("custom_fields.income", "There is no custom field with this key.")]
    with in_org(org):
        assert Contact.objects.get(pk=contact.pk).custom_fields["income"]["amount"] == "91000.00"


def test_history_hides_changes_of_the_field(org, admin, seller, contact, client_for,
                                            api_client_for):
    history = api_client_for(seller).get(f"/api/v1/contacts/{contact.pk}/history").json()
    changes = [change for entry in history["items"] for change in entry["changes"]
               if change["field"] == "custom_fields"]
    assert changes
    assert all("income" not in json.dumps(change) for change in changes)
    admin_history = api_client_for(admin).get(f"/api/v1/contacts/{contact.pk}/history").json()
    assert "91000" in json.dumps(admin_history)

    page = client_for(seller).get(f"/contacts/{contact.pk}/").content.decode()
    assert INCOME not in page
    audit = client_for(admin).get("/settings/audit-log/?entity=contact").content.decode()
    assert INCOME in audit


def test_lists_and_exports_leave_the_column_out(org, admin, contact, make_member, client_for,
                                                in_org):
    seller = make_member(org, Role.SALES)
    csv_text = download(client_for(seller), "/contacts/export.csv?columns=name,cf.income,cf.shoe")
    assert "Shoe size" in csv_text
    assert INCOME not in csv_text
    assert "91000" not in csv_text
    assert INCOME in download(client_for(admin), "/contacts/export.csv?columns=name,cf.income")
    listing = client_for(seller).get("/contacts/?columns=name,cf.income,cf.shoe")
    assert INCOME not in listing.content.decode()

    manager = make_member(org, Role.MANAGER)
    with in_org(org):
        for format in ("csv", "jsonl"):
            stream = io.BytesIO()
            write_export("contacts", format, stream, viewer=manager)
            assert b"91000" not in stream.getvalue()
            assert b"38" in stream.getvalue()
        everything = io.BytesIO()
        write_export("contacts", "jsonl", everything)
    assert b"91000" in everything.getvalue()


def test_merge_page_and_merge_fields_keep_the_value_hidden(org, admin, seller, contact,
                                                          make_member, client_for, in_org):
    from accord.merge_fields import person_values

    manager = make_member(org, Role.MANAGER)
    with in_org(org):
        twin = services.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "custom_fields": {"income": "12"}})
    page = client_for(manager).get(f"/contacts/{contact.pk}/merge/?with={twin.pk}")
    assert page.status_code == 200
    assert "91000" not in page.content.decode()
    assert INCOME not in page.content.decode()
    assert "91000" in client_for(admin).get(
        f"/contacts/{contact.pk}/merge/?with={twin.pk}").content.decode()

    with in_org(org):
        assert "income" not in person_values(contact, seller)["contact"]["custom"]
        assert person_values(contact, admin)["contact"]["custom"]["income"]


def test_segments_cannot_be_built_on_the_field_by_those_it_is_hidden_from(
        org, admin, contact, make_member, api_client_for, client_for, in_org):
    marketer = make_member(org, Role.MARKETING)
    with_income = {"conditions": {"all": [
        {"field": "cf.income", "op": "gt", "value": "90000"}]}}
    api = api_client_for(marketer)

    assert api.post("/api/v1/segments/preview", with_income,
                    content_type="application/json").status_code == 200
    with in_org(org):
        CustomField.objects.filter(key="income").update(hidden_from_roles=["marketing"])
    refused = api.post("/api/v1/segments/preview", with_income,
                       content_type="application/json")
    saved = api.post("/api/v1/segments", {"name": "Rich", **with_income},
                     content_type="application/json")
    builder = client_for(marketer).get("/segments/new/").content.decode()

    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["all[0].field"]
    assert saved.status_code == 422
    assert INCOME not in builder
    assert "Shoe size" in builder
    admin_preview = api_client_for(admin).post("/api/v1/segments/preview", with_income,
                                               content_type="application/json").json()
    assert admin_preview["count"] == 1  # Ada earns 91,000


def test_definitions_and_merges_keep_the_field_hidden(org, admin, seller, contact, in_org,
                                                     api_client_for, make_member):
    api = api_client_for(seller)
    keys = [field["key"] for field in api.get("/api/v1/custom-fields").json()["items"]]
    assert keys == ["shoe"]
    with in_org(org):
        income_id = CustomField.objects.get(key="income").pk
    assert api.get(f"/api/v1/custom-fields/{income_id}").status_code == 404

    with in_org(org):
        twin = services.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "custom_fields": {"income": "12"}})
        version = Contact.objects.get(pk=contact.pk).version
    manager = make_member(org, Role.MANAGER)
    refused = api_client_for(manager).post(f"/api/v1/contacts/{contact.pk}/merge", {
        "merge_ids": [twin.pk], "choices": {"cf.income": twin.pk}, "version": version},
        content_type="application/json")
    assert refused.status_code == 422
    merged = api_client_for(admin).post(f"/api/v1/contacts/{contact.pk}/merge", {
        "merge_ids": [twin.pk], "choices": {}, "version": version},
        content_type="application/json")
    assert merged.status_code == 200, merged.content

    history = api.get(f"/api/v1/contacts/{contact.pk}/history").content.decode()
    assert "merge_choices" in history
    assert "cf.income" not in history
    assert "91000" not in history
    assert "cf.income" in api_client_for(admin).get(
        f"/api/v1/contacts/{contact.pk}/history").content.decode()


def test_a_shared_view_drops_the_field_for_those_it_is_hidden_from(org, admin, seller, contact,
                                                                   client_for, in_org):
    with in_org(org):
        view = SavedView.objects.create(
            organization=org, entity="contact", name="Earners", owner=admin.user,
            is_shared=True, query="cf.income.gte=90000&ordering=-cf.income&cf.shoe=38",
            columns=["name", "cf.income", "cf.shoe"])

    page = client_for(seller).get(f"/contacts/?view={view.pk}")
    full = client_for(admin).get(f"/contacts/?view={view.pk}").content.decode()

    assert page.status_code == 200
    text = page.content.decode()
    assert "cf.income" not in text
    assert "90000" not in text
    assert "Ada" in text
    assert "cf.income" in full


@pytest.fixture
def required_income(org, admin, income, in_org):
    with in_org(org):
        services.update_custom_field(org, admin.user, income, data={
            "label": INCOME, "currency": "EUR", "required": True,
            "hidden_from_roles": ["sales", "manager"]})
    return income


def test_a_required_field_is_not_asked_of_those_it_is_hidden_from(
        org, admin, seller, required_income, client_for, api_client_for, in_org):
    by_api = api_client_for(seller).post("/api/v1/contacts", {"first_name": "Bo"},
                                         content_type="application/json")
    by_form = client_for(seller).post("/contacts/new/", {"first_name": "Cy",
                                                         "lifecycle_stage": "lead"})
    refused = api_client_for(admin).post("/api/v1/contacts", {"first_name": "Di"},
                                         content_type="application/json")

    assert by_api.status_code == 201
    assert by_form.status_code == 302
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["custom_fields.income"]
    with in_org(org):
        assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Bo", "Cy"]


BUILT_IN_CONTACT_TARGETS = [
    "first_name", "last_name", "name", "email", "email_home", "email_other", "phone",
    "phone_mobile", "phone_work", "phone_home", "phone_fax", "emails_all", "phones_all", "title",
    "company", "company_domain", "street", "city", "region", "postal_code", "country",
    "birthday", "lifecycle_stage", "time_zone", "do_not_contact", "note", "owner", "source",
    "tags", "external_id", "export_id"]


def test_an_import_neither_writes_nor_requires_a_field_hidden_from_its_member(
        org, admin, required_income, make_member, api_client_for, in_org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accord.integrations import tasks

    manager = api_client_for(make_member(org, Role.MANAGER))
    rows = b"First name,Income\r\nEve,50000\r\n"

    def upload(mapping):
        return manager.post("/api/v1/imports", {
            "file": SimpleUploadedFile("people.csv", rows, content_type="text/csv"),
            "entity": "contact", "mapping": json.dumps(mapping)})

    refused = upload({"First name": "first_name", "Income": "cf.income"})
    accepted = upload({"First name": "first_name", "Income": ""})
    tasks.run_import(accepted.json()["id"])

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "mapping.Income"
    assert refused.json()["errors"][0]["message"].endswith("use one of: " + ", ".join(
        [*BUILT_IN_CONTACT_TARGETS, "cf.shoe"]) + ".")
    assert accepted.status_code == 202
    with in_org(org):
        eve = Contact.objects.get(first_name="Eve")
    assert eve.custom_fields == {}


def test_a_segment_built_on_the_field_does_not_exist_for_those_it_is_hidden_from(
        org, admin, seller, contact, make_member, api_client_for, client_for):
    saved = api_client_for(admin).post("/api/v1/segments", {
        "name": "High earners", "conditions": {"all": [
            {"field": "cf.income", "op": "gt", "value": "90000"}]}},
        content_type="application/json").json()
    marketer = make_member(org, Role.MARKETING)
    api, page = api_client_for(seller), client_for(seller)

    listed = [item["name"] for item in api.get("/api/v1/segments").json()["items"]]
    read = api.get(f"/api/v1/segments/{saved['id']}")
    members = api.get(f"/api/v1/segments/{saved['id']}/members")
    shown = page.get(f"/segments/{saved['id']}/")
    overview = page.get("/segments/").content.decode()
    seen_by_marketing = api_client_for(marketer).get(f"/api/v1/segments/{saved['id']}")

    assert listed == []
    assert (read.status_code, members.status_code, shown.status_code) == (404, 404, 404)
    assert "High earners" not in overview
    assert seen_by_marketing.status_code == 200
    assert seen_by_marketing.json()["member_count"] == 1


def test_a_campaign_cannot_be_made_on_such_a_segment_by_those_it_is_hidden_from(
        org, admin, contact, make_member, api_client_for, in_org):
    admin_api = api_client_for(admin)
    segment = admin_api.post("/api/v1/segments", {
        "name": "High earners", "conditions": {"all": [
            {"field": "cf.income", "op": "gt", "value": "90000"}]}},
        content_type="application/json").json()
    template = admin_api.post("/api/v1/templates", {
        "name": "News", "subject": "Hello", "html": "<p>Hi</p>"},
        content_type="application/json").json()
    with in_org(org):
        CustomField.objects.filter(key="income").update(hidden_from_roles=["marketing"])
    marketer = api_client_for(make_member(org, Role.MARKETING))

    refused = marketer.post("/api/v1/campaigns", {
        "name": "Spring", "template_id": template["id"], "segment_id": segment["id"],
        "from_email": "news@example.com"}, content_type="application/json")

    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["segment_id"]


def test_a_campaign_made_before_its_segment_was_hidden_cannot_be_started_by_that_role(
        org, admin, contact, make_member, api_client_for, in_org):
    admin_api = api_client_for(admin)
    segment = admin_api.post("/api/v1/segments", {
        "name": "High earners", "conditions": {"all": [
            {"field": "cf.income", "op": "gt", "value": "90000"}]}},
        content_type="application/json").json()
    template = admin_api.post("/api/v1/templates", {
        "name": "News", "subject": "Hello", "html": "<p>Hi</p>"},
        content_type="application/json").json()
    campaign = admin_api.post("/api/v1/campaigns", {
        "name": "Spring", "template_id": template["id"], "segment_id": segment["id"],
        "from_email": "news@example.com"}, content_type="application/json").json()
    with in_org(org):
        CustomField.objects.filter(key="income").update(hidden_from_roles=["marketing"])
    marketer = api_client_for(make_member(org, Role.MARKETING))

    refused = marketer.post(f"/api/v1/campaigns/{campaign['id']}/start")
    started = admin_api.post(f"/api/v1/campaigns/{campaign['id']}/start")

    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["segment_id"]
    assert started.status_code == 200
    assert started.json()["status"] == "sending"
