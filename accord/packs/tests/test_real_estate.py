"""The real-estate pack walked through as an agent would: list a property, find a buyer
who can afford it, book a viewing, get the follow-up task, and take the pack away."""


import pytest
from django_scopes import scope

from accord.customers.models import Contact, CustomField
from accord.marketing.models import Segment
from accord.packs.models import InstalledObject
from accord.packs.tests.helpers import post, result
from accord.records.models import Record, RecordType
from accord.reports.models import SavedReport
from accord.sales.models import Pipeline

pytestmark = pytest.mark.django_db

OLD_TOWN_BUYERS = "Buyers with a budget over 400,000 in Old Town"


def members(api, org, name: str) -> list[str]:
    with scope(organization=org):
        segment = Segment.objects.get(name=name)
    items = api.get(f"/api/v1/segments/{segment.pk}/members").json()["items"]
    return sorted(item["email"] for item in items)


def test_an_agent_lists_a_property_finds_a_buyer_and_follows_up_the_viewing(
        org, admin, api_client_for, eager, django_capture_on_commit_callbacks):
    api = api_client_for(admin)

    applied = post(api, "/api/v1/packs/real-estate/apply", {"dry_run": False})

    assert applied.status_code == 200
    assert applied.json()["counts"]["added"] == 32
    assert result(api, org, "Buyer pipeline") == {
        ("Buyers: Qualified",): "1", ("Buyers: Viewing booked",): "1",
        ("Buyers: Offer made",): "1"}
    assert result(api, org, "Listings by stage") == {
        ("Sellers: Listing agreed",): "510000.00", ("Sellers: On the market",): "425000.00"}
    assert result(api, org, "Properties by status") == {
        ("Available",): "467500.00", ("Under offer",): "285000.00"}
    assert members(api, org, OLD_TOWN_BUYERS) == ["lena.voss@example.org"]

    # A seller brings a house in Old Town ...
    seller = post(api, "/api/v1/contacts", {"first_name": "Mia", "last_name": "Brandt",
                                            "email": "mia.brandt@example.org"}).json()
    listed = post(api, "/api/v1/records/property", {"values": {
        "address": "3 Bell Yard", "property_type": "House", "status": "Available",
        "price": {"amount": "460000.00", "currency": "EUR"}, "bedrooms": 3,
        "area": "Old Town", "seller": seller["id"]}})
    assert listed.status_code == 201, listed.json()
    available = api.get("/api/v1/records/property",
                        {"cf.area": "Old Town", "cf.status": "Available"}).json()["items"]
    assert sorted(item["title"] for item in available) == [
        "12 Mill Lane", "3 Bell Yard", "7 Chapel Row"]
    assert result(api, org, "Properties by status") == {
        ("Available",): "465000.00", ("Under offer",): "285000.00"}

    # ... a new buyer who can pay for it joins the segment of Old Town buyers ...
    buyer = post(api, "/api/v1/contacts", {
        "first_name": "Jonas", "last_name": "Weber", "email": "jonas.weber@example.org",
        "custom_fields": {"max_budget": 480000, "wanted_area": "Old Town",
                          "wanted_type": "House", "wanted_bedrooms": 3}}).json()
    assert members(api, org, OLD_TOWN_BUYERS) == [
        "jonas.weber@example.org", "lena.voss@example.org"]

    # ... who views it, and whose deal moves on once the viewing is done.
    viewing = post(api, "/api/v1/records/viewing", {"values": {
        "title": "3 Bell Yard, Jonas Weber", "property": listed.json()["id"],
        "buyer": buyer["id"], "starts_at": "2026-12-10T10:30:00Z"}})
    assert viewing.status_code == 201, viewing.json()
    with scope(organization=org):
        buyers = Pipeline.objects.get(name="Buyers")
        stages = {stage.name: stage.pk for stage in buyers.stages.all()}
    deal = post(api, "/api/v1/deals", {
        "name": "Jonas Weber, buying", "pipeline_id": buyers.pk,
        "stage_id": stages["Viewing booked"], "amount": "460000.00",
        "contacts": [{"contact_id": buyer["id"]}]})
    assert deal.status_code == 201, deal.json()
    with django_capture_on_commit_callbacks(execute=True):
        moved = post(api, f"/api/v1/deals/{deal.json()['id']}/stage",
                     {"stage_id": stages["Viewing done"]})
    assert moved.status_code == 200, moved.json()

    tasks = api.get("/api/v1/activities", {"contact_id": buyer["id"], "kind": "task"})
    assert [(task["subject"], task["assignee_id"]) for task in tasks.json()["items"]] == [
        ("Ask Jonas Weber for feedback on the viewing", admin.user_id)]

    # The agent's own records keep the types; with data deletion everything goes.
    kept = post(api, "/api/v1/packs/real-estate/remove", {"delete_data": False}).json()
    assert [(item["key"], item["reason"]) for item in kept["outcomes"]
            if item["section"] == "record_types"] == [
        ("viewing", "1 record(s) of this type exist"),
        ("property", "fields of other record types link to it: Viewings")]
    removed = post(api, "/api/v1/packs/real-estate/remove", {"delete_data": True}).json()
    assert removed["counts"]["kept"] == 0
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Record.with_deleted.exists()
        assert not CustomField.objects.exists()
        assert not InstalledObject.objects.exists()


def test_the_pack_removes_cleanly_from_an_empty_organisation(org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, "/api/v1/packs/real-estate/apply", {"dry_run": False})

    removed = post(api, "/api/v1/packs/real-estate/remove", {"delete_data": False}).json()

    assert removed["counts"]["kept"] == 0
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Record.with_deleted.exists()
        assert not Contact.objects.exists()
        assert not Pipeline.objects.filter(name__in=["Buyers", "Sellers"]).exists()
        assert not SavedReport.objects.exists()


def test_the_pack_applies_to_the_demo_and_removes_cleanly(on_demo):
    page, listing = on_demo("real-estate", "Real estate", "/records/property/")

    assert "Buyer pipeline" in page
    assert "Properties by status" in page
    assert "7 Chapel Row" in listing
