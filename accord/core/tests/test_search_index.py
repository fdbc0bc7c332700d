"""The search index: what finds a record, and that every write keeps it current."""

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accord import search
from accord.core.models import SearchEntry
from accord.customers import services
from accord.customers.models import Company, Contact
from accord.identity.models import Membership


@pytest.fixture
def mira(org, admin, in_org):
    with in_org(org):
        company = services.create_company(org, admin.user, data={"name": "Hollow Oak Ltd"})
        return services.create_contact(org, admin.user, data={
            "first_name": "Mira", "last_name": "Holt", "email": "mira.holt@example.org",
            "phone": "+44 20 7946 0958", "company": company.pk,
        })


def insert_people(org, count: int, *, firms: list[int] | None = None) -> None:
    """`count` contacts "Person P<id>" with their search entries, written by SQL; each
    at one of `firms` (consecutive company ids) in turn when given."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    # Only this constant choice is put into the SQL.
    company = "%s + i %% %s" if firms else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %s) "  # noqa: S608
            "INSERT INTO customers_contact (organization_id, created_at, updated_at, version, "
            "street, city, region, postal_code, country, source, custom_fields, first_name, "
            "last_name, title, email, phone, company_id, lifecycle_stage, time_zone, "
            "do_not_contact, name_key, block_key) "
            "SELECT %s, %s, %s, 1, '', '', '', '', '', '', '{}', 'Person', 'P' || i, '', '', "
            f"'', {company}, 'lead', '', FALSE, '', '' FROM n",
            [count, org.pk, now, now, *([firms[0], len(firms)] if firms else [])])
        cursor.execute(
            "INSERT INTO core_searchentry (organization_id, entity, record_id, title, text) "
            "SELECT organization_id, 'contacts', id, 'x', 'person p' || id FROM customers_contact "
            "WHERE first_name = 'Person' AND organization_id = %s", [org.pk])


def found(client, query, kind="contacts"):
    response = client.get("/search", {"q": query})
    assert response.status_code == 200
    return [str(record) for record in response.context[kind]]


@pytest.mark.parametrize("query", [
    "mi", "mir", "Holt", "HOLT mira", "holt@example", "example.org", "mira.holt@example.org",
    "020 7946 0958", "+44 20 7946 0958", "0044 20 7946", "2079460958",
])
def test_a_contact_is_found_by_beginnings_of_its_words_and_digits(mira, admin, client_for,
                                                                  query):
    assert found(client_for(admin), query) == ["Mira Holt"]


@pytest.mark.parametrize("query", ["ira", "olt", "7946 0958", "mira zzz", "@", "--"])
def test_words_must_begin_a_word_of_the_record(mira, admin, client_for, query):
    assert found(client_for(admin), query) == []


@pytest.mark.parametrize("query", ["Hlot", "Hollw", "Hollwo"])
def test_one_typing_mistake_is_forgiven_when_nothing_else_matches(mira, admin, client_for,
                                                                 query):
    results = found(client_for(admin), query) + found(client_for(admin), query, "companies")
    assert results in (["Mira Holt"], ["Hollow Oak Ltd"], ["Mira Holt", "Hollow Oak Ltd"])


def test_a_close_word_is_not_a_typing_mistake_when_an_exact_one_exists(org, admin, in_org,
                                                                      client_for):
    with in_org(org):
        for first in ("Anna", "Hanna"):
            services.create_contact(org, admin.user, data={"first_name": first})

    assert found(client_for(admin), "anna") == ["Anna"]


def test_whole_words_rank_before_beginnings_of_words(org, admin, in_org, client_for):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Josefine", "last_name": "A"})
        services.create_contact(org, admin.user, data={"first_name": "Jose", "last_name": "B"})

    assert found(client_for(admin), "jose") == ["Jose B", "Josefine A"]


def test_list_search_and_api_search_use_the_same_index(mira, admin, client_for, api_client_for):
    page = client_for(admin).get("/contacts/", {"q": "holt@exam"})
    api = api_client_for(admin).get("/api/v1/contacts", {"q": "holt@exam"})

    assert "Mira Holt" in page.content.decode()
    assert [item["first_name"] for item in api.json()["items"]] == ["Mira"]


def test_edits_deletes_and_restores_keep_the_index_current(mira, org, admin, in_org,
                                                           client_for):
    client = client_for(admin)
    with in_org(org):
        services.update_contact(org, admin.user, mira, data={"last_name": "Lindqvist"})
    assert found(client, "holt mira") == ["Mira Lindqvist"]  # the e-mail still says holt
    assert found(client, "lindqvist") == ["Mira Lindqvist"]

    with in_org(org):
        services.update_contact(org, admin.user, Contact.objects.get(pk=mira.pk),
                                data={"emails": [{"address": "m.l@example.net"}]})
    assert found(client, "holt") == []

    with in_org(org):
        services.delete_contact(org, admin.user, Contact.objects.get(pk=mira.pk))
    assert found(client, "lindqvist") == []

    with in_org(org):
        services.restore_contact(org, admin.user, Contact.with_deleted.get(pk=mira.pk))
    assert found(client, "lindqvist") == ["Mira Lindqvist"]


def test_a_renamed_company_is_found_by_its_new_name_and_lists_its_contacts_by_it(
        mira, org, admin, in_org, client_for, api_client_for):
    with in_org(org):
        company = Company.objects.get(name="Hollow Oak Ltd")
        services.update_company(org, admin.user, company, data={"name": "Brightwater"})

    client = client_for(admin)
    assert found(client, "brightwater", "companies") == ["Brightwater"]
    assert found(client, "hollow", "companies") == []
    assert found(client, "brightwater") == []
    api = api_client_for(admin)
    assert [item["last_name"] for item in api.get("/api/v1/contacts", {
        "q": "brightwater"}).json()["items"]] == ["Holt"]
    assert api.get("/api/v1/contacts", {"q": "hollow"}).json()["items"] == []


def test_a_small_organisation_never_sees_a_large_ones_records(mira, make_org, in_org,
                                                              client_for):
    small = make_org("Small Ltd")
    with in_org(small):
        small_admin = Membership.objects.get()
        services.create_contact(small, small_admin.user, data={"first_name": "Mirabel"})

    assert found(client_for(small_admin), "mira") == ["Mirabel"]
    assert found(client_for(small_admin), "holt") == []


def test_reindex_command_rebuilds_missing_entries(mira, org, admin, client_for):
    SearchEntry.unscoped.all().delete()
    assert found(client_for(admin), "holt") == []

    call_command("reindex", "--missing", verbosity=0)

    assert found(client_for(admin), "holt") == ["Mira Holt"]
    assert SearchEntry.unscoped.filter(entity="contacts").count() == 1


def _search_statements(queries) -> list[str]:
    """The statements of a request that read the search index."""
    marker = "search_fts" if connection.vendor == "sqlite" else "words @@"
    return [query["sql"] for query in queries if marker in query["sql"]]


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Whether the planner prefers an index over reading the table shifts
            # with the statistics other tests leave; with table scans priced
            # out it still reads the table only if no index fits the query,
            # which is what this checks.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return " ".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize("query", ["holt", "ho", "mira.holt@exampl", "hlot"])
def test_searches_are_answered_from_the_search_indexes(mira, org, admin, make_org, in_org,
                                                       client_for, api_client_for, query):
    """Every statement the search box and the contact API's ?q= send to the index, for a
    large organisation and for a small one sharing the database, reads it through an
    index: the FTS table on SQLite; on PostgreSQL the words index, or for the small
    organisation (and a sample of the large one's rows) the (organisation, entity)
    index."""
    # Enough entries for the planner to weigh the index against reading the
    # table, as it does at any real size.
    with connection.cursor() as cursor:
        cursor.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
            "INSERT INTO core_searchentry (organization_id, entity, record_id, title, text) "
            "SELECT %s, 'contacts', 100000 + i, 'x', 'person' || i || ' example org' FROM n",
            [org.pk],
        )
        cursor.execute("ANALYZE")
    small = make_org("Small Ltd")
    with in_org(small):
        small_admin = Membership.objects.get()
        services.create_contact(small, small_admin.user, data={
            "first_name": "Mira", "last_name": "Holt", "email": "mira.holt@example.org"})

    for membership in (admin, small_admin):
        with CaptureQueriesContext(connection) as box:
            assert client_for(membership).get("/search", {"q": query}).status_code == 200
        with CaptureQueriesContext(connection) as api:
            response = api_client_for(membership).get("/api/v1/contacts", {"q": query})
            assert response.status_code == 200
        statements = _search_statements(box.captured_queries)
        assert statements
        if query != "hlot":  # a typing mistake is forgiven in the search box only
            assert _search_statements(api.captured_queries)
        for sql in statements + _search_statements(api.captured_queries):
            plan = _plan(sql)
            if connection.vendor == "sqlite":
                assert "SCAN search_fts VIRTUAL TABLE INDEX" in plan, plan
                assert "SCAN core_searchentry" not in plan, plan
                assert "SCAN customers_contact" not in plan, plan
            else:
                assert "Seq Scan" not in plan, plan
                assert "Index Scan using searchentry_" in plan \
                    or "Bitmap Index Scan on searchentry_" in plan, plan
        if connection.vendor == "postgresql" and membership == admin and query != "hlot":
            # The large organisation's 100,000 contacts, beyond the sample, and
            # the API's list: its matches are gathered from the words index
            # before the contacts are read, never tested contact by contact.
            # (The API also asks about its one company, a small set read
            # through the organisation's entries, checked above.)
            found_by_words = [sql for sql in statements if "'contacts'" in sql
                              and "sampled" not in sql] + [
                                  sql for sql in _search_statements(api.captured_queries)
                                  if "'contacts'" in sql]
            assert len(found_by_words) >= 2
            for sql in found_by_words:
                assert "Bitmap Index Scan on searchentry_words" in _plan(sql)


@pytest.mark.parametrize("query", ["mira.holt@exampel.org", "mira holt hollow oakk"])
def test_e_mail_addresses_and_long_queries_are_not_corrected(mira, admin, client_for, query):
    assert found(client_for(admin), query) == []


@pytest.fixture(params=["as configured", "narrowest"])
def index_limits(request, monkeypatch):
    """Run a test with the search's thresholds as shipped and at their narrowest, so that
    both ways of answering a long beginning (and a large or small organisation's way on
    PostgreSQL) are taken."""
    if request.param == "narrowest":
        monkeypatch.setattr(search._Sqlite, "NARROWED_ROWS", 1)
        monkeypatch.setattr(search._Postgres, "SMALL", 0)


@pytest.mark.parametrize(("query", "expected"), [
    ("schmit", ["Lena Schmitz"]), ("schmid", ["Ada Schmidt", "Bo Schmidt", "Cy Schmidt"]),
    ("schmix", []), ("lena schmit", ["Lena Schmitz"]),
    ("lena.schmitz@exampl", ["Lena Schmitz"]), ("lena.schmitz@exampx", []),
])
def test_a_long_beginning_finds_the_same_records_whichever_way_it_is_looked_up(
        org, admin, in_org, client_for, api_client_for, index_limits, query, expected):
    with in_org(org):
        for first, last in (("Ada", "Schmidt"), ("Bo", "Schmidt"), ("Cy", "Schmidt"),
                            ("Lena", "Schmitz")):
            services.create_contact(org, admin.user, data={
                "first_name": first, "last_name": last,
                "email": f"{first}.{last}@example.org".lower()})

    api = api_client_for(admin).get("/api/v1/contacts", {"q": query}).json()["items"]

    assert sorted(found(client_for(admin), query)) == expected
    assert sorted(f"{item['first_name']} {item['last_name']}" for item in api) == expected


def test_a_kind_of_record_the_organisation_has_none_of_is_not_looked_up(mira, admin,
                                                                       client_for):
    client = client_for(admin)

    with CaptureQueriesContext(connection) as queries:
        assert found(client, "hlot") == ["Mira Holt"]

    looked_up = " ".join(_search_statements(queries.captured_queries))

    def asked_for(entity):
        # SQLite's index holds the kind in front of each word, PostgreSQL's beside it.
        return (search.scope(admin.organization_id, entity) if connection.vendor == "sqlite"
                else entity) in looked_up

    assert asked_for("contacts")
    assert asked_for("companies")  # Hollow Oak Ltd
    for entity in ("deals", "tickets", "records"):
        assert not asked_for(entity)


def _reads_of(table: str, plan: str) -> list[str]:
    """How a SQLite plan reads `table`: the condition of each search of it, or "SCAN"."""
    return re.findall(rf"(?:SCAN {table}\b|SEARCH {table} USING [A-Z ]*INDEX \S+ \([^)]*\)"
                      rf"|SEARCH {table} USING INTEGER PRIMARY KEY \([^)]*\))", plan)


@pytest.mark.parametrize("query", ["hollow", "holl", "hollow mira", "mira hollow",
                                   "person12 hollow"])
def test_a_company_in_the_contact_list_query_is_reached_through_the_company_index(
        mira, org, admin, in_org, api_client_for, query):
    """The contact API's `q` matches a contact's own words or its company's: the
    contacts of the companies found are read through the contacts' company index, and
    both lists of ids are gathered before the contacts are, so the list never walks a
    large organisation's contacts testing each against them."""
    # Many companies, with many contacts each, so the planner weighs reading
    # every contact against looking the matching ones up.
    with in_org(org):
        firms = Company.unscoped.bulk_create(
            Company(organization=org, name=f"Firm {at}") for at in range(2000))
    insert_people(org, 100000, firms=[firm.pk for firm in firms])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_searchentry (organization_id, entity, record_id, title, text) "
            "SELECT organization_id, 'companies', id, 'x', 'firm ' || id FROM customers_company "
            "WHERE name LIKE 'Firm %%'")
        cursor.execute("ANALYZE")

    with CaptureQueriesContext(connection) as api:
        response = api_client_for(admin).get("/api/v1/contacts", {"q": query})

    assert response.status_code == 200
    statements = [sql["sql"] for sql in api.captured_queries if "UNION ALL" in sql["sql"]]
    assert statements
    for sql in statements:
        plan = _plan(sql)
        if connection.vendor == "sqlite":
            reads = _reads_of("customers_contact", plan)
            assert "SCAN search_fts VIRTUAL TABLE INDEX" in plan, plan
            assert _reads_of("U0", plan) == ["SEARCH U0 USING INTEGER PRIMARY KEY (rowid=?)"] * \
                plan.count(" U0 "), plan
        else:
            # Each node of the plan that reads contacts, with its conditions.
            reads = [node for node in plan.split("->")
                     if re.search(r" on customers_contact\b", node)]
            assert "Seq Scan" not in plan, plan
        assert any("company_id" in read for read in reads), plan
        for read in reads:
            assert re.search(r"\b(rowid=\?|company_id=\?|id = |company_id = )", read), plan


def test_sqlite_scopes_are_as_long_for_every_organisation_and_kind():
    assert search.scope(1, "contacts") == "00000001con"
    assert search.scope(4096, "companies") == "00001000com"


@pytest.mark.parametrize("entity", ["contracts", "Cases", "ab", "sub_tasks"])
def test_a_kind_must_be_told_apart_by_its_first_three_letters(monkeypatch, entity):
    # The index of SQLite keeps only those letters of a kind in front of its words.
    monkeypatch.setattr(search, "_KINDS", dict(search._KINDS))

    with pytest.raises(ValueError, match=repr(entity)):
        search.register(type("Kind", (), {}), entity, text_of=str)


def test_a_contact_and_a_company_sharing_a_word_are_found_each_as_its_own_kind(
        org, admin, in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Quenby",
                                                       "last_name": "Hale"})
        services.create_company(org, admin.user, data={"name": "Quenby Works"})

        assert [str(c) for c in search.search(Contact.objects.all(), "quen")] == [
            "Quenby Hale"]
        assert [c.name for c in search.search(Company.objects.all(), "quen")] == [
            "Quenby Works"]
