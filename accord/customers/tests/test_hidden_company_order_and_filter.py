"""Sorting contacts by company, and filtering contacts, companies and deals by a linked
company or contact, tell a member nothing about records hidden from them: a hidden
company sorts as no company, and a filter on a hidden record's id matches nothing."""

import itertools
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.marketing import services as marketing
from accord.sales import services as sales

NAMES = ("Adam Abbot", "Yara Young", "Max Mid")
SEGMENTS = itertools.count()


@pytest.fixture
def world(org, admin, make_member):
    """Milan's contacts Adam and Yara work for companies only the outsider sees, Max for
    Milan's own company; Milan also has a deal with a hidden company and one with a
    hidden contact."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        zulu = customers.create_company(org, outsider.user, data={"name": "Zulu Hidden"})
        aardvark = customers.create_company(org, outsider.user, data={
            "name": "Aardvark Hidden", "parent": zulu.pk})
        middle = customers.create_company(org, milan.user, data={"name": "Middle Works"})
        customers.create_company(org, milan.user, data={"name": "Milan Branch",
                                                         "parent": zulu.pk})
        customers.create_contact(org, milan.user, data={
            "first_name": "Adam", "last_name": "Abbot", "company": zulu.pk})
        customers.create_contact(org, milan.user, data={
            "first_name": "Yara", "last_name": "Young", "company": aardvark.pk})
        customers.create_contact(org, milan.user, data={
            "first_name": "Max", "last_name": "Mid", "company": middle.pk})
        stranger = customers.create_contact(org, outsider.user, data={
            "first_name": "Sven", "last_name": "Stranger"})
        sales.create_pipeline(org, admin.user, name="New business")
        sales.create_deal(org, milan.user, data={"name": "Zulu lockers", "company": zulu.pk})
        sales.create_deal(org, milan.user, data={"name": "Sven lamps",
                                                 "contacts": [stranger.pk]})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own", "deals": "own"}})
    return SimpleNamespace(org=org, admin=admin, milan=milan, outsider=outsider, zulu=zulu,
                           aardvark=aardvark, middle=middle, stranger=stranger)


def in_order(text: str) -> list[str]:
    return sorted((name for name in NAMES if name in text), key=text.index)


def orders(world, member, client_for, api_client_for) -> dict[str, list[str]]:
    """The contacts sorted by company, as the list page, its CSV, the API, a segment's
    members (page and API) and an export job give them to `member`."""
    client, api = client_for(member), api_client_for(member)
    params = {"ordering": "company"}
    with scope(organization=world.org):
        segment = marketing.create_segment(world.org, world.admin.user, data={
            "name": f"Everyone {next(SEGMENTS)}"})
    api_names = [f"{item['first_name']} {item['last_name']}" for item in
                 api.get("/api/v1/contacts", params).json()["items"]]
    members = [f"{item['first_name']} {item['last_name']}" for item in
               api.get(f"/api/v1/segments/{segment.pk}/members", params).json()["items"]]
    csv_text = b"".join(client.get("/contacts/export.csv", params).streaming_content)
    return {
        "page": in_order(client.get("/contacts/", params).content.decode()),
        "csv": in_order(csv_text.decode()),
        "api": [name for name in api_names if name in NAMES],
        "segment page": in_order(client.get(f"/segments/{segment.pk}/", params)
                                 .content.decode()),
        "segment api": [name for name in members if name in NAMES],
    }


def test_the_admin_sorts_contacts_by_every_company_name(world, client_for, api_client_for):
    for source, names in orders(world, world.admin, client_for, api_client_for).items():
        assert names == ["Yara Young", "Max Mid", "Adam Abbot"], source


def test_a_hidden_company_sorts_as_no_company_whatever_its_name(world, client_for,
                                                                api_client_for):
    before = orders(world, world.milan, client_for, api_client_for)
    with scope(organization=world.org):
        customers.update_company(world.org, world.admin.user, world.zulu,
                                 data={"name": "Aaaa First"})
        customers.update_company(world.org, world.admin.user, world.aardvark,
                                 data={"name": "Zzzz Last"})
    after = orders(world, world.milan, client_for, api_client_for)

    for source, names in before.items():
        assert names == ["Adam Abbot", "Yara Young", "Max Mid"], source
        assert after[source] == names, source


def test_filtering_contacts_by_a_hidden_company_finds_nothing(world, client_for,
                                                              api_client_for):
    milan, boss = api_client_for(world.milan), api_client_for(world.admin)

    def names(api, company):
        return {item["first_name"] for item in
                api.get("/api/v1/contacts", {"company_id": company.pk}).json()["items"]}

    assert names(milan, world.zulu) == set()
    assert names(milan, world.middle) == {"Max"}
    assert names(boss, world.zulu) == {"Adam"}
    assert client_for(world.milan).get("/contacts/", {"company_id": world.zulu.pk}) \
        .status_code == 404


def test_filtering_companies_by_a_hidden_parent_finds_nothing(world, api_client_for):
    def names(member):
        return {item["name"] for item in api_client_for(member).get(
            "/api/v1/companies", {"parent_id": world.zulu.pk}).json()["items"]}

    assert names(world.milan) == set()
    assert names(world.admin) == {"Aardvark Hidden", "Milan Branch"}


def test_filtering_deals_by_a_hidden_company_or_contact_finds_nothing(world, api_client_for):
    def names(member, **params):
        response = api_client_for(member).get("/api/v1/deals", params)
        assert response.status_code == 200
        return {item["name"] for item in response.json()["items"]}

    assert names(world.milan, company_id=world.zulu.pk) == set()
    assert names(world.milan, contact_id=world.stranger.pk) == set()
    assert names(world.admin, company_id=world.zulu.pk) == {"Zulu lockers"}
    assert names(world.admin, contact_id=world.stranger.pk) == {"Sven lamps"}
