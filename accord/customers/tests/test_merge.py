"""Merging duplicates: every value and link survives, through the API and the services."""

import json
from pathlib import Path

import pytest

from accord.activities import services as activity_services
from accord.activities.models import Activity
from accord.audit.models import AuditEntry
from accord.customers import merge, services
from accord.customers.models import (
    Affiliation,
    Company,
    Contact,
    ContactTag,
    DuplicatePair,
    DuplicateStatus,
    SavedView,
)
from accord.customers.services import create_custom_field
from accord.errors import InvalidInput, StaleVersion
from accord.identity.models import Role

CASE = Path(__file__).resolve().parents[2] / "testdata" / "cases" / \
    "merge-keeps-relationship-details"


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def make_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor, data=data)


def make_company(org, actor, in_org, **data):
    with in_org(org):
        return services.create_company(org, actor, data=data)


# The reported case


@pytest.fixture
def northwind(org, admin, in_org):
    """The case's companies, contacts, links and note, built as a user would."""
    case = json.loads((CASE / "before_merge.json").read_text(encoding="utf-8"))
    actor = admin.user
    with in_org(org):
        create_custom_field(org, actor, data={"entity": "company", "key": "vat_id",
                                              "label": "VAT id", "field_type": "text"})
        companies = {}
        for row in case["companies"]:
            data = {"name": row["name"], "website": row["website"], "phone": row["phone"]}
            if row.get("vat_id"):
                data["custom_fields"] = {"vat_id": row["vat_id"]}
            companies[row["id"]] = services.create_company(org, actor, data=data)
        contacts = {}
        for row in case["contacts"]:
            first, last = row["name"].split(" ", 1)
            contacts[row["id"]] = services.create_contact(org, actor, data={
                "first_name": first, "last_name": last, "email": row["email"]})
        for link in case["company_contact_links"]:
            services.add_affiliation(org, actor, contacts[link["contact"]],
                                     companies[link["company"]], title=link["job_title"],
                                     is_primary=link["is_primary_contact"])
        for note in case["notes"]:
            activity_services.log_activity(org, actor, data={
                "kind": "note", "body": note["text"], "company": companies[note["company"]].pk})
    return case, companies, {key: c.pk for key, c in contacts.items()}


def test_merge_case_keeps_every_value_and_the_data_on_the_links(
    org, admin, in_org, api_client_for, northwind
):
    # Deals and tickets do not exist in Accord yet, so points about D1, D2 and
    # T1 cannot be checked; the generic re-pointing test below covers models
    # added later.
    case, companies, contact_ids = northwind
    c1, c2 = companies["C1"], companies["C2"]
    action = case["merge_action"]
    with in_org(org):
        p2_before = Contact.objects.get(pk=contact_ids["P2"])
        website_before = Company.objects.get(pk=c1.pk).website

    response = post(api_client_for(admin), f"/api/v1/companies/{c1.pk}/merge", {
        "merge_ids": [companies[key].pk for key in action["merge_into_it"]],
        "choices": {field: companies[key].pk for field, key in action["field_choices"].items()},
        "version": Company.unscoped.get(pk=c1.pk).version,
    })

    assert response.status_code == 200
    body = response.json()
    # 1. one company with C1's name and phone, website kept, VAT id filled from C2
    assert (body["id"], body["name"], body["phone"]) == (
        c1.pk, "Northwind Traders Ltd", "+441614960000")
    assert body["website"] == website_before == "https://northwind.example"
    assert body["custom_fields"] == {"vat_id": "GB123456789"}
    with in_org(org):
        # 2. C2's losing phone stays visible in the merge record
        entry = AuditEntry.objects.get(entity="company", object_id=c1.pk, action="merge")
        assert entry.changes["merge_choices"][1]["phone"] == {
            "taken": "+441614960000", "from": c1.pk, "lost": {str(c2.pk): "+441614960001"}}
        assert entry.changes["merged_records"] == [
            None, [{"id": c2.pk, "name": "Northwind Traders Limited"}]]
        # 3. both contacts linked to C1 with their link data; Elena is the primary
        links = {link.contact_id: link for link in Affiliation.objects.filter(company_id=c1.pk)}
        elena, samuel = links[contact_ids["P1"]], links[contact_ids["P2"]]
        assert (elena.title, elena.is_primary) == ("Head of Purchasing", True)
        assert (samuel.title, samuel.is_primary) == ("Chief Financial Officer", False)
        assert not Affiliation.objects.filter(company_id=c2.pk).exists()
        # 4. the note moved (deals and tickets: see above)
        notes = Activity.objects.filter(company_id=c1.pk, kind="note")
        assert [note.body for note in notes] == ["Prefers invoices by post."]
        # 5. C2 is marked as merged into C1, out of lists, and reviewable
        merged = Company.with_deleted.get(pk=c2.pk)
        assert merged.merged_into_id == c1.pk
        assert list(Company.objects.values_list("pk", flat=True)) == [c1.pk]
        assert AuditEntry.objects.get(entity="company", object_id=c2.pk,
                                      action="merge").changes == {"merged_into": [None, c1.pk]}
        # 6. the contacts are unchanged apart from the link, and none was created
        assert Contact.objects.count() == 2
        samuel_after = Contact.objects.get(pk=contact_ids["P2"])
        assert (samuel_after.first_name, samuel_after.last_name, samuel_after.email) == (
            p2_before.first_name, p2_before.last_name, p2_before.email)
        assert samuel_after.company_id == c1.pk


