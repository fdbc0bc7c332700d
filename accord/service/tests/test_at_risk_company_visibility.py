"""The customers at risk page shows a customer's company hidden from the reader as one
they cannot see; admins read its name."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.service import services as service

HIDDEN = "Hiddencanary Holdings"
UNSEEN = "A company you cannot see"


@pytest.fixture
def ines(org, admin, make_member):
    """Sami's customer Ines, at the outsider's company, wrote three tickets this month;
    then support members see only their own contacts and companies."""
    sami = make_member(org, Role.SUPPORT, full_name="Sami Support")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        company = customers.create_company(org, outsider.user, data={"name": HIDDEN})
        contact = customers.create_contact(org, sami.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": company.pk})
        for _ in range(3):
            service.create_ticket(org, sami.user, data={"subject": "Help",
                                                        "contact": contact.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SUPPORT: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(sami=sami, admin=admin)


def test_customers_at_risk_do_not_name_a_hidden_company(ines, client_for):
    page = client_for(ines.sami).get("/tickets/at-risk/")

    assert page.status_code == 200
    assert [str(row) for row in page.context["rows"]] == ["Ines Albrecht"]
    assert HIDDEN not in page.content.decode()
    assert UNSEEN in page.content.decode()


def test_the_admin_reads_the_company_of_a_customer_at_risk(ines, client_for):
    page = client_for(ines.admin).get("/tickets/at-risk/")

    assert [str(row) for row in page.context["rows"]] == ["Ines Albrecht"]
    assert HIDDEN in page.content.decode()
    assert UNSEEN not in page.content.decode()
