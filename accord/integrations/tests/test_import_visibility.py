"""Imports follow record visibility: a row matching only records hidden from the member who
started the import is taken as new, and a company it names that the member may not see is
treated as a made-up one: created when the import creates missing companies, refused
otherwise."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django_scopes import scope

from accord.customers import services as customers
from accord.customers.models import Company, Contact
from accord.identity import services as identity
from accord.identity import visibility
from accord.identity.models import Role
from accord.integrations.models import ImportJob
from accord.integrations.tasks import run_import

ROWS = (
    b"Email,First name,Last name,Company\r\n"
    b"otto@west.example,Overwritten,ByManager,\r\n"
    b"sigrid@east.example,Sigrid,Updated,\r\n"
    b"nina@new.example,Nina,New,Brightwater\r\n"
    b"nils@new.example,Nils,New,Nowhere Ltd\r\n"
)


@pytest.fixture
def teams(org, admin, make_member):
    """A manager leading East with its seller's Sigrid; West's outsider with Otto and the
    company Brightwater. Managers see their teams' contacts and companies."""
    manager = make_member(org, Role.MANAGER, full_name="Mia Manager")
    seller = make_member(org, Role.SALES, full_name="Sam Seller")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with scope(organization=org):
        identity.save_team(org, admin.user, name="East", lead=manager.user, members=[seller])
        identity.save_team(org, admin.user, name="West", members=[outsider])
        customers.create_contact(org, seller.user, data={
            "first_name": "Sigrid", "last_name": "Zebrowski", "email": "sigrid@east.example"})
        otto = customers.create_contact(org, outsider.user, data={
            "first_name": "Otto", "last_name": "Zebrowski", "email": "otto@west.example"})
        customers.create_company(org, outsider.user, data={"name": "Brightwater"})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "companies": "team"}})
    return manager, otto


def start(client, **options):
    return client.post("/api/v1/imports", {
        "file": SimpleUploadedFile("people.csv", ROWS, content_type="text/csv"),
        "entity": "contact",
        "options": json.dumps({"duplicate_policy": "overwrite", **options})}).json()["id"]


def statuses(api, pages, job_id) -> list[int]:
    """What the API and the pages answer for every way of reaching one import."""
    return [
        api.get(f"/api/v1/imports/{job_id}").status_code,
        api.get(f"/api/v1/imports/{job_id}/errors").status_code,
        api.post(f"/api/v1/imports/{job_id}/cancel").status_code,
        api.post(f"/api/v1/imports/{job_id}/undo").status_code,
        pages.get(f"/imports/{job_id}/").status_code,
        pages.get(f"/imports/{job_id}/errors.csv").status_code,
        pages.get(f"/imports/{job_id}/undo/").status_code,
        pages.post(f"/imports/{job_id}/undo/").status_code,
        pages.post(f"/imports/{job_id}/cancel/").status_code,
    ]


def test_an_import_neither_changes_nor_reveals_records_hidden_from_its_member(
    org, teams, api_client_for
):
    manager, otto = teams

    job_id = start(api_client_for(manager))
    run_import(job_id)

    with scope(organization=org):
        job = ImportJob.objects.get(pk=job_id)
        otto.refresh_from_db()
        addresses = sorted(Contact.objects.values_list("email", "last_name"))
        brightwaters = Company.objects.filter(name="Brightwater").count()
    assert (job.created_count, job.updated_count, job.failed_count) == (3, 1, 0)
    assert (otto.first_name, otto.last_name) == ("Otto", "Zebrowski")
    assert addresses == [
        ("nils@new.example", "New"), ("nina@new.example", "New"),
        ("otto@west.example", "ByManager"), ("otto@west.example", "Zebrowski"),
        ("sigrid@east.example", "Updated")]
    assert brightwaters == 2


def test_a_hidden_company_is_refused_like_a_made_up_one_when_links_are_not_created(
    org, teams, api_client_for
):
    manager, _otto = teams
    client = api_client_for(manager)

    job_id = start(client, create_missing_links=False)
    run_import(job_id)

    errors = {error["row"]: error["reason"]
              for error in client.get(f"/api/v1/imports/{job_id}").json()["errors"]}
    assert errors[4] == errors[5]
    assert errors[4].startswith("No company with this name or domain exists")


def test_a_member_sees_cancels_and_undoes_only_the_imports_they_started(
    org, admin, teams, make_member, api_client_for, client_for
):
    manager, otto = teams
    reader = make_member(org, Role.READ_ONLY, full_name="Rita Reader")
    admins = api_client_for(admin)
    job_id = admins.post("/api/v1/imports", {
        "file": SimpleUploadedFile("west.csv", b"Email,First name\r\nwest@new.example,Wes\r\n"
                                   b"not-an-email,Bad\r\n", content_type="text/csv"),
        "entity": "contact"}).json()["id"]
    run_import(job_id)
    with scope(organization=org):
        # West's contact, hidden from the East manager.
        Contact.objects.filter(email="west@new.example").update(owner=otto.owner)
        imported = Contact.objects.get(email="west@new.example")
    missing = job_id + 1000

    for member in (manager, reader):
        api, pages = api_client_for(member), client_for(member)
        answers, made_up = statuses(api, pages, job_id), statuses(api, pages, missing)
        assert answers == made_up, member.user.full_name
        assert api.get(f"/api/v1/imports/{job_id}").json() == api.get(
            f"/api/v1/imports/{missing}").json()
        assert api.get("/api/v1/imports").json()["items"] == []
        listing = pages.get("/imports/").content.decode()
        assert "west.csv" not in listing
    with scope(organization=org):
        assert Contact.objects.filter(pk=imported.pk).exists()

    assert [item["id"] for item in admins.get("/api/v1/imports").json()["items"]] == [job_id]
    assert "west.csv" in client_for(admin).get("/imports/").content.decode()
    assert "not-an-email" in b"".join(
        admins.get(f"/api/v1/imports/{job_id}/errors").streaming_content).decode()
    assert admins.post(f"/api/v1/imports/{job_id}/undo").json()["removed"] == 1
    with scope(organization=org):
        assert not Contact.objects.filter(pk=imported.pk).exists()


def test_a_member_still_follows_and_undoes_their_own_import(org, teams, api_client_for,
                                                            client_for):
    manager, _otto = teams
    client = api_client_for(manager)
    job_id = start(client)
    run_import(job_id)

    assert [item["id"] for item in client.get("/api/v1/imports").json()["items"]] == [job_id]
    assert client_for(manager).get(f"/imports/{job_id}/").status_code == 200
    assert client.get(f"/api/v1/imports/{job_id}/errors").status_code == 200
    assert client.post(f"/api/v1/imports/{job_id}/undo").json()["removed"] == 3


def test_the_import_command_acting_as_a_member_sees_what_the_member_sees(
    org, teams, tmp_path
):
    manager, otto = teams
    path = tmp_path / "people.csv"
    path.write_bytes(ROWS)
    out = io.StringIO()

    call_command("import", str(path), org=org.slug, entity="contact", duplicates="overwrite",
                 **{"as": manager.user.email}, stdout=out)

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    with scope(organization=org):
        otto.refresh_from_db()
        ottos = sorted(Contact.objects.filter(email="otto@west.example")
                       .values_list("last_name", flat=True))
        job = ImportJob.objects.get(pk=summary["import_id"])
    assert (summary["created"], summary["updated"], summary["failed"]) == (3, 1, 0)
    assert (otto.first_name, otto.last_name) == ("Otto", "Zebrowski")
    assert ottos == ["ByManager", "Zebrowski"]
    assert job.created_by_id == manager.user.pk
