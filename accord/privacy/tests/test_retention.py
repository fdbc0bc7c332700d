"""Retention rules: the dict spec services, the API, the dry run against the run, the
nightly task, and the pages."""

import datetime as dt

from django.utils import timezone

from accord.activities import services as activity_services
from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.commerce.models import Order
from accord.customers import services as customer_services
from accord.customers.models import Contact
from accord.privacy import retention
from accord.privacy.models import RetentionRule, RetentionRun
from accord.privacy.tasks import run_retention_rules

API = "/api/v1/retention-rules"
LONG_AGO = dt.datetime(2019, 5, 1, 9, tzinfo=dt.UTC)


def test_a_rule_is_saved_from_a_plain_dict_with_its_only_condition_filled_in(org, admin,
                                                                             in_org):
    with in_org(org):
        rule = retention.save_retention_rule(org, admin.user, {
            "entity": "ticket_message", "age_days": 1095, "action": "delete"})

    assert (rule.entity, rule.condition, rule.age_days, rule.action, rule.is_active) == (
        "ticket_message", "ticket_closed", 1095, "delete", True)
    assert rule.name == "Ticket messages: delete after 1095 days"
    with in_org(org):
        assert AuditEntry.objects.filter(entity="retentionrule", object_id=rule.pk,
                                         action="create").count() == 1


def test_api_names_each_bad_field(admin, api_client_for):
    client = api_client_for(admin)

    answer = client.post(API, {"entity": "activity", "age_days": 0, "action": "anonymise",
                               "condition": "ticket_closed"}, content_type="application/json")

    assert answer.status_code == 422
    assert {error["field"]: error["message"] for error in answer.json()["errors"]} == {
        "condition": "For this entity choose: older_than.",
        "action": "For this entity choose: delete.",
        "age_days": "Enter a whole number of days from 1 to 36500.",
    }


def test_api_patch_with_a_stale_version_answers_409(admin, api_client_for):
    client = api_client_for(admin)
    rule = client.post(API, {"entity": "activity", "age_days": 30, "action": "delete"},
                       content_type="application/json").json()

    first = client.patch(f"{API}/{rule['id']}", {"version": rule["version"], "age_days": 60},
                         content_type="application/json")
    stale = client.patch(f"{API}/{rule['id']}", {"version": rule["version"],
                                                  "is_active": False},
                         content_type="application/json")

    assert first.status_code == 200
    assert first.json()["age_days"] == 60
    assert stale.status_code == 409
    assert stale["Content-Type"] == "application/problem+json"


def test_dry_run_lists_exactly_what_the_run_removes(org, admin, api_client_for, in_org):
    user = admin.user
    with in_org(org):
        contact = customer_services.create_contact(org, user, data={"first_name": "Rita"})
        old = [activity_services.log_activity(org, user, data={
            "kind": "note", "body": f"Old {number}", "contact": contact,
            "occurred_at": LONG_AGO}) for number in range(3)]
        recent = activity_services.log_activity(org, user, data={
            "kind": "note", "body": "Recent", "contact": contact})
    client = api_client_for(admin)
    rule = client.post(API, {"entity": "activity", "age_days": 365, "action": "delete"},
                       content_type="application/json").json()

    preview = client.post(f"{API}/{rule['id']}/dry-run").json()
    run = client.post(f"{API}/{rule['id']}/runs").json()

    listed = {row["id"] for row in preview["first"]}
    with in_org(org):
        left = set(Activity.objects.filter(contact=contact, kind="note")
                   .values_list("pk", flat=True))
    assert preview["count"] == 3
    assert listed == {activity.pk for activity in old}
    assert left == {recent.pk}
    assert (run["matched"], run["processed"], run["trigger"]) == (3, 3, "manual")
    assert client.post(f"{API}/{rule['id']}/dry-run").json() == {"count": 0, "first": []}


def test_nightly_run_anonymises_inactive_contacts_without_consent_and_keeps_orders(
        org, admin, in_org):
    from accord.commerce import orders

    user = admin.user
    with in_org(org):
        idle = customer_services.create_contact(org, user, data={
            "first_name": "Ida", "last_name": "Idle", "email": "ida@idle.example"})
        consenting = customer_services.create_contact(org, user, data={
            "first_name": "Carl", "last_name": "Consent", "email": "carl@c.example"})
        customer_services.record_consent(org, user, consenting, channel="email",
                                         purpose="newsletter", status="granted",
                                         method="verbal")
        orders.create_order(org, user, data={
            "number": "OLD-1", "contact": idle.pk, "currency": "EUR", "placed_at": LONG_AGO,
            "lines": [{"sku": "X", "quantity": "1", "unit_price": "12"}]})
        Contact.unscoped.filter(pk__in=[idle.pk, consenting.pk]).update(created_at=LONG_AGO)
        Activity.unscoped.filter(contact__in=[idle, consenting]).update(occurred_at=LONG_AGO)
        rule = retention.save_retention_rule(org, user, {
            "entity": "contact", "age_days": 730, "action": "anonymise"})
        preview = retention.dry_run(rule)

    removed = run_retention_rules()

    with in_org(org):
        kept = Contact.objects.get(pk=idle.pk)
        order = Order.objects.get(number="OLD-1")
        run = RetentionRun.objects.get()
        rule.refresh_from_db()
        audited = AuditEntry.objects.filter(entity="retentionrule", action="access").get()
    assert [row["id"] for row in preview["first"]] == [idle.pk]
    assert removed == 1
    assert (kept.last_name, kept.email) == ("Anonymised", "")
    assert str(order.total) == "12.0000"
    assert (run.trigger, run.matched, run.processed) == ("schedule", 1, 1)
    assert audited.changes["processed"] == [None, 1]
    assert rule.last_run_at is not None
    with in_org(org):
        assert Contact.objects.get(pk=consenting.pk).email == "carl@c.example"
        assert retention.dry_run(rule)["count"] == 0


