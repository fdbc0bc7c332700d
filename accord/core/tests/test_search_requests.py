"""What one search box request asks the database, beyond the search itself."""

import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.db import connection
from django.db.models.query import QuerySet
from django.test.utils import CaptureQueriesContext

from accord import search
from accord.core import ratelimit, views
from accord.customers import services

ROOT = Path(__file__).resolve().parents[3]


def box(client, query, **headers):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/search", {"q": query}, headers=headers)
    assert response.status_code == 200
    return response, [query["sql"] for query in queries.captured_queries]


def test_a_swapped_letter_filling_the_box_asks_for_no_other_spellings(org, admin, in_org,
                                                                      client_for):
    with in_org(org):
        for number in range(9):
            services.create_contact(org, admin.user, data={"first_name": f"Ann{number}",
                                                           "last_name": "Holt"})

    response, statements = box(client_for(admin), "hlot")

    assert len(response.context["contacts"]) == 8
    looked_up = " ".join(statements)
    # The word as the index is asked for it: quoted, on SQLite after its scope.
    holt = search.scope(org.pk, "contacts") + "holt" if connection.vendor == "sqlite" else "holt"
    assert f'"{holt}"' in looked_up or f"'{holt}'" in looked_up
    # "hxot" is "hlot" with a letter changed: one of the spellings not needed.
    assert "hxot" not in looked_up


def test_a_letter_changed_is_still_forgiven(org, admin, in_org, client_for):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Mira",
                                                       "last_name": "Holt"})

    response, _ = box(client_for(admin), "hilt")

    assert [str(contact) for contact in response.context["contacts"]] == ["Mira Holt"]


def test_a_small_organisations_swapped_letters_are_tested_on_its_own_rows(org, admin, in_org,
                                                                         client_for):
    if connection.vendor != "postgresql":
        pytest.skip("on SQLite every organisation's words are looked up in the index")
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Mira",
                                                       "last_name": "Holt"})

    response, statements = box(client_for(admin), "hlot")

    assert [str(contact) for contact in response.context["contacts"]] == ["Mira Holt"]
    # The few spellings with a letter missing or two swapped ("hxot" has a
    # letter changed, so it belongs to the lookup of every spelling after it).
    slips = [sql for sql in statements if "''holt''" in sql and "''hxot''" not in sql]
    assert slips
    # Read through the (organisation, entity) index, not the words index.
    assert all("OFFSET 0" in sql for sql in slips)


def test_the_box_asks_once_which_kinds_the_organisation_keeps(org, admin, in_org, client_for):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Mira",
                                                       "last_name": "Holt"})

    _, statements = box(client_for(admin), "holt")

    assert len([sql for sql in statements if "LIMIT" in sql and "count(*)" in sql
                and "core_searchentry" in sql and "MATCH" not in sql]) == 1


def test_the_dropdown_reads_no_navigation(org, admin, in_org, client_for):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Mira",
                                                       "last_name": "Holt"})

    response, statements = box(client_for(admin), "holt", **{"HX-Request": "true"})

    assert "Mira Holt" in response.content.decode()
    assert not [sql for sql in statements if "customers_savedview" in sql
                or "records_recordtype" in sql]


def test_the_dropdown_narrows_only_the_kinds_the_organisation_keeps(org, admin, in_org,
                                                                   client_for):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Mira",
                                                       "last_name": "Holt"})
    client = client_for(admin)
    client.get("/search", {"q": "holt"}, headers={"HX-Request": "true"})

    with mock.patch.object(views, "visible_tickets", wraps=views.visible_tickets) as tickets:
        response, statements = box(client, "holt", **{"HX-Request": "true"})

    assert "Mira Holt" in response.content.decode()
    tickets.assert_not_called()
    # The session, its user and membership, which kinds the organisation keeps,
    # whole words, beginnings of words, then the contacts found.
    assert len(statements) == 7


def test_a_sqlite_database_connection_is_kept_between_requests(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kept.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "accord.settings", "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(  # noqa: S603 - this interpreter, reading our own settings
        [sys.executable, "-c", "from django.conf import settings; "
         "print(settings.DATABASES['default']['CONN_MAX_AGE'])"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True)

    assert int(shown.stdout) > 0


def querysets_built(client, path, params) -> tuple[dict, int, int]:
    """The JSON answer to a GET, how many querysets the server built for it and how many
    statements it sent the database."""
    built = []
    original = QuerySet.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    with mock.patch.object(QuerySet, "__init__", counting), \
            CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200
    return response.json(), len(built), len(queries.captured_queries)


def test_the_contact_apis_search_builds_as_many_querysets_for_a_long_page_as_a_short_one(
        org, admin, in_org, api_client_for):
    with in_org(org):
        for number in range(30):
            # Every third contact has no addresses, numbers or tags at all.
            lists = {"emails": [f"ann{number}@work.example", f"ann{number}@home.example"],
                     "phones": ["+44 20 7946 0958"], "tags": ["vip", f"t{number}"]}
            services.create_contact(org, admin.user, data={
                "first_name": f"Ann{number}", "last_name": "Holt" if number < 3 else "Hale",
                **(lists if number % 3 else {})})
    client = api_client_for(admin)
    client.get("/api/v1/me")  # the token's first use stamps last_used_at once

    short, short_built, _ = querysets_built(client, "/api/v1/contacts", {"q": "holt"})
    long, long_built, statements = querysets_built(client, "/api/v1/contacts", {"q": "ha"})

    assert (len(short["items"]), len(long["items"])) == (3, 27)
    assert long_built == short_built
    # Token, membership, custom field orderings, whether a company the member
    # sees begins with the word, the page, then one query each for e-mails,
    # phones and tags; the rate-limit count where it is kept in the database
    # rather than in Redis; and how many companies and contacts the organisation
    # keeps, which decides how each is looked up and how the page is read, asked
    # once (on SQLite, where the lookup does not depend on it, only for contacts).
    expected = 8 + (0 if ratelimit._redis() else 1) + 1
    assert statements == expected
    for item in short["items"] + long["items"]:
        number = int(item["first_name"][3:])
        if number % 3:
            assert [email["address"] for email in item["emails"]] == [
                f"ann{number}@work.example", f"ann{number}@home.example"]
            assert [phone["number"] for phone in item["phones"]] == ["+442079460958"]
            assert item["tags"] == [f"t{number}", "vip"]
        else:
            assert (item["emails"], item["phones"], item["tags"]) == ([], [], [])
