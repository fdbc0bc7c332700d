"""The contact and company lists: filters, sorting, columns, pages, saved views, bulk."""

import copy
import datetime as dt
import re

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from accord.customers import services
from accord.customers.models import Contact, CustomField, SavedView
from accord.identity.models import Membership, Role

CONTACTS = reverse("customers:contact_list")
COMPANIES = reverse("customers:company_list")


def make_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor.user, data=data)


def make_company(org, actor, in_org, **data):
    with in_org(org):
        return services.create_company(org, actor.user, data=data)


def row_names(response) -> list[str]:
    """Names in the list's Name column, in order."""
    body = response.content.decode()
    return re.findall(r'<td><a href="/contacts/\d+/">([^<]*)</a></td>', body)


@pytest.fixture
def nav_settings(settings):
    """The project settings with the saved-views context processor switched on."""
    templates = copy.deepcopy(django_settings.TEMPLATES)
    processors = templates[0]["OPTIONS"]["context_processors"]
    if "accord.customers.context_processors.saved_views" not in processors:
        processors.append("accord.customers.context_processors.saved_views")
    settings.TEMPLATES = templates
    return settings


def test_contact_list_is_a_table_with_column_headers(org, admin, client_for, in_org):
    make_contact(org, admin, in_org, first_name="Ada", last_name="Lovelace",
                 email="ada@example.com")

    response = client_for(admin).get(CONTACTS)

    assert response.status_code == 200
    body = response.content.decode()
    assert '<table class="list">' in body
    assert 'aria-sort="ascending"' in body
    assert row_names(response) == ["Ada Lovelace"]
    assert '<a href="mailto:ada@example.com">ada@example.com</a>' in body


def test_empty_contact_list_invites_adding_one(org, admin, client_for):
    response = client_for(admin).get(CONTACTS)

    assert 'No contacts yet — <a href="/contacts/new/">add one</a>' in response.content.decode()


def test_list_without_matches_offers_to_clear_filters(org, admin, client_for, in_org):
    make_contact(org, admin, in_org, first_name="Ada")

    response = client_for(admin).get(CONTACTS, {"q": "nobody"})

    assert ('No contacts match these filters — <a href="/contacts/">clear filters</a>'
            in response.content.decode())


def test_empty_company_list_invites_adding_one(org, admin, client_for):
    response = client_for(admin).get(COMPANIES)

    assert ('No companies yet — <a href="/companies/new/">add one</a>'
            in response.content.decode())


def test_search_finds_contacts_by_name_without_accents(org, admin, client_for, in_org):
    make_contact(org, admin, in_org, first_name="José", last_name="Núñez")
    make_contact(org, admin, in_org, first_name="Ada", last_name="Lovelace")

    response = client_for(admin).get(CONTACTS, {"q": "jose"})

    assert row_names(response) == ["José Núñez"]


def test_filters_by_stage_owner_company_tag_and_country(org, admin, member, client_for,
                                                        in_org):
    acme = make_company(org, admin, in_org, name="Acme")
    make_contact(org, admin, in_org, first_name="Ann", lifecycle_stage="customer",
                 company=acme.pk, tags=["VIP"], country="GB", owner=member.user.pk)
    make_contact(org, admin, in_org, first_name="Ben", lifecycle_stage="lead", owner=None)
    make_contact(org, admin, in_org, first_name="Cy", lifecycle_stage="customer",
                 country="DE")
    client = client_for(admin)

    assert row_names(client.get(CONTACTS, {"lifecycle_stage": "customer"})) == ["Ann", "Cy"]
    assert row_names(client.get(CONTACTS, {"owner_id": member.user.pk})) == ["Ann"]
    assert row_names(client.get(CONTACTS, {"owner_id": "none"})) == ["Ben"]
    assert row_names(client.get(CONTACTS, {"company_id": acme.pk})) == ["Ann"]
    assert row_names(client.get(CONTACTS, {"tag": "vip"})) == ["Ann"]
    assert row_names(client.get(CONTACTS, {"country": "de"})) == ["Cy"]


def test_filters_by_created_range(org, admin, client_for, in_org):
    old = make_contact(org, admin, in_org, first_name="Old")
    make_contact(org, admin, in_org, first_name="New")
    with in_org(org):
        Contact.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - dt.timedelta(days=40))
    since = (timezone.now() - dt.timedelta(days=7)).date().isoformat()

    response = client_for(admin).get(CONTACTS, {"created_after": since})

    assert row_names(response) == ["New"]


