"""Applying and removing packs through `accord pack` and the services."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.automation.models import Rule
from accord.customers import services as customers
from accord.customers.models import Contact, CustomField, Tag
from accord.marketing.models import EmailTemplate, Segment
from accord.packs import services
from accord.packs.document import InvalidPack, parse
from accord.packs.models import Installation, InstalledObject
from accord.reports.models import Dashboard, SavedReport
from accord.sales.models import Deal, Pipeline

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("pack", *args, stdout=out)
    return out.getvalue()


def test_apply_adds_every_section_and_records_the_installation(org):
    output = run("apply", "subscriptions-saas", "--org", org.slug)

    assert "Applied subscriptions-saas 1.1" in output
    with scope(organization=org):
        assert set(CustomField.objects.values_list("key", flat=True)) == {
            "plan", "mrr", "renewal_date", "churn_risk", "account_notes"}
        assert CustomField.objects.get(key="account_notes").hidden_from_roles == [
            "support", "read_only"]
        renewals = Pipeline.objects.get(name="Renewals")
        assert [(s.name, s.probability) for s in renewals.stages.order_by("position")] == [
            ("Upcoming", 60), ("Contacted", 70), ("Negotiating", 85), ("Renewed", 100),
            ("Churned", 0)]
        assert Segment.objects.filter(name="Renewal in 30 days").exists()
        assert EmailTemplate.objects.filter(name="Renewal reminder").exists()
        assert Rule.objects.get(name="Renewal reminder, 30 days ahead").is_active is False
        assert SavedReport.objects.filter(is_shared=True).count() == 4
        assert Dashboard.objects.get(name="Subscriptions").tiles.count() == 4
        assert Contact.objects.count() == 3
        assert Deal.objects.get(name="Quillstone Labs renewal").pipeline == renewals
        installation = Installation.objects.get(name="subscriptions-saas")
        assert installation.pack_version == "1.1"
        assert InstalledObject.objects.filter(installation=installation).count() == 27
        assert AuditEntry.objects.filter(entity="pack", action="create").count() == 1


def test_applying_twice_adds_nothing(org):
    run("apply", "subscriptions-saas", "--org", org.slug)

    output = run("apply", "subscriptions-saas", "--org", org.slug)

    assert output.endswith("Summary: 27 installed\n")
    with scope(organization=org):
        assert CustomField.objects.count() == 5
        assert Contact.objects.count() == 3


def test_dry_run_reports_what_would_change_and_changes_nothing(org):
    output = run("apply", "ecommerce-retail", "--org", org.slug, "--dry-run")

    assert output.startswith("Dry run, nothing changed: would apply ecommerce-retail 1.1\n")
    assert "added     Custom fields: Preferred size (contact, choice)" in output
    with scope(organization=org):
        assert not CustomField.objects.exists()
        assert not Installation.objects.exists()
        assert not AuditEntry.objects.filter(entity="custom_field").exists()


def test_objects_that_exist_already_are_kept_and_not_recorded(org, admin):
    with scope(organization=org):
        customers.create_custom_field(org, admin.user, data={
            "entity": "contact", "key": "plan", "label": "Our plan", "field_type": "choice",
            "choices": ["Starter", "Team", "Business", "Enterprise"]})

    output = run("apply", "subscriptions-saas", "--org", org.slug)

    assert "kept      Custom fields: Plan (contact, choice) (already exists)" in output
    with scope(organization=org):
        assert CustomField.objects.get(key="plan").label == "Our plan"
        assert not InstalledObject.objects.filter(block="custom_fields",
                                                  key="contact.plan").exists()


def test_remove_takes_away_what_the_pack_created(org):
    run("apply", "subscriptions-saas", "--org", org.slug)

    output = run("remove", "subscriptions-saas", "--org", org.slug)

    assert output.endswith("Summary: 27 removed\n")
    with scope(organization=org):
        assert not CustomField.objects.exists()
        assert not Pipeline.objects.filter(name="Renewals").exists()
        assert not Segment.objects.exists()
        assert not SavedReport.objects.exists()
        assert not Tag.objects.exists()
        assert not Contact.objects.exists()
        assert not InstalledObject.objects.exists()
        assert Installation.objects.get().removed_at is not None


def test_remove_keeps_fields_that_hold_values_users_entered_unless_asked(org, admin):
    run("apply", "subscriptions-saas", "--org", org.slug)
    with scope(organization=org):
        customers.create_contact(org, admin.user, data={
            "first_name": "Real", "email": "real@example.com",
            "custom_fields": {"plan": "Team"}})

    kept = run("remove", "subscriptions-saas", "--org", org.slug)
    deleted = run("remove", "subscriptions-saas", "--org", org.slug, "--delete-data")

    assert "kept      Custom fields: Plan (1 record(s) hold a value)" in kept
    assert "removed   Custom fields: Plan" in deleted
    with scope(organization=org):
        assert Contact.objects.get().custom_fields == {}
        assert not CustomField.objects.exists()


def test_a_document_error_names_its_place_and_applies_nothing():
    text = json.dumps({
        "name": "broken", "version": "1", "title": "Broken",
        "description": "A pack with a bad stage.",
        "pipelines": [{"name": "Sales", "stages": [
            {"name": "Open", "probability": 10}, {"name": "Try", "probability": 140},
            {"name": "Won", "kind": "won"}, {"name": "Lost", "kind": "lost"}]}],
    })

    with pytest.raises(InvalidPack) as caught:
        parse(text)

    assert caught.value.as_dict() == {
        "pipelines[0].stages[1].probability": "must be between 0 and 100"}


def test_a_refused_object_rolls_back_the_whole_pack(org, admin, monkeypatch):
    from accord.packs import document

    broken = document.load("ecommerce-retail")
    broken.sections["segments"][1]["conditions"] = {
        "all": [{"field": "cf.preferred_style", "op": "has_any", "value": ["Disco"]}]}
    monkeypatch.setattr(document, "load", lambda name: broken)

    with scope(organization=org), pytest.raises(InvalidPack) as caught:
        services.apply_pack(org, admin.user, "ecommerce-retail")

    assert [error["field"] for error in caught.value.errors] == ["segments[1].all[0].value"]
    with scope(organization=org):
        assert not CustomField.objects.exists()
        assert not Installation.objects.exists()


def test_a_document_that_is_not_json_names_the_line():
    with pytest.raises(InvalidPack) as caught:
        parse('{\n  "name": "broken",\n  "version": 1,,\n}')

    assert caught.value.as_dict() == {
        "line 3": "is not valid JSON: Expecting property name enclosed in double quotes"}


def test_unknown_pack_is_refused_by_name(org):
    with pytest.raises(CommandError, match="No pack with this name."):
        run("apply", "bakery", "--org", org.slug)


def test_a_newer_version_adds_only_what_is_new_and_an_older_one_is_refused(
        org, admin, monkeypatch):
    from accord.errors import Conflict
    from accord.packs import document

    shipped = document.load("ecommerce-retail")
    with scope(organization=org):
        services.apply_pack(org, admin.user, "ecommerce-retail")
    newer = document.load("ecommerce-retail")
    newer.version = "1.2"
    newer.sections["tags"].append({"name": "gift-buyer", "color": "#0369a1"})
    monkeypatch.setattr(document, "load", lambda name: newer)

    with scope(organization=org):
        summary = services.apply_pack(org, admin.user, "ecommerce-retail")
    monkeypatch.setattr(document, "load", lambda name: shipped)
    with scope(organization=org), pytest.raises(Conflict) as refused:
        services.apply_pack(org, admin.user, "ecommerce-retail")

    assert [(item.description, item.outcome) for item in summary.outcomes
            if item.outcome != "installed"] == [("gift-buyer", "added")]
    assert refused.value.detail == ("Version 1.2 of this pack is installed, newer than 1.1.")
    with scope(organization=org):
        assert Installation.objects.get().pack_version == "1.2"
        assert InstalledObject.objects.get(key="gift-buyer").pack_version == "1.2"
