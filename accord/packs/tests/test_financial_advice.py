"""The financial-advice pack walked through as an adviser would: a household of two
clients takes out a policy, its renewal goes into the renewals pipeline, the annual
review reminder arrives, and what is sensitive stays hidden from marketing and support."""


import pytest
from django_scopes import scope

from accord.automation import tasks as automation_tasks
from accord.customers.models import Contact, CustomField
from accord.identity.models import Role
from accord.packs.models import InstalledObject
from accord.packs.tests.helpers import day, post, result
from accord.privacy.models import RetentionRule
from accord.records.models import Record, RecordType
from accord.sales.models import Pipeline

pytestmark = pytest.mark.django_db

PACK = "/api/v1/packs/financial-advice"


def test_a_household_gets_a_policy_its_renewal_and_the_review_reminder(
        org, admin, make_member, api_client_for, eager):
    api = api_client_for(admin)

    applied = post(api, f"{PACK}/apply", {"dry_run": False})

    assert applied.status_code == 200, applied.json()
    assert applied.json()["counts"] == {"added": 44, "kept": 0, "installed": 0,
                                        "removed": 0, "gone": 0}
    assert result(api, org, "Policy renewals by stage") == {
        ("Policy renewals: Renewal due",): "820.00", ("Policy renewals: Quote sent",): "1460.00"}
    assert result(api, org, "Clients in onboarding") == {
        ("Client onboarding: Know-your-customer checks",): "1"}
    assert result(api, org, "Clients by risk profile") == {
        ("Adventurous",): "1", ("Balanced",): "1", ("Cautious",): "2"}
    rules = api.get("/api/v1/retention-rules").json()["items"]
    assert sorted((rule["record_type"], rule["date_field"], rule["age_days"], rule["is_active"])
                  for rule in rules) == [("kyc_check", "checked_on", 1825, False),
                                         ("suitability", "advice_date", 2190, False)]

    # Two clients form a household ...
    anna = post(api, "/api/v1/contacts", {
        "first_name": "Anna", "last_name": "Lindqvist", "email": "anna.lindqvist@example.org",
        "custom_fields": {"next_review": day(14), "risk_profile": "Balanced",
                          "annual_income": 91000, "net_worth": 1250000}}).json()
    erik = post(api, "/api/v1/contacts", {
        "first_name": "Erik", "last_name": "Lindqvist",
        "email": "erik.lindqvist@example.org"}).json()
    household = post(api, "/api/v1/records/household", {"values": {
        "name": "Lindqvist household", "members": [anna["id"], erik["id"]]}})
    assert household.status_code == 201, household.json()

    # ... takes out a home policy, whose renewal goes into the renewals pipeline ...
    policy = post(api, "/api/v1/records/policy", {"values": {
        "policy_number": "POL-30001", "household": household.json()["id"],
        "holder": anna["id"], "insurer": "Meridian Insurance", "policy_type": "Home",
        "premium": {"amount": "940.00", "currency": "EUR"}, "renewal_date": day(30),
        "status": "Renewal due"}})
    assert policy.status_code == 201, policy.json()
    with scope(organization=org):
        renewals = Pipeline.objects.get(name="Policy renewals")
        due = renewals.stages.get(name="Renewal due")
    deal = post(api, "/api/v1/deals", {
        "name": "POL-30001 home insurance renewal", "pipeline_id": renewals.pk,
        "stage_id": due.pk, "amount": "940.00", "currency": "EUR",
        "contacts": [{"contact_id": anna["id"]}]})
    assert deal.status_code == 201, deal.json()
    assert result(api, org, "Policy renewals by stage") == {
        ("Policy renewals: Renewal due",): "1760.00", ("Policy renewals: Quote sent",): "1460.00"}
    policies = api.get("/api/v1/records/policy", {"cf.household": household.json()["id"]})
    assert [item["title"] for item in policies.json()["items"]] == ["POL-30001"]

    # ... and two weeks before Anna's annual review, her adviser gets the task, as
    # thirty days before the policy renews the policy's owner does.
    started = automation_tasks.check_dated_rules()

    assert started == 2
    tasks = api.get("/api/v1/activities", {"contact_id": anna["id"], "kind": "task"})
    assert sorted(task["subject"] for task in tasks.json()["items"]) == [
        "Policy POL-30001 with Meridian Insurance renews in 30 days: quote the renewal",
        "Prepare the annual review with Anna Lindqvist"]
    renewal = api.get("/api/v1/activities", {"custom_record_id": policy.json()["id"],
                                             "kind": "task"}).json()["items"]
    assert [(task["subject"], task["assignee_id"]) for task in renewal] == [(
        "Policy POL-30001 with Meridian Insurance renews in 30 days: quote the renewal",
        admin.user_id)]

    # Marketing and support see neither income, net worth nor account values.
    for role in (Role.MARKETING, Role.SUPPORT):
        other = api_client_for(make_member(org, role))
        read = other.get(f"/api/v1/contacts/{anna['id']}").json()
        assert read["custom_fields"] == {"next_review": day(14), "risk_profile": "Balanced"}
        accounts = other.get("/api/v1/records/account").json()["items"]
        assert accounts
        assert all("value" not in item["values"] for item in accounts), role
    seen = api.get(f"/api/v1/contacts/{anna['id']}").json()["custom_fields"]
    assert (seen["annual_income"], seen["net_worth"]) == ("91000", "1250000")


def test_removal_keeps_the_advisers_records_until_data_may_be_deleted(
        org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, f"{PACK}/apply", {"dry_run": False})
    client = post(api, "/api/v1/contacts", {"first_name": "Iris", "last_name": "Moreau"}).json()
    post(api, "/api/v1/records/kyc_check", {"values": {
        "title": "Iris Moreau, identity", "client": client["id"], "checked_on": day(0),
        "outcome": "Verified"}})

    kept = post(api, f"{PACK}/remove", {"delete_data": False}).json()
    removed = post(api, f"{PACK}/remove", {"delete_data": True}).json()

    assert [(item["key"], item["reason"]) for item in kept["outcomes"]
            if item["outcome"] == "kept"] == [
        ("kyc_check", "1 record(s) of this type exist")]
    assert removed["counts"]["kept"] == 0
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Record.with_deleted.exists()
        assert not CustomField.objects.exists()
        assert not RetentionRule.objects.exists()
        assert not Pipeline.objects.filter(
            name__in=["Client onboarding", "Policy renewals"], is_active=True).exists()
        assert not InstalledObject.objects.exists()
        assert list(Contact.objects.values_list("first_name", flat=True)) == ["Iris"]


def test_the_pack_applies_to_the_demo_and_removes_cleanly(on_demo):
    page, policies = on_demo("financial-advice", "Financial advice", "/records/policy/")

    assert "Policy renewals by stage" in page
    assert "1,460.00" in page or "1460.00" in page
    assert "POL-18842" in policies
