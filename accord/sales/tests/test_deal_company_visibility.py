"""A deal the member sees, at a company hidden from them, shows that company as one they
cannot see, without its name or a link, on its page, the list, its CSV, the board and the
search page; the deal API leaves the deal's hidden contacts out, and replacing the
contacts keeps them. Admins read every name and contact."""

import json
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import services as sales
from accord.sales.models import DealContact

HIDDEN = "Hiddencanary Holdings"
UNSEEN = "A company you cannot see"


@pytest.fixture
def deal(org, admin, make_member):
    """Milan's deal with the outsider's company, Milan's Ines and the outsider's Hilda on
    it; then sales members see only their own contacts and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        company = customers.create_company(org, outsider.user, data={"name": HIDDEN})
        ines = customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht"})
        hilda = customers.create_contact(org, outsider.user, data={
            "first_name": "Hilda", "last_name": "Hiddenbuyer"})
        pipeline = sales.create_pipeline(org, admin.user, name="New business")
        deal = sales.create_deal(org, milan.user, data={
            "name": "Lamps for the lobby", "company": company.pk, "contacts": [
                {"contact": ines.pk, "role": "Buyer"},
                {"contact": hilda.pk, "role": "Decider"}]})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(org=org, milan=milan, admin=admin, company=company, deal=deal,
                           pipeline=pipeline, ines=ines, hilda=hilda)


def pages(deal, client) -> dict[str, str]:
    urls = {"deal": f"/deals/{deal.deal.pk}/", "deals": "/deals/list/",
            "csv": "/deals/export.csv", "board": f"/deals/board/{deal.pipeline.pk}/",
            "search": "/search?q=Lamps"}
    answers = {name: client.get(url) for name, url in urls.items()}
    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(
        answers, 200)
    return {name: b"".join(answer.streaming_content).decode() if answer.streaming
            else answer.content.decode() for name, answer in answers.items()}


def test_deals_do_not_name_a_hidden_company(deal, client_for):
    seen = pages(deal, client_for(deal.milan))

    assert {name for name, text in seen.items() if HIDDEN in text} == set()
    assert {name for name, text in seen.items()
            if f'href="/companies/{deal.company.pk}/"' in text} == set()
    assert {name for name, text in seen.items() if UNSEEN in text} == set(seen)
    assert "Lamps for the lobby" in seen["board"]


def test_the_admin_still_reads_the_company_of_every_deal(deal, client_for):
    seen = pages(deal, client_for(deal.admin))

    assert {name for name, text in seen.items() if HIDDEN not in text} == set()
    assert f'href="/companies/{deal.company.pk}/"' in seen["deal"]
    assert {name for name, text in seen.items() if UNSEEN in text} == set()


def test_the_deal_api_leaves_hidden_contacts_out(deal, api_client_for):
    url = f"/api/v1/deals/{deal.deal.pk}"

    members = api_client_for(deal.milan).get(url)
    admins = api_client_for(deal.admin).get(url)

    assert members.status_code == 200
    assert members.json()["contacts"] == [
        {"contact_id": deal.ines.pk, "name": "Ines Albrecht", "role": "Buyer"}]
    assert str(deal.hilda.pk) not in json.dumps(members.json()["contacts"])
    assert "Decider" not in members.text
    assert members.json()["company_id"] == deal.company.pk
    assert HIDDEN not in members.text
    assert sorted((item["name"], item["role"]) for item in admins.json()["contacts"]) == [
        ("Hilda Hiddenbuyer", "Decider"), ("Ines Albrecht", "Buyer")]


def test_replacing_a_deals_contacts_keeps_those_hidden_from_the_member(deal, api_client_for):
    client = api_client_for(deal.milan)
    url = f"/api/v1/deals/{deal.deal.pk}"
    read = client.get(url).json()

    changed = client.patch(url, json.dumps({
        "version": read["version"], "contacts": [{"contact_id": deal.ines.pk,
                                                  "role": "Champion"}]}),
        content_type="application/json")

    assert changed.status_code == 200, changed.json()
    assert changed.json()["contacts"] == [
        {"contact_id": deal.ines.pk, "name": "Ines Albrecht", "role": "Champion"}]
    with scope(organization=deal.org):
        assert sorted(DealContact.objects.filter(deal=deal.deal).values_list(
            "contact_id", "role")) == sorted([(deal.ines.pk, "Champion"),
                                              (deal.hilda.pk, "Decider")])
