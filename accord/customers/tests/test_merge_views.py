"""The duplicates queue, the merge page and the record pages, through the web UI."""

import re

import pytest

from accord.audit.models import AuditEntry
from accord.customers import services
from accord.customers.models import Company, Contact, DuplicatePair, DuplicateStatus
from accord.identity.models import Role


def make_contact(org, actor, in_org, **data):
    with in_org(org):
        return services.create_contact(org, actor, data=data)


@pytest.fixture
def twins(org, admin, in_org):
    keep = make_contact(org, admin.user, in_org, first_name="José", last_name="Ibáñez",
                        email="jose.ibanez@example.es")
    lose = make_contact(org, admin.user, in_org, first_name="Jose", last_name="Ibanez",
                        email="j.ibanez@example.mx", title="Buyer", city="Monterrey")
    return keep, lose


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_queue_shows_each_pair_with_score_and_reasons(admin, client_for, twins):
    keep, lose = twins

    response = client_for(admin).get("/duplicates/")

    assert response.status_code == 200
    body = text(response)
    assert 'href="/duplicates/"' in body  # the navigation link
    assert ">75</span>" in body
    assert "Same name" in body
    assert f'href="/contacts/{keep.pk}/merge/?with={lose.pk}"' in body
    assert "José Ibáñez" in body
    assert "Jose Ibanez" in body


def test_read_only_members_get_neither_the_queue_nor_the_merge_page(
    org, make_member, client_for, twins
):
    keep, lose = twins
    client = client_for(make_member(org, Role.READ_ONLY))

    queue = client.get("/duplicates/")
    page = client.post(f"/contacts/{keep.pk}/merge/", {"with": lose.pk})
    home = client.get(f"/contacts/{keep.pk}/")

    assert (queue.status_code, page.status_code) == (403, 403)
    assert 'href="/duplicates/"' not in text(home)
    assert Contact.unscoped.get(pk=lose.pk).merged_into_id is None


def test_dismissing_from_the_queue_keeps_the_pair_dismissed(org, admin, in_org, client_for,
                                                            twins):
    client = client_for(admin)
    with in_org(org):
        pair = DuplicatePair.objects.get()

    response = client.post(f"/duplicates/{pair.pk}/dismiss/", {"next": "/duplicates/"})
    after = client.get("/duplicates/")

    assert response.status_code == 302
    assert response["Location"] == "/duplicates/"
    assert DuplicatePair.unscoped.get(pk=pair.pk).status == DuplicateStatus.DISMISSED
    assert "No possible duplicates to review." in text(after)


def test_record_page_loads_the_possible_duplicates_panel(admin, client_for, twins):
    keep, lose = twins
    client = client_for(admin)

    page = client.get(f"/contacts/{lose.pk}/")
    panel = client.get(f"/contacts/{lose.pk}/duplicates/", headers={"HX-Request": "true"})

    assert f'hx-get="/contacts/{lose.pk}/duplicates/"' in text(page)
    assert f'href="/contacts/{lose.pk}/merge/"' in text(page)  # the Merge action
    body = text(panel)
    assert f'This looks like <a href="/contacts/{keep.pk}/">José Ibáñez</a>' in body
    assert f'href="/contacts/{lose.pk}/merge/?with={keep.pk}"' in body


def test_panel_is_empty_without_open_pairs(org, admin, in_org, client_for):
    alone = make_contact(org, admin.user, in_org, first_name="Søren", last_name="Dahl")

    panel = client_for(admin).get(f"/contacts/{alone.pk}/duplicates/")

    assert (panel.status_code, panel.content) == (200, b"")


