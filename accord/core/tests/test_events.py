"""Domain events: written with the change, announced after the commit, never for a rollback."""

import pytest
from django.db import transaction
from django_scopes import scope

from accord import events
from accord.core.models import DomainEvent
from accord.customers.services import create_contact


@pytest.fixture
def heard():
    seen = []
    events.subscribe("*", seen.append)
    yield seen
    events.unsubscribe("*", seen.append)


def event_types(org) -> list[str]:
    return list(DomainEvent.unscoped.filter(organization=org).order_by("id")
                .values_list("type", flat=True))


def test_api_writes_to_contacts_and_companies_leave_events(org, admin, api_client_for):
    api = api_client_for(admin)
    company = api.post("/api/v1/companies", {"name": "Initech"}, content_type="application/json")
    contact = api.post("/api/v1/contacts", {"first_name": "Ada", "email": "ada@initech.example",
                                            "company_id": company.json()["id"]},
                       content_type="application/json").json()
    api.patch(f"/api/v1/contacts/{contact['id']}", {"last_name": "Lovelace", "version": 1},
              content_type="application/json")
    twin = api.post("/api/v1/contacts", {"first_name": "Ada", "last_name": "Lovelace"},
                    content_type="application/json").json()
    merged = api.post(f"/api/v1/contacts/{contact['id']}/merge",
                      {"merge_ids": [twin["id"]]}, content_type="application/json")
    assert merged.status_code == 200, merged.content
    api.delete(f"/api/v1/contacts/{contact['id']}")

    assert event_types(org) == [
        "company.created", "contact.created", "contact.updated", "contact.created",
        "contact.merged", "contact.deleted",
    ]
    updated = DomainEvent.unscoped.get(organization=org, type="contact.updated")
    assert updated.object_id == contact["id"]
    assert updated.data["last_name"] == "Lovelace"
    assert updated.data["changed"] == ["last_name"]
    assert updated.actor == admin.user
    assert DomainEvent.unscoped.get(type="contact.merged").data["merged_ids"] == [twin["id"]]


def create_and_abort(org, user):
    with transaction.atomic():
        create_contact(org, user, data={"first_name": "Rolled back"})
        raise RuntimeError("abort")


def test_subscribers_hear_committed_changes_only(org, admin, heard, transactional_db):
    with scope(organization=org):
        create_contact(org, admin.user, data={"first_name": "Kept"})
        with pytest.raises(RuntimeError):
            create_and_abort(org, admin.user)
    assert [(event.type, event.data["first_name"]) for event in heard] == [
        ("contact.created", "Kept")]
    assert event_types(org) == ["contact.created"]


def test_a_failing_subscriber_does_not_silence_the_others(org, admin, heard, transactional_db):
    def broken(event):
        raise ValueError("subscriber bug")

    events.subscribe("contact.created", broken)
    try:
        with scope(organization=org):
            create_contact(org, admin.user, data={"first_name": "Grace"})
    finally:
        events.unsubscribe("contact.created", broken)
    assert [event.type for event in heard] == ["contact.created"]