def test_a_sales_member_cannot_see_or_change_rules(member, api_client_for, client_for):
    client = api_client_for(member)

    listed = client.get(API)
    made = client.post(API, {"entity": "activity", "age_days": 30, "action": "delete"},
                       content_type="application/json")
    page = client_for(member).get("/settings/privacy/retention/")

    assert listed.status_code == 403
    assert made.status_code == 403
    assert page.status_code == 403


def test_a_rule_is_made_tried_and_deleted_in_the_pages(org, admin, client_for, in_org):
    client = client_for(admin)

    empty = client.get("/settings/privacy/retention/")
    bad = client.post("/settings/privacy/retention/new", {
        "entity": "form_submission", "condition": "received_before", "age_days": "90",
        "action": "anonymise", "is_active": "on"})
    made = client.post("/settings/privacy/retention/new", {
        "name": "Old submissions", "entity": "form_submission",
        "condition": "received_before", "age_days": "90", "action": "delete",
        "is_active": "on"})
    with in_org(org):
        rule = RetentionRule.objects.get()
    tried = client.get(f"/settings/privacy/retention/{rule.pk}/dry-run")
    deleted = client.post(f"/settings/privacy/retention/{rule.pk}/delete")

    assert "No retention rules yet." in empty.content.decode()
    assert bad.status_code == 422
    assert "For this entity choose: delete." in bad.content.decode()
    assert made.status_code == 302
    assert "A run now would take 0 records." in tried.content.decode()
    assert deleted.status_code == 302
    with in_org(org):
        assert not RetentionRule.objects.exists()


def test_a_grant_dated_ahead_of_the_clock_does_not_keep_an_inactive_contact(
        org, admin, in_org):
    from accord.customers.models import Consent

    user = admin.user
    with in_org(org):
        idle = customer_services.create_contact(org, user, data={
            "first_name": "Fay", "last_name": "Future", "email": "fay@future.example"})
        customer_services.record_consent(org, user, idle, channel="email",
                                         purpose="newsletter", status="granted",
                                         method="verbal")
        # A row stored before consent times were checked, dated years ahead.
        Consent.unscoped.filter(contact=idle).update(
            recorded_at=timezone.now() + dt.timedelta(days=3650))
        Contact.unscoped.filter(pk=idle.pk).update(created_at=LONG_AGO)
        Activity.unscoped.filter(contact=idle).update(occurred_at=LONG_AGO)
        rule = retention.save_retention_rule(org, user, {
            "entity": "contact", "age_days": 730, "action": "anonymise"})
        preview = retention.dry_run(rule)

    assert [row["id"] for row in preview["first"]] == [idle.pk]


def test_a_contact_rule_scrubs_the_peoples_addresses_and_phones_from_other_records(
        org, admin, in_org):
    user = admin.user
    with in_org(org):
        idle = customer_services.create_contact(org, user, data={
            "first_name": "Ida", "last_name": "Idle", "email": "ida@idle.example",
            "phones": [{"number": "+44 20 7946 0991"}]})
        acme = customer_services.create_company(org, user, data={"name": "Acme"})
        note = activity_services.log_activity(org, user, data={
            "kind": "note", "company": acme.pk,
            "body": "Ida (ida@idle.example, +442079460991) asked for the price list."})
        Contact.unscoped.filter(pk=idle.pk).update(created_at=LONG_AGO)
        Activity.unscoped.filter(contact=idle).update(occurred_at=LONG_AGO)
        retention.save_retention_rule(org, user, {
            "entity": "contact", "age_days": 730, "action": "delete"})

    assert run_retention_rules() == 1

    with in_org(org):
        body = Activity.objects.get(pk=note.pk).body
        assert not Contact.with_deleted.filter(pk=idle.pk).exists()
    assert "ida@idle.example" not in body
    assert "+442079460991" not in body
    assert "asked for the price list" in body
