"""Record visibility in conditions: segments and reports about a contact's related records.

A condition about a contact's deals, company or activities counts only the
records the member sees, so that a segment preview, a saved report or a
campaign's recipients never tell of a hidden deal on a visible contact. The
admin, who sees every record, counts every one as before.
"""

import json
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_scopes import scope

from accord.activities import services as activities
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.marketing import campaigns
from accord.marketing import services as marketing
from accord.sales import services as sales
from accord.sales.models import Deal, DealStatus

EMAIL = "sigrid@sigrid.example"


def about_sigrid(condition: dict) -> dict:
    return {"all": [{"field": "email", "op": "equals", "value": EMAIL}, condition]}


@pytest.fixture
def world(org, admin, make_member):
    """The seller's Sigrid, at a company the admin owns, on a deal the admin owns (open)
    and one the admin won, with a call logged on the admin's deal; sales members see
    their own contacts, companies and deals."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    with scope(organization=org):
        sigrid = customers.create_contact(org, seller.user, data={
            "first_name": "Sigrid", "last_name": "Zebrowski", "email": EMAIL})
        sales.create_pipeline(org, admin.user, name="New business")
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own", "deals": "own"}})
    return SimpleNamespace(org=org, seller=seller, admin=admin, sigrid=sigrid)


def hide_on_sigrid(world, status=DealStatus.OPEN) -> Deal:
    """A deal of the admin's (hidden from the seller) with Sigrid on it."""
    with scope(organization=world.org):
        deal = sales.create_deal(world.org, world.admin.user, data={
            "name": "Admin's renewal", "contacts": [{"contact": world.sigrid.pk}]})
        if status != DealStatus.OPEN:
            Deal.objects.filter(pk=deal.pk).update(status=status,
                                                   closed_on=timezone.localdate())
    return deal


def preview(api, tree) -> int:
    response = api.post("/api/v1/segments/preview", {"conditions": tree},
                        content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["count"]


@pytest.mark.parametrize(("op", "status"), [("has_open", DealStatus.OPEN),
                                            ("has_won", DealStatus.WON),
                                            ("won_in_last_days", DealStatus.WON)])
def test_segment_preview_counts_only_deals_the_member_sees(world, api_client_for, op,
                                                            status):
    condition = {"kind": "deal", "op": op}
    if op == "won_in_last_days":
        condition["value"] = 30
    tree = about_sigrid(condition)
    seller, admin = api_client_for(world.seller), api_client_for(world.admin)

    before = preview(seller, tree)
    hide_on_sigrid(world, status)

    assert (before, preview(seller, tree)) == (0, 0)
    assert preview(admin, tree) == 1


def test_no_open_deal_holds_for_the_member_when_the_only_one_is_hidden(world,
                                                                       api_client_for):
    hide_on_sigrid(world)
    tree = about_sigrid({"kind": "deal", "op": "has_no_open"})

    assert preview(api_client_for(world.seller), tree) == 1
    assert preview(api_client_for(world.admin), tree) == 0


def test_own_deal_still_counts_for_the_member(world, api_client_for):
    with scope(organization=world.org):
        sales.create_deal(world.org, world.seller.user, data={
            "name": "Seller's laptops", "contacts": [{"contact": world.sigrid.pk}]})

    assert preview(api_client_for(world.seller),
                   about_sigrid({"kind": "deal", "op": "has_open"})) == 1


def test_a_hidden_company_reads_as_no_company(world, api_client_for):
    with scope(organization=world.org):
        company = customers.create_company(world.org, world.admin.user,
                                           data={"name": "Hidden Holdings"})
        customers.update_contact(world.org, world.admin.user, world.sigrid,
                                 data={"company": company.pk})
    named = about_sigrid({"field": "company.name", "op": "equals",
                          "value": "Hidden Holdings"})
    empty = about_sigrid({"field": "company.name", "op": "is_empty"})
    seller, admin = api_client_for(world.seller), api_client_for(world.admin)

    assert (preview(seller, named), preview(seller, empty)) == (0, 1)
    assert (preview(admin, named), preview(admin, empty)) == (1, 0)


def test_an_activity_on_a_hidden_deal_does_not_count(world, api_client_for):
    deal = hide_on_sigrid(world)
    with scope(organization=world.org):
        activities.log_activity(world.org, world.admin.user, data={
            "kind": "call", "subject": "Renewal call", "contact": world.sigrid.pk,
            "deal": deal.pk, "occurred_at": timezone.now().isoformat()})
    tree = about_sigrid({"kind": "activity", "type": "call", "op": "in_last_days",
                         "value": 7})

    assert preview(api_client_for(world.seller), tree) == 0
    assert preview(api_client_for(world.admin), tree) == 1


def report_value(api, tree) -> int:
    created = api.post("/api/v1/reports", {"name": "Sigrid's deals", "definition": {
        "entity": "contacts", "conditions": tree}}, content_type="application/json")
    assert created.status_code == 201, created.content
    result = api.get(f"/api/v1/reports/{created.json()['id']}/result")
    assert result.status_code == 200, result.content
    return sum(int(row["value"]) for row in result.json()["rows"])


def test_saved_report_counts_only_deals_the_member_sees(world, api_client_for):
    hide_on_sigrid(world)
    tree = about_sigrid({"kind": "deal", "op": "has_open"})

    assert report_value(api_client_for(world.seller), tree) == 0
    assert report_value(api_client_for(world.admin), tree) == 1


def test_report_records_page_lists_only_contacts_matched_by_deals_the_member_sees(
        world, client_for):
    hide_on_sigrid(world)
    query = {"entity": "contacts",
             "conditions": json.dumps(about_sigrid({"kind": "deal", "op": "has_open"}))}

    seller = client_for(world.seller).get("/reports/records/", query)
    admin = client_for(world.admin).get("/reports/records/", query)

    assert seller.status_code == admin.status_code == 200
    assert "Zebrowski" not in seller.content.decode()
    assert "Zebrowski" in admin.content.decode()


def test_campaign_recipients_follow_the_authors_view_of_deals(world):
    hide_on_sigrid(world)
    tree = about_sigrid({"kind": "deal", "op": "has_open"})
    with scope(organization=world.org):
        segment = marketing.create_segment(world.org, world.admin.user, data={
            "name": "Open deals", "conditions": tree})
        as_seller = campaigns.segment_contacts(world.org, segment, [world.seller])
        as_admin = campaigns.segment_contacts(world.org, segment, [world.admin])
        as_code = campaigns.segment_contacts(world.org, segment)

        assert (as_seller.count(), as_admin.count(), as_code.count()) == (0, 1, 1)
