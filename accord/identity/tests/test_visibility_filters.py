"""Record visibility in list filters: a company the member may not see, named in the
contact list's company filter or the company list's parent filter, answers like an id
that does not exist."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role

MADE_UP = 987654


@pytest.fixture
def world(org, admin, make_member):
    """Aaron sees his own companies; Zorblax, with a subsidiary, is Olga's."""
    aaron = make_member(org, Role.SALES, full_name="Aaron Seller")
    olga = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        hidden = customers.create_company(org, olga.user,
                                          data={"name": "Zorblax Hidden Holdings"})
        customers.create_company(org, olga.user, data={"name": "Zorblax Sub",
                                                       "parent": hidden.pk})
        mine = customers.create_company(org, aaron.user, data={"name": "Aaron Works"})
        customers.create_contact(org, aaron.user, data={
            "first_name": "Ada", "last_name": "Byron", "company": mine.pk})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(aaron=aaron, hidden=hidden, mine=mine)


@pytest.mark.parametrize(("path", "param"), [("/contacts/", "company_id"),
                                             ("/companies/", "parent_id")])
def test_a_hidden_company_in_a_list_filter_answers_like_a_made_up_id(world, admin,
                                                                     client_for, path, param):
    client = client_for(world.aaron)

    hidden = client.get(f"{path}?{param}={world.hidden.pk}")
    made_up = client.get(f"{path}?{param}={MADE_UP}")
    with_a_visible_one = client.get(f"{path}?{param}={world.mine.pk}&{param}={world.hidden.pk}")

    assert (hidden.status_code, made_up.status_code, with_a_visible_one.status_code) == (
        404, 404, 404)
    assert "Zorblax" not in hidden.content.decode()
    assert client.get(f"{path}?{param}={world.mine.pk}").status_code == 200
    assert client_for(admin).get(f"{path}?{param}={world.hidden.pk}").status_code == 200


def test_the_contact_filter_keeps_offering_and_selecting_a_visible_company(world, admin,
                                                                          client_for):
    page = client_for(world.aaron).get(f"/contacts/?company_id={world.mine.pk}")
    admins = client_for(admin).get(f"/contacts/?company_id={world.hidden.pk}")

    assert page.status_code == 200
    assert "Ada" in page.content.decode()
    assert "Zorblax" not in page.content.decode()
    assert "Zorblax Hidden Holdings" in admins.content.decode()
