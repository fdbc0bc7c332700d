"""The contact list, on its page and in the API, finds a contact by its company's name only
when the reader sees that company, and by the name the company has now; the search box
finds the company itself, never its contacts, by that name."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role

NAMES = ("Ines Albrecht", "Olaf Berg")


@pytest.fixture
def world(org, admin, make_member):
    """Milan's contact Ines works for the outsider's company, his contact Olaf for his own
    company; then sales members see only their own contacts and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        hidden = customers.create_company(org, outsider.user, data={
            "name": "Zyzzogeton Hidden Holdings"})
        mine = customers.create_company(org, milan.user, data={"name": "Quibblewick Works"})
        customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": hidden.pk})
        customers.create_contact(org, milan.user, data={
            "first_name": "Olaf", "last_name": "Berg", "company": mine.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, hidden=hidden, mine=mine)


def listed(client, api_client, query: str) -> set[str]:
    """The contacts the list page, its htmx fragment and the API show for `query`, checked
    to agree."""
    page = client.get("/contacts/", {"q": query}).content.decode()
    fragment = client.get("/contacts/", {"q": query}, headers={"HX-Request": "true"})
    in_api = {f"{contact['first_name']} {contact['last_name']}" for contact in
              api_client.get("/api/v1/contacts", {"q": query}).json()["items"]}
    assert {name for name in NAMES if name in page} == in_api
    assert {name for name in NAMES if name in fragment.content.decode()} == in_api
    return in_api


@pytest.mark.parametrize("query", ["Zyz", "Zyzzogeton", "Zyzzogeton Ines", "Hidden Albrecht"])
def test_a_hidden_company_in_a_contact_list_query_matches_nothing(world, client_for,
                                                                 api_client_for, query):
    assert listed(client_for(world.milan), api_client_for(world.milan), query) == set()


@pytest.mark.parametrize(("query", "names"), [
    ("Quib", {"Olaf Berg"}), ("Quibblewick olaf", {"Olaf Berg"}), ("Ines", {"Ines Albrecht"}),
    ("Albrecht ines", {"Ines Albrecht"}), ("Quibblewick Ines", set())])
def test_a_visible_company_and_the_contact_itself_still_match(world, client_for,
                                                             api_client_for, query, names):
    assert listed(client_for(world.milan), api_client_for(world.milan), query) == names


@pytest.mark.parametrize("query", ["Zyz", "Zyzzogeton Ines", "Hidden Albrecht"])
def test_the_admin_finds_the_contact_by_any_company(world, admin, client_for, api_client_for,
                                                    query):
    assert listed(client_for(admin), api_client_for(admin), query) == {"Ines Albrecht"}


def test_a_renamed_company_finds_its_contacts_by_the_new_name_at_once(world, org, admin,
                                                                     client_for,
                                                                     api_client_for):
    with scope(organization=org):
        customers.update_company(org, admin.user, world.mine, data={"name": "Vortigern Mills"})

    client, api_client = client_for(world.milan), api_client_for(world.milan)
    assert listed(client, api_client, "Vortigern") == {"Olaf Berg"}
    assert listed(client, api_client, "Quibblewick") == set()


def test_the_search_box_finds_a_company_but_not_its_contacts_by_its_name(world, admin,
                                                                        client_for, search_box):
    milan, boss = client_for(world.milan), client_for(admin)

    assert search_box(milan, "Zyzzogeton", "contacts") == []
    assert search_box(milan, "Zyzzogeton", "companies") == []
    assert search_box(milan, "Quibblewick", "contacts") == []
    assert search_box(milan, "Quibblewick", "companies") == ["Quibblewick Works"]
    assert search_box(boss, "Zyzzogeton", "contacts") == []
    assert search_box(boss, "Zyzzogeton", "companies") == ["Zyzzogeton Hidden Holdings"]
    assert search_box(milan, "Ines", "contacts") == ["Ines Albrecht"]
