"""Record visibility where custom records meet contacts, companies and one another: the
conflict check, the link pickers and link fields of the record form and API, and who may
hand a confidential record on.

A contact, company or record the member may not see behaves like one that
does not exist, except that the conflict check still warns of it, by kind
and reason only.
"""

import json
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.records import services
from accord.records.models import Record, RecordType

MATTER = {
    "key": "matter", "singular": "Matter", "plural": "Matters", "title_field": "title",
    "confidential": True, "party_fields": ["client", "client_company", "other_side"],
    "fields": [
        {"key": "title", "label": "Title", "type": "text", "required": True},
        {"key": "client", "label": "Client", "type": "contact"},
        {"key": "client_company", "label": "Client company", "type": "company"},
        {"key": "other_side", "label": "Other side", "type": "text"},
    ],
}


@pytest.fixture
def firm(org, admin, make_member):
    """A seller seeing their own contacts and companies, an outsider's contact and company
    at quasar.example, the seller's own namesake contact, and the admin's confidential
    matter for the outsider's company."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        services.save_type(org, admin.user, MATTER)
        hidden_contact = customers.create_contact(org, outsider.user, data={
            "first_name": "Hidden", "last_name": "Quasarvictim",
            "email": "hidden@quasar.example"})
        hidden_company = customers.create_company(org, outsider.user, data={
            "name": "Quasar Holdings", "domain": "quasar.example"})
        own_contact = customers.create_contact(org, seller.user, data={
            "first_name": "Vera", "last_name": "Quasarvictim"})
        own_company = customers.create_company(org, seller.user, data={"name": "Seller Ltd"})
        secret = services.create_record(org, admin.user, RecordType.objects.get(key="matter"),
                                        data={"values": {
                                            "title": "Quasar supply SECRETMATTER",
                                            "client_company": hidden_company.pk},
                                            "conflict_checked": True})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(seller=seller, outsider=outsider, admin=admin, secret=secret,
                           hidden_contact=hidden_contact, hidden_company=hidden_company,
                           own_contact=own_contact, own_company=own_company)


def post(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, json.dumps(data), content_type="application/json")


CHECK = "/api/v1/records/matter/conflict-check"


def test_the_conflict_check_warns_of_hidden_rows_by_kind_and_reason_only(
        firm, api_client_for):
    asked = {"values": {"title": "x"}, "names": ["Quasarvictim", "quasar.example"]}

    seller = post(api_client_for(firm.seller), CHECK, asked)
    admin = post(api_client_for(firm.admin), CHECK, asked)

    assert seller.status_code == 200
    assert [(hit["kind"], hit["id"], hit["name"], hit["url"], hit["reason"], hit["party"],
             hit["hidden"]) for hit in seller.json()["hits"]] == [
        ("record", None, "", "", "the same e-mail domain, named as Client company",
         "quasar.example", True),
        ("company", None, "", "", "the same e-mail domain", "quasar.example", True),
        ("contact", firm.own_contact.pk, "Vera Quasarvictim",
         f"/contacts/{firm.own_contact.pk}/", "a similar name", "Quasarvictim", False),
        ("contact", None, "", "", "a similar name", "Quasarvictim", True),
    ]
    text = seller.content.decode()
    for leak in ("Hidden", "Quasar Holdings", "SECRETMATTER",
                 f"/contacts/{firm.hidden_contact.pk}/",
                 f"/companies/{firm.hidden_company.pk}/", f"/records/matter/{firm.secret.pk}/"):
        assert leak not in text
    assert [(hit["kind"], hit["name"], hit["reason"], hit["hidden"])
            for hit in admin.json()["hits"]] == [
        ("record", "Quasar supply SECRETMATTER", "Quasar Holdings, named as Client company",
         False),
        ("company", "Quasar Holdings", "the same e-mail domain", False),
        ("contact", "Hidden Quasarvictim", "a similar name", False),
        ("contact", "Vera Quasarvictim", "a similar name", False),
    ]


def test_the_conflict_check_form_names_the_kind_of_each_hidden_hit(firm, client_for):
    page = client_for(firm.seller).post("/records/matter/new", {
        "v_title": "New matter", "v_other_side": "quasar.example",
        "owner": firm.seller.user_id, "action": "check"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "A confidential Matter you cannot see" in text
    assert "A company you cannot see" in text
    assert "A contact you cannot see" in text
    assert "Quasar Holdings" not in text
    assert "SECRETMATTER" not in text


def test_a_hidden_contact_or_company_named_in_a_link_field_is_refused_like_a_made_up_id(
        firm, api_client_for, client_for):
    api = api_client_for(firm.seller)
    base = {"conflict_checked": True}

    contact = post(api, "/api/v1/records/matter", {
        **base, "values": {"title": "Peek", "client": firm.hidden_contact.pk}})
    made_up = post(api, "/api/v1/records/matter", {
        **base, "values": {"title": "Peek", "client": 987654}})
    company = post(api, "/api/v1/records/matter", {
        **base, "values": {"title": "Peek", "client_company": firm.hidden_company.pk}})
    checked = post(api, CHECK, {"values": {"client": firm.hidden_contact.pk}})
    form = client_for(firm.seller).post("/records/matter/new", {
        "v_title": "Peek", "v_client": firm.hidden_contact.pk,
        "owner": firm.seller.user_id, "action": "save", "conflict_checked": "on"})
    admins = post(api_client_for(firm.admin), "/api/v1/records/matter", {
        **base, "values": {"title": "Allowed", "client": firm.hidden_contact.pk}})

    assert (contact.status_code, contact.json()["errors"]) == (made_up.status_code,
                                                                made_up.json()["errors"])
    assert contact.json()["errors"] == [{"field": "values.client", "code": "invalid",
                                         "message": "Choose an existing contact."}]
    assert company.status_code == 422
    assert company.json()["errors"][0]["message"] == "Choose an existing company."
    assert checked.status_code == 422
    assert "Hidden" not in checked.content.decode()
    assert form.status_code == 422
    assert admins.status_code == 201


def test_the_record_form_and_page_show_only_the_contacts_and_companies_the_member_sees(
        org, firm, client_for, in_org):
    page = client_for(firm.seller).get("/records/matter/new")
    admins = client_for(firm.admin).get("/records/matter/new")
    with in_org(org):
        mine = services.create_record(
            org, firm.admin.user, RecordType.objects.get(key="matter"), data={
                "values": {"title": "Shared one", "client": firm.hidden_contact.pk},
                "owner": firm.seller.user_id, "conflict_checked": True})
    edit = client_for(firm.seller).get(f"/records/matter/{mine.pk}/edit")
    detail = client_for(firm.seller).get(f"/records/matter/{mine.pk}/")
    admins_detail = client_for(firm.admin).get(f"/records/matter/{mine.pk}/")
    saved = client_for(firm.seller).post(f"/records/matter/{mine.pk}/edit", {
        "v_title": "Shared one, renamed", "v_client": firm.hidden_contact.pk,
        "owner": firm.seller.user_id, "version": 1})

    text = page.content.decode()
    assert f'<option value="{firm.own_contact.pk}">Vera Quasarvictim</option>' in text
    assert f'<option value="{firm.own_company.pk}">Seller Ltd</option>' in text
    assert "Hidden Quasarvictim" not in text
    assert "Quasar Holdings" not in text
    assert "Hidden Quasarvictim" in admins.content.decode()
    assert "Quasar Holdings" in admins.content.decode()
    # The record's own link stays listed, unnamed, and saving keeps it.
    assert f'<option value="{firm.hidden_contact.pk}" selected>A contact you cannot see' \
        in edit.content.decode()
    assert "Hidden Quasarvictim" not in edit.content.decode()
    assert detail.status_code == 200
    assert f'href="/contacts/{firm.hidden_contact.pk}/"' not in detail.content.decode()
    assert f'href="/contacts/{firm.hidden_contact.pk}/"' in admins_detail.content.decode()
    assert saved.status_code == 302
    with in_org(org):
        assert services.link_values(Record.objects.get(pk=mine.pk), services.fields_of(
            mine.record_type))["client"] == firm.hidden_contact.pk


def test_a_member_a_confidential_record_is_shared_with_cannot_take_it_over(
        org, firm, api_client_for, client_for, in_org):
    with in_org(org):
        services.share_record(org, firm.admin.user, firm.secret,
                              members=[firm.seller.user_id])
    api = api_client_for(firm.seller)
    url = f"/api/v1/records/matter/{firm.secret.pk}"

    version = api.get(url).json()["version"]
    taken = patch(api, url, {"owner_id": firm.seller.user_id, "version": version})
    form = client_for(firm.seller).get(f"/records/matter/{firm.secret.pk}/edit")
    posted = client_for(firm.seller).post(f"/records/matter/{firm.secret.pk}/edit", {
        "v_title": "Quasar supply SECRETMATTER", "v_client_company": firm.hidden_company.pk,
        "v_other_side": "Brightwater", "owner": firm.seller.user_id, "version": version})
    version = api.get(url).json()["version"]
    edited = patch(api, url, {"values": {"other_side": "Brightwater Ltd"},
                              "owner_id": firm.admin.user_id, "version": version})
    owners = api_client_for(firm.admin).get(url)
    handed = patch(api_client_for(firm.admin), url,
                   {"owner_id": firm.outsider.user_id, "version": owners.json()["version"]})

    assert taken.status_code == 403
    assert taken.json()["detail"] == ("Only the record's owner and admins change the owner "
                                      "of a confidential record.")
    assert 'name="owner" disabled' in form.content.decode()
    assert posted.status_code == 302
    assert edited.status_code == 200
    assert owners.status_code == 200
    assert owners.json()["owner_id"] == firm.admin.user_id
    assert owners.json()["values"]["other_side"] == "Brightwater Ltd"
    assert handed.status_code == 200
    assert handed.json()["owner_id"] == firm.outsider.user_id


def test_a_conflict_check_on_the_timeline_names_only_rows_its_reader_may_see(
        firm, org, client_for, api_client_for):
    from accord.activities.models import Activity
    from accord.audit.models import AuditEntry

    with scope(organization=org):
        matter = services.create_record(
            org, firm.admin.user, RecordType.objects.get(key="matter"),
            data={"values": {"title": "Vera v. Quasar", "other_side": "Quasarvictim"},
                  "shared_with": [firm.seller.user.pk], "conflict_checked": True},
            viewer=firm.admin)
        entry = Activity.objects.get(custom_record=matter, event="record.conflict_checked")
        audited = AuditEntry.objects.get(changes__has_key="conflict_check",
                                         object_id=matter.pk)
    timeline = f"/activities/timeline/custom_record/{matter.pk}/"

    as_seller = client_for(firm.seller).get(timeline).content.decode()
    as_admin = client_for(firm.admin).get(timeline).content.decode()
    from_api = api_client_for(firm.seller).get(f"/api/v1/activities/{entry.pk}").json()

    assert "Vera Quasarvictim" in as_seller
    assert "Hidden Quasarvictim" not in as_seller
    assert "a contact you cannot see" in as_seller
    assert "Hidden Quasarvictim" in as_admin
    assert "Hidden Quasarvictim" not in json.dumps(from_api["data"])
    assert "Hidden Quasarvictim" not in json.dumps(audited.changes)


def test_a_kept_conflict_check_names_the_records_hidden_parties_by_kind_only(
        firm, org, client_for, api_client_for):
    with scope(organization=org):
        matter = services.create_record(
            org, firm.admin.user, RecordType.objects.get(key="matter"),
            data={"values": {"title": "Milan's hidden client",
                             "client": firm.hidden_contact.pk,
                             "client_company": firm.hidden_company.pk},
                  "owner": firm.seller.user_id, "conflict_checked": True},
            viewer=firm.admin)
    page = f"/records/matter/{matter.pk}/"
    entries = f"/api/v1/activities?custom_record_id={matter.pk}"

    as_seller = client_for(firm.seller).get(page).content.decode()
    from_api = api_client_for(firm.seller).get(entries).json()["items"]
    as_admin = client_for(firm.admin).get(page).content.decode()
    admins_api = api_client_for(firm.admin).get(entries).json()["items"]

    [check] = [item["data"] for item in from_api if item["event"] == "record.conflict_checked"]
    assert "Conflict check for a contact you cannot see, a company you cannot see" in as_seller
    for text in (as_seller, json.dumps(check)):
        assert "Hidden Quasarvictim" not in text
        assert "Quasar Holdings" not in text
    assert check["query"] == ["a contact you cannot see", "a company you cannot see"]
    assert {hit["party"] for hit in check["hits"]} <= {
        "a contact you cannot see", "a company you cannot see"}
    [kept] = [item["data"] for item in admins_api if item["event"] == "record.conflict_checked"]
    assert "Conflict check for Hidden Quasarvictim, Quasar Holdings" in as_admin
    assert kept["query"] == ["Hidden Quasarvictim", "Quasar Holdings"]


def test_the_audit_log_names_a_records_hidden_parties_by_kind_only(
        firm, org, make_member, api_client_for):
    manager = make_member(org, Role.MANAGER, full_name="Mona Manager")
    with scope(organization=org):
        visibility.update_visibility(org, firm.admin.user, roles={Role.MANAGER: {
            "contacts": "team", "companies": "team"}})
        matter = services.create_record(
            org, firm.admin.user, RecordType.objects.get(key="matter"),
            data={"values": {"title": "Mona's hidden client",
                             "client": firm.hidden_contact.pk,
                             "client_company": firm.hidden_company.pk},
                  "owner": manager.user_id, "conflict_checked": True},
            viewer=firm.admin)
    url = f"/api/v1/audit-log?entity=record&object_id={matter.pk}"

    managers = api_client_for(manager).get(url).text
    admins = api_client_for(firm.admin).get(url).text

    assert "conflict_check" in managers
    assert "Hidden Quasarvictim" not in managers
    assert "Quasar Holdings" not in managers
    assert "a contact you cannot see" in managers
    assert "Hidden Quasarvictim" in admins
    assert "Quasar Holdings" in admins


def test_a_kept_conflict_check_names_a_hidden_party_of_a_hit_by_kind_only(
        firm, org, client_for, api_client_for):
    with scope(organization=org):
        matter = RecordType.objects.get(key="matter")
        services.create_record(org, firm.admin.user, matter, data={
            "values": {"title": "Sam's older matter", "client_company": firm.hidden_company.pk},
            "owner": firm.seller.user_id, "conflict_checked": True}, viewer=firm.admin)
        checked = services.create_record(org, firm.admin.user, matter, data={
            "values": {"title": "Sam's new matter", "other_side": "quasar.example"},
            "owner": firm.seller.user_id, "conflict_checked": True}, viewer=firm.admin)
    page = f"/records/matter/{checked.pk}/"
    entries = f"/api/v1/activities?custom_record_id={checked.pk}"

    as_seller = client_for(firm.seller).get(page).content.decode()
    from_api = api_client_for(firm.seller).get(entries).json()["items"]
    admins_api = api_client_for(firm.admin).get(entries).json()["items"]

    [check] = [item["data"] for item in from_api if item["event"] == "record.conflict_checked"]
    [kept] = [item["data"] for item in admins_api if item["event"] == "record.conflict_checked"]
    shown = [(hit["name"], hit["reason"]) for hit in check["hits"] if hit["id"] is not None]
    assert shown == [("Sam's older matter", "a company you cannot see, named as Client company")]
    for text in (as_seller, json.dumps(check)):
        assert "Quasar Holdings" not in text
    assert ("Sam's older matter", "Quasar Holdings, named as Client company") in [
        (hit["name"], hit["reason"]) for hit in kept["hits"]]
