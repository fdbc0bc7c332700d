"""Fields of record types encrypted at rest: sealed in every stored row, plain to those who
may see them."""

import io
import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accord.audit.models import AuditEntry
from accord.core import crypto
from accord.core.models import DomainEvent
from accord.errors import InvalidInput
from accord.records import services, tasks
from accord.records.models import Record, RecordField

DIAGNOSIS = "Rare condition 7c1e"
LATER = "Recovered 2b9d"
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PATIENT = {
    "key": "patient", "singular": "Patient", "plural": "Patients", "title_field": "name",
    "fields": [
        {"key": "name", "label": "Name", "type": "text", "required": True},
        {"key": "diagnosis", "label": "Diagnosis", "type": "text", "encrypted": True},
        {"key": "seen_on", "label": "Seen on", "type": "date", "encrypted": True},
        {"key": "visits", "label": "Visits", "type": "number"},
        {"key": "allergy", "label": "Allergy", "type": "text"},
        {"key": "doctor", "label": "Doctor", "type": "contact"},
    ],
}


def raw_values(pk: int) -> str:
    """The record's values column as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT \"values\" FROM records_record WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


def raw_audit(pk: int) -> str:
    """Every audit entry's changes column of the record, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT changes FROM audit_auditentry WHERE entity = 'record' "
                       "AND object_id = %s", [pk])
        return " ".join(str(row[0]) for row in cursor.fetchall())


@pytest.fixture
def patient_type(org, admin, in_org):
    with in_org(org):
        return services.save_type(org, admin.user, PATIENT)


@pytest.fixture
def patient(org, admin, patient_type, in_org):
    with in_org(org):
        return services.create_record(org, admin.user, patient_type, data={
            "values": {"name": "Ada Lovelace", "diagnosis": DIAGNOSIS, "visits": 2,
                       "allergy": "Peanuts"}})


def test_a_record_saved_through_the_form_is_sealed_and_shown_plain_everywhere(
        org, admin, patient_type, client_for, api_client_for):
    client = client_for(admin)

    created = client.post("/records/patient/new", {
        "owner": admin.user.pk, "v_name": "Grace Hopper", "v_diagnosis": DIAGNOSIS,
        "v_seen_on": "2026-03-01", "v_visits": "1"})
    record = Record.unscoped.get(organization=org)
    edited = client.post(f"/records/patient/{record.pk}/edit", {
        "version": record.version, "owner": admin.user.pk, "v_name": "Grace Hopper",
        "v_diagnosis": LATER, "v_seen_on": "2026-03-01", "v_visits": "1"})

    assert created.status_code == 302
    assert edited.status_code == 302
    stored = raw_values(record.pk)
    assert crypto.SEALED in stored
    assert DIAGNOSIS not in stored
    assert LATER not in stored
    assert "2026-03-01" not in stored
    assert "Grace Hopper" in stored
    audit = raw_audit(record.pk)
    assert "Grace Hopper" in audit
    assert DIAGNOSIS not in audit
    assert LATER not in audit
    detail = client.get(f"/records/patient/{record.pk}/")
    assert LATER in detail.content.decode()
    assert ("Diagnosis", DIAGNOSIS, LATER) in [
        (row.label, row.old, row.new) for row in detail.context["history"]]
    assert LATER in client.get(f"/records/patient/{record.pk}/edit").content.decode()
    assert LATER in client.get("/records/patient/").content.decode()
    export = b"".join(client.get("/records/patient/export").streaming_content).decode()
    assert LATER in export
    assert "2026-03-01" in export
    assert LATER in client.get("/settings/audit-log/?entity=record").content.decode()
    read = api_client_for(admin).get(f"/api/v1/records/patient/{record.pk}").json()
    assert read["values"]["diagnosis"] == LATER
    assert read["values"]["seen_on"] == "2026-03-01"


def test_a_value_saved_through_the_api_is_sealed_and_events_carry_no_value(
        org, admin, patient_type, api_client_for, in_org):
    api = api_client_for(admin)

    created = api.post("/api/v1/records/patient", {
        "values": {"name": "Alan Turing", "diagnosis": DIAGNOSIS}},
        content_type="application/json")
    record_id = created.json()["id"]
    changed = api.patch(f"/api/v1/records/patient/{record_id}", {
        "values": {"diagnosis": LATER}, "version": created.json()["version"]},
        content_type="application/json")

    assert created.status_code == 201, created.content
    assert changed.status_code == 200, changed.content
    assert changed.json()["values"]["diagnosis"] == LATER
    assert DIAGNOSIS not in raw_values(record_id)
    assert LATER not in raw_values(record_id)
    assert DIAGNOSIS not in raw_audit(record_id)
    assert LATER not in raw_audit(record_id)
    listed = api.get("/api/v1/records/patient").json()["items"]
    assert [item["values"]["diagnosis"] for item in listed] == [LATER]
    with in_org(org):
        events = [event.data for event in DomainEvent.objects.filter(
            type__startswith="record.")]
    assert events[-1]["fields"] == ["diagnosis"]
    payloads = json.dumps(events)
    assert DIAGNOSIS not in payloads
    assert LATER not in payloads


