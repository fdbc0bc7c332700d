"""Deals in the global search box and on the search page."""

import pytest
from django.urls import reverse
from django_scopes import scope

from accord.customers.services import create_company
from accord.identity.models import Role
from accord.sales import services

pytestmark = pytest.mark.urls("accord.sales.tests.deal_page_urls")


@pytest.fixture
def deals(org, admin):
    with scope(organization=org):
        services.create_pipeline(org, admin.user, name="New business")
        company = create_company(org, admin.user, data={"name": "Wisła Components"})
        found = services.create_deal(org, admin.user, data={
            "name": "Forty laptops", "company": company.pk})
        services.create_deal(org, admin.user, data={"name": "Office chairs"})
        return found


def test_search_page_lists_matching_deals_with_stage_and_company(
    org, admin, deals, client_for
):
    response = client_for(admin).get("/search", {"q": "forty"})

    assert response.status_code == 200
    assert [deal.name for deal in response.context["deals"]] == ["Forty laptops"]
    with scope(organization=org):
        url = reverse("sales:deal", args=[deals.pk])
    assert (f'<a href="{url}">Forty laptops <span class="muted small">· Qualification · '
            "Wisła Components</span></a>") in response.text
    assert "<h2 class=\"small muted\">Deals</h2>" in response.text


def test_typeahead_finds_a_deal_by_the_beginning_of_its_name(admin, deals, client_for):
    response = client_for(admin).get("/search", {"q": "lapt"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="search-results"')
    assert "Forty laptops" in response.text
    assert "Office chairs" not in response.text


def test_deals_in_the_trash_are_not_found(org, admin, deals, client_for):
    with scope(organization=org):
        services.delete_deal(org, admin.user, deals)

    response = client_for(admin).get("/search", {"q": "laptops"})

    assert response.context["deals"] == []
    assert "Nothing matches" in response.text


def test_members_without_deals_view_find_no_deals(org, deals, make_member, client_for,
                                                  monkeypatch):
    from accord.identity import permissions

    member = make_member(org, Role.SUPPORT)
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, Role.SUPPORT,
                        permissions.ROLE_PERMISSIONS[Role.SUPPORT] - {"deals.view"})

    response = client_for(member).get("/search", {"q": "laptops"})

    assert response.context["deals"] == []


def test_another_organizations_deals_are_not_found(other_org, admin, deals, make_member,
                                                   client_for):
    stranger = make_member(other_org, Role.ADMIN)

    response = client_for(stranger).get("/search", {"q": "laptops"})

    assert response.context["deals"] == []
