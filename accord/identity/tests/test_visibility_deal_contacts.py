"""Record visibility in taking a contact off a deal.

A contact that is not on the deal, or that the member may not see, answers
exactly like a made-up id (404, the same message), in the API and on the deal
page, so that removing does not tell which contact ids exist. The admin, who
sees every contact, takes any linked one off as before.
"""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import services as sales
from accord.sales.models import DealContact

MADE_UP = 987654


@pytest.fixture
def world(org, admin, make_member):
    """The seller's deal with the seller's Sigrid and the admin's Hilda on it, and the
    seller's Selma and the admin's Otto on no deal; sales members see their own contacts."""
    seller = make_member(org, Role.SALES, full_name="Milan Seller")
    with scope(organization=org):
        def contact(owner, first):
            return customers.create_contact(org, owner.user, data={
                "first_name": first, "last_name": "Probe"})

        sigrid, selma = contact(seller, "Sigrid"), contact(seller, "Selma")
        hilda, otto = contact(admin, "Hilda"), contact(admin, "Otto")
        sales.create_pipeline(org, admin.user, name="New business")
        deal = sales.create_deal(org, seller.user, data={
            "name": "Seller laptops",
            "contacts": [{"contact": sigrid.pk}, {"contact": hilda.pk}]})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
    return SimpleNamespace(org=org, seller=seller, admin=admin, deal=deal, sigrid=sigrid,
                           selma=selma, hilda=hilda, otto=otto)


def linked(world) -> set[int]:
    with scope(organization=world.org):
        return set(DealContact.objects.filter(deal=world.deal)
                   .values_list("contact_id", flat=True))


def test_api_answers_a_hidden_or_unlinked_contact_like_a_made_up_id(world, api_client_for):
    api = api_client_for(world.seller)
    url = f"/api/v1/deals/{world.deal.pk}/contacts/"

    made_up = api.delete(url + str(MADE_UP))
    answers = {name: api.delete(url + str(contact.pk)) for name, contact in (
        ("hidden and linked", world.hilda), ("hidden", world.otto),
        ("seen, not linked", world.selma))}

    assert made_up.status_code == 404
    for response in answers.values():
        assert (response.status_code, response.json()) == (404, made_up.json())
    assert linked(world) == {world.sigrid.pk, world.hilda.pk}
    assert api.delete(url + str(world.sigrid.pk)).status_code == 204
    assert api_client_for(world.admin).delete(url + str(world.hilda.pk)).status_code == 204
    assert linked(world) == set()


def test_deal_page_answers_a_hidden_or_unlinked_contact_like_a_made_up_id(world,
                                                                          client_for):
    client = client_for(world.seller)
    url = f"/deals/{world.deal.pk}/contacts/{{}}/remove/"

    statuses = [client.post(url.format(pk)).status_code for pk in (
        MADE_UP, world.hilda.pk, world.otto.pk, world.selma.pk)]

    assert statuses == [404, 404, 404, 404]
    assert linked(world) == {world.sigrid.pk, world.hilda.pk}
    assert client.post(url.format(world.sigrid.pk)).status_code == 302
    assert client_for(world.admin).post(url.format(world.hilda.pk)).status_code == 302
    assert linked(world) == set()
