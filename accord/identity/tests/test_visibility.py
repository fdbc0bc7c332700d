"""Record visibility: own, team or all contacts and companies per role, set by an admin."""

from types import SimpleNamespace

import pytest
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.customers.services import create_company, create_contact
from accord.identity import services as identity_services
from accord.identity import visibility
from accord.identity.models import Role, VisibilityPolicy

SETTINGS_PAGE = "/settings/visibility/"
SETTING_API = "/api/v1/organization/visibility"


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


@pytest.fixture
def people(org, admin, make_member):
    """A seller and a teammate in East, an outsider in West led by a manager."""
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    teammate = make_member(org, Role.SALES, full_name="Tess Teammate")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    manager = make_member(org, Role.MANAGER, full_name="Mia Manager")
    with scope(organization=org):
        identity_services.save_team(org, admin.user, name="East", members=[seller, teammate])
        identity_services.save_team(org, admin.user, name="West", lead=manager.user,
                                    members=[outsider])
    for membership in (seller, teammate, outsider, manager):
        membership.refresh_from_db()
    return SimpleNamespace(admin=admin, seller=seller, teammate=teammate, outsider=outsider,
                           manager=manager)


@pytest.fixture
def contacts(org, people):
    """One contact owned by each seller, one by the admin and one without an owner."""
    made = {}
    with scope(organization=org):
        for key, first in (("seller", "Sigrid"), ("teammate", "Theo"), ("outsider", "Otto"),
                           ("admin", "Ada")):
            owner = getattr(people, key).user
            made[key] = create_contact(org, owner, data={"first_name": first,
                                                         "last_name": "Zebrowski"})
        made["nobody"] = create_contact(org, people.admin.user, data={
            "first_name": "Nora", "last_name": "Zebrowski", "owner": None})
    return SimpleNamespace(**made)


def set_scope(org, actor, role, area, scope_name):
    with scope(organization=org):
        visibility.update_visibility(org, actor, roles={role: {area: scope_name}})


def names_in(text: str) -> set[str]:
    """First names shown with the family name, so a random token holding "Ada" is not a hit."""
    return {name for name in ("Sigrid", "Theo", "Otto", "Ada", "Nora")
            if f"{name} Zebrowski" in text}


def listed_names(client, url="/contacts/") -> set[str]:
    return names_in(client.get(url).content.decode())


def api_names(client, url="/api/v1/contacts") -> list[str]:
    return sorted(item["first_name"] for item in client.get(url).json()["items"])


def test_every_member_sees_every_contact_until_an_admin_narrows_it(
    org, people, contacts, client_for
):
    names = listed_names(client_for(people.seller))

    assert names == {"Sigrid", "Theo", "Otto", "Ada", "Nora"}
    assert not VisibilityPolicy.unscoped.filter(organization=org).exists()


def test_own_shows_a_seller_their_contacts_and_unowned_ones_in_the_list(
    org, people, contacts, client_for
):
    set_scope(org, people.admin.user, Role.SALES, "contacts", "own")

    names = listed_names(client_for(people.seller))

    assert names == {"Sigrid", "Nora"}


def test_own_narrows_the_api_list_search_and_export_alike(
    org, people, contacts, client_for, api_client_for
):
    set_scope(org, people.admin.user, Role.SALES, "contacts", "own")
    browser = client_for(people.seller)

    from_api = api_names(api_client_for(people.seller))
    searched = browser.get("/search", {"q": "zebrowski"}).content.decode()
    exported = b"".join(browser.get("/contacts/export.csv").streaming_content).decode()

    assert from_api == ["Nora", "Sigrid"]
    assert names_in(searched) == {"Sigrid", "Nora"}
    assert names_in(exported) == {"Sigrid", "Nora"}


def test_another_sellers_contact_answers_404_on_its_page_and_in_the_api(
    org, people, contacts, client_for, api_client_for
):
    set_scope(org, people.admin.user, Role.SALES, "contacts", "own")
    browser, api = client_for(people.seller), api_client_for(people.seller)
    hidden = contacts.outsider.pk

    page = browser.get(f"/contacts/{hidden}/")
    edit = browser.get(f"/contacts/{hidden}/edit/")
    read = api.get(f"/api/v1/contacts/{hidden}")
    changed = patch(api, f"/api/v1/contacts/{hidden}", {"first_name": "Mallory", "version": 1})
    history = api.get(f"/api/v1/contacts/{hidden}/history")

    assert (page.status_code, edit.status_code) == (404, 404)
    assert (read.status_code, changed.status_code, history.status_code) == (404, 404, 404)
    assert read.json()["detail"] == "No contact with this id."
    assert changed.headers["Content-Type"] == "application/problem+json"
    contacts.outsider.refresh_from_db()
    assert contacts.outsider.first_name == "Otto"
    assert browser.get(f"/contacts/{contacts.seller.pk}/").status_code == 200
    assert api.get(f"/api/v1/contacts/{contacts.nobody.pk}").status_code == 200