def test_merge_event_appears_on_the_survivors_timeline(org, admin, in_org, northwind):
    _, companies, _ = northwind
    c1, c2 = companies["C1"], companies["C2"]
    with in_org(org):
        merge.merge_companies(org, admin.user, c1, [c2])

        event = Activity.objects.get(company_id=c1.pk, event="company.merged")

    assert event.data == {"name": "Northwind Traders Limited", "merged_ids": [c2.pk]}


# Contacts


@pytest.fixture
def twins(org, admin, in_org):
    """Two records of one person, each with e-mails, phones, tags, links and history."""
    actor = admin.user
    acme = make_company(org, actor, in_org, name="Acme")
    globex = make_company(org, actor, in_org, name="Globex")
    keep = make_contact(org, actor, in_org, first_name="Ana", last_name="Lima",
                        company=acme.pk, title="", tags=["vip"],
                        emails=[{"address": "ana@acme.example"}],
                        phones=[{"number": "+44 20 7946 0958"}])
    lose = make_contact(org, actor, in_org, first_name="Ana", last_name="Lima Souza",
                        city="Lisbon", tags=["vip", "lisbon"], company=globex.pk,
                        emails=[{"address": "ANA@acme.example"}, {"address": "ana@home.example"}],
                        phones=[{"number": "020 7946 0958"}, {"number": "+351 21 123 4567"}],
                        country="GB")
    with in_org(org):
        services.add_affiliation(org, actor, lose, acme, title="Buyer")
        services.record_consent(org, actor, lose, channel="email", purpose="newsletter",
                                status="granted", method="web_form")
        activity_services.log_activity(org, actor, data={"kind": "note", "body": "Met at fair",
                                                         "contact": lose})
    return keep, lose, acme, globex


def test_merging_contacts_unions_channels_tags_and_links(org, admin, in_org, twins):
    keep, lose, acme, globex = twins

    with in_org(org):
        merge.merge_contacts(org, admin.user, keep, [lose], choices={"last_name": lose.pk})
        survivor = Contact.objects.get(pk=keep.pk)

        emails = [(e.address, e.is_primary) for e in survivor.emails.order_by("-is_primary",
                                                                                 "id")]
        phones = [(p.number, p.is_primary) for p in survivor.phones.order_by("-is_primary", "id")]
        tags = sorted(link.tag.name for link in survivor.tag_links.all())
        links = {(a.company_id, a.title, a.is_primary) for a in survivor.affiliations.all()}
        consents = survivor.consents.count()
        notes = list(survivor.activities.filter(kind="note").values_list("body", flat=True))

    assert (survivor.first_name, survivor.last_name, survivor.city) == (
        "Ana", "Lima Souza", "Lisbon")
    assert (survivor.email, survivor.phone) == ("ana@acme.example", "+442079460958")
    assert emails == [("ana@acme.example", True), ("ana@home.example", False)]
    assert phones == [("+442079460958", True), ("+351211234567", False)]
    assert tags == ["lisbon", "vip"]
    assert links == {(acme.pk, "Buyer", True), (globex.pk, "", False)}
    assert (consents, notes) == (1, ["Met at fair"])
    assert ContactTag.unscoped.filter(contact_id=lose.pk).count() == 0


