"""Record visibility on the panels and pickers of another record's page: a company's
people and subsidiaries, a contact's colleagues and companies, the deals boxes, a deal's
contacts, and the company and contact selects.

A record the member may not see is left out of every panel and picker, as it is left
out of lists. A record's own link fields (a company's parent, a contact's company) keep
showing what they link to.
"""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import services as sales


@pytest.fixture
def world(org, admin, make_member):
    """Acme (no owner) with the seller's Sigrid and the outsider's Otto, a subsidiary and
    another company of the outsider's that Sigrid works for, and a deal of each seller at
    Acme with both contacts."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        acme = customers.create_company(org, admin.user, data={"name": "Acme", "owner": None})
        sub = customers.create_company(org, outsider.user, data={"name": "Hidden Sub",
                                                                 "parent": acme.pk})
        other = customers.create_company(org, outsider.user, data={"name": "Otto Holdings"})
        sigrid = customers.create_contact(org, seller.user, data={
            "first_name": "Sigrid", "last_name": "Zebrowski", "company": acme.pk})
        otto = customers.create_contact(org, outsider.user, data={
            "first_name": "Otto", "last_name": "Zebrowski", "company": acme.pk,
            "email": "otto@west.example"})
        customers.add_affiliation(org, admin.user, sigrid, other)
        sales.create_pipeline(org, admin.user, name="New business")
        deals = {}
        for key, owner in (("seller", seller), ("outsider", outsider)):
            deal = sales.create_deal(org, owner.user, data={
                "name": f"{key.title()} laptops", "company": acme.pk})
            for contact in (sigrid, otto):
                sales.add_deal_contact(org, admin.user, deal, contact)
            deals[f"{key}_deal"] = deal
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own", "deals": "own"}})
    return SimpleNamespace(seller=seller, admin=admin, acme=acme, sub=sub, other=other,
                           sigrid=sigrid, otto=otto, **deals)


def hidden_on(world, text: str) -> set[str]:
    """Which hidden records a page links to or offers in a select."""
    marks = {
        "Otto": [f'href="/contacts/{world.otto.pk}/"',
                 f'<option value="{world.otto.pk}">Otto Zebrowski<'],
        "Hidden Sub": [f'href="/companies/{world.sub.pk}/"',
                       f'<option value="{world.sub.pk}">Hidden Sub<'],
        "Otto Holdings": [f'href="/companies/{world.other.pk}/"',
                          f'<option value="{world.other.pk}">Otto Holdings<'],
        "Outsider laptops": [f'href="/deals/{world.outsider_deal.pk}/"'],
    }
    return {name for name, found in marks.items() if any(mark in text for mark in found)}


def pages(world, client_for, url):
    return (client_for(world.seller).get(url).content.decode(),
            client_for(world.admin).get(url).content.decode())


def test_a_company_page_lists_only_the_people_companies_and_deals_the_member_sees(
    world, client_for
):
    page, as_admin = pages(world, client_for, f"/companies/{world.acme.pk}/")

    assert f'href="/contacts/{world.sigrid.pk}/"' in page
    assert "Seller laptops" in page
    assert hidden_on(world, page) == set()
    assert hidden_on(world, as_admin) == {"Otto", "Hidden Sub", "Outsider laptops"}


def test_a_contact_page_lists_only_the_colleagues_companies_and_deals_the_member_sees(
    world, client_for
):
    page, as_admin = pages(world, client_for, f"/contacts/{world.sigrid.pk}/")

    assert "Seller laptops" in page
    assert hidden_on(world, page) == set()
    assert hidden_on(world, as_admin) == {"Otto", "Hidden Sub", "Otto Holdings",
                                          "Outsider laptops"}


def test_a_deal_page_lists_only_the_contacts_the_member_sees(world, client_for):
    page, as_admin = pages(world, client_for, f"/deals/{world.seller_deal.pk}/")

    assert f'href="/contacts/{world.sigrid.pk}/"' in page
    assert hidden_on(world, page) == set()
    assert "Otto" in hidden_on(world, as_admin)


def test_the_new_deal_and_contact_forms_offer_only_what_the_member_sees(world, client_for):
    deal_form, admin_deal_form = pages(world, client_for, "/deals/new/")
    contact_form, _ = pages(world, client_for, "/contacts/new/")

    assert hidden_on(world, deal_form) == set()
    assert hidden_on(world, contact_form) == set()
    assert hidden_on(world, admin_deal_form) >= {"Otto", "Hidden Sub", "Otto Holdings"}


def test_the_company_picker_finds_and_answers_only_companies_the_member_sees(
    world, client_for
):
    browser = client_for(world.seller)

    found = browser.get("/companies/picker/", {"q": "o"}).content.decode()
    by_id = browser.get("/companies/picker/", {"id": world.other.pk})

    assert hidden_on(world, found) == set()
    assert by_id.status_code == 404


def test_linking_a_contact_to_a_hidden_company_is_refused(world, client_for):
    response = client_for(world.seller).post(
        f"/contacts/{world.sigrid.pk}/affiliations/", {"company": world.sub.pk})

    assert response.status_code == 422
    with scope(organization=world.seller.organization):
        assert not world.sigrid.affiliations.filter(company=world.sub).exists()


def test_a_new_form_asked_to_start_from_a_hidden_record_starts_as_from_a_made_up_one(
    world, client_for
):
    browser = client_for(world.seller)
    pages = {
        "deal": (f"/deals/new/?contact={world.otto.pk}&company={world.other.pk}",
                 "/deals/new/?contact=999999&company=999999"),
        "order": (f"/orders/new/?contact={world.otto.pk}&company={world.other.pk}",
                  "/orders/new/?contact=999999&company=999999"),
        "ticket": (f"/tickets/new/?contact={world.otto.pk}", "/tickets/new/?contact=999999"),
    }

    for name, (hidden, made_up) in pages.items():
        seen, unknown = browser.get(hidden), browser.get(made_up)
        assert seen.status_code == unknown.status_code == 200, name
        assert "Otto" not in seen.content.decode(), name
        assert "otto@west.example" not in seen.content.decode(), name


def test_a_deal_keeps_a_hidden_contact_unnamed_in_its_form_and_out_of_its_api(
    world, client_for, api_client_for
):
    form = client_for(world.seller).get(f"/deals/{world.seller_deal.pk}/edit/")
    from_api = api_client_for(world.seller).get(f"/api/v1/deals/{world.seller_deal.pk}")
    as_admin = api_client_for(world.admin).get(f"/api/v1/deals/{world.seller_deal.pk}")

    assert "Otto Zebrowski" not in form.content.decode()
    assert f'<option value="{world.otto.pk}" selected>A contact you cannot see' in \
        form.content.decode()
    assert {item["contact_id"]: item["name"] for item in from_api.json()["contacts"]} == {
        world.sigrid.pk: "Sigrid Zebrowski"}
    assert "Otto Zebrowski" in {item["name"] for item in as_admin.json()["contacts"]}


def test_a_hidden_contact_posted_in_a_deal_form_is_refused_like_a_made_up_one(
    world, client_for
):
    browser = client_for(world.seller)

    def refusal(contact_id):
        response = browser.post("/deals/new/", {
            "name": "Probe", "contacts_0_contact": contact_id})
        return response.status_code, "Select a valid choice" in response.content.decode()

    assert refusal(world.otto.pk) == refusal(999999) == (422, True)
