"""A contact's affiliation to a company hidden from the reader is left out of the contact's
API answer, as the page's Companies panel leaves it out, and its field history (page and
API) calls the company "A company you cannot see"; admins read every name."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role

HIDDEN = "Hiddencanary Holdings"


@pytest.fixture
def ines(org, admin, make_member):
    """Milan's contact Ines, a board member of the outsider's company and an adviser to
    Milan's own; then sales members see only their own contacts and companies."""
    milan = make_member(org, Role.SALES, full_name="Milan Member")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        hidden = customers.create_company(org, outsider.user, data={"name": HIDDEN})
        own = customers.create_company(org, milan.user, data={"name": "Milan Trading"})
        contact = customers.create_contact(org, milan.user, data={
            "first_name": "Ines", "last_name": "Albrecht"})
        customers.add_affiliation(org, admin.user, contact, hidden,
                                  title="Secret board member")
        customers.add_affiliation(org, admin.user, contact, own, title="Adviser")
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(milan=milan, admin=admin, contact=contact, hidden=hidden, own=own)


def test_the_contact_api_and_history_do_not_name_a_hidden_company(
        ines, api_client_for, client_for):
    api = api_client_for(ines.milan)
    contact = ines.contact.pk

    read = api.get(f"/api/v1/contacts/{contact}").json()
    history = api.get(f"/api/v1/contacts/{contact}/history").text
    page = client_for(ines.milan).get(f"/contacts/{contact}/").content.decode()

    assert [item["company_name"] for item in read["affiliations"]] == ["Milan Trading"]
    for text in (history, page):
        assert HIDDEN not in text
        assert "Secret board member" not in text
        assert "A company you cannot see" in text
        assert "Milan Trading: Adviser" in text


def test_the_admin_still_reads_every_affiliation(ines, api_client_for, client_for):
    api = api_client_for(ines.admin)
    contact = ines.contact.pk

    read = api.get(f"/api/v1/contacts/{contact}").json()
    history = api.get(f"/api/v1/contacts/{contact}/history").text
    page = client_for(ines.admin).get(f"/contacts/{contact}/").content.decode()

    assert sorted(item["company_name"] for item in read["affiliations"]) == [
        HIDDEN, "Milan Trading"]
    for text in (history, page):
        assert f"{HIDDEN}: Secret board member" in text
        assert "A company you cannot see" not in text