def test_a_manager_on_team_deletes_only_inside_the_teams_they_lead(
    org, people, contacts, api_client_for
):
    set_scope(org, people.admin.user, Role.MANAGER, "contacts", "team")
    api = api_client_for(people.manager)
    refused = api.delete(f"/api/v1/contacts/{contacts.seller.pk}")
    allowed = api.delete(f"/api/v1/contacts/{contacts.outsider.pk}")

    assert (refused.status_code, allowed.status_code) == (404, 204)


def test_team_shows_teammates_contacts_but_not_other_teams(
    org, people, contacts, client_for, api_client_for
):
    set_scope(org, people.admin.user, Role.SALES, "contacts", "team")

    names = listed_names(client_for(people.seller))
    from_api = api_names(api_client_for(people.seller))

    assert names == {"Sigrid", "Theo", "Nora"}
    assert from_api == ["Nora", "Sigrid", "Theo"]
    assert client_for(people.seller).get(f"/contacts/{contacts.teammate.pk}/").status_code == 200
    assert client_for(people.seller).get(f"/contacts/{contacts.outsider.pk}/").status_code == 404


def test_a_manager_on_team_sees_the_teams_they_lead(org, people, contacts, client_for):
    set_scope(org, people.admin.user, Role.MANAGER, "contacts", "team")

    names = listed_names(client_for(people.manager))

    assert names == {"Otto", "Nora"}


def test_admins_see_every_contact_whatever_the_setting(org, people, contacts, client_for):
    for role in visibility.CONFIGURABLE_ROLES:
        set_scope(org, people.admin.user, role, "contacts", "team")

    names = listed_names(client_for(people.admin))

    assert names == {"Sigrid", "Theo", "Otto", "Ada", "Nora"}


def test_own_narrows_companies_too(org, people, client_for, api_client_for):
    with scope(organization=org):
        mine = create_company(org, people.seller.user, data={"name": "Kestrel Mills"})
        theirs = create_company(org, people.outsider.user, data={"name": "Heron Works"})
    set_scope(org, people.admin.user, Role.SALES, "companies", "own")
    browser, api = client_for(people.seller), api_client_for(people.seller)

    page = browser.get("/companies/").content.decode()
    from_api = [item["name"] for item in api.get("/api/v1/companies").json()["items"]]

    assert "Kestrel Mills" in page
    assert "Heron Works" not in page
    assert from_api == ["Kestrel Mills"]
    assert browser.get(f"/companies/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/companies/{theirs.pk}").status_code == 404
    changed = patch(api, f"/api/v1/companies/{theirs.pk}", {"name": "Mine now", "version": 1})
    assert changed.status_code == 404
    assert api.get(f"/api/v1/companies/{mine.pk}").status_code == 200


def test_the_admin_changes_the_setting_on_the_page_and_it_applies_at_once(
    org, people, contacts, client_for
):
    admin, seller = client_for(people.admin), client_for(people.seller)
    assert listed_names(seller) == {"Sigrid", "Theo", "Otto", "Ada", "Nora"}
    form = {f"{role}__{area}": "all" for role in visibility.CONFIGURABLE_ROLES
            for area in visibility.AREAS}
    for role in visibility.CONFIGURABLE_ROLES:
        if role != Role.MANAGER:
            form[f"{role}__contacts"] = "own"

    page = admin.get(SETTINGS_PAGE)
    saved = admin.post(SETTINGS_PAGE, {**form, "version": "0"})

    assert page.status_code == 200
    assert 'name="sales__contacts"' in page.content.decode()
    assert saved.status_code == 302
    assert listed_names(seller) == {"Sigrid", "Nora"}
    entry = AuditEntry.unscoped.get(organization=org, entity="visibility")
    assert entry.changes["sales.contacts"] == ["all", "own"]
    assert entry.changes["read_only.contacts"] == ["all", "own"]
    assert "manager.contacts" not in entry.changes


def test_a_form_read_before_someone_elses_save_answers_409_and_keeps_their_change(
    org, people, client_for
):
    form = {f"{role}__{area}": "all" for role in visibility.CONFIGURABLE_ROLES
            for area in visibility.AREAS}
    set_scope(org, people.admin.user, Role.SALES, "deals", "own")

    stale = client_for(people.admin).post(SETTINGS_PAGE, {**form, "version": "0"})

    assert stale.status_code == 409
    assert "changed by someone else" in stale.content.decode()
    with scope(organization=org):
        assert visibility.table(visibility.policy_of(org))[Role.SALES]["deals"] == "own"


def test_the_page_refuses_own_for_managers(org, people, client_for):
    form = {f"{role}__{area}": "all" for role in visibility.CONFIGURABLE_ROLES
            for area in visibility.AREAS}

    answer = client_for(people.admin).post(SETTINGS_PAGE, {**form, "manager__leads": "own",
                                                           "version": "0"})

    assert answer.status_code == 422
    assert not VisibilityPolicy.unscoped.filter(organization=org).exists()


