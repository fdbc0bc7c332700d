"""POST /api/v1/events: batches of behaviour events, idempotent by the sender's id."""

import pytest
from django_scopes import scope

from accord.commerce.models import BehaviourEvent
from accord.core.models import DomainEvent
from accord.customers.models import Contact
from accord.customers.services import create_contact
from accord.identity import visibility
from accord.identity.models import Role

API = "/api/v1/events"


def send(api, events):
    return api.post(API, {"events": events}, content_type="application/json")


def event(n, **extra):
    return {"id": f"evt-{n}", "type": "product.viewed", "email": "ada@example.com",
            "occurred_at": "2026-11-30T10:00:00Z", "properties": {"sku": f"SKU-{n}"}, **extra}


@pytest.fixture
def ada(org, admin):
    with scope(organization=org):
        return create_contact(org, admin.user, data={"first_name": "Ada",
                                                     "email": "Ada@Example.com"})


def test_events_are_stored_once_and_repeats_counted(org, admin, api_client_for, ada):
    api = api_client_for(admin)
    first = send(api, [event(1), event(2), event(2)])
    assert first.status_code == 200
    assert first.json() == {"accepted": 2, "duplicates": 1, "rejected": 0,
                            "contacts_created": 0, "errors": []}
    again = send(api, [event(1), event(2), event(3)])
    assert again.json()["accepted"] == 1
    assert again.json()["duplicates"] == 2
    stored = BehaviourEvent.unscoped.filter(organization=org)
    assert stored.count() == 3
    assert set(stored.values_list("contact_id", flat=True)) == {ada.pk}
    listed = api.get(API, {"contact_id": ada.pk}).json()["items"]
    assert {item["id"] for item in listed} == {"evt-1", "evt-2", "evt-3"}
    assert listed[0]["properties"]["sku"].startswith("SKU-")


def test_an_unknown_address_becomes_a_contact(org, admin, api_client_for):
    answer = send(api_client_for(admin), [event(1, email="new.buyer@example.com"),
                                          event(2, email="NEW.buyer@example.com")])
    assert answer.json()["contacts_created"] == 1
    contact = Contact.unscoped.get(organization=org, email="new.buyer@example.com")
    assert contact.source == "Events API"
    created = DomainEvent.unscoped.get(organization=org, type="contact.created")
    assert (created.object_id, created.data["email"]) == (contact.pk, "new.buyer@example.com")
    assert BehaviourEvent.unscoped.filter(contact=contact).count() == 2


def test_bad_events_are_named_by_index_and_the_good_ones_kept(org, admin, api_client_for,
                                                                ada):
    answer = send(api_client_for(admin), [
        event(1),
        {"id": "", "type": "has space", "occurred_at": "yesterday"},
        event(3, contact_id=ada.pk),
        event(4, email=None, contact_id=999999),
        event(5, occurred_at="2026-11-30T10:00:00"),
        event(6, properties=["not", "an", "object"]),
        event(7, occurred_at="2999-01-01T00:00:00Z"),
    ])
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (1, 6)
    assert [(error["index"], error["field"]) for error in body["errors"]] == [
        (1, "id"), (1, "type"), (1, "email"), (1, "occurred_at"),
        (2, "email"), (3, "contact_id"), (4, "occurred_at"), (5, "properties"),
        (6, "occurred_at"),
    ]
    assert body["errors"][0]["message"] == "Give the event an id of 1 to 200 characters."
    assert BehaviourEvent.unscoped.filter(organization=org).count() == 1


def test_a_batch_is_at_most_a_thousand_events(admin, api_client_for):
    answer = send(api_client_for(admin), [event(n) for n in range(1001)])
    assert answer.status_code == 422
    assert answer.json()["errors"][0] == {
        "field": "events", "code": "invalid",
        "message": "Send at most 1000 events per request."}


def test_another_organisations_contact_is_not_found(org, other_org, admin, api_client_for):
    with scope(organization=other_org):
        stranger = create_contact(other_org, None, data={"first_name": "Eve"})
    answer = send(api_client_for(admin), [event(1, email=None, contact_id=stranger.pk)])
    assert answer.json()["errors"][0]["message"] == "No contact with this id."
    assert not BehaviourEvent.unscoped.exists()


def test_ids_are_per_organisation(org, other_org, admin, api_client_for, make_member, ada):
    send(api_client_for(admin), [event(1)])
    with scope(organization=other_org):
        from accord.identity.models import Membership

        other_admin = Membership.objects.get(role=Role.ADMIN)
    answer = send(api_client_for(other_admin), [event(1)])
    assert answer.json()["accepted"] == 1


def test_read_only_members_cannot_send(org, make_member, api_client_for):
    assert send(api_client_for(make_member(org, Role.READ_ONLY)), [event(1)]).status_code == 403


def test_a_seller_who_sees_only_their_contacts_neither_reads_nor_sends_others_events(
        org, admin, make_member, api_client_for, in_org):
    seller = make_member(org, Role.SALES, email="sam@example.com")
    with in_org(org):
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
        mine = create_contact(org, admin.user, data={
            "first_name": "Mine", "email": "mine@example.com", "owner": seller.user_id})
        theirs = create_contact(org, admin.user, data={
            "first_name": "Theirs", "email": "theirs@example.com", "owner": admin.user_id})
    send(api_client_for(admin), [event(1, email="mine@example.com"),
                                 event(2, email="theirs@example.com")])
    api = api_client_for(seller)

    listed = api.get(API).json()["items"]
    by_contact = api.get(API, {"contact_id": theirs.pk}).json()["items"]
    sent = send(api, [event(3, email=None, contact_id=theirs.pk),
                      event(4, email="theirs@example.com"),
                      event(5, email=None, contact_id=mine.pk)]).json()

    assert [item["id"] for item in listed] == ["evt-1"]
    assert by_contact == []
    assert (sent["accepted"], sent["rejected"], sent["contacts_created"]) == (1, 2, 0)
    assert [(error["index"], error["field"], error["message"]) for error in sent["errors"]] == [
        (0, "contact_id", "No contact with this id."),
        (1, "email", "This address belongs to a contact you may not see."),
    ]


def test_events_before_1990_are_refused_naming_the_time(org, admin, api_client_for, ada):
    answer = send(api_client_for(admin), [event(1, occurred_at="1900-01-01T00:00:00Z")]).json()

    assert answer["errors"] == [{"index": 0, "field": "occurred_at",
                                 "message": "The time is before 1990; check the date."}]
