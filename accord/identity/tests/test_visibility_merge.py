"""Record visibility in merges and the duplicates queue: the merge API and page, the
queue and its pairs, a record's possible duplicates, and the ids of merged records.

A contact or company the member may not see is neither merged, nor shown as a merge
choice, nor listed in a pair, nor named as a possible duplicate; a merged record whose
survivor the member may not see answers like an id that does not exist.
"""

import re
from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.activities import services as activity_services
from accord.activities.models import Activity
from accord.customers import merge
from accord.customers import services as customers
from accord.customers.models import Company, Contact, DuplicatePair, DuplicateStatus
from accord.identity import visibility
from accord.identity.models import Role

MADE_UP = 987654


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def world(org, admin, make_member):
    """Three Mara Lindqvists (the seller's, an unowned one and the outsider's, with a
    note), two Hugo Brandts of the outsider's, and two Acme companies, the seller's and
    the outsider's; sellers see their own contacts and companies."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        acme = customers.create_company(org, seller.user, data={
            "name": "Acme", "domain": "acme.example"})
        hidden_acme = customers.create_company(org, outsider.user, data={
            "name": "Acme Ltd", "domain": "acme.example", "description": "Pricing talks"})
        mine = customers.create_contact(org, seller.user, data={
            "first_name": "Mara", "last_name": "Lindqvist", "email": "mara@north.example"})
        unowned = customers.create_contact(org, admin.user, data={
            "first_name": "Mara", "last_name": "Lindqvist", "owner": None})
        hidden = customers.create_contact(org, outsider.user, data={
            "first_name": "Mara", "last_name": "Lindqvist", "title": "Secret buyer",
            "email": "mara.l@south.example", "company": hidden_acme.pk})
        activity_services.log_activity(org, outsider.user, data={
            "kind": "note", "body": "Wants a discount", "contact": hidden.pk})
        hugo = customers.create_contact(org, outsider.user, data={
            "first_name": "Hugo", "last_name": "Brandt", "email": "hugo@brandt.example"})
        hugo_twin = customers.create_contact(org, outsider.user, data={
            "first_name": "Hugo", "last_name": "Brandt", "title": "Head of purchasing"})
        visibility.update_visibility(org, admin.user, roles={Role.SALES: {
            "contacts": "own", "companies": "own"}})
    return SimpleNamespace(seller=seller, admin=admin, acme=acme, hidden_acme=hidden_acme,
                           mine=mine, unowned=unowned, hidden=hidden, hugo=hugo,
                           hugo_twin=hugo_twin)


def pair_of(org, a, b, entity="contact") -> DuplicatePair:
    with scope(organization=org):
        return DuplicatePair.objects.get(entity=entity, low_id=min(a.pk, b.pk),
                                         high_id=max(a.pk, b.pk))


# Merging through the API


def test_a_hidden_contact_cannot_be_merged_into_a_members_own(org, world, api_client_for):
    client = api_client_for(world.seller)

    taken = post(client, f"/api/v1/contacts/{world.mine.pk}/merge",
                 {"merge_ids": [world.hidden.pk]})
    made_up = post(client, f"/api/v1/contacts/{world.mine.pk}/merge",
                   {"merge_ids": [MADE_UP]})

    assert taken.status_code == made_up.status_code == 422
    assert taken.json()["errors"] == [{
        "field": "merge_ids", "code": "invalid",
        "message": f"No contacts with these ids: {world.hidden.pk}."}]
    assert made_up.json()["errors"][0]["message"] == f"No contacts with these ids: {MADE_UP}."
    assert "Secret buyer" not in taken.content.decode()
    assert Contact.unscoped.get(pk=world.hidden.pk).merged_into_id is None
    assert Activity.unscoped.get(body="Wants a discount").contact_id == world.hidden.pk


@pytest.mark.parametrize(("survivor", "merged"), [("hidden", "mine"), ("hugo", "hugo_twin")])
def test_a_hidden_contact_kept_in_a_merge_answers_404(org, world, api_client_for,
                                                      survivor, merged):
    client = api_client_for(world.seller)
    kept, other = getattr(world, survivor), getattr(world, merged)

    response = post(client, f"/api/v1/contacts/{kept.pk}/merge", {"merge_ids": [other.pk]})
    made_up = post(client, f"/api/v1/contacts/{MADE_UP}/merge", {"merge_ids": [other.pk]})

    assert response.status_code == made_up.status_code == 404
    assert response.json()["detail"] == made_up.json()["detail"] == "No contact with this id."
    assert Contact.unscoped.get(pk=other.pk).merged_into_id is None


def test_the_admin_merges_a_hidden_contact(org, world, api_client_for):
    response = post(api_client_for(world.admin), f"/api/v1/contacts/{world.mine.pk}/merge",
                    {"merge_ids": [world.hidden.pk]})

    assert response.status_code == 200
    assert response.json()["title"] == "Secret buyer"
    assert Contact.unscoped.get(pk=world.hidden.pk).merged_into_id == world.mine.pk


def test_hidden_companies_are_neither_kept_nor_merged(org, world, api_client_for):
    client = api_client_for(world.seller)

    taken = post(client, f"/api/v1/companies/{world.acme.pk}/merge",
                 {"merge_ids": [world.hidden_acme.pk]})
    kept = post(client, f"/api/v1/companies/{world.hidden_acme.pk}/merge",
                {"merge_ids": [world.acme.pk]})
    by_admin = post(api_client_for(world.admin), f"/api/v1/companies/{world.acme.pk}/merge",
                    {"merge_ids": [world.hidden_acme.pk]})

    assert taken.status_code == 422
    assert taken.json()["errors"][0]["message"] == \
        f"No companies with these ids: {world.hidden_acme.pk}."
    assert (kept.status_code, kept.json()["detail"]) == (404, "No company with this id.")
    assert by_admin.status_code == 200
    assert by_admin.json()["description"] == "Pricing talks"
    assert Company.unscoped.get(pk=world.hidden_acme.pk).merged_into_id == world.acme.pk


# The merge page


def test_the_merge_page_of_hidden_records_answers_404(org, world, client_for):
    url = f"/contacts/{world.hugo.pk}/merge/?with={world.hugo_twin.pk}"

    page = client_for(world.seller).get(url)
    posted = client_for(world.seller).post(f"/contacts/{world.hugo.pk}/merge/",
                                           {"with": world.hugo_twin.pk})
    as_admin = client_for(world.admin).get(url)

    assert page.status_code == posted.status_code == 404
    assert "Head of purchasing" not in text(page)
    assert Contact.unscoped.get(pk=world.hugo_twin.pk).merged_into_id is None
    assert as_admin.status_code == 200
    assert "Head of purchasing" in text(as_admin)


def test_the_merge_page_neither_shows_nor_offers_a_hidden_contact(org, world, client_for):
    client = client_for(world.seller)

    named = client.get(f"/contacts/{world.mine.pk}/merge/?with={world.hidden.pk}")
    offered = client.get(f"/contacts/{world.mine.pk}/merge/")
    as_admin = client_for(world.admin).get(f"/contacts/{world.mine.pk}/merge/")

    assert named.status_code == 422
    assert f"No contacts with these ids: {world.hidden.pk}." in text(named)
    assert "Secret buyer" not in text(named)
    assert f'value="{world.unowned.pk}"' in text(offered)
    assert f'value="{world.hidden.pk}"' not in text(offered)
    assert f'value="{world.hidden.pk}"' in text(as_admin)


# The duplicates queue


def test_the_queue_lists_only_pairs_of_two_records_the_member_sees(org, world, client_for,
                                                                    api_client_for):
    seen = pair_of(org, world.mine, world.unowned)

    listed = api_client_for(world.seller).get("/api/v1/duplicates?entity=contacts").json()
    by_admin = api_client_for(world.admin).get("/api/v1/duplicates?entity=contacts").json()
    page = text(client_for(world.seller).get("/duplicates/"))
    admin_page = text(client_for(world.admin).get("/duplicates/"))

    assert [item["id"] for item in listed["items"]] == [seen.pk]
    assert len(by_admin["items"]) == 4  # three pairs of Maras and the Hugos
    assert f"/contacts/{world.mine.pk}/merge/?with={world.unowned.pk}" in page
    assert f"/contacts/{world.hidden.pk}/" not in page
    assert "Hugo Brandt" not in page
    assert f"/contacts/{world.hidden.pk}/" in admin_page
    assert "Hugo Brandt" in admin_page


def test_a_hidden_pair_cannot_be_dismissed(org, world, client_for, api_client_for):
    half = pair_of(org, world.mine, world.hidden)
    both = pair_of(org, world.hugo, world.hugo_twin)

    by_api = post(api_client_for(world.seller), f"/api/v1/duplicates/{half.pk}/dismiss", {})
    by_page = client_for(world.seller).post(f"/duplicates/{both.pk}/dismiss/")
    made_up = post(api_client_for(world.seller), f"/api/v1/duplicates/{MADE_UP}/dismiss", {})
    by_admin = post(api_client_for(world.admin), f"/api/v1/duplicates/{both.pk}/dismiss", {})

    assert by_api.status_code == by_page.status_code == 404
    assert by_api.json()["detail"] == made_up.json()["detail"] == \
        "No possible duplicate with this id."
    assert DuplicatePair.unscoped.get(pk=half.pk).status == DuplicateStatus.OPEN
    assert by_admin.status_code == 200
    assert DuplicatePair.unscoped.get(pk=both.pk).status == DuplicateStatus.DISMISSED


def test_the_possible_duplicates_panel_shows_only_records_the_member_sees(org, world,
                                                                           client_for):
    client = client_for(world.seller)

    hidden_panel = client.get(f"/contacts/{world.hidden.pk}/duplicates/")
    own_panel = text(client.get(f"/contacts/{world.mine.pk}/duplicates/"))
    admin_panel = text(client_for(world.admin).get(f"/contacts/{world.mine.pk}/duplicates/"))

    assert hidden_panel.status_code == 404
    assert f'href="/contacts/{world.unowned.pk}/"' in own_panel
    assert f'href="/contacts/{world.hidden.pk}/"' not in own_panel
    assert f'href="/contacts/{world.hidden.pk}/"' in admin_panel


# Possible duplicates named on create


def test_creating_names_only_possible_duplicates_the_member_sees(org, world, api_client_for):
    contact = {"first_name": "H.", "last_name": "Brandt", "email": "HUGO@brandt.example"}
    company = {"name": "Southwind", "domain": "acme.example"}

    as_member = post(api_client_for(world.seller), "/api/v1/contacts", contact)
    as_admin = post(api_client_for(world.admin), "/api/v1/contacts", contact)
    company_as_member = post(api_client_for(world.seller), "/api/v1/companies", company)

    assert as_member.status_code == 201
    assert as_member.json()["possible_duplicates"] == []
    assert {item["id"] for item in as_admin.json()["possible_duplicates"]} == {
        as_member.json()["id"], world.hugo.pk, world.hugo_twin.pk}
    assert company_as_member.status_code == 201
    assert [item["id"] for item in company_as_member.json()["possible_duplicates"]] == \
        [world.acme.pk]


# The ids of merged records


def test_a_merged_record_whose_survivor_is_hidden_answers_404(org, world, client_for,
                                                              api_client_for):
    with scope(organization=org):
        merge.merge_contacts(org, world.admin.user, world.hugo, [world.hugo_twin])
    member_api, member_web = api_client_for(world.seller), client_for(world.seller)

    read = member_api.get(f"/api/v1/contacts/{world.hugo_twin.pk}")
    changed = member_api.patch(f"/api/v1/contacts/{world.hugo_twin.pk}",
                               {"title": "x", "version": 1}, content_type="application/json")
    made_up = member_api.get(f"/api/v1/contacts/{MADE_UP}")
    page = member_web.get(f"/contacts/{world.hugo_twin.pk}/")
    admin_read = api_client_for(world.admin).get(f"/api/v1/contacts/{world.hugo_twin.pk}")
    admin_page = client_for(world.admin).get(f"/contacts/{world.hugo_twin.pk}/")

    assert read.status_code == changed.status_code == made_up.status_code == 404
    assert read.json()["detail"] == made_up.json()["detail"] == "No contact with this id."
    assert "merged_into" not in read.json()
    assert "Location" not in read
    assert page.status_code == 404
    assert admin_read.status_code == 301
    assert admin_read.json()["merged_into"] == world.hugo.pk
    assert (admin_page.status_code, admin_page["Location"]) == \
        (302, f"/contacts/{world.hugo.pk}/")


def test_a_merged_record_whose_survivor_the_member_sees_still_leads_there(
    org, world, client_for, api_client_for
):
    with scope(organization=org):
        merge.merge_contacts(org, world.admin.user, world.mine, [world.unowned])

    read = api_client_for(world.seller).get(f"/api/v1/contacts/{world.unowned.pk}")
    page = client_for(world.seller).get(f"/contacts/{world.unowned.pk}/")

    assert read.status_code == 301
    assert read["Location"] == f"/api/v1/contacts/{world.mine.pk}"
    assert (page.status_code, page["Location"]) == (302, f"/contacts/{world.mine.pk}/")


def test_the_merge_page_counts_only_what_the_member_sees_moving(org, world, client_for):
    from accord.relationships import services as relationships

    with scope(organization=org):
        customers.add_affiliation(org, world.admin.user, world.unowned, world.hidden_acme,
                                  title="Board member")
        relationships.add_relationship(org, world.admin.user, world.admin, world.unowned,
                                       data={"related": world.hidden.pk, "role": "spouse"})
        activity_services.log_activity(org, world.seller.user, data={
            "kind": "note", "body": "Met at the fair", "contact": world.unowned.pk})
        activity_services.log_activity(org, world.admin.user, data={
            "kind": "note", "body": "Also at Acme Ltd", "contact": world.unowned.pk,
            "company": world.hidden_acme.pk})
        everything = dict(merge.related_counts(world.unowned))
        seen = dict(merge.related_counts(world.unowned, world.seller))
    url = f"/contacts/{world.mine.pk}/merge/?with={world.unowned.pk}"

    page = text(client_for(world.seller).get(url))
    as_admin = text(client_for(world.admin).get(url))

    assert (everything["affiliations"], everything["relationships"]) == (1, 1)
    assert "affiliations" not in seen
    assert "relationships" not in seen
    assert seen["activities"] == everything["activities"] - 1  # not the note on Acme Ltd
    assert f"{seen['activities']} activities" in page
    assert "affiliations" not in page
    assert f"{everything['activities']} activities" in as_admin
    assert "1 relationships" in as_admin
