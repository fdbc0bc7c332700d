"""Confidential record types and the conflict check, as admins set them up and members
meet them: settings, link pickers, the trash, imports' matching and the name matching."""

import pytest
from django.urls import reverse

from accord.audit.models import AuditEntry
from accord.customers import services as customers
from accord.identity.models import Role
from accord.records import conflicts, services
from accord.records.models import Record, RecordType

CASE = {
    "key": "case", "singular": "Case", "plural": "Cases", "title_field": "name",
    "confidential": True, "party_fields": ["client", "other_side"],
    "fields": [
        {"key": "name", "label": "Case", "type": "text", "required": True},
        {"key": "client", "label": "Client", "type": "company"},
        {"key": "other_side", "label": "Other side", "type": "text"},
        {"key": "notes", "label": "Notes", "type": "long_text"},
    ],
}
TASK = {
    "key": "case_task", "singular": "Case task", "plural": "Case tasks", "title_field": "name",
    "fields": [
        {"key": "name", "label": "Task", "type": "text", "required": True},
        {"key": "case", "label": "Case", "type": "record", "target": "case"},
    ],
}


@pytest.fixture
def cases(org, admin, in_org):
    with in_org(org):
        case = services.save_type(org, admin.user, CASE)
        services.save_type(org, admin.user, TASK)
        return case


def open_case(org, owner, name: str, **values) -> Record:
    case = RecordType.objects.get(key="case")
    return services.create_record(org, owner, case, data={
        "values": {"name": name, **values}, "conflict_checked": True})


@pytest.mark.parametrize(("name", "expected"), [
    ("ACME Holdings GmbH", ("acme", "holdings")),
    ("The Müller & Söhne Co. Ltd.", ("muller", "and", "sohne")),
    ("  Brightwater, Ltd  ", ("brightwater",)),
    ("Ltd", ()),
])
def test_names_are_compared_without_case_accents_punctuation_or_company_suffixes(
        name, expected):
    assert conflicts.words(name) == expected


def test_a_name_inside_a_longer_one_is_similar_only_when_it_is_long_enough():
    assert conflicts.compare(("acme",), ("acme", "holdings")) == "a similar name"
    assert conflicts.compare(("acme", "holdings"), ("acme", "holdings")) == "the same name"
    assert conflicts.compare(("bp",), ("bp", "oil")) == ""
    assert conflicts.compare(("acme",), ("acne",)) == ""


def test_public_mail_services_name_no_domain():
    assert conflicts.domain_of("Jane.Doe@Acme.example") == "acme.example"
    assert conflicts.domain_of("www.acme.example") == "acme.example"
    assert conflicts.domain_of("jane@gmail.com") == ""
    assert conflicts.domain_of("not a domain") == ""


def test_admin_makes_a_type_confidential_with_party_fields_in_settings(
        org, admin, client_for, in_org):
    with in_org(org):
        matter = services.save_type(org, admin.user, {**CASE, "confidential": False,
                                                      "party_fields": []})

    saved = client_for(admin).post(reverse("records:type_edit", args=[matter.pk]), {
        "singular": "Case", "plural": "Cases", "title_field": "name", "active": "on",
        "confidential": "on", "party_fields": ["client", "other_side"]})
    refused = client_for(admin).post(reverse("records:type_edit", args=[matter.pk]), {
        "singular": "Case", "plural": "Cases", "title_field": "name", "active": "on",
        "party_fields": ["notes"]})

    assert saved.status_code == 302
    assert refused.status_code == 422
    assert "Select a valid choice. notes is not one of the available choices." in \
        refused.content.decode()
    with in_org(org):
        matter.refresh_from_db()
        assert (matter.is_confidential, matter.party_fields) == (True, ["client", "other_side"])
        assert AuditEntry.objects.filter(entity="record_type", object_id=matter.pk).latest(
            "pk").changes == {"is_confidential": [False, True],
                              "party_fields": [[], ["client", "other_side"]]}