def test_only_admins_open_the_settings_page(org, people, client_for):
    assert client_for(people.manager).get(SETTINGS_PAGE).status_code == 403
    assert client_for(people.seller).post(SETTINGS_PAGE, {"version": "0"}).status_code == 403
    index = client_for(people.admin).get("/settings").content.decode()
    assert 'href="/settings/visibility/"' in index


def test_the_api_reads_and_changes_the_setting_for_admins(org, people, api_client_for):
    api = api_client_for(people.admin)

    before = api.get(SETTING_API).json()
    changed = patch(api, SETTING_API, {"roles": {"sales": {"leads": "team"}}, "version": 0})
    stale = patch(api, SETTING_API, {"roles": {"sales": {"leads": "own"}}, "version": 0})

    assert before["version"] == 0
    assert before["roles"]["sales"] == {"contacts": "all", "companies": "all", "deals": "all",
                                        "leads": "all", "records": "all"}
    assert "admin" not in before["roles"]
    assert changed.status_code == 200
    assert changed.json()["version"] == 1
    assert changed.json()["roles"]["sales"]["leads"] == "team"
    assert changed.json()["roles"]["support"]["leads"] == "all"
    assert stale.status_code == 409
    assert api.get(SETTING_API).json()["roles"]["sales"]["leads"] == "team"


def test_the_api_names_each_bad_cell(org, people, api_client_for):
    api = api_client_for(people.admin)

    answer = patch(api, SETTING_API, {"roles": {
        "admin": {"contacts": "own"}, "manager": {"deals": "own"},
        "sales": {"tickets": "own", "leads": "mine"}, "intern": {"leads": "all"},
    }})

    assert answer.status_code == 422
    assert {error["field"]: error["message"] for error in answer.json()["errors"]} == {
        "roles.admin": "Admins always see every record.",
        "roles.manager.deals": "Managers see at least their teams' records.",
        "roles.sales.tickets": "There is no area with this name.",
        "roles.sales.leads": "Choose own, team or all.",
        "roles.intern": "There is no role with this name.",
    }
    assert api.get(SETTING_API).json()["version"] == 0


def test_members_who_are_not_admins_cannot_read_or_change_the_setting(
    org, people, api_client_for
):
    for membership in (people.manager, people.seller):
        api = api_client_for(membership)

        read = api.get(SETTING_API)
        changed = patch(api, SETTING_API, {"roles": {"sales": {"contacts": "all"}}})

        assert (read.status_code, changed.status_code) == (403, 403)
    assert not VisibilityPolicy.unscoped.filter(organization=org).exists()


def test_a_manager_who_sees_only_their_teams_cannot_start_an_export_job(
    org, people, api_client_for, client_for
):
    set_scope(org, people.admin.user, Role.MANAGER, "companies", "team")
    api = api_client_for(people.manager)

    companies = api.post("/api/v1/exports", {"entity": "companies", "format": "xlsx"},
                         content_type="application/json")
    everything = client_for(people.manager).post("/exports/", {"entity": "organisation",
                                                               "format": "csv"})
    contacts = api.post("/api/v1/exports", {"entity": "contacts", "format": "xlsx"},
                        content_type="application/json")

    assert (companies.status_code, everything.status_code) == (403, 403)
    assert companies.json()["detail"] == ("Your role sees only some of these records; "
                                          "export them from the list instead.")
    assert contacts.status_code == 202


def test_the_exports_page_offers_the_organisation_export_only_to_who_sees_everything(
    org, people, client_for
):
    set_scope(org, people.admin.user, Role.MANAGER, "companies", "team")

    manager = client_for(people.manager).get("/exports/").content.decode()
    admin = client_for(people.admin).get("/exports/").content.decode()

    assert "Export the whole organisation" not in manager
    assert 'value="organisation"' not in manager
    assert "No exports yet. Use the Export menu on the contact or company list." in manager
    assert "Export the whole organisation" in admin


def test_the_list_offers_export_jobs_only_to_members_who_see_the_whole_area(
    org, people, client_for
):
    set_scope(org, people.admin.user, Role.MANAGER, "companies", "team")
    browser = client_for(people.manager)

    companies = browser.get("/companies/").content.decode()
    contacts = browser.get("/contacts/").content.decode()

    assert "Excel (XLSX)" not in companies
    assert "Export CSV" in companies
    assert "Excel (XLSX)" in contacts


def test_own_narrows_the_home_pages_stage_counts_and_latest_activity(
    org, people, contacts, client_for
):
    from accord.activities import services as activities

    with scope(organization=org):
        for contact in (contacts.seller, contacts.outsider):
            activities.log_activity(org, people.admin.user, data={
                "kind": "note", "body": f"About {contact.first_name}", "contact": contact})
    set_scope(org, people.admin.user, Role.SALES, "contacts", "own")

    home = client_for(people.seller).get("/")

    stages = {value: total for value, _label, total in home.context["stages"]}
    assert sum(stages.values()) == 2  # Sigrid and the unowned Nora
    assert [activity.contact.first_name for activity in home.context["recent_activity"]] == [
        "Sigrid"]
