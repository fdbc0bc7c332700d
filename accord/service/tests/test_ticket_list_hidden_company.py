"""The ticket list, on its page and in the API, matches a company's name in `q`, or its id
in `company_id`, only when the reader sees that company: a hidden one answers like a
company that does not exist; admins, and members who see the company, still find the
ticket by it."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.service import services as service

MADE_UP = 987654


@pytest.fixture
def world(org, admin, make_member):
    """Milan's contact Ines works for the outsider's company, his contact Olaf for his own
    company; each has a ticket; then sales members see only their own contacts and
    companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        hidden = customers.create_company(org, outsider.user, data={
            "name": "Zyzzogeton Hidden Holdings"})
        mine = customers.create_company(org, milan.user, data={"name": "Quibblewick Works"})
        ines = customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": hidden.pk})
        olaf = customers.create_contact(org, milan.user, data={
            "first_name": "Olaf", "last_name": "Berg", "company": mine.pk})
        service.create_ticket(org, milan.user, data={
            "subject": "Where is my parcel?", "contact": ines.pk, "company": hidden.pk})
        service.create_ticket(org, milan.user, data={
            "subject": "Broken lamp", "contact": olaf.pk, "company": mine.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, hidden=hidden, mine=mine)


def found(world, client, api_client, query: str) -> set[str]:
    """The subjects the list page and the API show for `query`, checked to agree."""
    query = query.format(hidden=world.hidden.pk, mine=world.mine.pk)
    page = client.get(f"/tickets/?view=all&{query}").content.decode()
    on_page = {subject for subject in ("Where is my parcel?", "Broken lamp")
               if subject in page.replace("&#x27;", "'")}
    in_api = {ticket["subject"] for ticket in
              api_client.get(f"/api/v1/tickets?{query}").json()["items"]}
    assert on_page == in_api
    return in_api


@pytest.mark.parametrize("query", ["q=Zyz", "q=Zyzzogeton parcel", "company_id={hidden}",
                                   f"company_id={MADE_UP}", "q=Zya"])
def test_a_hidden_company_in_a_ticket_list_query_matches_nothing(world, client_for,
                                                                api_client_for, query):
    assert found(world, client_for(world.milan), api_client_for(world.milan), query) == set()


@pytest.mark.parametrize(("query", "subjects"), [
    ("q=Quib", {"Broken lamp"}), ("q=Quibblewick lamp", {"Broken lamp"}),
    ("company_id={mine}", {"Broken lamp"}), ("q=Ines parcel", {"Where is my parcel?"})])
def test_a_visible_company_and_the_ticket_itself_still_match(world, client_for,
                                                            api_client_for, query, subjects):
    assert found(world, client_for(world.milan), api_client_for(world.milan),
                 query) == subjects


@pytest.mark.parametrize("query", ["q=Zyz", "q=Zyzzogeton parcel", "company_id={hidden}"])
def test_the_admin_finds_the_ticket_by_any_company(world, admin, client_for, api_client_for,
                                                   query):
    assert found(world, client_for(admin), api_client_for(admin), query) == {
        "Where is my parcel?"}
