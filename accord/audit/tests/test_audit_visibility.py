"""The audit log follows record visibility: a manager who sees their team's records reads
entries about those records and about settings, not about another team's records."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.activities import services as activities
from accord.customers import services as customers
from accord.identity import services as identity
from accord.identity import visibility
from accord.identity.models import Role
from accord.marketing import sequences
from accord.relationships import services as relationships


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


@pytest.fixture
def related(org, admin, make_member):
    """Hiro, a manager seeing his team's contacts; Vera and Quintessa, both of members
    outside his team, related to each other, and Otto, his own, related to Vera and to
    Olive, his own too; Vera and Otto are enrolled in a sequence."""
    hiro = make_member(org, Role.MANAGER, full_name="Hiro Manager")
    aaron = make_member(org, Role.SALES, full_name="Aaron Seller")
    west = make_member(org, Role.SALES, full_name="Wes West")
    with scope(organization=org):
        vera = customers.create_contact(org, aaron.user, data={
            "first_name": "Vera", "last_name": "Visibleton"})
        quintessa = customers.create_contact(org, west.user, data={
            "first_name": "Quintessa", "last_name": "Hiddenberg"})
        otto = customers.create_contact(org, hiro.user, data={
            "first_name": "Otto", "last_name": "Ownsworth"})
        relationships.add_relationship(org, admin.user, admin, vera,
                                       data={"related": quintessa.pk, "role": "spouse"})
        relationships.add_relationship(org, admin.user, admin, otto,
                                       data={"related": vera.pk, "role": "spouse"})
        olive = customers.create_contact(org, hiro.user, data={"first_name": "Olive"})
        own_pair = relationships.add_relationship(org, admin.user, admin, otto,
                                                  data={"related": olive.pk, "role": "spouse"})
        sequence = sequences.save_sequence(org, admin.user, {
            "name": "Onboarding", "from_email": "hello@northwind.example",
            "status": "active", "steps": [{"type": "wait", "amount": 2, "unit": "days"}]})
        hidden_enrolment = sequences.enrol_contact(org, admin.user, sequence, vera)
        own_enrolment = sequences.enrol_contact(org, admin.user, sequence, otto)
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team"}})
    return SimpleNamespace(hiro=hiro, own_pair=own_pair, hidden_enrolment=hidden_enrolment,
                           own_enrolment=own_enrolment)


def test_the_audit_log_names_no_contact_hidden_from_the_reader_through_a_link(
    org, admin, related, client_for, api_client_for
):
    page = client_for(related.hiro).get("/settings/audit-log/").content.decode()
    exported = b"".join(client_for(related.hiro).get(
        "/settings/audit-log/", {"export": "csv"}).streaming_content).decode()
    from_api = api_client_for(related.hiro).get("/api/v1/audit-log", {"limit": 100}).json()
    admins = client_for(admin).get("/settings/audit-log/").content.decode()
    everything = api_client_for(admin).get("/api/v1/audit-log", {"limit": 100}).json()

    def entries(items, entity):
        return {item["object_id"] for item in items if item["entity"] == entity}

    for text in (page, exported):
        assert "Quintessa" not in text
        assert "Hiddenberg" not in text
    assert entries(from_api["items"], "relationship") == {related.own_pair.pk}
    assert entries(from_api["items"], "enrolment") == {related.own_enrolment.pk}
    assert "Hiddenberg" in admins
    assert len(entries(everything["items"], "relationship")) == 3
    assert entries(everything["items"], "enrolment") == {related.hidden_enrolment.pk,
                                                         related.own_enrolment.pk}
