"""Finding possible duplicates: signals, scores, the review queue and the nightly scan."""

import csv
import unicodedata
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accord.audit.models import AuditEntry
from accord.customers import duplicates, services
from accord.customers.models import Contact, DuplicatePair, DuplicateStatus
from accord.customers.tasks import scan_for_duplicates
from accord.identity.models import Role

CASES = Path(__file__).resolve().parents[2] / "testdata" / "cases"


def make_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor, data=data)


def make_company(org, actor, in_org, **data):
    with in_org(org):
        return services.create_company(org, actor, data=data)


def pairs(org, in_org, entity="contact"):
    with in_org(org):
        return {
            (pair.low_id, pair.high_id): pair
            for pair in DuplicatePair.objects.filter(entity=entity)
        }


def key(a, b):
    return tuple(sorted((a.pk, b.pk)))


# Keys and scores


def test_name_keys_fold_accents_case_and_decomposed_letters():
    decomposed = unicodedata.normalize("NFD", "José Ibáñez")

    assert duplicates.contact_name_keys(*decomposed.split()) == ("ibanez jose", "ibanez j")
    assert duplicates.contact_name_keys("Jose", "Ibanez") == ("ibanez jose", "ibanez j")
    assert duplicates.contact_name_keys("ŁUKASZ", "Wróbel") == ("lukasz wrobel", "wrobel l")


@pytest.mark.parametrize("name", ["Northwind Traders Ltd", "Northwind Traders Limited",
                                  "NORTHWIND TRADERS GmbH & Co. KG", "Northwind Traders B.V.",
                                  "Northwind Traders, Inc.", "Northwind Traders SARL"])
def test_company_name_key_drops_the_legal_form(name):
    assert duplicates.company_name_keys(name) == ("northwind traders", "northwind")


def test_a_company_named_only_by_a_legal_form_keeps_its_name():
    assert duplicates.company_name_keys("Limited")[0] == "limited"


def features(pk, name, **extra):
    return duplicates.Features(pk, name, **extra)


def test_signals_combine_as_independent_evidence():
    shared = {"emails": {"ana@acme.example"}, "domains": {"acme.example"},
              "phones": {"+4930901820"}}
    a, b = features(1, "ana lima", **shared), features(2, "ana lima", **shared)

    score, reasons = duplicates.score_pair("contact", a, b)

    # 1 − (0.05 × 0.20 × 0.15) = 0.9985
    assert score == 100
    assert [(r["signal"], r["score"]) for r in reasons] == [
        ("email", 95), ("name_domain", 85), ("phone", 80)]


def test_a_similar_name_scores_higher_at_the_same_company():
    alone = duplicates.score_pair("contact", features(1, "jon smith"),
                                  features(2, "john smith"))
    together = duplicates.score_pair("contact", features(1, "jon smith", company_id=7),
                                     features(2, "john smith", company_id=7))

    assert alone[0] == 71
    assert together[0] == 91
    assert together[1][0]["signal"] == "name_company"


def test_different_names_and_nothing_shared_score_nothing():
    assert duplicates.score_pair("contact", features(1, "ana lima"),
                                 features(2, "bruno costa")) == (0, [])


def test_reasons_read_as_sentences():
    assert duplicates.describe_reason({"signal": "email", "value": "a@b.example"}) == \
        "Same e-mail address (a@b.example)"
    assert duplicates.describe_reason({"signal": "name", "value": 100}) == "Same name"
    assert duplicates.describe_reason({"signal": "name_company", "value": 91}) == \
        "Similar name at the same company (91% alike)"


# Detection on create


def test_same_email_in_another_case_is_found_on_create(org, member, in_org):
    first = make_contact(org, member.user, in_org, first_name="Ana", last_name="Lima",
                         emails=[{"address": "home@x.example"}, {"address": "Ana@Acme.example"}])
    second = make_contact(org, member.user, in_org, first_name="A.", last_name="Costa",
                          email="ana@acme.example")

    found = pairs(org, in_org)

    assert list(found) == [key(first, second)]
    pair = found[key(first, second)]
    assert (pair.score, pair.status) == (95, DuplicateStatus.OPEN)
    assert pair.reasons == [{"signal": "email", "score": 95, "value": "ana@acme.example"}]


