"""Custom fields encrypted at rest: sealed in every stored row, plain to those who may see."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connection

from accord.audit.models import AuditEntry
from accord.core import crypto
from accord.core.models import DomainEvent
from accord.customers import services, tasks
from accord.customers.models import Company, Contact, CustomField
from accord.errors import InvalidInput
from accord.identity.models import Role
from accord.sales import services as sales

DIAGNOSIS = "Rare condition 7c1e"
LATER = "Recovered 2b9d"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_row(table: str, pk: int) -> str:
    """The record's custom_fields column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT custom_fields FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def raw_audit(entity: str, pk: int) -> str:
    """Every audit entry's changes column of the record, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes FROM audit_auditentry WHERE entity = %s "
                       "AND object_id = %s", [entity, pk])
        return " ".join(str(row[0]) for row in cursor.fetchall())


@pytest.fixture
def diagnosis(org, admin, client_for, in_org):
    """A text field on contacts marked encrypted through the settings page."""
    response = client_for(admin).post("/settings/custom-fields/new", {
        "entity": "contact", "label": "Diagnosis", "key": "diagnosis", "field_type": "text",
        "encrypted": "on", "position": "",
    })
    assert response.status_code == 302
    with in_org(org):
        return CustomField.objects.get(key="diagnosis")


@pytest.fixture
def contact(org, admin, diagnosis, in_org):
    with in_org(org):
        return services.create_contact(org, admin.user, data={
            "first_name": "Ada", "last_name": "Lovelace", "lifecycle_stage": "lead",
            "custom_fields": {"diagnosis": DIAGNOSIS}})


def test_a_value_saved_through_the_api_is_sealed_in_its_row_and_audit_entry(
        org, admin, diagnosis, api_client_for):
    api = api_client_for(admin)

    response = api.post("/api/v1/contacts", {
        "first_name": "Grace", "custom_fields": {"diagnosis": DIAGNOSIS}},
        content_type="application/json")

    assert response.status_code == 201
    contact_id = response.json()["id"]
    assert response.json()["custom_fields"] == {"diagnosis": DIAGNOSIS}
    assert DIAGNOSIS not in raw_row("customers_contact", contact_id)
    assert crypto.SEALED in raw_row("customers_contact", contact_id)
    assert DIAGNOSIS not in raw_audit("contact", contact_id)
    assert api.get(f"/api/v1/contacts/{contact_id}").json()["custom_fields"] == {
        "diagnosis": DIAGNOSIS}
    assert api.get("/api/v1/contacts").json()["items"][0]["custom_fields"] == {
        "diagnosis": DIAGNOSIS}
    definition = api.get(f"/api/v1/custom-fields/{diagnosis.pk}").json()
    assert definition["encrypted"] is True


def test_the_form_saves_it_sealed_and_pages_history_and_exports_show_it_plain(
        org, admin, contact, client_for, api_client_for, in_org):
    client = client_for(admin)

    response = client.post(f"/contacts/{contact.pk}/edit/", {
        "version": contact.version, "first_name": "Ada", "last_name": "Lovelace",
        "lifecycle_stage": "lead", "cf_diagnosis": LATER})

    assert response.status_code == 302
    assert LATER not in raw_row("customers_contact", contact.pk)
    assert DIAGNOSIS not in raw_audit("contact", contact.pk)
    assert LATER not in raw_audit("contact", contact.pk)
    assert LATER in client.get(f"/contacts/{contact.pk}/").content.decode()
    history = json.dumps(api_client_for(admin).get(
        f"/api/v1/contacts/{contact.pk}/history").json())
    assert DIAGNOSIS in history
    assert LATER in history
    audit_page = client.get("/settings/audit-log/?entity=contact").content.decode()
    assert LATER in audit_page
    export = b"".join(client.get("/contacts/export.csv?columns=name,cf.diagnosis")
                      .streaming_content).decode()
    assert LATER in export


def test_domain_events_and_webhook_payloads_name_the_field_without_its_value(
        org, admin, contact, in_org):
    with in_org(org):
        services.update_contact(org, admin.user, contact,
                                data={"custom_fields": {"diagnosis": LATER}})
        events = list(DomainEvent.objects.filter(type__startswith="contact."))

    payloads = json.dumps([event.data for event in events])
    assert "custom_fields" in payloads
    assert DIAGNOSIS not in payloads
    assert LATER not in payloads


def test_filtering_and_sorting_by_the_field_are_refused_naming_it(
        org, admin, contact, api_client_for, client_for):
    api = api_client_for(admin)
    message = ("Diagnosis is stored encrypted, so records cannot be {} by it. An admin can "
               "turn off its encryption in the field settings.")

    filtered = api.get("/api/v1/contacts?cf.diagnosis=x")
    sorted_ = api.get("/api/v1/contacts?ordering=-cf.diagnosis")
    page = client_for(admin).get("/contacts/?cf.diagnosis=x")
    plain_list = client_for(admin).get("/contacts/?columns=name,cf.diagnosis").content.decode()

    assert filtered.status_code == 422
    assert filtered.json()["errors"][0]["message"] == message.format("filtered")
    assert sorted_.status_code == 422
    assert sorted_.json()["errors"][0] == {
        "field": "ordering", "code": "invalid", "message": message.format("sorted")}
    assert message.format("filtered") in page.content.decode()
    assert 'name="cf.diagnosis"' not in plain_list
    assert "ordering=cf.diagnosis" not in plain_list
    assert DIAGNOSIS in plain_list


def test_segments_refuse_the_field_and_the_builder_does_not_offer_it(
        org, admin, contact, api_client_for, client_for):
    response = api_client_for(admin).post("/api/v1/segments", {
        "name": "Ill", "conditions": {"all": [
            {"field": "cf.diagnosis", "op": "equals", "value": DIAGNOSIS}]}},
        content_type="application/json")
    builder = client_for(admin).get("/segments/new/").content.decode()

    assert response.status_code == 422
    assert [error["message"] for error in response.json()["errors"]] == [
        "Diagnosis is stored encrypted, so segments and rules cannot use it in conditions."]
    assert "field:cf.diagnosis" not in builder


def test_marking_a_field_with_values_encrypts_them_in_a_job_and_unmarking_decrypts(
        org, admin, client_for, api_client_for, in_org):
    with in_org(org):
        field = services.create_custom_field(org, admin.user, data={
            "entity": "contact", "label": "Income", "key": "income", "field_type": "money",
            "currency": "EUR"})
        contact = services.create_contact(org, admin.user, data={
            "first_name": "Bo", "custom_fields": {"income": "91234"}})
    assert "91234" in raw_row("customers_contact", contact.pk)

    client = client_for(admin)
    response = client.post(f"/settings/custom-fields/{field.pk}/", {
        "label": "Income", "currency": "EUR", "position": "1", "encrypted": "on"})
    assert response.status_code == 302
    assert "Its stored values are being encrypted in the background." in client.get(
        response.url).content.decode()
    tasks.restore_custom_field_values(org.pk, field.pk)

    assert "91234" not in raw_row("customers_contact", contact.pk)
    with in_org(org):
        assert Contact.objects.get(pk=contact.pk).custom_fields["income"] == {
            "amount": "91234.00", "currency": "EUR"}
    listing = client_for(admin).get("/settings/custom-fields/").content.decode()
    assert "Encrypted" in listing
    with in_org(org):
        recorded = AuditEntry.objects.filter(entity="custom_field", object_id=field.pk)
        assert [entry.changes for entry in recorded.order_by("id")][1:] == [
            {"encrypted": [False, True]}, {"values_encrypted": [None, 1]}]

    unmarked = api_client_for(admin).patch(f"/api/v1/custom-fields/{field.pk}", {
        "encrypted": False, "version": 2}, content_type="application/json")
    stale = api_client_for(admin).patch(f"/api/v1/custom-fields/{field.pk}", {
        "encrypted": True, "version": 2}, content_type="application/json")
    tasks.restore_custom_field_values(org.pk, field.pk)

    assert unmarked.status_code == 200
    assert unmarked.json()["encrypted"] is False
    assert unmarked.json()["label"] == "Income"
    assert stale.status_code == 409
    assert '"amount": "91234.00"' in raw_row("customers_contact", contact.pk).replace(
        '":"', '": "')


def test_only_admins_change_the_setting_through_the_api(org, diagnosis, make_member,
                                                        api_client_for):
    manager = make_member(org, Role.MANAGER)

    response = api_client_for(manager).patch(f"/api/v1/custom-fields/{diagnosis.pk}", {
        "encrypted": False}, content_type="application/json")

    assert response.status_code == 403


def test_a_value_no_key_opens_shows_a_placeholder_and_is_kept_when_the_record_is_saved(
        org, admin, diagnosis, client_for, api_client_for, in_org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with in_org(org):
        contact = services.create_contact(org, admin.user, data={
            "first_name": "Cy", "last_name": "Lost", "custom_fields": {"diagnosis": DIAGNOSIS}})
    sealed = raw_row("customers_contact", contact.pk)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    client, api = client_for(admin), api_client_for(admin)

    page = client.get(f"/contacts/{contact.pk}/")
    read = api.get(f"/api/v1/contacts/{contact.pk}")
    form = client.get(f"/contacts/{contact.pk}/edit/").content.decode()
    saved = client.post(f"/contacts/{contact.pk}/edit/", {
        "version": contact.version, "first_name": "Cy", "last_name": "Found",
        "lifecycle_stage": contact.lifecycle_stage, "cf_diagnosis": "overwritten"})
    replaced = api.patch(f"/api/v1/contacts/{contact.pk}", {
        "version": read.json()["version"] + 1, "custom_fields": {"diagnosis": "overwritten"}},
        content_type="application/json")

    assert page.status_code == 200
    assert "(cannot be decrypted)" in page.content.decode()
    assert read.status_code == 200
    assert read.json()["custom_fields"] == {"diagnosis": "(cannot be decrypted)"}
    assert "This value cannot be decrypted with the configured keys." in form
    assert saved.status_code == 302
    assert replaced.status_code == 422
    assert replaced.json()["errors"][0]["field"] == "custom_fields.diagnosis"
    assert replaced.json()["errors"][0]["message"] == (
        "This value cannot be decrypted with the configured keys, so it cannot be changed "
        "until an admin restores the key.")
    assert json.loads(raw_row("customers_contact", contact.pk)) == json.loads(sealed)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    with in_org(org):
        restored = Contact.objects.get(pk=contact.pk)
    assert restored.last_name == "Found"
    assert restored.custom_fields == {"diagnosis": DIAGNOSIS}


def test_rotation_re_encrypts_records_and_history_with_the_first_key_and_resumes(
        org, admin, diagnosis, api_client_for, in_org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with in_org(org):
        contacts = [services.create_contact(org, admin.user, data={
            "first_name": f"P{number}", "custom_fields": {"diagnosis": f"{DIAGNOSIS} {number}"}})
            for number in range(3)]
        services.update_contact(org, admin.user, contacts[0],
                                data={"custom_fields": {"diagnosis": LATER}})
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = io.StringIO()

    call_command("rotate_field_keys", "--org", org.slug, "--batch-size", "2", stdout=out)
    again = io.StringIO()
    call_command("rotate_field_keys", stdout=again)

    assert json.loads(out.getvalue().splitlines()[-1]) == {
        "rotated": 7, "current": 0, "unreadable": 0}
    assert json.loads(again.getvalue().splitlines()[-1]) == {
        "rotated": 0, "current": 7, "unreadable": 0}
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    api = api_client_for(admin)
    assert api.get(f"/api/v1/contacts/{contacts[2].pk}").json()["custom_fields"] == {
        "diagnosis": f"{DIAGNOSIS} 2"}
    history = json.dumps(api.get(f"/api/v1/contacts/{contacts[0].pk}/history").json())
    assert f"{DIAGNOSIS} 0" in history
    assert LATER in history


def test_rotation_reports_values_no_key_opens_and_fails(org, admin, diagnosis, in_org,
                                                        settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with in_org(org):
        services.create_contact(org, admin.user, data={
            "first_name": "Di", "custom_fields": {"diagnosis": DIAGNOSIS}})
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    out = io.StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("rotate_field_keys", stdout=out)

    assert json.loads(out.getvalue().splitlines()[-1]) == {
        "rotated": 0, "current": 0, "unreadable": 2}
    assert str(failed.value) == (
        "2 rows hold values no key in FIELD_ENCRYPTION_KEYS opens; they were left as they "
        "are. Keep the old keys until they are found.")


def test_rotation_of_an_unknown_organisation_is_refused(db):
    with pytest.raises(CommandError) as failed:
        call_command("rotate_field_keys", "--org", "nowhere")

    assert str(failed.value) == "There is no organisation with the slug 'nowhere'."


def test_check_deploy_warns_without_keys_and_refuses_a_bad_key(settings, monkeypatch):
    # Set by the browser tests when they run first in this process; a deployment never
    # runs with it, and the deployment check refuses it.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    settings.FIELD_ENCRYPTION_KEYS = []
    warned = io.StringIO()
    call_command("check", "--deploy", stderr=warned, stdout=io.StringIO())

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    quiet = io.StringIO()
    call_command("check", "--deploy", stderr=quiet, stdout=io.StringIO())

    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(SystemCheckError) as refused:
        call_command("check", stderr=io.StringIO(), stdout=io.StringIO())

    assert "(accord.W010) FIELD_ENCRYPTION_KEYS is not set" in warned.getvalue()
    assert "accord.W010" not in quiet.getvalue()
    assert "(accord.E010) Key 1 in FIELD_ENCRYPTION_KEYS is not a Fernet key." in str(
        refused.value)


def test_imported_values_are_sealed_for_contacts_and_companies(org, admin, diagnosis, in_org,
                                                               tmp_path):
    with in_org(org):
        services.create_custom_field(org, admin.user, data={
            "entity": "company", "label": "Debt", "key": "debt", "field_type": "text",
            "encrypted": True})
    people = tmp_path / "people.csv"
    people.write_text(f"First name,Last name,Diagnosis\nEve,Import,{DIAGNOSIS}\n")
    firms = tmp_path / "firms.csv"
    firms.write_text(f"Name,Debt\nAcme,{LATER}\n")

    for path, entity in ((people, "contact"), (firms, "company")):
        out = io.StringIO()
        call_command("import", str(path), org=org.slug, entity=entity, stdout=out,
                     stderr=io.StringIO())
        assert json.loads(out.getvalue().splitlines()[-1])["created"] == 1

    with in_org(org):
        contact = Contact.objects.get(last_name="Import")
        company = Company.objects.get(name="Acme")
    assert contact.custom_fields == {"diagnosis": DIAGNOSIS}
    assert company.custom_fields == {"debt": LATER}
    assert DIAGNOSIS not in raw_row("customers_contact", contact.pk)
    assert LATER not in raw_row("customers_company", company.pk)
    assert DIAGNOSIS not in raw_audit("contact", contact.pk)
    assert LATER not in raw_audit("company", company.pk)


def test_deal_and_ticket_values_are_sealed(org, admin, in_org, api_client_for):
    with in_org(org):
        for entity in ("deal", "ticket"):
            services.create_custom_field(org, admin.user, data={
                "entity": entity, "label": "Secret", "key": "secret", "field_type": "text",
                "encrypted": True})
        contact = services.create_contact(org, admin.user, data={"first_name": "Tia"})
        sales.create_pipeline(org, admin.user, name="New business", is_default=True)
    api = api_client_for(admin)

    deal = api.post("/api/v1/deals", {"name": "Big", "custom_fields": {"secret": DIAGNOSIS}},
                    content_type="application/json")
    ticket = api.post("/api/v1/tickets", {
        "subject": "Help", "contact_id": contact.pk, "custom_fields": {"secret": LATER}},
        content_type="application/json")

    assert deal.status_code == 201, deal.content
    assert ticket.status_code == 201, ticket.content
    assert deal.json()["custom_fields"] == {"secret": DIAGNOSIS}
    assert ticket.json()["custom_fields"] == {"secret": LATER}
    assert DIAGNOSIS not in raw_row("sales_deal", deal.json()["id"])
    assert LATER not in raw_row("service_ticket", ticket.json()["id"])
    assert DIAGNOSIS not in raw_audit("deal", deal.json()["id"])
    assert LATER not in raw_audit("ticket", ticket.json()["id"])


def test_reports_neither_offer_nor_compute_an_encrypted_field(org, admin, in_org,
                                                             api_client_for):
    from accord.reports import engine
    from accord.reports.entities import entity_for

    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="income",
                                   label="Income", field_type="number", encrypted=True)
        CustomField.objects.create(organization=org, entity="contact", key="visits",
                                   label="Visits", field_type="number")
        offered = [number.key for number in entity_for("contacts", admin).numbers]
        with pytest.raises(InvalidInput) as refused:
            engine.run({"entity": "contacts", "measure": "sum:cf_income"}, admin)

    assert "cf_visits" in offered
    assert "cf_income" not in offered
    assert refused.value.errors[0]["field"] == "measure"


def test_a_date_rule_cannot_count_from_an_encrypted_date(org, admin, in_org, api_client_for):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="diagnosed_on",
                                   label="Diagnosed on", field_type="date", encrypted=True)

    answer = api_client_for(admin).post("/api/v1/rules", {
        "name": "Check-up", "trigger": "date_reached",
        "settings": {"date": "contact.custom.diagnosed_on", "days": 30},
        "actions": [{"type": "create_task", "subject": "Call", "days": 1}]},
        content_type="application/json")

    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["settings.date"]
