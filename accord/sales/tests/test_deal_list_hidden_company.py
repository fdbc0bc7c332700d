"""The deal list, on its page, in its CSV and in the API, finds a deal by its company's name
only when the reader sees that company, and by the name the company has now; the search
box finds the company itself, never its deals, by that name."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import services as sales

NAMES = ("Parcel lockers", "Broken lamps")


@pytest.fixture
def world(org, admin, make_member):
    """Milan's deal "Parcel lockers" is with the outsider's company, his deal "Broken lamps"
    with his own company; then sales members see only their own deals and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        hidden = customers.create_company(org, outsider.user, data={
            "name": "Zyzzogeton Hidden Holdings"})
        mine = customers.create_company(org, milan.user, data={"name": "Quibblewick Works"})
        sales.create_pipeline(org, admin.user, name="New business")
        sales.create_deal(org, milan.user, data={"name": "Parcel lockers",
                                                 "company": hidden.pk})
        sales.create_deal(org, milan.user, data={"name": "Broken lamps", "company": mine.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "deals": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, hidden=hidden, mine=mine)


def listed(client, api_client, query: str) -> set[str]:
    """The deals the list page, its CSV and the API show for `query`, checked to agree."""
    page = client.get("/deals/list/", {"q": query}).content.decode()
    export = b"".join(client.get("/deals/export.csv", {"q": query}).streaming_content)
    in_api = {deal["name"] for deal in
              api_client.get("/api/v1/deals", {"q": query}).json()["items"]}
    assert {name for name in NAMES if name in page} == in_api
    assert {name for name in NAMES if name in export.decode()} == in_api
    return in_api


@pytest.mark.parametrize("query", ["Zyz", "Zyzzogeton", "Zyzzogeton parcel", "Hidden lockers"])
def test_a_hidden_company_in_a_deal_list_query_matches_nothing(world, client_for,
                                                              api_client_for, query):
    assert listed(client_for(world.milan), api_client_for(world.milan), query) == set()


@pytest.mark.parametrize(("query", "names"), [
    ("Quib", {"Broken lamps"}), ("Quibblewick lamps", {"Broken lamps"}),
    ("parcel", {"Parcel lockers"}), ("Quibblewick parcel", set())])
def test_a_visible_company_and_the_deal_itself_still_match(world, client_for, api_client_for,
                                                          query, names):
    assert listed(client_for(world.milan), api_client_for(world.milan), query) == names


@pytest.mark.parametrize("query", ["Zyz", "Zyzzogeton parcel", "Hidden lockers"])
def test_the_admin_finds_the_deal_by_any_company(world, admin, client_for, api_client_for,
                                                 query):
    assert listed(client_for(admin), api_client_for(admin), query) == {"Parcel lockers"}


def test_a_renamed_company_finds_its_deals_by_the_new_name_at_once(world, org, admin,
                                                                  client_for, api_client_for):
    with scope(organization=org):
        customers.update_company(org, admin.user, world.mine, data={"name": "Vortigern Mills"})

    client, api_client = client_for(world.milan), api_client_for(world.milan)
    assert listed(client, api_client, "Vortigern") == {"Broken lamps"}
    assert listed(client, api_client, "Quibblewick") == set()


def test_the_search_box_finds_a_company_but_not_its_deals_by_its_name(world, admin,
                                                                     client_for, search_box):
    milan, boss = client_for(world.milan), client_for(admin)

    assert search_box(milan, "Zyzzogeton", "deals") == []
    assert search_box(boss, "Zyzzogeton", "deals") == []
    assert search_box(boss, "Quibblewick", "deals") == []
    assert search_box(boss, "Quibblewick", "companies") == ["Quibblewick Works"]
    assert search_box(milan, "parcel", "deals") == ["Parcel lockers"]
