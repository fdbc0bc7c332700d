"""The agencies pack walked through as an agency would: win a client, sign a retainer, and
get the renewal task a month before it renews."""

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.activities.models import Activity
from accord.customers.models import Company, Contact
from accord.packs.models import InstalledObject
from accord.packs.tests.helpers import post, result
from accord.records.models import Record, RecordType
from accord.reports.models import SavedReport
from accord.sales.models import Deal, Pipeline

pytestmark = pytest.mark.django_db


def test_an_agency_signs_a_retainer_and_is_reminded_a_month_before_it_renews(
        org, admin, api_client_for, client_for, eager, monkeypatch):
    from accord.automation import tasks

    api = api_client_for(admin)
    today = timezone.localdate()
    in_30_days = (today + dt.timedelta(days=30)).isoformat()

    applied = post(api, "/api/v1/packs/agencies/apply", {"dry_run": False})

    assert applied.status_code == 200, applied.json().get("errors")
    assert result(api, org, "Pitch pipeline") == {
        ("Pitches: Proposal sent",): "18000.00", ("Pitches: Negotiation",): "9000.00"}
    month = today + dt.timedelta(days=30)
    later = today + dt.timedelta(days=75)
    renewals = result(api, org, "Retainer renewals by month")
    assert sum(float(value) for value in renewals.values()) == 51600.0
    assert len(renewals) == (1 if (month.year, month.month) == (later.year, later.month)
                             else 2)
    assert result(api, org, "Companies by client status") == {
        ("Active client",): "2", ("Prospect",): "1"}

    # Fieldstone Dental signs a retainer that renews in a month, with its renewal deal.
    with scope(organization=org):
        fieldstone = Company.objects.get(name="Fieldstone Dental")
        aisha = Contact.objects.get(email="aisha@fieldstone-dental.example")
        renewals_pipeline = Pipeline.objects.get(name="Renewals")
        due = renewals_pipeline.stages.get(name="Renewal due")
    retainer = post(api, "/api/v1/records/retainer", {"values": {
        "name": "Fieldstone Dental, content", "client": fieldstone.pk,
        "monthly_fee": {"amount": "1500.00", "currency": "EUR"}, "hours_per_month": 12,
        "services": ["Content"], "start": today.isoformat(), "renews_on": in_30_days,
        "status": "Active"}})
    assert retainer.status_code == 201, retainer.json()
    project = post(api, "/api/v1/records/project", {"values": {
        "name": "Fieldstone patient guide", "client": fieldstone.pk,
        "retainer": retainer.json()["id"], "status": "Briefing", "estimated_hours": 16}})
    assert project.status_code == 201, project.json()
    renewal = post(api, "/api/v1/deals", {
        "name": "Fieldstone Dental retainer renewal", "pipeline_id": renewals_pipeline.pk,
        "stage_id": due.pk, "amount": "18000.00", "currency": "EUR",
        "expected_close_date": in_30_days, "contacts": [{"contact_id": aisha.pk}]})
    assert renewal.status_code == 201, renewal.json()

    # The rule looks at 08:00 in the organisation's time zone (UTC here): the
    # scheduler's clock is set to noon of the same day, whenever the test runs.
    noon = dt.datetime.combine(today, dt.time(12, 0), tzinfo=dt.UTC)
    monkeypatch.setattr(tasks.timezone, "now", lambda: noon)
    started = tasks.check_dated_rules()
    monkeypatch.undo()

    # The sample Lumen retainer and Fieldstone's both renew in 30 days; the
    # pitches, whatever their expected close dates, set nothing off.
    assert started == 2
    with scope(organization=org):
        reminders = sorted(Activity.objects.filter(kind="task").values_list(
            "subject", "custom_record__title"))
    assert reminders == [
        ("Prepare the renewal of Fieldstone Dental, content: results, plan and fee",
         "Fieldstone Dental, content"),
        ("Prepare the renewal of Lumen Coffee, social media: results, plan and fee",
         "Lumen Coffee, social media")]
    company_page = client_for(admin).get(f"/companies/{fieldstone.pk}/")
    assert "Fieldstone Dental, content" in company_page.content.decode()
    assert "Fieldstone patient guide" in company_page.content.decode()


def test_removal_keeps_retainers_someone_added_unless_data_may_go(
        org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, "/api/v1/packs/agencies/apply", {"dry_run": False})
    with scope(organization=org):
        harbor = Company.objects.get(name="Harbor Bikes")
    post(api, "/api/v1/records/retainer", {"values": {
        "name": "Harbor Bikes, design", "client": harbor.pk,
        "monthly_fee": {"amount": "900.00", "currency": "EUR"}, "start": "2026-12-01",
        "renews_on": "2027-12-01", "status": "Active"}})

    kept = post(api, "/api/v1/packs/agencies/remove", {"delete_data": False}).json()
    removed = post(api, "/api/v1/packs/agencies/remove", {"delete_data": True}).json()

    assert [(item["key"], item["reason"]) for item in kept["outcomes"]
            if item["section"] == "record_types" and item["reason"]] == [
        ("retainer", "1 record(s) of this type exist")]
    assert removed["counts"]["kept"] == 0
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Record.with_deleted.exists()
        assert not InstalledObject.objects.exists()


def test_the_pack_removes_cleanly_from_an_empty_organisation(org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, "/api/v1/packs/agencies/apply", {"dry_run": False})

    removed = post(api, "/api/v1/packs/agencies/remove", {"delete_data": False}).json()

    assert removed["counts"]["kept"] == 0
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Company.objects.exists()
        assert not Deal.objects.exists()
        assert not Pipeline.objects.filter(name__in=["Pitches", "Renewals"]).exists()
        assert not SavedReport.objects.exists()


def test_the_pack_applies_to_the_demo_and_removes_cleanly(on_demo):
    page, retainers = on_demo("agencies", "Agency", "/records/retainer/")

    assert "Retainer renewals by month" in page
    assert "Proposal sent" in page
    assert "Lumen Coffee, social media" in retainers
    assert "Harbor Bikes, paid ads and SEO" in retainers