def test_every_model_pointing_at_a_contact_is_moved(org, admin, in_org, twins):
    keep, lose, _, _ = twins
    relations = [(rel.related_model, rel.field.name) for rel in Contact._meta.related_objects
                 if not rel.many_to_many and rel.field.name != "merged_into"]

    with in_org(org):
        merge.merge_contacts(org, admin.user, keep, [lose])

    left = {f"{model.__name__}.{name}": model._base_manager.filter(**{name: lose.pk}).count()
            for model, name in relations}
    assert set(left.values()) == {0}, left
    assert {"Activity.contact", "Consent.contact", "LifecycleChange.contact"} <= set(left)


def test_three_records_merge_at_once_and_earlier_shells_follow(org, admin, in_org):
    a = make_contact(org, admin.user, in_org, first_name="Kim", last_name="Lee")
    b = make_contact(org, admin.user, in_org, first_name="Kim", last_name="Lee")
    c = make_contact(org, admin.user, in_org, first_name="Kim", last_name="Lee")
    d = make_contact(org, admin.user, in_org, first_name="Kim", last_name="Lee")

    with in_org(org):
        merge.merge_contacts(org, admin.user, b, [c, d])
        merge.merge_contacts(org, admin.user, a, [b])

        shells = dict(Contact.with_deleted.exclude(pk=a.pk).values_list("pk", "merged_into"))
        statuses = set(DuplicatePair.objects.values_list("status", flat=True))

    assert shells == {b.pk: a.pk, c.pk: a.pk, d.pk: a.pk}
    assert statuses == {DuplicateStatus.MERGED}


def test_empty_value_never_wins_without_a_choice_and_choices_are_checked(org, admin, in_org):
    keep = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")
    lose = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima",
                        title="CTO", city="Porto")

    with in_org(org):
        with pytest.raises(InvalidInput) as bad:
            merge.merge_contacts(org, admin.user, keep, [lose],
                                 choices={"title": 999999, "search_text": keep.pk})
        merge.merge_contacts(org, admin.user, keep, [lose], choices={"city": keep.pk})
        survivor = Contact.objects.get(pk=keep.pk)

    assert bad.value.as_dict() == {
        "choices.title": "Choose one of the records being merged.",
        "choices.search_text": "This field cannot be chosen in a merge.",
    }
    assert (survivor.title, survivor.city) == ("CTO", "")


def test_a_stale_version_changes_nothing(org, admin, in_org):
    keep = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")
    lose = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")

    with in_org(org):
        with pytest.raises(StaleVersion):
            merge.merge_contacts(org, admin.user, keep, [lose], expected_version=99)

        assert Contact.objects.count() == 2


def test_saved_views_filtering_by_a_merged_company_follow_the_survivor(org, admin, in_org):
    keep = make_company(org, admin.user, in_org, name="Acme")
    lose = make_company(org, admin.user, in_org, name="Acme Ltd")
    with in_org(org):
        view = services.save_view(org, admin.user, entity="contact", name="Acme people",
                                  query=f"company_id={lose.pk}&sort=name", columns=[])

        merge.merge_companies(org, admin.user, keep, [lose])

        assert SavedView.objects.get(pk=view.pk).query == f"company_id={keep.pk}&sort=name"


# Through the API


def test_api_merge_answers_with_the_survivor_and_old_ids_answer_301(
    org, admin, in_org, api_client_for, twins
):
    keep, lose, _, _ = twins
    client = api_client_for(admin)

    merged = post(client, f"/api/v1/contacts/{keep.pk}/merge",
                  {"merge_ids": [lose.pk], "version": keep.version})
    read = client.get(f"/api/v1/contacts/{lose.pk}")
    changed = client.patch(f"/api/v1/contacts/{lose.pk}", {"title": "x", "version": 1},
                           content_type="application/json")
    deleted = client.delete(f"/api/v1/contacts/{lose.pk}")
    listed = client.get("/api/v1/contacts").json()

    assert merged.status_code == 200
    assert merged.json()["id"] == keep.pk
    for response in (read, changed, deleted):
        assert response.status_code == 301
        assert response["Location"] == f"/api/v1/contacts/{keep.pk}"
        assert response.json()["merged_into"] == keep.pk
        assert response["Content-Type"] == "application/problem+json"
    assert [item["id"] for item in listed["items"]] == [keep.pk]


