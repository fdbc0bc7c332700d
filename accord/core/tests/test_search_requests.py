"""What one search box request asks the database, beyond the search itself."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
    assert '"holt"' in looked_up or "'holt'" in looked_up
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


def test_a_sqlite_database_connection_is_kept_between_requests(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kept.sqlite3'}",
           "DJANGO_SETTINGS_MODULE": "accord.settings", "PYTHONPATH": str(ROOT)}
    shown = subprocess.run(  # noqa: S603 - this interpreter, reading our own settings
        [sys.executable, "-c", "from django.conf import settings; "
         "print(settings.DATABASES['default']['CONN_MAX_AGE'])"],
        env=env, cwd=ROOT, capture_output=True, text=True, check=True)

    assert int(shown.stdout) > 0
