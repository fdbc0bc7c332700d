"""Each shipped pack: applied to an empty organisation and to the demo, its main flow
walked through the API, and removed again without leaving anything behind."""

import io

import pytest
from django.core.management import call_command
from django_scopes import scope

from accord.customers.models import Contact, CustomField
from accord.identity.models import Membership, Role
from accord.insights import loyalty
from accord.insights.models import LoyaltyProgram
from accord.marketing.models import Segment
from accord.packs.models import InstalledObject
from accord.packs.tests.helpers import result
from accord.reports.models import Dashboard, SavedReport
from accord.sales.models import Deal

pytestmark = pytest.mark.django_db


def apply(api, name: str, **body):
    return api.post(f"/api/v1/packs/{name}/apply", body, content_type="application/json")


def remove(api, name: str, **body):
    return api.post(f"/api/v1/packs/{name}/remove", body, content_type="application/json")


def members(api, org, name: str) -> list[str]:
    with scope(organization=org):
        segment = Segment.objects.get(name=name)
    items = api.get(f"/api/v1/segments/{segment.pk}/members").json()["items"]
    return sorted(item["email"] for item in items)


def test_subscriptions_pack_shows_renewals_due_and_mrr_by_risk(org, admin, api_client_for,
                                                                client_for):
    api = api_client_for(admin)

    applied = apply(api, "subscriptions-saas")

    assert applied.json()["counts"]["added"] == 27
    assert members(api, org, "Renewal in 30 days") == [
        "ines.marlow@brightlane.example", "tobias.renn@quillstone.example"]
    assert members(api, org, "High churn risk") == ["tobias.renn@quillstone.example"]
    assert result(api, org, "MRR by churn risk") == {
        ("Low",): "1200.00", ("Medium",): "49.00", ("High",): "340.00"}
    with scope(organization=org):
        dashboard = Dashboard.objects.get(name="Subscriptions")
    page = client_for(admin).get(f"/dashboards/{dashboard.pk}/").content.decode()
    assert "MRR by churn risk" in page
    assert "Deals by pipeline and stage" in page


def test_subscriptions_pack_brings_the_billing_contact_role(org, admin, api_client_for):
    api = api_client_for(admin)
    apply(api, "subscriptions-saas")
    with scope(organization=org):
        ines = Contact.objects.get(email="ines.marlow@brightlane.example")
        amara = Contact.objects.get(email="amara.osei@quillstone.example")

    related = api.post(f"/api/v1/contacts/{ines.pk}/relationships",
                       {"related_id": amara.pk, "role": "billing_contact"},
                       content_type="application/json")
    from_amara = api.get(f"/api/v1/contacts/{amara.pk}/relationships").json()["items"]
    kept = remove(api, "subscriptions-saas")

    assert related.json()["label"] == "Billing contact"
    assert from_amara[0]["label"] == "Pays the bills of"
    assert [(item["description"], item["reason"]) for item in kept.json()["outcomes"]
            if item["outcome"] == "kept"
            and item["section"] in ("sample_data", "relationship_roles")] == [
        ("Amara Osei", "1 activity or relationship record(s) hang off it"),
        ("Ines Marlow", "1 activity or relationship record(s) hang off it"),
        ("Billing contact", "1 relationship(s) use it")]


def test_ecommerce_pack_sets_up_loyalty_and_style_reports(org, admin, api_client_for):
    api = api_client_for(admin)

    apply(api, "ecommerce-retail")

    assert result(api, org, "Customers by main style") == {
        ("Classic",): "1", ("Sport",): "1", ("Outdoor",): "2"}
    assert members(api, org, "Outdoor shoppers") == [
        "marco.vitale@example.net", "yuki.tanaka@example.net"]
    assert members(api, org, "Win-back, no purchase for 90 days") == []
    with scope(organization=org):
        program = LoyaltyProgram.objects.get()
    assert program.is_active is True
    assert [tier["name"] for tier in program.tiers] == ["Member", "Silver", "Gold"]


def test_ecommerce_pack_keeps_a_loyalty_programme_already_running(
        org, admin, api_client_for):
    api = api_client_for(admin)
    with scope(organization=org):
        loyalty.update_program(org, admin.user, data={
            "is_active": True, "tiers": [{"name": "Friend", "points": 0}]})

    applied = apply(api, "ecommerce-retail")
    removed = remove(api, "ecommerce-retail")

    assert [item["outcome"] for item in applied.json()["outcomes"]
            if item["section"] == "loyalty"] == ["kept"]
    assert removed.json()["counts"]["removed"] == 22
    with scope(organization=org):
        assert LoyaltyProgram.objects.get().tiers == [{"name": "Friend", "points": 0}]


@pytest.mark.parametrize("name", ["subscriptions-saas", "ecommerce-retail"])
def test_each_pack_removes_cleanly_from_an_empty_organisation(
        org, admin, api_client_for, name):
    api = api_client_for(admin)
    apply(api, name)

    removed = remove(api, name)

    assert removed.json()["counts"]["kept"] == 0
    with scope(organization=org):
        assert not CustomField.objects.exists()
        assert not Contact.objects.exists()
        assert not Segment.objects.exists()
        assert not SavedReport.objects.exists()
        assert not InstalledObject.objects.exists()
        assert not LoyaltyProgram.objects.filter(is_active=True).exists()


@pytest.mark.parametrize("name", ["subscriptions-saas", "ecommerce-retail"])
def test_each_pack_applies_to_the_demo_and_removes_cleanly(demo, name, client_for):
    with scope(organization=demo):
        admin = Membership.objects.filter(role=Role.ADMIN).order_by("pk").first()
        fields_before = CustomField.objects.count()
        contacts_before = Contact.objects.count()
        deals_before = Deal.objects.count()
    out = io.StringIO()

    call_command("pack", "apply", name, "--org", "demo", stdout=out)
    with scope(organization=demo):
        added = InstalledObject.objects.count()
        dashboard = Dashboard.objects.get(owner=admin.user,
                                          name={"subscriptions-saas": "Subscriptions",
                                                "ecommerce-retail": "Shop"}[name])
    page = client_for(admin).get(f"/dashboards/{dashboard.pk}/")
    call_command("pack", "remove", name, "--org", "demo", stdout=out)

    assert "Summary: " in out.getvalue()
    assert added > 10
    assert page.status_code == 200
    with scope(organization=demo):
        assert CustomField.objects.count() == fields_before
        assert Contact.objects.count() == contacts_before
        assert Deal.objects.count() == deals_before
        assert not InstalledObject.objects.exists()
