"""Loyalty: an admin sets the programme, customers get points and a tier from purchases."""

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scope

from accord import merge_fields
from accord.audit.models import AuditEntry
from accord.commerce import orders
from accord.customers import services as customers
from accord.identity.models import Role
from accord.insights import loyalty
from accord.insights.models import LoyaltyStatus

pytestmark = pytest.mark.django_db


def buy(org, actor, contact, number: str, amount: str, *, days_ago: int = 1,
        kind: str = "order") -> None:
    orders.create_order(org, actor, data={
        "number": number, "contact": contact.pk, "currency": org.base_currency, "kind": kind,
        "placed_at": timezone.now() - dt.timedelta(days=days_ago),
        "lines": [{"sku": "X", "quantity": "-1" if kind == "return" else "1",
                   "unit_price": amount}]})


def settings_form(**overrides) -> dict:
    return {"version": "1", "is_active": "on", "points_per_unit": "2", "months": "12",
            "tiers": "Bronze 0\nSilver 500\nGold 2000", **overrides}


def test_an_admin_switches_loyalty_on_and_customers_get_points_and_tiers(
        org, admin, client_for):
    with scope(organization=org):
        ada = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        bob = customers.create_contact(org, admin.user, data={"first_name": "Bob"})
        buy(org, admin.user, ada, "A-1", "300")
        buy(org, admin.user, ada, "A-2", "20", kind="return")
        buy(org, admin.user, ada, "A-3", "5000", days_ago=500)  # outside the 12 months
        buy(org, admin.user, bob, "B-1", "1200")
    client = client_for(admin)

    saved = client.post("/settings/loyalty/", settings_form())
    page = client.get(f"/contacts/{ada.pk}/").content.decode()

    assert saved.status_code == 302
    with scope(organization=org):
        statuses = {s.contact_id: (s.points, s.tier, s.next_tier, s.points_to_next)
                    for s in LoyaltyStatus.objects.all()}
        tier_text = merge_fields.render("{{ contact.loyalty_tier|default:'friend' }}",
                                        merge_fields.person_values(bob))
        entry = AuditEntry.objects.get(entity="loyalty_program")
    # Ada: (300 - 20) x 2 points; Bob: 1200 x 2.
    assert statuses == {ada.pk: (560, "Silver", "Gold", 1440), bob.pk: (2400, "Gold", "", 0)}
    assert 'id="loyalty"' in page
    assert "560 loyalty points" in page
    assert "1440 points to Gold" in page
    assert tier_text == "Gold"
    assert entry.changes["is_active"] == [False, True]


def test_switching_it_off_removes_every_status(org, admin, client_for):
    with scope(organization=org):
        ada = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        buy(org, admin.user, ada, "A-1", "300")
    client = client_for(admin)
    client.post("/settings/loyalty/", settings_form())

    client.post("/settings/loyalty/", settings_form(version="2", is_active=""))

    with scope(organization=org):
        assert not LoyaltyStatus.objects.exists()


@pytest.mark.parametrize(("tiers", "message"), [
    ("Bronze 0\nSilver", "Line 2 should be a name and a number of points"),
    ("Silver 500\nGold 2000", "The first tier starts at 0 points"),
    ("Bronze 0\nbronze 10", "Two tiers are called"),
    ("Bronze 0\nSilver 0", "start at the same number"),
])
def test_wrong_tiers_are_refused_next_to_the_field(org, admin, client_for, tiers, message):
    answer = client_for(admin).post("/settings/loyalty/", settings_form(tiers=tiers))

    assert answer.status_code == 422
    assert message in answer.content.decode()
    with scope(organization=org):
        assert loyalty.program_for(org).pk is None


def test_only_admins_set_the_programme_and_a_stale_page_gets_409(
        org, admin, make_member, client_for):
    manager = client_for(make_member(org, Role.MANAGER))
    client = client_for(admin)
    client.post("/settings/loyalty/", settings_form())

    refused = manager.get("/settings/loyalty/")
    stale = client.post("/settings/loyalty/", settings_form(points_per_unit="3"))

    assert refused.status_code == 403
    assert stale.status_code == 409


def test_tier_for_names_the_next_tier_and_the_points_missing():
    tiers = [{"name": "Bronze", "points": 0}, {"name": "Silver", "points": 500}]

    assert loyalty.tier_for(tiers, 0) == ("Bronze", "Silver", 500)
    assert loyalty.tier_for(tiers, 499) == ("Bronze", "Silver", 1)
    assert loyalty.tier_for(tiers, 500) == ("Silver", "", 0)
