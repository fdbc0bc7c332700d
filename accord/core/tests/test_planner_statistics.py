"""SQLite's query planner is kept supplied with statistics, so a searched list of a large
organisation looks up the records found instead of walking all of them in name order."""

import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accord.core import tasks
from accord.core.tests.test_search_index import insert_people
from accord.customers import services


def statistics_of(index: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if not cursor.fetchone()[0]:
            return []
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE idx = %s", [index])
        return cursor.fetchall()


def forget_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone()[0]:
            cursor.execute("DELETE FROM sqlite_stat1")


@pytest.fixture
def on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's autovacuum gathers its own statistics")


def test_the_hourly_task_takes_statistics_of_every_index(on_sqlite, org, admin, in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Ada"})
    forget_statistics()

    assert tasks.refresh_planner_statistics() is True

    assert statistics_of("contact_org_lower_last")
    assert settings.CELERY_BEAT_SCHEDULE["refresh-planner-statistics"]["task"] == \
        "accord.core.tasks.refresh_planner_statistics"


def test_postgresql_is_left_to_gather_its_own(org):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite gathers none of its own")

    assert tasks.refresh_planner_statistics() is False


def test_an_import_that_creates_records_takes_statistics(on_sqlite, tmp_path, org):
    forget_statistics()
    path = tmp_path / "people.csv"
    path.write_text("First name,Last name\nAda,Lovelace\n", encoding="utf-8")
    out = io.StringIO()

    call_command("import", str(path), org=org.slug, entity="contact", stdout=out,
                 stderr=io.StringIO())

    assert json.loads(out.getvalue().splitlines()[-1])["created"] == 1
    assert statistics_of("contact_org_lower_last")


def test_with_statistics_a_rare_search_looks_its_contacts_up(on_sqlite, org, admin,
                                                             api_client_for):
    insert_people(org, 20000)
    tasks.refresh_planner_statistics()

    with CaptureQueriesContext(connection) as queries:
        response = api_client_for(admin).get("/api/v1/contacts", {"q": "person p123"})

    assert response.status_code == 200
    page = [query["sql"] for query in queries.captured_queries
            if "LIMIT 51" in query["sql"] and "search_fts" in query["sql"]]
    assert page
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + page[-1])
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "SEARCH customers_contact USING INTEGER PRIMARY KEY" in plan, plan
