import csv
from pathlib import Path

import pytest

from accord.customers import services
from accord.search import fold

CASES = Path(__file__).resolve().parents[2] / "testdata" / "cases"


@pytest.fixture
def accented_contacts(org, admin, in_org):
    """The contacts of the accent-insensitive search case, as they are in the file."""
    path = CASES / "search-accent-insensitive" / "contacts_accents.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with in_org(org):
        for row in rows:
            services.create_contact(org, admin.user, data={
                "first_name": row["first_name"], "last_name": row["last_name"],
                "email": row.get("email", ""),
            })
    return rows


@pytest.mark.parametrize(("query", "expected"), [
    ("alvaro", ["Álvaro Núñez"]),
    ("nunez", ["Álvaro Núñez"]),
    ("ÁLVARO", ["Álvaro Núñez"]),
    ("lukasz wrobel", ["Łukasz Wróbel"]),
    ("cagla ozturk", ["Çağla Öztürk"]),
    ("francois", ["François Dupré"]),
    ("soren", ["Søren Dahl"]),
    ("jose ibanez", ["Jose Ibanez", "José Ibáñez"]),
    ("José", ["José Ibáñez", "Jose Ibanez"]),
])
def test_global_search_ignores_accents_and_case(accented_contacts, admin, client_for, query,
                                               expected):
    response = client_for(admin).get("/search", {"q": query})

    assert response.status_code == 200
    found = [str(contact) for contact in response.context["contacts"]]
    if query == "José":
        assert found == expected  # the exact-accent match ranks first
    else:
        assert sorted(found) == sorted(expected)


def test_decomposed_names_are_stored_composed(accented_contacts, org, in_org):
    from accord.customers.models import Contact

    with in_org(org):
        names = [c.first_name for c in Contact.objects.filter(last_name="Ibáñez")]

    assert names == ["José"]
    assert names[0] == "Jos\u00e9"


def test_fold_maps_letters_without_decomposition():
    assert fold("Łódź Søren ÆSIR straße") == "lodz soren aesir strasse"


@pytest.mark.parametrize(("text", "folded"), [
    ("Mira.HOLT@Example.org", "mira.holt@example.org"),
    ("Jörg Weiß", "jorg weiss"),
    ("Ünal " * 40, "unal " * 40),  # too long to be kept
])
def test_fold_gives_the_same_words_the_first_time_and_again(text, folded):
    assert (fold(text), fold(text)) == (folded, folded)


def test_search_dropdown_for_htmx_is_only_the_results(accented_contacts, admin, client_for):
    response = client_for(admin).get("/search", {"q": "soren"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="search-results"')
    assert "Søren Dahl" in body
    assert "<nav" not in body


def test_search_does_not_find_another_organizations_contacts(accented_contacts, other_org,
                                                             client_for, in_org):
    from accord.identity.models import Membership

    with in_org(other_org):
        outsider = Membership.objects.get()

    response = client_for(outsider).get("/search", {"q": "soren"})

    assert response.context["contacts"] == []


def test_search_escapes_names(org, admin, client_for, in_org):
    with in_org(org):
        services.create_contact(org, admin.user, data={"first_name": "<script>alert(1)</script>"})

    response = client_for(admin).get("/search", {"q": "script"})

    body = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)</script>" not in body


def test_a_member_who_sees_only_their_own_contacts_still_finds_them(org, admin, make_member,
                                                                    client_for, in_org):
    from accord.identity import visibility
    from accord.identity.models import Role

    seller = make_member(org, Role.SALES)
    with in_org(org):
        # More of others' matches than the box shows, and ranked alike.
        for number in range(12):
            services.create_contact(org, admin.user, data={
                "first_name": "Anders", "last_name": f"Other{number}"})
        services.create_contact(org, seller.user, data={
            "first_name": "Anders", "last_name": "Abara"})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {"contacts": "own"}})

    seen = client_for(seller).get("/search", {"q": "anders"})
    everyone = client_for(admin).get("/search", {"q": "anders"})

    assert [str(contact) for contact in seen.context["contacts"]] == ["Anders Abara"]
    assert "Other" not in seen.content.decode()
    # The admin sees every match, so the box is full.
    assert len(everyone.context["contacts"]) == 8
