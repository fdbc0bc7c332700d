"""Record visibility in writes: link fields, the trash and lead conversion.

A record the member may not see, named in a link field (a contact's company, a
company's parent, a deal's company and contacts, a ticket's or an order's
contact), is refused with the answer a made-up id gets. A link a record has
already stays when it is saved unchanged. The trash lists and restores only
the records the member sees, and converting a lead matches only them.
"""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.customers.models import Company, Contact
from accord.identity import services as identity_services
from accord.identity import visibility
from accord.identity.models import Role
from accord.sales import leads
from accord.sales import services as sales
from accord.sales.models import Deal

MADE_UP = 987654
LINES = [{"description": "Probe", "quantity": "1", "unit_price": "10"}]


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def world(org, admin, make_member):
    """The seller's Sigrid at Sigrid Ltd with a deal, and the outsider's Otto at Otto
    Holdings; sales members see their own contacts, companies and deals."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        other = customers.create_company(org, outsider.user, data={"name": "Otto Holdings",
                                                                   "domain": "otto.example"})
        otto = customers.create_contact(org, outsider.user, data={
            "first_name": "Otto", "last_name": "Quasar", "email": "otto@otto.example",
            "company": other.pk})
        mine = customers.create_company(org, seller.user, data={"name": "Sigrid Ltd"})
        sigrid = customers.create_contact(org, seller.user, data={
            "first_name": "Sigrid", "last_name": "Zebrowski", "company": mine.pk})
        sales.create_pipeline(org, admin.user, name="New business")
        deal = sales.create_deal(org, seller.user, data={"name": "Seller laptops"})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own", "deals": "own"}})
    return SimpleNamespace(seller=seller, outsider=outsider, admin=admin, other=other,
                           otto=otto, mine=mine, sigrid=sigrid, deal=deal)


def link_writes(world):
    """(method, url, body with the id to name put in for ID) of every kind of link write."""
    return [
        ("post", f"/api/v1/deals/{world.deal.pk}/contacts", {"contact_id": "ID"}),
        ("patch", f"/api/v1/contacts/{world.sigrid.pk}", {"company_id": "ID"}),
        ("patch", f"/api/v1/companies/{world.mine.pk}", {"parent_id": "ID"}),
        ("post", "/api/v1/deals", {"name": "Probe", "company_id": "ID"}),
        ("patch", f"/api/v1/deals/{world.deal.pk}", {"company_id": "ID"}),
        ("patch", f"/api/v1/deals/{world.deal.pk}", {"contacts": [{"contact_id": "ID"}]}),
        ("post", "/api/v1/tickets", {"subject": "probe", "contact_id": "ID"}),
        ("post", "/api/v1/orders", {"number": "P-1", "lines": LINES, "contact": "ID"}),
        ("post", "/api/v1/orders", {"number": "P-2", "lines": LINES, "company": "ID"}),
    ]


def fill(body, value):
    if isinstance(body, dict):
        return {key: fill(item, value) for key, item in body.items()}
    if isinstance(body, list):
        return [fill(item, value) for item in body]
    return value if body == "ID" else body


def target(world, body) -> int:
    """The hidden record the body's link field names: the outsider's contact or company."""
    text = str(body)
    return world.other.pk if "company" in text or "parent" in text else world.otto.pk


def send(client, method, url, body, world):
    if method == "patch":
        model = {"deals": Deal, "contacts": Contact, "companies": Company}[
            url.split("/")[3]]
        with scope(organization=world.deal.organization):
            body = {**body, "version": model.objects.get(pk=url.split("/")[4]).version}
    return getattr(client, method)(url, body, content_type="application/json")


@pytest.mark.parametrize("index", range(9))
def test_a_hidden_record_in_a_link_field_is_refused_like_a_made_up_id(world, api_client_for,
                                                                      index):
    method, url, body = link_writes(world)[index]
    api = api_client_for(world.seller)
    hidden = target(world, body)

    made_up = send(api, method, url, fill(body, MADE_UP), world)
    refused = send(api, method, url, fill(body, hidden), world)

    assert made_up.status_code in (404, 422)
    assert "version" not in made_up.content.decode()
    assert (refused.status_code, refused.json()) == (made_up.status_code, made_up.json())
    assert "Otto" not in refused.content.decode()
    with scope(organization=world.deal.organization):
        assert not sales.get_deal(world.deal.pk).contact_links.filter(
            contact=world.otto).exists()
        assert Contact.objects.get(pk=world.sigrid.pk).company_id == world.mine.pk
        assert Company.objects.get(pk=world.mine.pk).parent_id is None


@pytest.mark.parametrize("index", range(9))
def test_the_admin_still_links_any_record(world, api_client_for, index):
    method, url, body = link_writes(world)[index]

    answer = send(api_client_for(world.admin), method, url,
                  fill(body, target(world, body)), world)

    assert answer.status_code in (200, 201), answer.content


def test_the_deal_form_refuses_a_hidden_company(world, client_for):
    browser = client_for(world.seller)
    with scope(organization=world.deal.organization):
        deal = sales.get_deal(world.deal.pk)
    form = {"name": "Seller laptops", "stage": deal.stage_id, "currency": deal.currency,
            "forecast_category": deal.forecast_category, "version": deal.version}

    answer = browser.post(f"/deals/{deal.pk}/edit/", {**form, "company": world.other.pk})

    assert answer.status_code == 422
    with scope(organization=world.deal.organization):
        assert sales.get_deal(deal.pk).company_id is None


def test_a_stored_hidden_link_survives_saving_the_record_unchanged(world, api_client_for):
    with scope(organization=world.deal.organization):
        customers.update_contact(world.admin.organization, world.admin.user, world.sigrid,
                                 data={"company": world.other.pk})
        customers.update_company(world.admin.organization, world.admin.user, world.mine,
                                 data={"parent": world.other.pk})
        sales.add_deal_contact(world.admin.organization, world.admin.user, world.deal,
                               world.otto)
    api = api_client_for(world.seller)

    contact = send(api, "patch", f"/api/v1/contacts/{world.sigrid.pk}",
                   {"company_id": world.other.pk, "title": "Buyer"}, world)
    company = send(api, "patch", f"/api/v1/companies/{world.mine.pk}",
                   {"parent_id": world.other.pk, "industry": "Retail"}, world)
    role = post(api, f"/api/v1/deals/{world.deal.pk}/contacts",
                {"contact_id": world.otto.pk, "role": "Signer"})

    assert (contact.status_code, contact.json()["title"]) == (200, "Buyer")
    assert (company.status_code, company.json()["parent_id"]) == (200, world.other.pk)
    assert role.status_code == 201


@pytest.fixture
def trash(org, admin, make_member):
    """A manager who sees their team's records; a deleted contact and company of their
    team and of another team, and a live contact of the other team."""
    manager = make_member(org, Role.MANAGER, full_name="Lena Lead")
    mate = make_member(org, Role.SALES, full_name="Tess Teammate")
    stranger = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        identity_services.save_team(org, admin.user, name="East", members=[manager, mate])
        made = {}
        for key, owner in (("ours", mate), ("theirs", stranger)):
            made[f"{key}_contact"] = customers.create_contact(org, owner.user, data={
                "first_name": key.title(), "last_name": "Trashed",
                "email": f"{key}@{key}.example"})
            made[f"{key}_company"] = customers.create_company(org, owner.user, data={
                "name": f"{key.title()} Trashed Ltd", "domain": f"{key}.example"})
            customers.delete_contact(org, admin.user, made[f"{key}_contact"])
            customers.delete_company(org, admin.user, made[f"{key}_company"])
        made["live"] = customers.create_contact(org, stranger.user, data={
            "first_name": "Living", "last_name": "Theirs"})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "companies": "team"}})
    return SimpleNamespace(manager=manager, admin=admin, **made)


def test_the_trash_lists_only_the_records_the_member_sees(trash, client_for):
    browser = client_for(trash.manager)

    contacts = browser.get("/trash/").content.decode()
    companies = browser.get("/trash/", {"type": "companies"}).content.decode()
    as_admin = client_for(trash.admin).get("/trash/", {"type": "companies"}).content.decode()

    assert "Ours Trashed" in contacts
    assert "Theirs Trashed" not in contacts
    assert "theirs@theirs.example" not in contacts
    assert "Ours Trashed Ltd" in companies
    assert "Theirs Trashed Ltd" not in companies
    assert "theirs.example" not in companies
    assert "Theirs Trashed Ltd" in as_admin


def test_restoring_a_hidden_record_is_not_found(trash, client_for, api_client_for):
    browser, api = client_for(trash.manager), api_client_for(trash.manager)

    page = browser.post(f"/trash/contacts/{trash.theirs_contact.pk}/restore/")
    page_company = browser.post(f"/trash/companies/{trash.theirs_company.pk}/restore/")
    by_api = post(api, f"/api/v1/contacts/{trash.theirs_contact.pk}/restore", {})
    company_by_api = post(api, f"/api/v1/companies/{trash.theirs_company.pk}/restore", {})
    live = post(api, f"/api/v1/contacts/{trash.live.pk}/restore", {})
    made_up = post(api, f"/api/v1/contacts/{MADE_UP}/restore", {})

    assert page.status_code == page_company.status_code == 404
    assert (by_api.status_code, by_api.json()) == (404, made_up.json())
    assert company_by_api.status_code == 404
    assert (live.status_code, live.json()) == (404, made_up.json())
    with scope(organization=trash.admin.organization):
        assert Contact.with_deleted.get(pk=trash.theirs_contact.pk).deleted_at is not None
        assert Company.with_deleted.get(pk=trash.theirs_company.pk).deleted_at is not None


def test_the_member_restores_their_teams_records_and_the_admin_any(trash, client_for,
                                                                  api_client_for):
    ours = client_for(trash.manager).post(f"/trash/contacts/{trash.ours_contact.pk}/restore/")
    ours_company = post(api_client_for(trash.manager),
                        f"/api/v1/companies/{trash.ours_company.pk}/restore", {})
    theirs = post(api_client_for(trash.admin),
                  f"/api/v1/contacts/{trash.theirs_contact.pk}/restore", {})

    assert ours.status_code == 302
    assert ours_company.status_code == 200
    assert (theirs.status_code, theirs.json()["first_name"]) == (200, "Theirs")


def convert(api, lead_id):
    return post(api, f"/api/v1/leads/{lead_id}/convert", {})


def test_converting_a_lead_matches_only_records_the_member_sees(world, api_client_for):
    org = world.admin.organization
    with scope(organization=org):
        lead = leads.create_lead(org, world.seller.user, data={
            "first_name": "Otto", "last_name": "Again", "email": "otto@otto.example",
            "company_name": "Otto Holdings", "domain": "otto.example"})

    converted = convert(api_client_for(world.seller), lead.pk)

    assert converted.status_code == 200, converted.content
    body = converted.json()
    assert body["converted_contact_id"] not in (None, world.otto.pk)
    assert body["converted_company_id"] not in (None, world.other.pk)
    with scope(organization=org):
        otto = Contact.objects.get(pk=world.otto.pk)
        made = Contact.objects.get(pk=body["converted_contact_id"])
        assert otto.company_id == world.other.pk
        assert not otto.affiliations.exclude(company=world.other).exists()
        assert (made.email, made.owner_id) == ("otto@otto.example", world.seller.user_id)


def test_the_admin_converting_a_lead_matches_the_existing_records(world, api_client_for):
    org = world.admin.organization
    with scope(organization=org):
        lead = leads.create_lead(org, world.admin.user, data={
            "first_name": "Otto", "last_name": "Again", "email": "otto@otto.example",
            "company_name": "Otto Holdings", "domain": "otto.example"})

    body = convert(api_client_for(world.admin), lead.pk).json()

    assert (body["converted_contact_id"], body["converted_company_id"]) == (
        world.otto.pk, world.other.pk)
