"""Packs through the API and Settings → Industry packs, as an admin and as others."""

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.customers.models import Contact, CustomField
from accord.identity.models import Role
from accord.marketing import services as marketing
from accord.marketing.models import Segment
from accord.reports.models import SavedReport

pytestmark = pytest.mark.django_db


def test_the_api_lists_previews_applies_and_removes_a_pack(admin, api_client_for):
    api = api_client_for(admin)

    listed = api.get("/api/v1/packs")
    preview = api.get("/api/v1/packs/ecommerce-retail")
    applied = api.post("/api/v1/packs/ecommerce-retail/apply", {},
                       content_type="application/json")
    again = api.get("/api/v1/packs")
    removed = api.post("/api/v1/packs/ecommerce-retail/remove", {},
                       content_type="application/json")

    assert [(item["name"], item["installed_version"]) for item in listed.json()["items"]] == [
        ("agencies", None), ("ecommerce-retail", None), ("financial-advice", None),
        ("healthcare", None), ("law-firms", None),
        ("real-estate", None), ("subscriptions-saas", None)]
    assert {item["outcome"] for item in preview.json()["plan"]} == {"added"}
    assert applied.status_code == 200
    assert applied.json()["counts"] == {"added": 23, "kept": 0, "installed": 0, "removed": 0,
                                        "gone": 0}
    assert {item["name"]: item["installed_version"]
            for item in again.json()["items"]}["ecommerce-retail"] == "1.1"
    assert removed.json()["counts"]["removed"] == 23


def test_a_dry_run_through_the_api_changes_nothing(org, admin, api_client_for):
    api = api_client_for(admin)

    answer = api.post("/api/v1/packs/subscriptions-saas/apply", {"dry_run": True},
                      content_type="application/json")

    assert answer.json()["dry_run"] is True
    assert answer.json()["counts"]["added"] == 27
    with scope(organization=org):
        assert not CustomField.objects.exists()


def test_only_admins_may_use_packs(org, make_member, api_client_for):
    manager = make_member(org, Role.MANAGER)

    answer = api_client_for(manager).post("/api/v1/packs/subscriptions-saas/apply", {},
                                          content_type="application/json")

    assert answer.status_code == 403
    assert answer["Content-Type"] == "application/problem+json"


def test_an_unknown_pack_answers_404(admin, api_client_for):
    answer = api_client_for(admin).get("/api/v1/packs/bakery")

    assert answer.status_code == 404
    assert answer.json()["detail"] == "No pack with this name."


def test_removing_a_pack_that_is_not_installed_answers_404(admin, api_client_for):
    answer = api_client_for(admin).post("/api/v1/packs/ecommerce-retail/remove", {},
                                        content_type="application/json")

    assert answer.status_code == 404
    assert answer.json()["detail"] == "This pack is not installed."


def test_a_segment_a_campaign_uses_is_kept_even_when_data_may_be_deleted(
        org, admin, api_client_for):
    api = api_client_for(admin)
    api.post("/api/v1/packs/ecommerce-retail/apply", {}, content_type="application/json")
    with scope(organization=org):
        segment = Segment.objects.get(name="Outdoor shoppers")
        template = next(item for item in api.get("/api/v1/templates").json()["items"]
                        if item["name"] == "We miss you")
    campaign = api.post("/api/v1/campaigns", {
        "name": "Autumn", "segment_id": segment.pk, "template_id": template["id"],
        "from_email": "shop@example.com"}, content_type="application/json")

    answer = api.post("/api/v1/packs/ecommerce-retail/remove", {"delete_data": True},
                      content_type="application/json")

    assert campaign.status_code == 201
    kept = [(item["description"], item["reason"]) for item in answer.json()["outcomes"]
            if item["outcome"] == "kept"]
    assert kept == [("We miss you", "campaigns use it; delete them first"),
                    ("Outdoor shoppers", "campaigns use it; delete them first")]
    with scope(organization=org):
        assert marketing.get_segment(segment.pk) == segment


def test_settings_page_lists_packs_and_the_preview_shows_what_is_kept(
        org, admin, client_for):
    with scope(organization=org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "preferred_size", "label": "Size",
            "field_type": "choice", "choices": ["XS", "S", "M", "L", "XL"]})
    client = client_for(admin)

    listing = client.get("/settings/packs/")
    preview = client.get("/settings/packs/ecommerce-retail/")

    assert listing.status_code == 200
    assert "E-commerce and retail" in listing.content.decode()
    page = preview.content.decode()
    assert "Preferred size (contact, choice)</td>\n        <td>kept" in page
    assert "already exists; left as it is" in page
    assert "Apply pack" in page


def test_applying_and_removing_in_the_browser_asks_before_deleting_data(
        org, admin, client_for):
    client = client_for(admin)

    applied = client.post("/settings/packs/subscriptions-saas/apply")
    with scope(organization=org):
        contact = Contact.objects.get(email="ines.marlow@brightlane.example")
        customers.update_contact(org, admin.user, contact, data={"title": "CFO"})
    page = client.get("/settings/packs/subscriptions-saas/").content.decode()
    removed = client.post("/settings/packs/subscriptions-saas/remove")
    confirmed = client.post("/settings/packs/subscriptions-saas/remove", {"delete_data": "on"})

    assert "What was applied" in applied.content.decode()
    assert "changed since the pack added it" in page
    assert 'name="delete_data"' in page
    assert "“Subscriptions and SaaS” removed" in removed.content.decode()
    with scope(organization=org):
        assert not SavedReport.objects.exists()
        assert Contact.with_deleted.get(pk=contact.pk).deleted_at is not None
        assert CustomField.objects.filter(key="plan").exists() is False
        assert AuditEntry.objects.filter(entity="pack").count() == 3
    assert confirmed.status_code == 200


def test_a_member_without_the_permission_does_not_see_the_settings_page(
        org, make_member, client_for):
    manager = make_member(org, Role.MANAGER)

    answer = client_for(manager).get("/settings/packs/")

    assert answer.status_code == 403
