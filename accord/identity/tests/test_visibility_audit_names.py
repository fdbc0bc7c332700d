"""Names of hidden records in the audit trail.

An entry about a record the reader sees may link to one hidden from them (an
order's company): the audit log page and its CSV name that record by its kind
alone, "A company you cannot see", as the record's own field history does. A
contact's affiliation, kept as "<company name>: <title>", is masked whenever a
company hidden from the reader bears the name, even if a visible company shares
it. Admins read every name.
"""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.commerce import orders
from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role

HIDDEN = "Ravenscar Hushed BV"
TWIN = "Pelicanbrook Covert AG"


@pytest.fixture
def world(org, admin, make_member):
    """A manager's contact Ines works for an outsider's company and has an order there;
    the admin also links the seller's own contact to another outsider's company. Members
    then see only their own contacts and companies."""
    manager = make_member(org, Role.MANAGER, full_name="Mia Manager")
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        company = customers.create_company(org, outsider.user, data={"name": HIDDEN})
        contact = customers.create_contact(org, manager.user, data={
            "first_name": "Ines", "last_name": "Albrecht", "company": company.pk})
        orders.create_order(org, manager.user, data={
            "number": "ORD-OWN-9999", "contact": contact.pk, "company": company.pk,
            "lines": [{"description": "Lamp", "quantity": "1", "unit_price": "9"}]})
        twin = customers.create_company(org, outsider.user, data={"name": TWIN})
        pele = customers.create_contact(org, seller.user, data={
            "first_name": "Pele", "last_name": "Brook"})
        customers.add_affiliation(org, admin.user, pele, twin, title="Advisor Pelican")
        visibility.update_visibility(org, admin.user, roles={
            Role.SALES: {"contacts": "own", "companies": "own"},
            Role.MANAGER: {"contacts": "team", "companies": "team"}})
    return SimpleNamespace(admin=admin, manager=manager, seller=seller, pele=pele)


def audit_log(client) -> dict[str, str]:
    return {"page": client.get("/settings/audit-log/").content.decode(),
            "csv": b"".join(client.get("/settings/audit-log/?export=csv")
                            .streaming_content).decode()}


def test_the_audit_log_does_not_name_a_linked_hidden_company(world, client_for):
    seen = audit_log(client_for(world.manager))

    assert {name for name, text in seen.items() if HIDDEN in text} == set()
    assert {name for name, text in seen.items() if "ORD-OWN-9999" in text} == {"page", "csv"}
    assert {name for name, text in seen.items()
            if "A company you cannot see" in text} == {"page", "csv"}


def test_the_admin_reads_the_linked_company_in_the_audit_log(world, client_for):
    seen = audit_log(client_for(world.admin))

    assert {name for name, text in seen.items() if HIDDEN in text} == {"page", "csv"}
    assert {name for name, text in seen.items() if "A company you cannot see" in text} == set()


def histories(world, membership, api_client_for, client_for) -> dict[str, str]:
    contact = world.pele.pk
    return {"api": api_client_for(membership).get(f"/api/v1/contacts/{contact}/history").text,
            "page": client_for(membership).get(f"/contacts/{contact}/").content.decode()}


def test_a_visible_company_of_the_same_name_does_not_unmask_an_affiliation(
        world, api_client_for, client_for):
    api = api_client_for(world.seller)
    assert api.post("/api/v1/companies", {"name": TWIN},
                    content_type="application/json").status_code == 201

    seen = histories(world, world.seller, api_client_for, client_for)

    assert {name for name, text in seen.items() if "Advisor Pelican" in text} == set()
    assert {name for name, text in seen.items()
            if "A company you cannot see" in text} == {"api", "page"}


def test_the_admin_reads_the_affiliation_whatever_companies_share_its_name(
        world, api_client_for, client_for):
    api_client_for(world.seller).post("/api/v1/companies", {"name": TWIN},
                                      content_type="application/json")

    seen = histories(world, world.admin, api_client_for, client_for)

    assert {name for name, text in seen.items()
            if f"{TWIN}: Advisor Pelican" in text} == {"api", "page"}
    assert {name for name, text in seen.items() if "A company you cannot see" in text} == set()
