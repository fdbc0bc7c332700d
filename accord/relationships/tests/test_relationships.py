"""Relationships between contacts through the API, the contact page and the roles settings."""

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.relationships.models import Relationship, RelationshipRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def family(org, admin):
    with scope(organization=org):
        def person(first, email, owner=None):
            return customers.create_contact(org, admin.user, data={
                "first_name": first, "last_name": "Lind", "email": email, "owner": owner})
        return (person("Ada", "ada@example.com"), person("Ben", "ben@example.com"),
                person("Cleo", "cleo@example.com"))


def url(contact, *rest) -> str:
    return "/".join([f"/api/v1/contacts/{contact.pk}/relationships", *map(str, rest)])


def test_a_relationship_reads_as_its_role_from_one_side_and_its_inverse_from_the_other(
        admin, api_client_for, family):
    ada, ben, _cleo = family
    api = api_client_for(admin)

    created = api.post(url(ada), {"related_id": ben.pk, "role": "parent",
                                  "started_on": "1990-05-01"},
                       content_type="application/json")
    from_ada = api.get(url(ada)).json()["items"]
    from_ben = api.get(url(ben)).json()["items"]

    assert created.status_code == 201
    assert [(item["other_id"], item["label"]) for item in from_ada] == [(ben.pk, "Parent")]
    assert [(item["other_id"], item["label"]) for item in from_ben] == [(ada.pk, "Child")]
    assert from_ben[0]["started_on"] == "1990-05-01"


def test_patch_ends_a_relationship_and_a_stale_version_answers_409(
        admin, api_client_for, family):
    ada, ben, _cleo = family
    api = api_client_for(admin)
    created = api.post(url(ada), {"related_id": ben.pk, "role": "spouse"},
                       content_type="application/json").json()

    ended = api.patch(url(ada, created["id"]), {"version": 1, "ended_on": "2024-01-31"},
                      content_type="application/json")
    stale = api.patch(url(ada, created["id"]), {"version": 1, "note": "late"},
                      content_type="application/json")

    assert (ended.json()["ended_on"], ended.json()["version"]) == ("2024-01-31", 2)
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2


def test_bad_input_names_each_field(admin, api_client_for, family):
    ada, ben, _cleo = family
    api = api_client_for(admin)

    answer = api.post(url(ada), {"related_id": ada.pk, "role": "cousin",
                                 "started_on": "2020-01-02", "ended_on": "2019-01-01"},
                      content_type="application/json")

    assert answer.status_code == 422
    assert {error["field"]: error["message"] for error in answer.json()["errors"]} == {
        "related": "A contact cannot be related to itself.",
        "role": "Choose one of the relationship roles.",
        "ended_on": "The end date comes before the start date.",
    }


def test_a_relationship_is_hidden_when_the_member_cannot_see_the_other_person(
        org, admin, make_member, api_client_for, family):
    ada, ben, cleo = family
    seller = make_member(org, Role.SALES)
    with scope(organization=org):
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
        customers.update_contact(org, admin.user, ada, data={"owner": seller.user_id})
        customers.update_contact(org, admin.user, ben, data={"owner": seller.user_id})
        customers.update_contact(org, admin.user, cleo, data={"owner": admin.user_id})
    admin_api = api_client_for(admin)
    admin_api.post(url(ada), {"related_id": ben.pk, "role": "spouse"},
                   content_type="application/json")
    hidden = admin_api.post(url(ada), {"related_id": cleo.pk, "role": "assistant"},
                            content_type="application/json").json()
    api = api_client_for(seller)

    listed = api.get(url(ada)).json()["items"]
    read = api.get(url(ada, hidden["id"]))
    relate = api.post(url(ada), {"related_id": cleo.pk, "role": "referrer"},
                      content_type="application/json")
    of_hidden = api.get(url(cleo))

    assert [item["other_id"] for item in listed] == [ben.pk]
    assert read.status_code == 404
    assert relate.json()["errors"][0]["field"] == "related"
    assert of_hidden.status_code == 404


def test_delete_removes_the_relationship_and_every_change_is_audited(
        org, admin, api_client_for, family):
    ada, ben, _cleo = family
    api = api_client_for(admin)
    created = api.post(url(ada), {"related_id": ben.pk, "role": "guarantor"},
                       content_type="application/json").json()
    api.patch(url(ben, created["id"]), {"version": 1, "note": "for the loan"},
              content_type="application/json")

    deleted = api.delete(url(ben, created["id"]))

    assert deleted.status_code == 204
    with scope(organization=org):
        assert not Relationship.objects.exists()
        assert list(AuditEntry.objects.filter(entity="relationship").order_by("id")
                    .values_list("action", flat=True)) == ["create", "update", "purge"]


def test_the_contact_page_lists_and_draws_relationships_and_adds_one_by_email(
        org, admin, client_for, family):
    ada, ben, cleo = family
    client = client_for(admin)

    added = client.post(f"/contacts/{ada.pk}/relationships/new",
                        {"related": "ben@example.com", "role": "referrer"})
    refused = client.post(f"/contacts/{ada.pk}/relationships/new",
                          {"related": "nobody@example.com", "role": "referrer"})
    page = client.get(f"/contacts/{ben.pk}/").content.decode()

    assert added.status_code == 302
    assert added["Location"] == f"/contacts/{ada.pk}/#relationships"
    assert refused.status_code == 422
    assert "Choose a contact you can see." in refused.content.decode()
    assert '<svg class="relationship-graph"' in page
    assert f'href="/contacts/{ada.pk}/">Ada Lind</a> — Referred' in page
    assert "cleo@example.com" not in page


def test_ending_from_the_contact_page_keeps_the_relationship_as_history(
        org, admin, client_for, family):
    ada, ben, _cleo = family
    client = client_for(admin)
    client.post(f"/contacts/{ada.pk}/relationships/new",
                {"related": str(ben.pk), "role": "partner"})
    with scope(organization=org):
        relationship = Relationship.objects.get()

    client.post(f"/contacts/{ada.pk}/relationships/{relationship.pk}/end")

    relationship.refresh_from_db()
    assert relationship.ended_on is not None
    page = client.get(f"/contacts/{ada.pk}/").content.decode()
    assert '<svg class="relationship-graph"' not in page
    assert "— Partner" in page


def test_an_organisation_role_is_added_in_settings_used_and_kept_while_in_use(
        org, admin, client_for, api_client_for, family):
    ada, ben, _cleo = family
    client = client_for(admin)

    client.post("/settings/relationship-roles/", {"label": "Trustee",
                                                  "inverse_label": "Trust beneficiary"})
    roles = api_client_for(admin).get("/api/v1/relationship-roles").json()["items"]
    used = api_client_for(admin).post(url(ada), {"related_id": ben.pk, "role": "trustee"},
                                      content_type="application/json")
    with scope(organization=org):
        role = RelationshipRole.objects.get()
    refused = client.post(f"/settings/relationship-roles/{role.pk}/delete", follow=True)

    assert roles[-1] == {"key": "trustee", "label": "Trustee",
                         "inverse_label": "Trust beneficiary", "builtin": False}
    assert used.status_code == 201
    assert "Relationships use this role; end or delete them first." in (
        refused.content.decode())


def test_a_member_who_may_not_change_contacts_cannot_add_relationships(
        org, make_member, api_client_for, family):
    ada, ben, _cleo = family
    reader = make_member(org, Role.READ_ONLY)

    answer = api_client_for(reader).post(url(ada), {"related_id": ben.pk, "role": "spouse"},
                                         content_type="application/json")

    assert answer.status_code == 403