def test_api_merge_with_a_stale_version_answers_409(org, admin, in_org, api_client_for):
    keep = make_company(org, admin.user, in_org, name="Acme")
    lose = make_company(org, admin.user, in_org, name="Acme Ltd")

    response = post(api_client_for(admin), f"/api/v1/companies/{keep.pk}/merge",
                    {"merge_ids": [lose.pk], "version": keep.version + 1})

    assert response.status_code == 409
    assert Company.unscoped.get(pk=lose.pk).merged_into_id is None


def test_api_merge_names_bad_ids_without_revealing_other_organisations(
    org, other_org, admin, make_member, in_org, api_client_for
):
    keep = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")
    stranger = make_contact(other_org, make_member(other_org, Role.ADMIN).user, in_org,
                            first_name="Secret", last_name="Person")
    client = api_client_for(admin)

    foreign = post(client, f"/api/v1/contacts/{keep.pk}/merge", {"merge_ids": [stranger.pk]})
    itself = post(client, f"/api/v1/contacts/{keep.pk}/merge", {"merge_ids": [keep.pk]})

    assert foreign.status_code == 422
    assert foreign.json()["errors"] == [{
        "field": "merge_ids", "code": "invalid",
        "message": f"No contacts with these ids: {stranger.pk}."}]
    assert "Secret" not in foreign.content.decode()
    assert itself.status_code == 422
    assert Contact.unscoped.get(pk=stranger.pk).merged_into_id is None


def test_read_only_members_cannot_merge(org, admin, make_member, in_org, api_client_for):
    keep = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")
    lose = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")
    reader = make_member(org, Role.READ_ONLY)

    response = post(api_client_for(reader), f"/api/v1/contacts/{keep.pk}/merge",
                    {"merge_ids": [lose.pk]})

    assert response.status_code == 403
    assert Contact.unscoped.get(pk=lose.pk).merged_into_id is None


def test_a_merged_record_cannot_be_restored_as_a_separate_record(
    org, admin, in_org, api_client_for
):
    keep = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")
    lose = make_contact(org, admin.user, in_org, first_name="Ana", last_name="Lima")
    with in_org(org):
        merge.merge_contacts(org, admin.user, keep, [lose])

    response = api_client_for(admin).post(f"/api/v1/contacts/{lose.pk}/restore")

    assert response.status_code == 404
    assert Contact.unscoped.get(pk=lose.pk).merged_into_id == keep.pk


def test_subsidiaries_and_contacts_follow_a_merged_company(org, admin, in_org):
    keep = make_company(org, admin.user, in_org, name="Acme")
    lose = make_company(org, admin.user, in_org, name="Acme Ltd")
    child = make_company(org, admin.user, in_org, name="Acme Labs", parent=lose.pk)
    with in_org(org):
        services.update_company(org, admin.user, keep, data={"parent": lose.pk})
    person = make_contact(org, admin.user, in_org, first_name="Ana", company=lose.pk)

    with in_org(org):
        merge.merge_companies(org, admin.user, Company.objects.get(pk=keep.pk), [lose])

    assert Company.unscoped.get(pk=child.pk).parent_id == keep.pk
    assert Company.unscoped.get(pk=keep.pk).parent_id is None  # never its own parent
    assert Contact.unscoped.get(pk=person.pk).company_id == keep.pk


def test_a_custom_field_value_is_chosen_like_a_built_in_one(org, admin, in_org):
    with in_org(org):
        create_custom_field(org, admin.user, data={"entity": "contact", "key": "tier",
                                                   "label": "Tier", "field_type": "text"})
    keep = make_contact(org, admin.user, in_org, first_name="Ana",
                        custom_fields={"tier": "silver"})
    lose = make_contact(org, admin.user, in_org, first_name="Ana",
                        custom_fields={"tier": "gold"})

    with in_org(org):
        merge.merge_contacts(org, admin.user, keep, [lose], choices={"cf.tier": lose.pk})
        entry = AuditEntry.objects.get(entity="contact", object_id=keep.pk, action="merge")

    assert Contact.unscoped.get(pk=keep.pk).custom_fields == {"tier": "gold"}
    assert entry.changes["merge_choices"][1]["cf.tier"] == {
        "taken": "gold", "from": lose.pk, "lost": {str(keep.pk): "silver"}}
