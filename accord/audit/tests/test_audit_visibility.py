"""The audit log follows record visibility: a manager who sees their team's records reads
entries about those records and about settings, not about another team's records."""

import pytest
from django_scopes import scope

from accord.activities import services as activities
from accord.customers import services as customers
from accord.identity import services as identity
from accord.identity import visibility
from accord.identity.models import Role


@pytest.fixture
def logged(org, admin, make_member):
    """A manager leading East, East's seller and West's outsider, each with a contact and
    a note on it; the manager sees the team's contacts only."""
    manager = make_member(org, Role.MANAGER, full_name="Mia Manager")
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        identity.save_team(org, admin.user, name="East", lead=manager.user, members=[seller])
        identity.save_team(org, admin.user, name="West", members=[outsider])
        for person, name in ((seller, "Sigrid"), (outsider, "Otto")):
            contact = customers.create_contact(org, person.user, data={
                "first_name": name, "last_name": "Zebrowski"})
            activities.log_activity(org, person.user, data={
                "kind": "note", "body": f"{name} SECRETNOTE", "contact": contact.pk})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team"}})
    return manager


def test_the_audit_log_leaves_out_entries_about_records_the_reader_may_not_see(
    org, admin, logged, client_for, api_client_for
):
    page = client_for(logged).get("/settings/audit-log/").content.decode()
    exported = b"".join(client_for(logged).get(
        "/settings/audit-log/", {"export": "csv"}).streaming_content).decode()
    from_api = api_client_for(logged).get("/api/v1/audit-log", {"limit": 100}).json()
    everything = api_client_for(admin).get("/api/v1/audit-log", {"limit": 100}).json()

    def reprs(items):
        return {item["object_repr"] for item in items
                if item["entity"] in ("contact", "activity")}

    assert "Sigrid SECRETNOTE" in page
    assert "Otto" not in page
    assert "Otto" not in exported
    assert "Sigrid" in exported
    assert not any("Otto" in text for text in reprs(from_api["items"]))
    assert any("Otto" in text for text in reprs(everything["items"]))
    assert "visibility" in {item["entity"] for item in from_api["items"]}
