"""The panels of a ticket's page list only the customer's records the reader sees."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import services as sales
from accord.service import services


@pytest.fixture
def world(org, admin, make_member):
    """Aaron sees his own contacts and deals; his contact Vera works at a company where
    Quintessa, a contact of someone else, works too. Vera has a deal of Aaron's and one
    of someone else's; both women have a ticket."""
    aaron = make_member(org, Role.SALES, full_name="Aaron Seller")
    other = make_member(org, Role.SALES, full_name="Olga Other")
    with scope(organization=org):
        company = customers.create_company(org, admin.user, data={"name": "Shared Ltd"})
        vera = customers.create_contact(org, aaron.user, data={
            "first_name": "Vera", "last_name": "Visibleton", "company": company.pk})
        hidden = customers.create_contact(org, other.user, data={
            "first_name": "Quintessa", "last_name": "Hiddenberg", "company": company.pk})
        sales.create_pipeline(org, admin.user, name="New business")
        secret = sales.create_deal(org, other.user, data={"name": "Omega Secret Deal Two"})
        sales.add_deal_contact(org, admin.user, secret, vera)
        own = sales.create_deal(org, aaron.user, data={"name": "Aaron Open Deal"})
        sales.add_deal_contact(org, admin.user, own, vera)
        ticket = services.create_ticket(org, admin.user, data={
            "subject": "Vera cannot log in", "contact": vera.pk, "company": company.pk})
        services.create_ticket(org, admin.user, data={
            "subject": "Quintessa hidden printer", "contact": hidden.pk,
            "company": company.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "deals": "own"}})
    return SimpleNamespace(aaron=aaron, admin=admin, ticket=ticket, secret=secret)


def test_the_ticket_page_lists_only_deals_and_tickets_the_reader_sees(world, client_for):
    url = f"/tickets/{world.ticket.number}/"

    aarons = client_for(world.aaron).get(url)
    admins = client_for(world.admin).get(url).content.decode()

    assert aarons.status_code == 200
    page = aarons.content.decode()
    assert "Aaron Open Deal" in page
    assert "Omega Secret Deal Two" not in page
    assert "Quintessa hidden printer" not in page
    assert client_for(world.aaron).get(world.secret.get_absolute_url()).status_code == 404
    assert "Omega Secret Deal Two" in admins
    assert "Quintessa hidden printer" in admins