def test_marking_a_field_on_the_settings_page_encrypts_its_values_in_a_job_and_the_api_unmarks(
        org, admin, patient_type, patient, client_for, api_client_for, in_org):
    with in_org(org):
        visits = patient_type.fields.get(key="visits")
    client = client_for(admin)

    marked = client.post(f"/settings/record-types/{patient_type.pk}/fields/{visits.pk}/", {
        "label": "Visits", "encrypted": "on"}, follow=True)
    tasks.restore_record_field_values(org.pk, visits.pk)
    sealed = raw_values(patient.pk)
    settings_page = client.get(f"/settings/record-types/{patient_type.pk}/").content.decode()
    type_read = api_client_for(admin).get("/api/v1/record-types/patient").json()
    unmarked = api_client_for(admin).patch("/api/v1/record-types/patient", {
        "version": type_read["version"],
        "fields": [{"key": "visits", "position": 4, "encrypted": False}]},
        content_type="application/json")
    tasks.restore_record_field_values(org.pk, visits.pk)

    assert marked.status_code == 200
    assert "Its stored values are being encrypted in the background." in (
        marked.content.decode())
    assert '"visits": "2"' not in sealed
    assert [field["encrypted"] for field in type_read["fields"]
            if field["key"] == "visits"] == [True]
    assert settings_page.count(">Encrypted</span>") == 3
    assert unmarked.status_code == 200, unmarked.content
    assert '"visits": "2"' in raw_values(patient.pk)
    assert DIAGNOSIS not in raw_values(patient.pk)
    with in_org(org):
        changes = [entry.changes for entry in AuditEntry.objects.filter(
            entity="record_field", object_id=visits.pk).order_by("pk")]
        assert Record.objects.get(pk=patient.pk).values["visits"] == "2"
    assert changes[-4:] == [{"encrypted": [False, True]}, {"values_encrypted": [None, 1]},
                            {"encrypted": [True, False]}, {"values_decrypted": [None, 1]}]


def test_marking_a_searched_field_takes_its_values_out_of_search(
        org, admin, patient_type, patient, api_client_for, in_org):
    api = api_client_for(admin)
    found = api.get("/api/v1/records/patient?q=Peanuts").json()["items"]
    with in_org(org):
        allergy = patient_type.fields.get(key="allergy")
    version = api.get("/api/v1/record-types/patient").json()["version"]

    marked = api.patch("/api/v1/record-types/patient", {
        "version": version, "fields": [{"key": "allergy", "position": 6, "encrypted": True}]},
        content_type="application/json")
    tasks.restore_record_field_values(org.pk, allergy.pk)

    assert [item["id"] for item in found] == [patient.pk]
    assert marked.status_code == 200, marked.content
    assert "Peanuts" not in raw_values(patient.pk)
    assert api.get("/api/v1/records/patient?q=Peanuts").json()["items"] == []
    assert [item["id"] for item in api.get("/api/v1/records/patient?q=Ada").json()["items"]
            ] == [patient.pk]


def test_links_the_title_and_party_fields_cannot_be_encrypted(
        org, admin, patient_type, client_for, in_org):
    with in_org(org):
        doctor = patient_type.fields.get(key="doctor")
        name = patient_type.fields.get(key="name")
        with pytest.raises(InvalidInput) as link:
            services.save_field(org, admin.user, patient_type,
                                {"key": "doctor", "encrypted": True}, field=doctor)
        with pytest.raises(InvalidInput) as title:
            services.save_type(org, admin.user, {"key": "patient", "title_field": "diagnosis"})
        with pytest.raises(InvalidInput) as party:
            services.save_type(org, admin.user, {"key": "patient",
                                                 "party_fields": ["diagnosis"]})

    page = client_for(admin).post(
        f"/settings/record-types/{patient_type.pk}/fields/{name.pk}/",
        {"label": "Name", "encrypted": "on"})

    assert link.value.errors[0]["field"] == "encrypted"
    assert link.value.errors[0]["message"] == (
        "Links are stored as links between records and cannot be encrypted; only fields "
        "with values can.")
    assert title.value.errors[0]["message"] == (
        "Diagnosis is stored encrypted, and a record's title is kept in plain text; choose "
        "another field.")
    assert party.value.errors[0]["message"] == (
        "“diagnosis” is stored encrypted, so the conflict check cannot look its values up.")
    assert page.status_code == 422
    assert ("The title field names a record in plain text in lists and links; choose another "
            "title field before encrypting it.") in page.content.decode()
    with in_org(org):
        assert not RecordField.objects.get(pk=name.pk).encrypted


