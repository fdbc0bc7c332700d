"""One answer to "does this member see this record?", whatever the record's kind.

The API's 404 for a hidden id in a path and the rule runner both ask
`visibility.sees`, so every kind that follows record visibility must be known
to it; the first test makes adding a kind that names an owner or a contact a
decision rather than an oversight.
"""

from types import SimpleNamespace

import pytest
from django.apps import apps
from django_scopes import scope

from accord.activities import services as activities
from accord.commerce import orders
from accord.customers import services as customers
from accord.customers.models import Contact
from accord.identity import visibility
from accord.identity.models import Role
from accord.relationships import services as relationships
from accord.service import services as tickets

# Kinds that name an owner or a contact but keep no visibility of their own:
# a member's own settings (their owner is their author), and rows read only
# through the record they belong to, which is checked instead.
REACHED_THROUGH_THEIR_RECORD = {
    "SavedView", "AssignmentRule", "WebForm", "SavedReport", "Dashboard",
    "ContactEmail", "ContactPhone", "Affiliation", "ContactTag", "LifecycleChange",
    "Consent", "BehaviourEvent", "DealContact", "OutreachRecipient", "PortalSignInRequest",
    "TicketMessage", "SegmentMember", "CampaignRecipient", "TextMessage", "SequenceMessage",
    "WebFormSubmission", "RfmScore", "ChurnScore", "LoyaltyStatus", "RecordLink",
}


def test_every_kind_with_an_owner_or_a_contact_is_known_to_sees():
    known = {model.__name__ for model in apps.get_models()
             if visibility.follows_visibility(model)}
    unplaced = []
    for model in apps.get_models():
        if not model.__module__.startswith("accord."):
            continue
        owned = any(field.name == "owner" for field in model._meta.fields)
        of_a_contact = any(field.name == "contact" and field.related_model is Contact
                           for field in model._meta.fields)
        if (owned or of_a_contact) and model.__name__ not in (
                known | REACHED_THROUGH_THEIR_RECORD):
            unplaced.append(model.__name__)

    assert unplaced == []


@pytest.fixture
def world(org, admin, make_member):
    """Sam sees his own contacts; Olga's contact and what hangs on it are hidden from him."""
    sam = make_member(org, Role.SALES, full_name="Sam Seller")
    olga = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        mine = customers.create_contact(org, sam.user, data={"first_name": "Mina"})
        hidden = customers.create_contact(org, olga.user, data={"first_name": "Hugo"})
        lines = [{"description": "Lamp", "quantity": "1", "unit_price": "10"}]
        made = SimpleNamespace(
            sam=sam, admin=admin, mine=mine, hidden=hidden,
            own_order=orders.create_order(org, sam.user, data={
                "number": "S-1", "contact": mine.pk, "lines": lines}),
            hidden_order=orders.create_order(org, olga.user, data={
                "number": "O-1", "contact": hidden.pk, "lines": lines}),
            hidden_ticket=tickets.create_ticket(org, olga.user, data={
                "subject": "Broken lamp", "contact": hidden.pk}),
            assigned_ticket=tickets.create_ticket(org, olga.user, data={
                "subject": "Flickering lamp", "contact": hidden.pk, "assignee": sam.user.pk}),
            others_note=activities.log_activity(org, olga.user, data={
                "kind": "note", "subject": "Called Hugo", "contact": hidden.pk}),
            own_note=activities.log_activity(org, sam.user, data={
                "kind": "note", "subject": "Met Hugo", "contact": hidden.pk}),
            across=relationships.add_relationship(org, admin.user, admin, mine, data={
                "related": hidden.pk, "role": "spouse"}),
        )
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
    return made


def test_sees_follows_each_kinds_rule(org, world):
    with scope(organization=org):
        seen = {name: visibility.sees(world.sam, getattr(world, name))
                for name in ("mine", "hidden", "own_order", "hidden_order", "hidden_ticket",
                             "assigned_ticket", "others_note", "own_note", "across")}
        admin_sees = all(visibility.sees(world.admin, getattr(world, name)) for name in seen)

    assert seen == {
        "mine": True, "hidden": False, "own_order": True, "hidden_order": False,
        "hidden_ticket": False, "assigned_ticket": True, "others_note": False,
        "own_note": True, "across": False,
    }
    assert admin_sees


def test_no_member_sees_nothing_and_other_kinds_are_seen_by_every_member(org, world):
    with scope(organization=org):
        assert visibility.sees(None, world.mine) is False
        assert visibility.sees(world.sam, world.sam) is True  # a membership keeps no owner


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/orders/{hidden_order}", {"total": ["not", "money"]}),
    ("/api/v1/tickets/{hidden_ticket}", {"priority": ["not", "a", "priority"]}),
    ("/api/v1/activities/{others_note}", {"occurred_at": ["not", "a", "date"]}),
])
def test_a_hidden_path_id_answers_like_a_made_up_one_even_to_an_invalid_body(
    world, api_client_for, path, body
):
    api = api_client_for(world.sam)
    ids = {name: getattr(world, name).pk
           for name in ("hidden_order", "hidden_ticket", "others_note")}

    hidden = api.patch(path.format(**ids), body, content_type="application/json")
    made_up = api.patch(path.format(**dict.fromkeys(ids, 987654)), body,
                        content_type="application/json")
    as_admin = api_client_for(world.admin).patch(path.format(**ids), body,
                                                 content_type="application/json")

    assert hidden.status_code == made_up.status_code == 404
    assert hidden.json()["detail"] == made_up.json()["detail"]
    assert as_admin.status_code == 422