def test_merge_page_offers_a_choice_per_differing_field(admin, client_for, twins):
    keep, lose = twins

    response = client_for(admin).get(f"/contacts/{keep.pk}/merge/", {"with": lose.pk})

    body = text(response)
    assert response.status_code == 200
    # the kept record's value by default; the filled value where it is empty
    assert f'name="choice_first_name" value="{keep.pk}" checked' in body
    assert f'name="choice_first_name" value="{lose.pk}">' in body
    assert f'name="choice_title" value="{lose.pk}" checked' in body
    assert 'name="choice_lifecycle_stage"' not in body  # the same on both
    assert ("<strong>Jose Ibanez</strong>: 1 contact emails, 1 lifecycle changes, "
            "1 activities") in body


def test_merging_through_the_page_redirects_the_old_address(org, admin, in_org, client_for,
                                                            twins):
    keep, lose = twins
    client = client_for(admin)

    response = client.post(f"/contacts/{keep.pk}/merge/", {
        "with": lose.pk, "version": keep.version, "choice_first_name": lose.pk,
        "choice_last_name": lose.pk, "choice_title": lose.pk, "choice_city": keep.pk,
    })
    old = client.get(f"/contacts/{lose.pk}/")
    listed = client.get("/contacts/")

    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{keep.pk}/"
    assert (old.status_code, old["Location"]) == (302, f"/contacts/{keep.pk}/")
    survivor = Contact.unscoped.get(pk=keep.pk)
    assert (survivor.first_name, survivor.last_name, survivor.title, survivor.city) == (
        "Jose", "Ibanez", "Buyer", "")
    assert f"/contacts/{lose.pk}/" not in text(listed)
    assert "Merged into “Jose Ibanez”." in text(listed)  # the first page shown after
    with in_org(org):
        entry = AuditEntry.objects.get(entity="contact", object_id=keep.pk, action="merge")
    assert entry.via == "web"
    assert entry.changes["merge_choices"][1]["city"] == {
        "taken": "", "from": keep.pk, "lost": {str(lose.pk): "Monterrey"}}


def test_a_stale_merge_page_answers_409_and_merges_nothing(org, admin, in_org, client_for,
                                                           twins):
    keep, lose = twins
    with in_org(org):
        services.update_contact(org, admin.user, keep, data={"title": "Changed meanwhile"})

    response = client_for(admin).post(f"/contacts/{keep.pk}/merge/", {
        "with": lose.pk, "version": keep.version})

    assert response.status_code == 409
    assert "changed by someone else" in text(response)
    assert Contact.unscoped.get(pk=lose.pk).merged_into_id is None


def test_companies_merge_through_their_page(org, admin, in_org, client_for):
    with in_org(org):
        keep = services.create_company(org, admin.user, data={"name": "Contoso Ltd"})
        lose = services.create_company(org, admin.user, data={"name": "Contoso Limited",
                                                              "domain": "contoso.example"})
    client = client_for(admin)

    response = client.post(f"/companies/{keep.pk}/merge/", {"with": lose.pk})
    old = client.get(f"/companies/{lose.pk}/")

    assert response.status_code == 302
    assert old["Location"] == f"/companies/{keep.pk}/"
    assert Company.unscoped.get(pk=keep.pk).domain == "contoso.example"


def test_merge_page_without_records_offers_the_possible_duplicates(admin, client_for, twins):
    keep, lose = twins

    response = client_for(admin).get(f"/contacts/{keep.pk}/merge/")
    bad = client_for(admin).get(f"/contacts/{keep.pk}/merge/", {"with": keep.pk})

    assert response.status_code == 200
    assert f'<input type="checkbox" name="with" value="{lose.pk}"> Jose Ibanez' in text(response)
    assert bad.status_code == 422
    assert "Name each other record once, and not the record kept." in text(bad)


def test_queue_lists_companies_apart(org, admin, in_org, client_for):
    with in_org(org):
        services.create_company(org, admin.user, data={"name": "Contoso Ltd"})
        services.create_company(org, admin.user, data={"name": "Contoso Limited"})
    client = client_for(admin)

    companies = client.get("/duplicates/", {"type": "companies"})
    contacts = client.get("/duplicates/")

    assert "Contoso Limited" in text(companies)
    assert "No possible duplicates to review." in text(contacts)
