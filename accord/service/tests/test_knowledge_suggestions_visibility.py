"""The articles suggested for a ticket follow the ticket's visibility: a ticket whose
customer the member may not see answers 404 there, exactly as a number that does not
exist, so its subject cannot be probed through the suggestions."""

import re
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.service import knowledge, services

# Each page carries a fresh CSRF token, the one part two equal answers do not share.
CSRF_TOKEN = re.compile(r'("X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]*')


def without_csrf_tokens(response) -> str:
    return CSRF_TOKEN.sub(r"\1", response.content.decode())


@pytest.fixture
def world(org, admin, make_member):
    """A seller who sees only their own contacts, a ticket of a colleague's customer and
    a published public article matching its subject."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    colleague = make_member(org, Role.SALES, full_name="Cleo Colleague")
    with scope(organization=org):
        otto = customers.create_contact(org, colleague.user, data={
            "first_name": "Otto", "last_name": "Hidden"})
        ticket = services.create_ticket(org, admin.user, data={
            "subject": "Quarterly invoice wrong", "contact": otto.pk})
        knowledge.create_article(org, admin.user, data={
            "title": "Correcting an invoice", "visibility": "public",
            "status": "published"})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})
    return SimpleNamespace(seller=seller, admin=admin, ticket=ticket)


def test_suggestions_for_a_ticket_the_member_may_not_see_answer_404_like_a_missing_one(
    world, client_for
):
    client = client_for(world.seller)

    hidden = client.get(f"/knowledge/suggestions/{world.ticket.number}/")
    missing = client.get("/knowledge/suggestions/999999/")
    page = client.get(f"/tickets/{world.ticket.number}/")

    assert page.status_code == 404
    assert hidden.status_code == 404
    assert missing.status_code == 404
    assert "Correcting an invoice" not in hidden.content.decode()
    assert without_csrf_tokens(hidden) == without_csrf_tokens(missing)


def test_suggestions_show_for_a_ticket_the_member_sees(world, client_for):
    admin_page = client_for(world.admin).get(f"/knowledge/suggestions/{world.ticket.number}/")
    with scope(organization=world.ticket.organization):
        services.update_ticket(world.ticket.organization, world.admin.user, world.ticket,
                               data={"assignee": world.seller.user.pk})
    assignee_page = client_for(world.seller).get(
        f"/knowledge/suggestions/{world.ticket.number}/")

    assert admin_page.status_code == 200
    assert "Correcting an invoice" in admin_page.content.decode()
    assert assignee_page.status_code == 200
    assert "Correcting an invoice" in assignee_page.content.decode()