def test_the_phone_case_numbers_are_one_number(org, member, in_org):
    with (CASES / "phone-leading-zero-and-plus" / "contacts_phones.csv").open(
            encoding="utf-8", newline="") as handle:
        aidan_row = next(row for row in csv.DictReader(handle) if row["name"] == "Aidan Farrell")
    aidan = make_contact(org, member.user, in_org, first_name="Aidan", last_name="Farrell",
                         phone=aidan_row["phone"])
    others = [
        make_contact(org, member.user, in_org, first_name="Reception", last_name="One",
                     phone="+44 20 7946 0958"),
        make_contact(org, member.user, in_org, first_name="Desk", last_name="Two",
                     phone="020 7946 0958", country="GB"),
        make_contact(org, member.user, in_org, first_name="Office", last_name="Three",
                     phone="0044 20 7946 0958"),
    ]

    found = pairs(org, in_org)

    for other in others:
        pair = found[key(aidan, other)]
        assert pair.reasons == [{"signal": "phone", "score": 80, "value": "+442079460958"}]
    assert len(found) == 6  # every two of the four


def test_accent_case_rows_5_and_6_are_possible_duplicates_not_merged(org, member, in_org):
    with (CASES / "search-accent-insensitive" / "contacts_accents.csv").open(
            encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    made = [make_contact(org, member.user, in_org, **row) for row in rows]

    found = pairs(org, in_org)

    assert list(found) == [key(made[4], made[5])]
    pair = found[key(made[4], made[5])]
    assert pair.score == 75
    assert pair.reasons == [{"signal": "name", "score": 75, "value": 100}]
    with in_org(org):
        assert Contact.objects.count() == 7
        assert Contact.with_deleted.filter(merged_into__isnull=False).count() == 0


def test_companies_match_on_domain_phone_and_name_without_legal_form(org, member, in_org):
    a = make_company(org, member.user, in_org, name="Northwind Traders Ltd",
                     website="https://www.northwind.example/", phone="+44 161 496 0000")
    b = make_company(org, member.user, in_org, name="Northwind Traders Limited",
                     domain="northwind.example", phone="0161 496 0000", country="GB")
    make_company(org, member.user, in_org, name="Southwind Bakery")

    found = pairs(org, in_org, "company")

    assert list(found) == [key(a, b)]
    assert [r["signal"] for r in found[key(a, b)].reasons] == ["domain", "phone", "name"]
    assert found[key(a, b)].score == 99  # 1 − (0.10 × 0.25 × 0.25)


def test_api_create_answers_with_possible_duplicates(org, member, in_org, api_client_for):
    existing = make_contact(org, member.user, in_org, first_name="José", last_name="Ibáñez",
                            email="jose.ibanez@example.es")
    client = api_client_for(member)

    response = client.post("/api/v1/contacts", {"first_name": "Jose", "last_name": "Ibanez",
                                                "email": "j.ibanez@example.mx"},
                           content_type="application/json")

    assert response.status_code == 201
    assert response.json()["possible_duplicates"] == [{
        "id": existing.pk, "score": 75,
        "reasons": [{"signal": "name", "score": 75, "reason": "Same name"}],
    }]


def test_api_create_of_a_company_lists_none_when_nothing_matches(member, api_client_for):
    client = api_client_for(member)

    response = client.post("/api/v1/companies", {"name": "Fabrikam"},
                           content_type="application/json")

    assert response.status_code == 201
    assert response.json()["possible_duplicates"] == []


def test_find_duplicates_for_reads_rows_written_in_bulk(org, member, in_org):
    first = make_contact(org, member.user, in_org, first_name="Søren", last_name="Dahl")
    with in_org(org):
        bulk = Contact.objects.bulk_create([Contact(organization=org, first_name="Soren",
                                                    last_name="Dahl")])[0]

        found = duplicates.find_duplicates_for(org, Contact, [bulk.pk])

    assert [(pair.low_id, pair.high_id) for pair in found] == [key(first, bulk)]


# The scan


def test_scan_task_finds_pairs_in_every_organisation_and_is_idempotent(org, other_org, in_org):
    for organization in (org, other_org):
        with in_org(organization):
            Contact.objects.bulk_create([
                Contact(organization=organization, first_name="Maria", last_name="Garcia"),
                Contact(organization=organization, first_name="María", last_name="García"),
                Contact(organization=organization, first_name="Pedro", last_name="Ruiz"),
            ])

    first = scan_for_duplicates()
    with in_org(org):
        before = list(DuplicatePair.objects.values_list("pk", "score", "found_at"))
    second = scan_for_duplicates()

    assert (first, second) == (2, 2)
    with in_org(org):
        assert list(DuplicatePair.objects.values_list("pk", "score", "found_at")) == before
        assert len(before) == 1
    with in_org(other_org):
        assert DuplicatePair.objects.count() == 1


def test_dismissed_pairs_stay_dismissed_on_later_scans(org, admin, in_org):
    a = make_contact(org, admin.user, in_org, first_name="Jose", last_name="Ibanez")
    b = make_contact(org, admin.user, in_org, first_name="José", last_name="Ibáñez")
    with in_org(org):
        pair = DuplicatePair.objects.get()
        duplicates.dismiss_pair(org, admin.user, pair)

    scan_for_duplicates()
    with in_org(org):
        duplicates.find_duplicates_for(org, Contact, [a.pk, b.pk])

    pair = pairs(org, in_org)[key(a, b)]
    assert (pair.status, pair.resolved_by_id) == (DuplicateStatus.DISMISSED, admin.user_id)


def test_scan_drops_open_pairs_that_no_longer_hold(org, admin, in_org):
    make_contact(org, admin.user, in_org, first_name="Jose", last_name="Ibanez")
    b = make_contact(org, admin.user, in_org, first_name="José", last_name="Ibáñez")
    with in_org(org):
        services.update_contact(org, admin.user, b, data={"first_name": "Carmen"})

    scan_for_duplicates()

    assert pairs(org, in_org) == {}


def test_large_blocks_are_skipped_and_the_scan_reads_in_few_queries(org, admin, in_org):
    with in_org(org):
        Contact.objects.bulk_create([
            Contact(organization=org, first_name=f"Person{n}", last_name="Shared")
            for n in range(duplicates.NAME_BLOCK_LIMIT + 1)
        ] + [Contact(organization=org, first_name="Kim", last_name="Lee"),
             Contact(organization=org, first_name="Kim", last_name="Lee")])

        with CaptureQueriesContext(connection) as queries:
            count = duplicates.scan(org, Contact)

    assert count == 1
    assert len(queries) < 40


def test_batches_read_the_members_of_a_large_block_never_and_count_it_once(org, admin,
                                                                           in_org):
    with in_org(org):
        crowd = Contact.objects.bulk_create([
            Contact(organization=org, first_name=f"Person{n}", last_name="Shared")
            for n in range(duplicates.NAME_BLOCK_LIMIT + 1)
        ] + [Contact(organization=org, first_name="Kim", last_name="Lee"),
             Contact(organization=org, first_name="Kim", last_name="Lee")])
        duplicates.refresh_name_keys(Contact)
        ids = [contact.pk for contact in crowd]
        too_large: dict = {}
        duplicates.find_duplicates_for(org, Contact, ids[:50], too_large=too_large)

        with CaptureQueriesContext(connection) as queries:
            found = duplicates.find_duplicates_for(org, Contact, ids[50:], too_large=too_large)
        block = Contact.objects.get(pk=ids[0]).block_key

    assert [(pair.low_id, pair.high_id) for pair in found] == [(ids[-2], ids[-1])]
    assert block in set().union(*too_large.values())
    assert not any(block in query["sql"] for query in queries.captured_queries)


# The review queue through the API


def test_api_lists_open_pairs_best_first_and_dismisses(org, admin, in_org, api_client_for):
    make_contact(org, admin.user, in_org, first_name="Jose", last_name="Ibanez")
    make_contact(org, admin.user, in_org, first_name="José", last_name="Ibáñez")
    make_contact(org, admin.user, in_org, first_name="Kim", last_name="Lee", email="k@l.example")
    make_contact(org, admin.user, in_org, first_name="K.", last_name="Lee", email="k@l.example")
    client = api_client_for(admin)

    listed = client.get("/api/v1/duplicates", {"entity": "contacts"}).json()
    pair_id = listed["items"][0]["id"]
    dismissed = client.post(f"/api/v1/duplicates/{pair_id}/dismiss")
    after = client.get("/api/v1/duplicates", {"entity": "contacts"}).json()

    assert [item["score"] for item in listed["items"]] == [99, 75]
    assert [r["name"] for r in listed["items"][0]["records"]] == ["Kim Lee", "K. Lee"]
    assert listed["next"] is None
    assert dismissed.status_code == 200
    assert dismissed.json()["status"] == "dismissed"
    assert [item["score"] for item in after["items"]] == [75]
    with in_org(org):
        entry = AuditEntry.objects.filter(changes__has_key="not_a_duplicate_of").first()
    assert entry is not None


def test_a_pair_with_a_record_in_the_trash_leaves_the_queue(org, admin, in_org,
                                                             api_client_for, client_for):
    make_contact(org, admin.user, in_org, first_name="Kim", last_name="Lee", email="k@l.example")
    gone = make_contact(org, admin.user, in_org, first_name="K.", last_name="Lee",
                        email="k@l.example")
    make_contact(org, admin.user, in_org, first_name="Jose", last_name="Ibanez")
    make_contact(org, admin.user, in_org, first_name="José", last_name="Ibáñez")
    api = api_client_for(admin)
    before = api.get("/api/v1/duplicates", {"entity": "contacts"}).json()["items"]

    assert api.delete(f"/api/v1/contacts/{gone.pk}").status_code == 204
    after = api.get("/api/v1/duplicates", {"entity": "contacts"}).json()["items"]
    page = client_for(admin).get("/duplicates/").content.decode()

    assert [item["score"] for item in before] == [99, 75]
    assert [[r["name"] for r in item["records"]] for item in after] == [["Jose Ibanez",
                                                                         "José Ibáñez"]]
    assert "K. Lee" not in page
    assert "Ibáñez" in page


def test_api_queue_pages_by_cursor(org, admin, in_org, api_client_for):
    for n in range(3):
        make_contact(org, admin.user, in_org, first_name=f"Twin{n}", last_name="Alpha",
                     email=f"twin{n}@x.example")
        make_contact(org, admin.user, in_org, first_name=f"Twin{n}", last_name="Alpha",
                     email=f"twin{n}@y.example")
    client = api_client_for(admin)

    first = client.get("/api/v1/duplicates", {"entity": "contacts", "limit": 2}).json()
    second = client.get("/api/v1/duplicates", {"entity": "contacts", "limit": 2,
                                               "cursor": first["next"]}).json()

    ids = [item["id"] for item in first["items"] + second["items"]]
    assert len(first["items"]) == 2
    assert len(set(ids)) == len(ids) >= 3


def test_read_only_members_cannot_dismiss(org, admin, make_member, in_org, api_client_for):
    make_contact(org, admin.user, in_org, first_name="Jose", last_name="Ibanez")
    make_contact(org, admin.user, in_org, first_name="José", last_name="Ibáñez")
    reader = make_member(org, Role.READ_ONLY)
    with in_org(org):
        pair = DuplicatePair.objects.get()

    response = api_client_for(reader).post(f"/api/v1/duplicates/{pair.pk}/dismiss")

    assert response.status_code == 403
    assert pairs(org, in_org)[(pair.low_id, pair.high_id)].status == DuplicateStatus.OPEN


def test_another_organisations_pair_is_not_found(org, other_org, admin, make_member, in_org,
                                                  api_client_for):
    make_contact(org, admin.user, in_org, first_name="Jose", last_name="Ibanez")
    make_contact(org, admin.user, in_org, first_name="José", last_name="Ibáñez")
    outsider = make_member(other_org, Role.ADMIN)
    with in_org(org):
        pair = DuplicatePair.objects.get()
    client = api_client_for(outsider)

    dismissed = client.post(f"/api/v1/duplicates/{pair.pk}/dismiss")
    listed = client.get("/api/v1/duplicates", {"entity": "contacts"}).json()

    assert dismissed.status_code == 404
    assert listed["items"] == []


def test_company_pairs_are_listed_under_companies(org, admin, in_org, api_client_for):
    make_company(org, admin.user, in_org, name="Contoso Ltd")
    make_company(org, admin.user, in_org, name="Contoso Limited")
    client = api_client_for(admin)

    companies = client.get("/api/v1/duplicates", {"entity": "companies"}).json()["items"]
    contacts = client.get("/api/v1/duplicates", {"entity": "contacts"}).json()["items"]

    assert [(item["entity"], item["score"]) for item in companies] == [("companies", 75)]
    assert contacts == []