def test_filters_and_sorts_by_custom_fields(org, admin, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="score",
                                   label="Score", field_type="number")
        CustomField.objects.create(organization=org, entity="contact", key="tier",
                                   label="Tier", field_type="choice", choices=["gold", "tin"])
    make_contact(org, admin, in_org, first_name="Ann",
                 custom_fields={"score": "70", "tier": "gold"})
    make_contact(org, admin, in_org, first_name="Ben",
                 custom_fields={"score": "9", "tier": "tin"})
    make_contact(org, admin, in_org, first_name="Cy",
                 custom_fields={"score": "100", "tier": "gold"})
    client = client_for(admin)

    assert row_names(client.get(CONTACTS, {"cf.tier": "gold"})) == ["Ann", "Cy"]
    assert row_names(client.get(CONTACTS, {"cf.score.gte": "50", "cf.score.lte": "80"})) == [
        "Ann"]
    assert row_names(client.get(CONTACTS, {"ordering": "-cf.score"})) == ["Cy", "Ann", "Ben"]


def test_bad_filter_value_is_explained_not_a_crash(org, admin, client_for):
    response = client_for(admin).get(CONTACTS, {"created_after": "yesterday"})

    assert response.status_code == 422
    assert "This filter value is not valid." in response.content.decode()


def test_clicking_a_sorted_header_reverses_the_order(org, admin, client_for, in_org):
    make_contact(org, admin, in_org, first_name="Ann", last_name="Abbot")
    make_contact(org, admin, in_org, first_name="Zed", last_name="Zola")
    client = client_for(admin)
    first = client.get(CONTACTS)
    link = re.search(r'<th scope="col" aria-sort="ascending">\s*<a href="\?([^"]+)"',
                     first.content.decode()).group(1)

    response = client.get(f"{CONTACTS}?{link.replace('&amp;', '&')}")

    assert "ordering=-name" in link
    assert row_names(response) == ["Zed Zola", "Ann Abbot"]


def test_column_chooser_shows_the_chosen_columns_only(org, admin, client_for, in_org):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="region_code",
                                   label="Region code", field_type="text")
    make_contact(org, admin, in_org, first_name="Ann", email="ann@example.com",
                 custom_fields={"region_code": "NW-7"})

    response = client_for(admin).get(CONTACTS, {"columns": ["name", "cf.region_code"]})

    body = response.content.decode()
    headers = re.findall(r'<th scope="col"[^>]*>\s*(?:<a [^>]*>)?([^<]+)', body)
    assert [header.strip() for header in headers] == ["Name", "Region code"]
    assert "<td>NW-7</td>" in body
    assert "ann@example.com" not in body.split("<tbody>")[1]


def test_cursor_pages_with_next_and_first_page(org, admin, client_for, in_org):
    for name in ["Ann", "Ben", "Cy"]:
        make_contact(org, admin, in_org, first_name=name, last_name=name)
    client = client_for(admin)

    first = client.get(CONTACTS, {"limit": 2})
    next_link = re.search(r'<a href="\?([^"]+)"[^>]*rel="next"', first.content.decode())
    second = client.get(f"{CONTACTS}?{next_link.group(1).replace('&amp;', '&')}")

    assert row_names(first) == ["Ann Ann", "Ben Ben"]
    assert row_names(second) == ["Cy Cy"]
    assert "First page" in second.content.decode()
    assert 'rel="next"' not in second.content.decode()


def test_a_page_of_50_contacts_costs_a_fixed_number_of_queries(
    org, admin, member, client_for, in_org, django_assert_max_num_queries, nav_settings
):
    with in_org(org):
        CustomField.objects.create(organization=org, entity="contact", key="score",
                                   label="Score", field_type="number")
    companies = [make_company(org, admin, in_org, name=f"Co {n}") for n in range(5)]
    for number in range(55):
        make_contact(org, admin, in_org, first_name=f"P{number:02}", email=f"p{number}@x.io",
                     company=companies[number % 5].pk, owner=member.user.pk,
                     tags=["a", f"t{number % 3}"], phones=[f"+44 20 7946 {number:04}"],
                     custom_fields={"score": str(number)})
    client = client_for(admin)
    columns = ["name", "email", "phone", "company", "owner", "tags", "cf.score"]

    # Sign-in session, user, membership, custom fields, the page, tags, phones,
    # members, companies and tags for the filter bar, saved views, the
    # organisation's record types for the navigation, the user's organisations
    # for the switcher, and the first request after sign-in remembering the
    # organisation in its session.
    with django_assert_max_num_queries(16):
        response = client.get(CONTACTS, {"columns": columns})

    assert len(row_names(response)) == 50