def test_filtering_and_sorting_by_the_field_are_refused_naming_it(
        org, admin, patient, api_client_for, client_for):
    api = api_client_for(admin)
    message = ("Diagnosis is stored encrypted, so records cannot be {} by it. An admin can "
               "turn off its encryption in the field settings.")

    filtered = api.get("/api/v1/records/patient?cf.diagnosis=x")
    sorted_ = api.get("/api/v1/records/patient?ordering=-cf.diagnosis")
    page = client_for(admin).get("/records/patient/?ordering=cf.diagnosis")
    export = client_for(admin).get("/records/patient/export?cf.diagnosis=x", follow=True)
    search = client_for(admin).get("/records/patient/?q=Rare")

    assert filtered.status_code == 422
    assert filtered.json()["errors"][0]["message"] == message.format("filtered")
    assert sorted_.status_code == 422
    assert sorted_.json()["errors"][0] == {
        "field": "ordering", "code": "invalid", "message": message.format("sorted")}
    assert message.format("sorted") in page.content.decode()
    assert page.context["rows"] == []
    assert message.format("filtered") in export.content.decode()
    assert search.context["rows"] == []
    listed = client_for(admin).get("/records/patient/")
    assert [header["query"] for header in listed.context["headers"]
            if header["label"] == "Diagnosis"] == [""]


def test_reports_and_date_rules_leave_the_field_out(org, admin, patient, in_org,
                                                    api_client_for):
    from accord.automation import custom_records
    from accord.reports import engine
    from accord.reports.record_entities import record_entity

    with in_org(org):
        entity = record_entity("patient", admin)
        dimensions = [dimension.key for dimension in entity.dimensions]
        dates = [date.key for date in entity.dates]
        with pytest.raises(InvalidInput) as refused:
            engine.run({"entity": "record:patient", "group_by": "cf_diagnosis"}, admin)
        date_choices = [name for name, _label in custom_records.date_choices()]

    answer = api_client_for(admin).post("/api/v1/rules", {
        "name": "Check-up", "trigger": "date_reached",
        "settings": {"date": "record:patient.seen_on", "days": 30},
        "actions": [{"type": "create_task", "subject": "Call", "days": 1}]},
        content_type="application/json")

    assert "cf_name" in dimensions
    assert "cf_diagnosis" not in dimensions
    assert "cf_seen_on" not in dates
    assert refused.value.errors[0]["field"] == "group_by"
    assert "record:patient.seen_on" not in date_choices
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["settings.date"]


def test_a_value_no_key_opens_shows_a_placeholder_and_is_kept_when_the_record_is_saved(
        org, admin, patient_type, client_for, api_client_for, in_org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with in_org(org):
        record = services.create_record(org, admin.user, patient_type, data={
            "values": {"name": "Cy Lost", "diagnosis": DIAGNOSIS}})
    sealed = json.loads(raw_values(record.pk))["diagnosis"]
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    client, api = client_for(admin), api_client_for(admin)

    page = client.get(f"/records/patient/{record.pk}/")
    read = api.get(f"/api/v1/records/patient/{record.pk}")
    form = client.get(f"/records/patient/{record.pk}/edit").content.decode()
    saved = client.post(f"/records/patient/{record.pk}/edit", {
        "version": record.version, "owner": admin.user.pk, "v_name": "Cy Found",
        "v_diagnosis": "overwritten"})
    replaced = api.patch(f"/api/v1/records/patient/{record.pk}", {
        "version": record.version + 1, "values": {"diagnosis": "overwritten"}},
        content_type="application/json")

    assert "(cannot be decrypted)" in page.content.decode()
    assert read.json()["values"]["diagnosis"] == "(cannot be decrypted)"
    assert "This value cannot be decrypted with the configured keys." in form
    assert saved.status_code == 302
    assert replaced.status_code == 422
    assert replaced.json()["errors"][0]["field"] == "values.diagnosis"
    assert json.loads(raw_values(record.pk))["diagnosis"] == sealed
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    with in_org(org):
        restored = Record.objects.get(pk=record.pk)
    assert restored.title == "Cy Found"
    assert restored.values["diagnosis"] == DIAGNOSIS


def test_rotation_re_encrypts_record_values_and_their_history(
        org, admin, patient_type, api_client_for, client_for, in_org, settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with in_org(org):
        records = [services.create_record(org, admin.user, patient_type, data={
            "values": {"name": f"P{number}", "diagnosis": f"{DIAGNOSIS} {number}"}})
            for number in range(2)]
        services.update_record(org, admin.user, records[0],
                               data={"values": {"diagnosis": LATER}})
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    out = io.StringIO()

    call_command("rotate_field_keys", "--org", org.slug, "--batch-size", "1", stdout=out)

    assert json.loads(out.getvalue().splitlines()[-1]) == {
        "rotated": 5, "current": 0, "unreadable": 0}
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    api = api_client_for(admin)
    read = api.get(f"/api/v1/records/patient/{records[1].pk}").json()
    assert read["values"]["diagnosis"] == f"{DIAGNOSIS} 1"
    detail = client_for(admin).get(f"/records/patient/{records[0].pk}/")
    assert ("Diagnosis", f"{DIAGNOSIS} 0", LATER) in [
        (row.label, row.old, row.new) for row in detail.context["history"]]
