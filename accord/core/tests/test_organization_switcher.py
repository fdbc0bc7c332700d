"""The organisation switcher in the left navigation."""

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accord.identity.models import Role


def switcher(body: str) -> str:
    """The switcher form in the navigation, or an empty string."""
    found = re.search(r'<form class="org-switcher".*?</form>', body, re.DOTALL)
    return found.group(0) if found else ""


def test_navigation_offers_every_organisation_of_a_user_with_several(
    org, other_org, admin, make_member, client_for
):
    make_member(other_org, Role.SALES, email=admin.user.email)

    body = client_for(admin).get("/").content.decode()

    form = switcher(body)
    assert 'method="post" action="/switch-organization"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert re.findall(r"<option[^>]*>[^<]*</option>", form) == [
        f'<option value="{other_org.pk}">Contoso</option>',
        f'<option value="{org.pk}" selected>Northwind</option>',
    ]
    assert '<button type="submit">Switch</button>' in form


def test_navigation_has_no_switcher_for_a_user_of_one_organisation(org, admin, client_for):
    body = client_for(admin).get("/").content.decode()

    assert switcher(body) == ""
    assert '<span class="org-name">Northwind</span>' in body


def test_switcher_posts_with_its_csrf_token_and_changes_the_organisation(
    org, other_org, admin, make_member
):
    make_member(other_org, Role.SALES, email=admin.user.email)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    form = switcher(client.get("/").content.decode())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)

    refused = client.post("/switch-organization", {"organization": other_org.pk})
    switched = client.post("/switch-organization",
                           {"organization": other_org.pk, "csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert switched.status_code == 302
    assert switched["Location"] == "/"
    page = client.get("/").content.decode()
    assert '<span class="org-name">Contoso</span>' in page
    assert f'<option value="{other_org.pk}" selected>Contoso</option>' in switcher(page)
    assert "You are now working in Contoso." in page


def test_memberships_for_the_switcher_cost_one_query(org, other_org, admin, make_member,
                                                     client_for):
    make_member(other_org, Role.SALES, email=admin.user.email)
    client = client_for(admin)
    client.get("/")

    with CaptureQueriesContext(connection) as queries:
        client.get("/")

    ordered_by_name = [query["sql"] for query in queries.captured_queries
                       if 'ORDER BY "identity_organization"."name"' in query["sql"]]
    assert len(ordered_by_name) == 1


def test_signed_out_visitors_get_no_switcher_and_no_membership_query(db):
    with CaptureQueriesContext(connection) as queries:
        body = Client().get("/login").content.decode()

    assert switcher(body) == ""
    assert not any("identity_membership" in query["sql"]
                   for query in queries.captured_queries)
