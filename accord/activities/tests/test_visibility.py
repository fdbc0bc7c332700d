"""Timeline entries are as hidden as the records they hang on, in the API, the pages and
the export, for members whose role sees only their own records."""

import pytest
from django.urls import reverse

from accord.activities import services
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role


@pytest.fixture
def seller(org, make_member):
    return make_member(org, Role.SALES, full_name="Sam Seller")


@pytest.fixture
def notes(org, admin, seller, in_org):
    """A note on the seller's contact, one on another's contact, and a task on that other
    contact assigned to the seller; then sales members see only their own contacts."""
    with in_org(org):
        mine = customers.create_contact(org, seller.user, data={"first_name": "Mira"})
        theirs = customers.create_contact(org, admin.user, data={"first_name": "Hugo"})
        on_mine = services.log_activity(org, seller.user, data={
            "kind": "note", "body": "Called about the renewal", "contact": mine})
        on_theirs = services.log_activity(org, admin.user, data={
            "kind": "note", "body": "Private salary talk", "contact": theirs})
        assigned = services.log_activity(org, admin.user, data={
            "kind": "task", "subject": "Send Hugo the brochure", "contact": theirs,
            "assignee": seller.user})
        visibility.update_visibility(org, admin.user,
                                     roles={Role.SALES: {"contacts": "own"}})
    return {"mine": mine, "theirs": theirs, "on_mine": on_mine, "on_theirs": on_theirs,
            "assigned": assigned}


def test_the_api_lists_only_entries_on_records_the_member_sees_and_their_own_tasks(
    seller, notes, api_client_for
):
    api = api_client_for(seller)

    items = api.get("/api/v1/activities").json()["items"]
    hidden = notes["on_theirs"].pk
    assigned = notes["assigned"].pk

    assert {notes["on_mine"].pk, assigned} <= {item["id"] for item in items}
    assert {item["contact_id"] for item in items if item["id"] != assigned} == {
        notes["mine"].pk}
    assert api.get(f"/api/v1/activities/{hidden}").status_code == 404
    assert api.patch(f"/api/v1/activities/{hidden}", {"body": "x", "version": 1},
                     content_type="application/json").status_code == 404
    assert api.get(f"/api/v1/activities/{notes['assigned'].pk}").status_code == 200


def test_admins_still_read_every_entry(admin, notes, api_client_for):
    listed = {item["id"] for item in
              api_client_for(admin).get("/api/v1/activities").json()["items"]}

    assert notes["on_theirs"].pk in listed


def test_pages_of_a_hidden_entry_and_the_hidden_contacts_timeline_answer_404(
    seller, notes, client_for
):
    browser = client_for(seller)
    hidden = notes["on_theirs"].pk

    answers = [
        browser.get(reverse("activities:detail", args=[hidden])).status_code,
        browser.get(reverse("activities:edit", args=[hidden])).status_code,
        browser.post(reverse("activities:edit", args=[hidden]), {"body": "x", "version": 1})
        .status_code,
        browser.get(reverse("activities:timeline", args=["contact", notes["theirs"].pk]))
        .status_code,
        browser.post(reverse("activities:create"), {
            "contact": notes["theirs"].pk, "kind": "note", "body": "Sneaky"}).status_code,
    ]

    assert answers == [404, 404, 404, 404, 404]
    assert browser.get(reverse("activities:detail", args=[notes["on_mine"].pk])).status_code == 200


def test_home_page_recent_activity_leaves_out_hidden_entries(seller, notes, client_for):
    page = client_for(seller).get("/").content.decode()

    assert "Called about the renewal" in page
    assert "Private salary talk" not in page


def test_an_export_of_activities_is_refused_to_a_member_who_sees_only_some_contacts(
    seller, notes, api_client_for
):
    answer = api_client_for(seller).post("/api/v1/exports", {
        "entity": "activities", "format": "jsonl"}, content_type="application/json")

    assert answer.status_code == 403


def test_a_task_on_a_hidden_record_names_it_to_its_assignee_nowhere(
        org, admin, seller, in_org, client_for):
    import datetime as dt
    import re

    from django.test import Client
    from django.utils import timezone

    with in_org(org):
        vault = customers.create_company(org, admin.user, data={"name": "Vaultcorp Hidden"})
        hugo = customers.create_contact(org, admin.user, data={
            "first_name": "Hugo", "last_name": "Hiddenfeld", "company": vault.pk})
        task = services.log_activity(org, admin.user, data={
            "kind": "task", "subject": "Call back", "contact": hugo, "company": vault,
            "assignee": seller.user,
            "due_at": (timezone.now() + dt.timedelta(hours=1)).isoformat()})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    sellers = client_for(seller)
    feed_page = sellers.post("/settings/calendar/", {"action": "new"}).content.decode()
    feed = re.search(r'value="http://testserver(/calendar/[^"]+\.ics)"', feed_page).group(1)

    pages = {"tasks": sellers.get("/tasks/").content.decode(),
             "entry": sellers.get(f"/activities/{task.pk}/").content.decode(),
             "home": sellers.get("/").content.decode(),
             "feed": Client().get(feed).content.decode()}
    admins = client_for(admin).get(f"/activities/{task.pk}/").content.decode()

    for name, text in pages.items():
        assert "Call back" in text, name
        assert "Hiddenfeld" not in text, name
        assert "Vaultcorp" not in text, name
    assert "A contact you cannot see" in pages["entry"]
    assert "A record you cannot see" in pages["tasks"]
    assert "Hugo Hiddenfeld" in admins
    assert "Vaultcorp Hidden" in admins