def test_htmx_request_gets_only_the_rows(org, admin, client_for, in_org):
    make_contact(org, admin, in_org, first_name="Ann")

    response = client_for(admin).get(CONTACTS, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="contact-rows"')
    assert "<html" not in body


def test_contact_named_like_a_script_shows_as_text(org, admin, client_for, in_org):
    make_contact(org, admin, in_org, first_name="<script>alert(1)</script>")

    response = client_for(admin).get(CONTACTS)

    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_company_list_filters_by_tag_and_sorts_by_employees(org, admin, client_for, in_org):
    make_company(org, admin, in_org, name="Small", employees=5, tags=["b2b"])
    make_company(org, admin, in_org, name="Big", employees=500, tags=["b2b"])
    make_company(org, admin, in_org, name="Other", employees=50)

    response = client_for(admin).get(COMPANIES, {"tag": "b2b", "ordering": "-employees",
                                                 "columns": ["name", "employees"]})

    body = response.content.decode()
    names = re.findall(r'<td><a href="/companies/\d+/">([^<]*)</a></td>', body)
    assert names == ["Big", "Small"]
    assert '<td class="num">500</td>' in body


# Saved views


def test_saving_a_view_keeps_filters_sort_and_columns(org, admin, client_for, in_org,
                                                      nav_settings):
    make_contact(org, admin, in_org, first_name="Ann", lifecycle_stage="customer")
    make_contact(org, admin, in_org, first_name="Ben", lifecycle_stage="lead")
    client = client_for(admin)

    response = client.post(reverse("customers:contact_view_create"), {
        "name": "Customers", "query": "lifecycle_stage=customer&ordering=-name",
        "columns": "name,lifecycle_stage",
    })
    view = SavedView.objects.with_scope(organization=org).get()
    page = client.get(response["Location"])

    assert response["Location"] == f"/contacts/?view={view.pk}"
    assert view.columns == ["name", "lifecycle_stage"]
    assert row_names(page) == ["Ann"]
    body = page.content.decode()
    assert f'<a href="/contacts/?view={view.pk}" aria-current="page">Customers</a>' in body
    assert "<h1>Customers</h1>" in body


def test_shared_views_appear_for_colleagues_and_private_ones_do_not(
    org, admin, member, client_for, nav_settings
):
    with_scope = SavedView.objects.with_scope(organization=org)
    with_scope.create(organization=org, owner=admin.user, entity="contact", name="Mine",
                      query="q=a")
    with_scope.create(organization=org, owner=admin.user, entity="company", name="Team",
                      query="q=b", is_shared=True)

    body = client_for(member).get(CONTACTS).content.decode()

    assert ">Team</a>" in body
    assert ">Mine</a>" not in body


def test_another_users_private_view_answers_404(org, admin, member, client_for):
    view = SavedView.objects.with_scope(organization=org).create(
        organization=org, owner=admin.user, entity="contact", name="Mine", query="q=a")

    assert client_for(member).get(CONTACTS, {"view": view.pk}).status_code == 404
    assert client_for(member).post(
        reverse("customers:saved_view_delete", args=[view.pk])).status_code == 404


def test_owner_deletes_a_saved_view(org, admin, client_for):
    view = SavedView.objects.with_scope(organization=org).create(
        organization=org, owner=admin.user, entity="company", name="Big", query="")

    response = client_for(admin).post(reverse("customers:saved_view_delete", args=[view.pk]))

    assert response["Location"] == COMPANIES
    assert not SavedView.objects.with_scope(organization=org).exists()


def test_colleague_cannot_delete_a_shared_view_they_did_not_save(org, admin, member,
                                                                 client_for):
    view = SavedView.objects.with_scope(organization=org).create(
        organization=org, owner=admin.user, entity="contact", name="Team", query="",
        is_shared=True)

    response = client_for(member).post(reverse("customers:saved_view_delete", args=[view.pk]))

    assert response.status_code == 403
    assert SavedView.objects.with_scope(organization=org).count() == 1


# Bulk actions


def bulk(client, url, **data):
    return client.post(url, {"next": "/contacts/?q=x", **data})


def test_bulk_add_tag_asks_for_confirmation_then_applies(org, admin, client_for, in_org):
    ann = make_contact(org, admin, in_org, first_name="Ann")
    ben = make_contact(org, admin, in_org, first_name="Ben", tags=["old"])
    client = client_for(admin)
    url = reverse("customers:contact_bulk")

    asked = bulk(client, url, action="add_tag", tag="VIP", ids=[ann.pk, ben.pk])
    with in_org(org):
        untouched = list(Contact.objects.filter(tag_links__tag__name="VIP"))
    done = bulk(client, url, action="add_tag", tag="VIP", ids=[ann.pk, ben.pk], confirm="1")

    assert "Add the tag “VIP” to 2 contacts?" in asked.content.decode()
    assert untouched == []
    assert done["Location"] == "/contacts/?q=x"
    with in_org(org):
        assert services._tag_names(Contact.objects.get(pk=ann.pk)) == ["VIP"]
        assert services._tag_names(Contact.objects.get(pk=ben.pk)) == ["VIP", "old"]
    page = client.get(done["Location"])
    assert "2 contacts updated." in page.content.decode()


def test_bulk_remove_tag_assign_owner_and_change_stage(org, admin, member, client_for,
                                                       in_org):
    ann = make_contact(org, admin, in_org, first_name="Ann", tags=["VIP", "x"])
    client = client_for(admin)
    url = reverse("customers:contact_bulk")

    bulk(client, url, action="remove_tag", tag="vip", ids=[ann.pk], confirm="1")
    bulk(client, url, action="assign_owner", owner=member.user.pk, ids=[ann.pk], confirm="1")
    bulk(client, url, action="set_stage", lifecycle_stage="customer", ids=[ann.pk],
         confirm="1")

    with in_org(org):
        ann = Contact.objects.get(pk=ann.pk)
        assert services._tag_names(ann) == ["x"]
        assert ann.owner_id == member.user.pk
        assert ann.lifecycle_stage == "customer"
        assert list(ann.lifecycle_changes.values_list("to_stage", flat=True)) == [
            "customer", "lead"]


def test_bulk_owner_must_be_a_member(org, other_org, admin, client_for, in_org):
    ann = make_contact(org, admin, in_org, first_name="Ann")
    outsider = Membership.unscoped.get(organization=other_org).user

    response = bulk(client_for(admin), reverse("customers:contact_bulk"),
                    action="assign_owner", owner=outsider.pk, ids=[ann.pk], confirm="1")

    assert response.status_code == 422
    assert "Choose a member of this organisation." in response.content.decode()


def test_bulk_trash_moves_companies_to_the_trash(org, admin, client_for, in_org):
    acme = make_company(org, admin, in_org, name="Acme")

    response = bulk(client_for(admin), reverse("customers:company_bulk"), action="trash",
                    ids=[acme.pk], confirm="1")

    assert response.status_code == 302
    with in_org(org):
        assert services.get_company(acme.pk, with_deleted=True).deleted_at is not None


def test_bulk_needs_a_role_with_bulk_rights(org, make_member, client_for, in_org, admin):
    ann = make_contact(org, admin, in_org, first_name="Ann")
    seller = make_member(org, Role.SALES)

    response = bulk(client_for(seller), reverse("customers:contact_bulk"), action="add_tag",
                    tag="x", ids=[ann.pk], confirm="1")

    assert response.status_code == 403


def test_bulk_without_a_tag_name_says_so(org, admin, client_for, in_org):
    ann = make_contact(org, admin, in_org, first_name="Ann")

    response = bulk(client_for(admin), reverse("customers:contact_bulk"), action="add_tag",
                    tag=" ", ids=[ann.pk])

    assert response.status_code == 422
    assert "Tag: Give the tag’s name." in response.content.decode().replace("&#x27;", "’")
