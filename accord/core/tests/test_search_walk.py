"""A searched list of a large organisation is read in its own order, testing each record,
before the search gathers every record it finds: both ways give the same pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accord import search
from accord.customers import services

# Last names, in the order the list sorts them, of the contacts below.
NAMES = ["Abbott", "Smale", "Brandt", "Smith", "Cole", "Smythe", "Dunn", "Smith", "Evans",
         "Smolak", "Fry", "Gray", "Smith", "Hale", "Ives", "Small", "Jones", "Kent", "Lowe",
         "Moss", "Smart", "Nash", "Olsen", "Price", "Quinn", "Smee", "Reid", "Stone"]


@pytest.fixture
def people(org, admin, in_org):
    """Contacts of the names above, all buyers, one of them at "Smithfield Ltd"."""
    with in_org(org):
        firm = services.create_company(org, admin.user, data={"name": "Smithfield Ltd"})
        made = []
        for number, last in enumerate(NAMES):
            data = {"first_name": f"Person{number}", "last_name": last, "title": "Buyer",
                    "lifecycle_stage": "customer" if number % 3 else "lead"}
            if last == "Moss":
                data["company"] = firm.pk
            made.append(services.create_contact(org, admin.user, data=data))
        return made


def pages(client, params: dict) -> list[str]:
    """Every contact the API lists for `params`, three to a page, following the cursors."""
    names, cursor = [], None
    while True:
        query = {**params, "limit": 3, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/contacts", query)
        assert response.status_code == 200, response.content
        names += [item["last_name"] for item in response.json()["items"]]
        cursor = response.json()["next"]
        if not cursor:
            return names


def expected(people, begins: str, *, stage: str = "", descending=False) -> list[str]:
    """Last names of the people one of whose words (or whose company's) begins with
    `begins`, in the list's order."""
    def words(person):
        return [person.first_name.lower(), person.last_name.lower(), "buyer",
                *(["smithfield", "ltd"] if person.last_name == "Moss" else [])]

    found = [(person.last_name.lower(), person.pk, person.last_name) for person in people
             if any(word.startswith(begins) for word in words(person))
             and stage in ("", person.lifecycle_stage)]
    return [name for *_, name in sorted(found, reverse=descending)]


def gathering(statements: list[str]) -> list[str]:
    """The statements that gather every contact a search finds."""
    marker = ("SELECT record_id FROM core_searchentry WHERE id IN"
              if connection.vendor == "sqlite" else "unnest(ARRAY(")
    return [sql for sql in statements if marker in sql and 'FROM "customers_contact"' in sql]


def walk(monkeypatch):
    """Make the fixture's organisation large, and any search of five records common."""
    monkeypatch.setattr(search, "LARGE", 8)
    monkeypatch.setattr(search, "WALKED", 8)
    monkeypatch.setattr(search, "DENSE", 5)


@pytest.mark.parametrize(("params", "begins", "stage"), [
    ({"q": "sm"}, "sm", ""),
    ({"q": "smo"}, "smo", ""),
    ({"q": "smith"}, "smith", ""),
    ({"q": "sma", "lifecycle_stage": "customer"}, "sma", "customer"),
    ({"q": "jo"}, "jo", ""),
    ({"q": "person"}, "person", ""),
    ({"q": "person1"}, "person1", ""),
    ({"q": "person", "lifecycle_stage": "lead"}, "person", "lead"),
    ({"q": "buy", "lifecycle_stage": "lead"}, "buy", "lead"),
    ({"q": "zz"}, "zz", ""),
])
@pytest.mark.parametrize("ordering", ["name", "-name"])
def test_a_walked_list_pages_as_the_gathered_one(people, admin, api_client_for, monkeypatch,
                                                 params, begins, stage, ordering):
    client = api_client_for(admin)
    right = expected(people, begins, stage=stage, descending=ordering == "-name")
    monkeypatch.setattr(search, "LARGE", 10**6)
    gathered = pages(client, {**params, "ordering": ordering})
    walk(monkeypatch)

    walked = pages(client, {**params, "ordering": ordering})

    assert gathered == right
    assert walked == right


def statements_of(client, params: dict) -> tuple[list[str], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/contacts", params)
    assert response.status_code == 200
    return ([item["last_name"] for item in response.json()["items"]],
            [query["sql"] for query in queries.captured_queries])


def test_a_name_beginning_is_read_from_its_run_of_the_list(people, admin, api_client_for,
                                                           monkeypatch):
    walk(monkeypatch)

    names, statements = statements_of(api_client_for(admin), {"q": "sma", "limit": 2})

    assert names == ["Smale", "Small"]
    assert not gathering(statements)
    assert any("EXISTS (SELECT 1 FROM" in sql for sql in statements)


def test_a_name_beginning_found_elsewhere_too_is_not_read_from_the_run(
        people, admin, in_org, org, api_client_for, monkeypatch):
    walk(monkeypatch)
    monkeypatch.setattr(search, "DENSE", 10**6)
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "Smaragda",
                                                       "last_name": "Zane"})

    names, statements = statements_of(api_client_for(admin), {"q": "sma"})

    assert names == ["Smale", "Small", "Smart", "Zane"]
    assert gathering(statements)


def test_a_common_word_is_answered_from_the_first_records_of_the_list(
        people, admin, api_client_for, monkeypatch):
    walk(monkeypatch)

    names, statements = statements_of(api_client_for(admin), {"q": "buy", "limit": 2})

    assert names == ["Abbott", "Brandt"]
    assert not gathering(statements)


def test_a_rare_word_is_gathered(people, admin, api_client_for, monkeypatch):
    walk(monkeypatch)
    monkeypatch.setattr(search, "DENSE", 10**6)

    names, statements = statements_of(api_client_for(admin), {"q": "person2"})

    assert names == expected(people, "person2")
    assert gathering(statements)


def test_the_contacts_page_walks_too(people, admin, client_for, monkeypatch):
    walk(monkeypatch)

    with CaptureQueriesContext(connection) as queries:
        response = client_for(admin).get("/contacts/", {"q": "sma"})

    assert response.status_code == 200
    assert [contact.last_name for contact, _ in response.context["rows"]] == \
        expected(people, "sma")
    assert not gathering([query["sql"] for query in queries.captured_queries])


def test_two_words_are_gathered_as_few_records_match_both(people, admin, api_client_for,
                                                         monkeypatch):
    walk(monkeypatch)
    monkeypatch.setattr(search, "DENSE", 10**6)

    names, statements = statements_of(api_client_for(admin), {"q": "sma person1"})

    # Person1 and Person15.
    assert names == ["Smale", "Small"]
    assert gathering(statements)