def test_a_party_field_must_be_a_text_field_or_a_link_to_contacts_or_companies(
        admin, api_client_for, cases):
    api = api_client_for(admin)

    refused = api.patch("/api/v1/record-types/case", {"party_fields": ["notes"], "version": 1},
                        content_type="application/json")

    assert refused.status_code == 422
    assert refused.json()["errors"] == [{
        "field": "party_fields", "code": "invalid",
        "message": "“notes” is not an active text field or link to contacts or companies of "
                   "this type."}]


def test_link_pickers_and_the_trash_leave_out_confidential_records_of_others(
        org, admin, make_member, client_for, cases, in_org):
    # Managers may open the trash; their role sees every record of the area.
    owner = make_member(org, Role.MANAGER, full_name="Olga Owner")
    other = make_member(org, Role.MANAGER, full_name="Otto Other")
    with in_org(org):
        secret = open_case(org, owner.user, "Secret merger")
        open_case(org, other.user, "Otto's own case")
        gone = open_case(org, owner.user, "Dropped claim")
        services.delete_record(org, owner.user, gone)

    picker = client_for(other).get(reverse("records:create", args=["case_task"]))
    trash = client_for(other).get(reverse("records:trash", args=["case"]))
    refused = client_for(other).post(reverse("records:create", args=["case_task"]), {
        "v_name": "Peek", "v_case": secret.pk, "owner": other.user_id})
    owners_trash = client_for(owner).get(reverse("records:trash", args=["case"]))

    assert "Otto&#x27;s own case" in picker.content.decode()
    assert "Secret merger" not in picker.content.decode()
    assert trash.status_code == 200
    assert "Dropped claim" not in trash.content.decode()
    assert refused.status_code == 422
    assert "Dropped claim" in owners_trash.content.decode()


def test_the_conflict_check_finds_a_company_by_its_domain_and_a_case_naming_it(
        org, admin, cases, in_org):
    with in_org(org):
        acme = customers.create_company(org, admin.user, data={"name": "Acme Holdings AG",
                                                               "domain": "acme.example"})
        open_case(org, admin.user, "Acme supply claim", client=acme.pk)
        open_case(org, admin.user, "Claim against ACME", other_side="acme holdings")

        check = conflicts.run(cases, None, values={"other_side": "legal@acme.example"},
                              names=["Acme Holdings"])

    assert [(hit["kind"], hit["name"], hit["reason"], hit["party"])
            for hit in check["hits"]] == [
        ("record", "Claim against ACME", "the same name, named as Other side",
         "Acme Holdings"),
        ("record", "Acme supply claim", "Acme Holdings AG, named as Client",
         "legal@acme.example"),
        ("company", "Acme Holdings AG", "the same e-mail domain", "legal@acme.example")]


def test_notes_on_a_confidential_record_stay_with_those_who_may_see_it(
        org, admin, make_member, api_client_for, cases, in_org):
    from accord.activities import services as activities

    owner = make_member(org, Role.MANAGER, full_name="Olga Owner")
    other = make_member(org, Role.MANAGER, full_name="Otto Other")
    with in_org(org):
        secret = open_case(org, owner.user, "Secret merger")
        note = activities.log_activity(org, owner.user, data={
            "kind": "note", "body": "Board meets Tuesday", "custom_record": secret})
        handed = activities.log_activity(org, owner.user, data={
            "kind": "task", "subject": "File the papers", "custom_record": secret,
            "assignee": other.user})

    seen = {item["id"] for item in api_client_for(other).get("/api/v1/activities").json()["items"]}
    read = api_client_for(other).get(f"/api/v1/activities/{note.pk}")
    owners = {item["id"] for item in
              api_client_for(owner).get("/api/v1/activities").json()["items"]}

    assert note.pk not in seen
    assert handed.pk in seen
    assert read.status_code == 404
    assert {note.pk, handed.pk} <= owners
