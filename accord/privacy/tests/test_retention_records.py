"""Retention rules on custom records: counted from a date field or from creation, records
in the trash included, with the dry run listing exactly what the run deletes."""

import datetime as dt

import pytest
from django.utils import timezone

from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.privacy import retention
from accord.privacy.models import RetentionRule
from accord.records import services as records
from accord.records.models import Record, RecordLink

API = "/api/v1/retention-rules"
LONG_AGO = dt.datetime(2019, 5, 1, 9, tzinfo=dt.UTC)


@pytest.fixture
def visits(org, admin, in_org):
    """A "visit" type with a date field, a date-and-time field and a text field."""
    with in_org(org):
        return records.save_type(org, admin.user, {
            "key": "visit", "singular": "Visit", "plural": "Visits", "title_field": "title",
            "fields": [{"key": "title", "type": "text", "required": True},
                       {"key": "visited_on", "type": "date"},
                       {"key": "follow_up_at", "type": "datetime"},
                       {"key": "patient", "type": "contact"}]})


def visit(org, admin, visits, title: str, **values) -> Record:
    return records.create_record(org, admin.user, visits,
                                 data={"values": {"title": title, **values}})


def post(client, path: str, body: dict | None = None):
    return client.post(path, body or {}, content_type="application/json")


def test_a_rule_deletes_records_whose_date_is_older_than_the_age_trash_included(
        org, admin, visits, api_client_for, in_org):
    today = timezone.localdate()
    with in_org(org):
        old = visit(org, admin, visits, "Old", visited_on="2019-05-01")
        trashed = visit(org, admin, visits, "Old and trashed", visited_on="2018-01-31")
        records.delete_record(org, admin.user, trashed)
        recent = visit(org, admin, visits, "Recent",
                       visited_on=(today - dt.timedelta(days=30)).isoformat())
        undated = visit(org, admin, visits, "No date")
        patient = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        records.update_record(org, admin.user, old, data={"values": {"patient": patient.pk}})
    client = api_client_for(admin)

    made = post(client, API, {"entity": "custom_record", "record_type": "visit",
                              "condition": "date_passed", "date_field": "visited_on",
                              "age_days": 365, "action": "delete", "is_active": False})
    rule = made.json()
    preview = post(client, f"{API}/{rule['id']}/dry-run").json()
    run = post(client, f"{API}/{rule['id']}/runs").json()

    assert made.status_code == 201, rule
    assert (rule["name"], rule["record_type"], rule["date_field"]) == (
        "Visits: delete after 365 days", "visit", "visited_on")
    assert preview["count"] == 2
    assert [(row["id"], row["label"]) for row in preview["first"]] == [
        (old.pk, "Old"), (trashed.pk, "Old and trashed")]
    assert (run["matched"], run["processed"]) == (2, 2)
    with in_org(org):
        assert set(Record.with_deleted.values_list("pk", flat=True)) == {recent.pk, undated.pk}
        assert not RecordLink.objects.filter(record_id=old.pk).exists()
        audited = AuditEntry.objects.get(entity="retentionrule", action="access")
    assert audited.changes["processed"] == [None, 2]
    assert post(client, f"{API}/{rule['id']}/dry-run").json() == {"count": 0, "first": []}


def test_a_date_and_time_field_counts_by_its_day(org, admin, visits, in_org):
    with in_org(org):
        due = visit(org, admin, visits, "Due", follow_up_at="2019-05-01T23:30:00+00:00")
        visit(org, admin, visits, "Not yet",
              follow_up_at=(timezone.now() + dt.timedelta(days=2)).isoformat())
        rule = retention.save_retention_rule(org, admin.user, {
            "entity": "custom_record", "record_type": "visit", "condition": "date_passed",
            "date_field": "follow_up_at", "age_days": 30, "action": "delete"})

        assert [record.pk for record in retention.matching(rule)] == [due.pk]


def test_a_rule_counted_from_creation_takes_old_records_only(org, admin, visits, in_org):
    with in_org(org):
        old = visit(org, admin, visits, "Made long ago")
        new = visit(org, admin, visits, "Made today")
        Record.unscoped.filter(pk=old.pk).update(created_at=LONG_AGO)
        rule = retention.save_retention_rule(org, admin.user, {
            "entity": "custom_record", "record_type": "visit", "condition": "created_before",
            "age_days": 3650 // 2, "action": "delete"})

        run = retention.run_rule(org, admin.user, rule, trigger="manual")

        assert (run.matched, run.processed) == (1, 1)
        assert list(Record.with_deleted.values_list("pk", flat=True)) == [new.pk]


def test_api_names_what_is_wrong_with_a_custom_record_rule(admin, visits, api_client_for):
    client = api_client_for(admin)

    no_type = post(client, API, {"entity": "custom_record", "condition": "created_before",
                                 "age_days": 30, "action": "delete"})
    not_a_date = post(client, API, {"entity": "custom_record", "record_type": "visit",
                                    "condition": "date_passed", "date_field": "title",
                                    "age_days": 30, "action": "anonymise"})
    stray = post(client, API, {"entity": "activity", "record_type": "visit",
                               "age_days": 30, "action": "delete"})

    def errors(answer):
        assert answer.status_code == 422
        return {error["field"]: error["message"] for error in answer.json()["errors"]}

    assert errors(no_type) == {"record_type": "Choose the key of a record type."}
    assert errors(not_a_date) == {
        "action": "For this entity choose: delete.",
        "date_field": "Choose one of the type's date fields: visited_on, follow_up_at."}
    assert errors(stray) == {
        "record_type": "Only a rule on custom records names a record type."}


def test_the_rule_form_takes_a_record_type_and_its_date_field(org, admin, visits, client_for,
                                                              in_org):
    client = client_for(admin)
    page = client.get("/settings/privacy/retention/new").content.decode()

    wrong = client.post("/settings/privacy/retention/new", {
        "entity": "custom_record", "condition": "date_passed", "age_days": "2920",
        "action": "delete", "record_type": "visit", "date_field": "visited"})
    saved = client.post("/settings/privacy/retention/new", {
        "entity": "custom_record", "condition": "date_passed", "age_days": "2920",
        "action": "delete", "record_type": "visit", "date_field": "visited_on"})

    assert '<option value="visit">Visits</option>' in page
    assert wrong.status_code == 422
    assert "Choose one of the type&#x27;s date fields: visited_on, follow_up_at." in \
        wrong.content.decode()
    assert saved.status_code == 302
    with in_org(org):
        rule = RetentionRule.objects.get()
    assert (rule.record_type_id, rule.date_field, rule.is_active) == (
        visits.pk, "visited_on", False)
    detail = client.get(rule.get_absolute_url()).content.decode()
    assert "Visits" in detail
    assert "(visited_on)" in detail
