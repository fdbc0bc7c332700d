"""The contact and company lists, on the page and over the API, narrowed to the records
an import created or updated (`import_id`), within the reader's record visibility."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from accord.customers import services as customers
from accord.customers.models import Contact
from accord.identity import visibility
from accord.identity.models import Membership, Role
from accord.integrations import engine
from accord.integrations.models import ImportJob

PEOPLE = ("First name,Last name,Email\r\n"
          "Ann,Lee,ann@example.com\r\n"
          "Bo,Kim,bo@example.com\r\n")


def run_import(client, org, member, in_org, text: str, entity: str = "contact",
               name: str = "people.csv") -> ImportJob:
    """An import through the wizard's upload and preview, run to its end."""
    client.post("/imports/new/", {"file": SimpleUploadedFile(name, text.encode()),
                                  "entity": entity})
    with in_org(org):
        job = ImportJob.objects.latest("id")
    client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "overwrite"})
    with in_org(org):
        return engine.run_job(org, member.user, ImportJob.objects.get(pk=job.pk))


def page_names(response) -> list[str]:
    return re.findall(r'<td><a href="/(?:contacts|companies)/\d+/">([^<]*)</a></td>',
                      response.content.decode())


def api_names(response) -> list[str]:
    return [item.get("name") or f"{item['first_name']} {item['last_name']}"
            for item in response.json()["items"]]


def test_the_lists_narrow_to_the_records_an_import_created_or_updated(
    org, admin, client_for, api_client_for, in_org
):
    with in_org(org):
        customers.create_contact(org, admin.user, data={
            "first_name": "Ann", "last_name": "Old", "email": "ann@example.com"})
        customers.create_contact(org, admin.user, data={"first_name": "Pre", "last_name":
                                                        "Existing"})
    client = client_for(admin)
    job = run_import(client, org, admin, in_org, PEOPLE)
    run_import(client, org, admin, in_org, "First name,Last name\r\nCy,Later\r\n",
               name="later.csv")
    companies = run_import(client, org, admin, in_org, "Name\r\nAcme\r\n", entity="company",
                           name="firms.csv")
    with in_org(org):
        customers.create_company(org, admin.user, data={"name": "Zeta"})

    page = client.get("/contacts/", {"import_id": job.pk})
    csv_text = b"".join(client.get("/contacts/export.csv", {"import_id": job.pk})
                        .streaming_content).decode()
    api = api_client_for(admin)

    assert page.status_code == 200
    assert page_names(page) == ["Bo Kim", "Ann Lee"]
    assert [line.split(",")[0] for line in csv_text.splitlines()[1:]] == ["Bo Kim", "Ann Lee"]
    assert api_names(api.get("/api/v1/contacts", {"import_id": job.pk})) == [
        "Bo Kim", "Ann Lee"]
    assert page_names(client.get("/companies/", {"import_id": companies.pk})) == ["Acme"]
    assert api_names(api.get("/api/v1/companies", {"import_id": companies.pk})) == ["Acme"]


def test_the_list_shows_the_import_filter_as_a_chip_that_removes_it(
    org, admin, client_for, in_org
):
    client = client_for(admin)
    job = run_import(client, org, admin, in_org, PEOPLE, name="<people>.csv")

    body = client.get("/contacts/", {"import_id": job.pk, "lifecycle_stage": "lead"}).text

    assert (f'<li class="badge badge-accent"><input type="hidden" name="import_id" '
            f'value="{job.pk}">From the import of &lt;people&gt;.csv <a href="?lifecycle_stage'
            '=lead&amp;columns=name&amp;columns=email&amp;columns=company&amp;'
            'columns=lifecycle_stage&amp;columns=owner&amp;columns=tags&amp;columns=updated_at" '
            'aria-label="Remove this filter">×</a></li>') in body


def test_an_import_of_another_organisation_finds_nothing(
    org, other_org, admin, client_for, api_client_for, in_org
):
    with scopes_disabled():
        stranger = Membership.unscoped.get(organization=other_org, role=Role.ADMIN)
    foreign = run_import(client_for(stranger), other_org, stranger, in_org, PEOPLE)
    run_import(client_for(admin), org, admin, in_org, PEOPLE)

    page = client_for(admin).get("/contacts/", {"import_id": foreign.pk})
    api = api_client_for(admin).get("/api/v1/contacts", {"import_id": foreign.pk})

    assert page.status_code == 404
    assert api.status_code == 200
    assert api.json() == {"items": [], "next": None}


def test_an_import_of_companies_finds_no_contacts(org, admin, client_for, api_client_for,
                                                  in_org):
    client = client_for(admin)
    run_import(client, org, admin, in_org, PEOPLE)
    companies = run_import(client, org, admin, in_org, "Name\r\nAcme\r\n", entity="company")

    assert client.get("/contacts/", {"import_id": companies.pk}).status_code == 404
    assert api_client_for(admin).get("/api/v1/contacts", {"import_id": companies.pk}).json()[
        "items"] == []


def test_a_member_gets_only_the_imported_records_they_may_see(
    org, admin, make_member, client_for, api_client_for, in_org
):
    manager = make_member(org, Role.MANAGER, full_name="Mo Manager")
    with in_org(org):
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {"contacts": "team"}})
    job = run_import(client_for(manager), org, manager, in_org, PEOPLE)
    with in_org(org):
        bo = Contact.objects.get(first_name="Bo")
        customers.update_contact(org, admin.user, bo, data={"owner": admin.user.pk})

    page = client_for(manager).get("/contacts/", {"import_id": job.pk})
    api = api_client_for(manager).get("/api/v1/contacts", {"import_id": job.pk})

    assert page_names(page) == ["Ann Lee"]
    assert api_names(api) == ["Ann Lee"]
    assert page_names(client_for(admin).get("/contacts/", {"import_id": job.pk})) == [
        "Bo Kim", "Ann Lee"]


def test_someone_elses_import_is_not_opened_for_a_member_without_every_import(
    org, admin, member, client_for, api_client_for, in_org
):
    job = run_import(client_for(admin), org, admin, in_org, PEOPLE)

    page = client_for(member).get("/contacts/", {"import_id": job.pk})
    api = api_client_for(member).get("/api/v1/contacts", {"import_id": job.pk})

    assert page.status_code == 404
    assert api.json()["items"] == []


def test_a_bad_import_id_is_explained_as_other_bad_filter_values(
    org, admin, client_for, api_client_for
):
    page = client_for(admin).get("/companies/", {"import_id": "latest"})
    api = api_client_for(admin).get("/api/v1/contacts", {"import_id": "99999999999999999999"})

    assert page.status_code == 422
    assert "This filter value is not valid." in page.text
    assert api.status_code == 422
    assert api.json()["errors"] == [{"field": "import_id", "code": "invalid",
                                     "message": "This filter value is not valid."}]


def test_the_import_filter_reads_the_ledger_in_a_subquery(org, admin, api_client_for,
                                                         client_for, in_org):
    job = run_import(client_for(admin), org, admin, in_org, PEOPLE)
    api = api_client_for(admin)

    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/v1/contacts", {"import_id": job.pk})

    ledger = [query["sql"] for query in captured.captured_queries
              if "integrations_importrow" in query["sql"]]
    assert len(response.json()["items"]) == 2
    assert len(ledger) == 1
    assert re.search(r'"customers_contact"\."id" IN \(SELECT \w+\."record_id" AS "record_id" '
                     r'FROM "integrations_importrow"', ledger[0])
