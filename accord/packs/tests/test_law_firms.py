"""The law-firms pack walked through as a firm would: a lawyer opens a matter after the
conflict check, the matter stays between the lawyer, those it is shared with and admins,
and time entries add up on it."""

import re

import pytest
from django_scopes import scope

from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.customers.models import Company, Contact
from accord.identity.models import Role
from accord.packs.tests.helpers import post, result
from accord.records.models import Record, RecordType
from accord.sales.models import Pipeline

pytestmark = pytest.mark.django_db

SUPPLY_DISPUTE = "Northwind v. Brightwater, supply dispute"


def text(response) -> str:
    """The page's text without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def firm(org, admin, api_client_for, make_member):
    """The pack applied by the admin, and two lawyers (sales role, seeing all records)."""
    applied = post(api_client_for(admin), "/api/v1/packs/law-firms/apply", {"dry_run": False})
    assert applied.status_code == 200, applied.json().get("errors")
    lena = make_member(org, Role.SALES, email="lena@firm.example", full_name="Lena Lawyer")
    colin = make_member(org, Role.SALES, email="colin@firm.example", full_name="Colin Colleague")
    with scope(organization=org):
        ids = {"ines": Contact.objects.get(email="ines@moreau-design.example").pk,
               "northwind": Company.objects.get(name="Northwind Trading GmbH").pk,
               "dispute": Record.objects.get(title=SUPPLY_DISPUTE).pk}
    return lena, colin, ids


def test_the_dashboard_shows_the_engagement_pipeline_and_the_hours_add_up_on_a_matter(
        org, admin, api_client_for, client_for, make_member, firm):
    api = api_client_for(admin)
    _lena, _colin, ids = firm

    matter = client_for(admin).get(f"/records/matter/{ids['dispute']}/")

    assert result(api, org, "Engagement pipeline") == {
        ("Enquiry",): "2000.00", ("Proposal sent",): "8500.00",
        ("Engagement letter sent",): "3600.00"}
    assert result(api, org, "Companies by sector") == {("Retail",): "1", ("Manufacturing",): "1"}
    assert result(api, org, "Contacts by client type")[("Client",)] == "2"
    assert result(api, org, "Hours by matter") == {
        (SUPPLY_DISPUTE,): "5.50", ("Okafor, employment contract review",): "0.50"}
    # A lawyer the matters are not shared with sees the hours, not whose matters they are.
    hidden = result(api_client_for(make_member(org, Role.SALES)), org, "Hours by matter")
    assert SUPPLY_DISPUTE not in str(hidden)
    assert sorted(hidden.values()) == ["0.50", "5.50"]
    assert matter.status_code == 200
    assert "Time entries Review of the supply contract Letter before action to Brightwater " \
           "Total Hours 5.50" in text(matter)


def test_a_matter_opens_only_after_the_conflict_check_finds_the_client_on_the_other_side(
        org, admin, client_for, firm):
    lena, _colin, ids = firm
    browser = client_for(lena)
    form = {"v_title": "Moreau v. Northwind, shareholder dispute", "v_client": ids["ines"],
            "v_opposing_party": "NORTHWIND Trading", "v_practice_area": "Corporate",
            "v_status": "Intake", "owner": lena.user_id}

    refused = browser.post("/records/matter/new", {**form, "action": "save"})
    checked = browser.post("/records/matter/new", {**form, "action": "check"})
    opened = browser.post("/records/matter/new",
                          {**form, "action": "save", "conflict_checked": "on"})

    assert refused.status_code == 422
    assert "Run the conflict check and confirm there is no conflict before opening a " \
           "matter." in text(refused)
    assert checked.status_code == 200
    page = text(checked)
    assert "Looked for: Ines Moreau (moreau-design.example), NORTHWIND Trading" in page
    assert "3 possible conflicts:" in page
    assert "Northwind Trading GmbH (company): the same name — NORTHWIND Trading" in page
    assert "Ines Moreau (contact): the same name — Ines Moreau" in page
    # The firm's matter for Northwind is the admin's: Lena learns it exists, not its name.
    assert "A confidential Matter you cannot see (Matter): Northwind Trading GmbH, named as " \
           "Client company — NORTHWIND Trading" in page
    assert SUPPLY_DISPUTE not in page
    assert opened.status_code == 302
    with scope(organization=org):
        matter = Record.objects.get(title="Moreau v. Northwind, shareholder dispute")
        event = Activity.objects.get(custom_record=matter, event="record.conflict_checked")
        audited = AuditEntry.objects.filter(entity="record", object_id=matter.pk,
                                            changes__has_key="conflict_check").count()
    assert event.author == lena.user
    assert event.data["query"] == ["Ines Moreau", "NORTHWIND Trading"]
    assert [(hit["kind"], hit["name"]) for hit in event.data["hits"]] == [
        ("record", ""), ("company", "Northwind Trading GmbH"), ("contact", "Ines Moreau")]
    assert event.data["confirmed_by"] == "lena@firm.example"
    assert audited == 1
    assert "lena@firm.example confirmed there is no conflict" in text(
        browser.get(matter.get_absolute_url()))


def test_the_api_checks_for_conflicts_and_refuses_a_matter_not_checked(
        org, api_client_for, firm):
    lena, _colin, ids = firm
    api = api_client_for(lena)
    values = {"title": "Brightwater, warranty claim", "opposing_party": "Northwind Trading Ltd.",
              "practice_area": "Litigation", "status": "Intake"}

    check = post(api, "/api/v1/records/matter/conflict-check",
                 {"values": values, "names": ["someone@brightwater.example"]})
    refused = post(api, "/api/v1/records/matter", {"values": values})
    created = post(api, "/api/v1/records/matter", {"values": values, "conflict_checked": True})

    assert check.status_code == 200, check.json()
    assert [(hit["kind"], hit["name"], hit["reason"], hit["hidden"])
            for hit in check.json()["hits"]] == [
        ("record", "", "Northwind Trading GmbH, named as Client company", True),
        ("company", "Northwind Trading GmbH", "the same name", False),
        ("company", "Brightwater Ltd", "the same e-mail domain", False)]
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{
        "field": "conflict_checked", "code": "conflict_check",
        "message": "Run the conflict check and confirm there is no conflict before opening a "
                   "matter."}]
    assert created.status_code == 201, created.json()
    assert created.json()["owner_id"] == lena.user_id


def test_a_confidential_matter_is_hidden_from_a_colleague_until_it_is_shared(
        org, admin, api_client_for, client_for, firm):
    lena, colin, ids = firm
    matter = post(api_client_for(lena), "/api/v1/records/matter", {
        "values": {"title": "Quiet acquisition of Harbor Mills", "practice_area": "Corporate",
                   "status": "Open"}, "conflict_checked": True}).json()
    path = f"/records/matter/{matter['id']}/"
    api_path = f"/api/v1/records/matter/{matter['id']}"
    colin_web, colin_api = client_for(colin), api_client_for(colin)

    hidden = {
        "page": colin_web.get(path).status_code,
        "api": colin_api.get(api_path).status_code,
        "timeline": colin_web.get(
            f"/activities/timeline/custom_record/{matter['id']}/").status_code,
        "listed": [item["title"]
                   for item in colin_api.get("/api/v1/records/matter").json()["items"]],
        "search": path in colin_web.get("/search", {"q": "Harbor Mills"}).content.decode(),
        "export": b"Harbor Mills" in b"".join(
            colin_web.get("/records/matter/export").streaming_content),
    }
    not_owner = colin_api.patch(api_path, {"shared_with": [colin.user_id], "version": 1},
                                content_type="application/json")
    shared = api_client_for(lena).patch(api_path, {"shared_with": [colin.user_id],
                                                   "version": 1},
                                        content_type="application/json")
    seen = colin_web.get(path)
    by_admin = client_for(admin).get("/search", {"q": "Harbor Mills"})

    assert hidden == {"page": 404, "api": 404, "timeline": 404, "listed": [], "search": False,
                      "export": False}
    assert not_owner.status_code == 404
    assert shared.status_code == 200, shared.json()
    assert shared.json()["shared_with"] == [colin.user_id]
    assert seen.status_code == 200
    assert "Shared with: Colin Colleague" in text(seen)
    assert path in by_admin.content.decode()
    with scope(organization=org):
        change = AuditEntry.objects.filter(entity="record", object_id=matter["id"],
                                           changes__has_key="shared_with").get()
    assert change.actor == lena.user
    assert change.changes["shared_with"] == [[], [colin.user_id]]
    # Sharing is the owner's (and admins') to change, not the colleague's.
    taken_back = colin_api.patch(api_path, {"shared_with": [], "version": 2},
                                 content_type="application/json")
    assert taken_back.status_code == 403


def test_time_entries_logged_on_a_new_matter_add_up_on_its_page(
        org, api_client_for, client_for, firm):
    lena, _colin, _ids = firm
    api = api_client_for(lena)
    matter = post(api, "/api/v1/records/matter", {
        "values": {"title": "Okafor, second opinion", "practice_area": "Employment",
                   "status": "Open"}, "conflict_checked": True}).json()

    for hours, description in ((1.25, "Read the file"), (2, "Write the opinion")):
        logged = post(api, "/api/v1/records/time_entry", {"values": {
            "description": description, "matter": matter["id"], "date": "2026-12-01",
            "hours": hours, "rate": {"amount": "180.00", "currency": "EUR"},
            "billable": True}})
        assert logged.status_code == 201, logged.json()

    page = client_for(lena).get(f"/records/matter/{matter['id']}/")
    assert "Read the file Write the opinion Total Hours 3.25" in text(page)


def test_the_pack_applies_to_the_demo_and_removes_cleanly(on_demo):
    page, matters = on_demo("law-firms", "Law firm", "/records/matter/")

    assert "Engagement pipeline" in page
    assert "Proposal sent" in page
    assert "Hours by matter" in page
    assert SUPPLY_DISPUTE in matters


def test_removal_keeps_matters_someone_opened_unless_data_may_go(org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, "/api/v1/packs/law-firms/apply", {"dry_run": False})
    post(api, "/api/v1/records/matter", {"values": {
        "title": "Our own matter", "practice_area": "Tax", "status": "Open"},
        "conflict_checked": True})

    kept = post(api, "/api/v1/packs/law-firms/remove", {"delete_data": False}).json()
    removed = post(api, "/api/v1/packs/law-firms/remove", {"delete_data": True}).json()

    assert [(item["key"], item["reason"]) for item in kept["outcomes"]
            if item["section"] == "record_types" and item["reason"]] == [
        ("matter", "1 record(s) of this type exist")]
    assert removed["counts"]["kept"] == 0
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Record.with_deleted.exists()
        assert not Pipeline.objects.filter(name="Engagements").exists()
