"""Export jobs through the API, the web pages, a real worker and the command line."""

import csv
import datetime as dt
import io
import os
import time

import openpyxl
import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accord.audit.models import AuditEntry
from accord.celery import app
from accord.customers import services
from accord.identity.models import Role
from accord.integrations import writers
from accord.integrations.exports import services as export_services
from accord.integrations.models import ExportJob
from accord.integrations.tasks import delete_expired_exports, run_export

API = "/api/v1/exports"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def contacts(org, admin, in_org):
    with in_org(org):
        for name, stage in [("Ann", "customer"), ("Ben", "lead"), ("Cy", "customer")]:
            services.create_contact(org, admin.user, data={"first_name": name,
                                                           "lifecycle_stage": stage})


# API


def test_api_starts_an_export_and_answers_202_with_the_job(org, admin, api_client_for,
                                                           contacts, in_org):
    client = api_client_for(admin)

    response = client.post(API, {"entity": "contacts", "format": "csv", "q": "a",
                                 "filters": {"lifecycle_stage": ["customer"]},
                                 "ordering": "-first_name"}, content_type="application/json")

    assert response.status_code == 202
    body = response.json()
    with in_org(org):
        job = ExportJob.objects.get()
    assert {key: body[key] for key in ("id", "entity", "format", "status", "rows", "query",
                                       "download_url")} == {
        "id": job.pk, "entity": "contacts", "format": "csv", "status": "queued", "rows": 0,
        "query": "lifecycle_stage=customer&q=a&ordering=-first_name", "download_url": None,
    }
    assert job.created_by == admin.user


def test_api_download_answers_409_until_done_then_the_file(org, admin, api_client_for,
                                                           contacts):
    client = api_client_for(admin)
    job_id = client.post(API, {"entity": "contacts", "format": "csv",
                               "filters": {"lifecycle_stage": "customer"},
                               "ordering": "first_name"},
                         content_type="application/json").json()["id"]

    early = client.get(f"{API}/{job_id}/download")
    run_export(job_id)
    job = client.get(f"{API}/{job_id}").json()
    listed = client.get(API).json()
    download = client.get(job["download_url"])

    assert early.status_code == 409
    assert early["Content-Type"] == "application/problem+json"
    assert early.json()["detail"] == "This export is not finished yet; try again in a moment."
    assert (job["status"], job["rows"], job["total"]) == ("done", 2, 2)
    assert job["download_url"] == f"/api/v1/exports/{job_id}/download"
    assert [item["id"] for item in listed["items"]] == [job_id]
    assert listed["next"] is None
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert [row[1:3] for row in csv.reader(io.StringIO(text))] == [
        ["First name", "Last name"], ["Ann", ""], ["Cy", ""]]


@pytest.mark.parametrize(("payload", "field"), [
    ({"entity": "invoices", "format": "csv"}, "entity"),
    ({"entity": "deals", "format": "vcf"}, "format"),
    ({"entity": "orders", "format": "csv", "ordering": "number"}, "query"),
    ({"entity": "contacts", "format": "pdf"}, "format"),
    ({"entity": "companies", "format": "vcf"}, "format"),
    ({"entity": "organisation", "format": "vcf"}, "format"),
    ({"entity": "contacts", "format": "csv", "filters": {"lifecycle_stage": "bogus"}},
     "lifecycle_stage"),
    ({"entity": "contacts", "format": "csv", "ordering": "shoe_size"}, "ordering"),
    ({"entity": "organisation", "format": "csv", "q": "ann"}, "filters"),
])
def test_api_refuses_a_bad_export_naming_the_field(org, admin, api_client_for, in_org,
                                                   payload, field):
    response = api_client_for(admin).post(API, payload, content_type="application/json")

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    with in_org(org):
        assert not ExportJob.objects.exists()


def test_read_only_member_cannot_export(org, make_member, client_for, api_client_for, in_org):
    reader = make_member(org, Role.READ_ONLY)

    web = client_for(reader).post(reverse("integrations:export_list"),
                                  {"entity": "contacts", "format": "csv"})
    api = api_client_for(reader).post(API, {"entity": "contacts", "format": "csv"},
                                      content_type="application/json")
    page = client_for(reader).get(reverse("integrations:export_list"))

    assert (web.status_code, api.status_code, page.status_code) == (403, 403, 403)
    assert 'href="/exports/"' not in client_for(reader).get("/contacts/").content.decode()
    with in_org(org):
        assert not ExportJob.objects.exists()


def test_another_organisations_export_answers_404_everywhere(org, other_org, admin, make_member,
                                                             client_for, api_client_for,
                                                             in_org):
    with in_org(org):
        job = ExportJob.objects.create(organization=org, entity="contacts", format="csv",
                                       created_by=admin.user)
    run_export(job.pk)
    outsider = make_member(other_org, Role.ADMIN)
    web, api = client_for(outsider), api_client_for(outsider)

    answers = [
        web.get(reverse("integrations:export_detail", args=[job.pk])).status_code,
        web.get(reverse("integrations:export_download", args=[job.pk])).status_code,
        api.get(f"{API}/{job.pk}").status_code,
        api.get(f"{API}/{job.pk}/download").status_code,
    ]

    assert answers == [404, 404, 404, 404]
    assert api.get(API).json()["items"] == []


def test_a_manager_sees_only_their_own_exports_and_an_admin_sees_all(
    org, admin, make_member, client_for, api_client_for, in_org
):
    manager = make_member(org, Role.MANAGER)
    with in_org(org):
        mine = ExportJob.objects.create(organization=org, entity="contacts", format="csv",
                                        created_by=manager.user)
        theirs = ExportJob.objects.create(organization=org, entity="companies", format="csv",
                                          created_by=admin.user)

    manager_ids = [item["id"] for item in api_client_for(manager).get(API).json()["items"]]
    admin_ids = [item["id"] for item in api_client_for(admin).get(API).json()["items"]]
    hidden = client_for(manager).get(reverse("integrations:export_detail", args=[theirs.pk]))

    assert manager_ids == [mine.pk]
    assert admin_ids == [theirs.pk, mine.pk]
    assert hidden.status_code == 404


# Web pages


def test_job_page_polls_while_running_and_shows_the_download_when_done(org, admin, client_for,
                                                                      contacts):
    client = client_for(admin)
    started = client.post(reverse("integrations:export_list"),
                          {"entity": "contacts", "format": "xlsx", "query": ""})
    page_url = started["Location"]
    job_id = int(page_url.rstrip("/").rsplit("/", 1)[-1])

    waiting = client.get(page_url).content.decode()
    run_export(job_id)
    fragment = client.get(page_url, headers={"HX-Request": "true"}).content.decode()
    listing = client.get(reverse("integrations:export_list")).content.decode()

    assert 'hx-trigger="every 2s"' in waiting
    assert "Waiting for a worker to start the export." in waiting
    assert fragment.lstrip().startswith('<section id="export-status"')
    assert "hx-trigger" not in fragment
    assert "3 rows written." in fragment
    download = reverse("integrations:export_download", args=[job_id])
    assert f'href="{download}"' in fragment
    assert f'href="{download}"' in listing


def test_exports_page_has_an_empty_state_and_starts_an_organisation_export(org, admin,
                                                                          client_for, in_org):
    client = client_for(admin)

    empty = client.get(reverse("integrations:export_list")).content.decode()
    started = client.post(reverse("integrations:export_list"),
                          {"entity": "organisation", "format": "csv"})

    assert "No exports yet." in empty
    assert 'href="/exports/" aria-current="page"' in empty
    assert started.status_code == 302
    with in_org(org):
        assert ExportJob.objects.get().entity == "organisation"


def test_failed_export_says_so_in_plain_words(org, admin, client_for, in_org):
    with in_org(org):
        job = ExportJob.objects.create(organization=org, entity="contacts", format="csv",
                                       query="cf.gone=1", created_by=admin.user)

    status = run_export(job.pk)
    page = client_for(admin).get(reverse("integrations:export_detail", args=[job.pk]))

    assert status == "failed"
    assert ("The list&#x27;s filters no longer work: There is no custom field with this "
            "key.") in page.content.decode()


def test_too_many_rows_for_a_worksheet_fail_the_job_in_plain_words(org, admin, contacts,
                                                                   in_org, monkeypatch):
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)  # the header and two rows
    with in_org(org):
        job = ExportJob.objects.create(organization=org, entity="contacts", format="xlsx",
                                       created_by=admin.user)

    run_export(job.pk)

    with in_org(org):
        job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "An XLSX worksheet holds at most 1,048,576 "
                                                 "rows; export as CSV or JSON Lines instead.")
    assert not job.file


def test_expired_files_are_deleted_and_the_download_answers_409(org, admin, api_client_for,
                                                               client_for, contacts, in_org):
    client = api_client_for(admin)
    job_id = client.post(API, {"entity": "contacts", "format": "csv"},
                         content_type="application/json").json()["id"]
    run_export(job_id)
    with in_org(org):
        job = ExportJob.objects.get()
        path = job.file.path
        ExportJob.objects.filter(pk=job.pk).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1))

    deleted = delete_expired_exports()
    answer = client.get(f"{API}/{job_id}/download")
    page = client_for(admin).get(reverse("integrations:export_detail", args=[job_id]))

    assert deleted == 1
    assert not os.path.exists(path)
    assert answer.status_code == 409
    assert answer.json()["detail"] == "This export's file was deleted after 7 days; export again."
    assert "This export's file was deleted after 7 days." in page.content.decode()
    assert delete_expired_exports() == 0


# A real worker


@pytest.mark.worker
def test_worker_writes_the_export_and_emails_the_download_link(
    transactional_db, org, admin, api_client_for, client_for, contacts, smtp_inbox
):
    client = api_client_for(admin)

    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        job_id = client.post(API, {"entity": "contacts", "format": "jsonl"},
                             content_type="application/json").json()["id"]
        deadline = time.monotonic() + 60
        while not smtp_inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)

    recipients, subject, body = smtp_inbox.only()
    assert recipients == [admin.user.email]
    assert subject == "Your export is ready: Contacts (JSON Lines)"
    link = f"http://127.0.0.1:8000/exports/{job_id}/download"
    assert link in body
    assert "Your export of Contacts as JSON Lines is ready: 3 rows." in body
    download = client_for(admin).get(link.removeprefix("http://127.0.0.1:8000"))
    assert download.status_code == 200
    assert len(b"".join(download.streaming_content).splitlines()) == 3
    assert client.get(f"{API}/{job_id}").json()["status"] == "done"


# Command line


def run(*args, stdout=None) -> tuple[object, str]:
    out, err = stdout or io.StringIO(), io.StringIO()
    call_command("export", *args, stdout=out, stderr=err)
    return out, err.getvalue()


def test_command_writes_csv_to_standard_output_and_audits_it(org, admin, contacts, in_org):
    out, err = run("--org", org.slug, "--entity", "contacts", "--format", "csv",
                   "--query", "lifecycle_stage=customer&ordering=-first_name",
                   "--as", admin.user.email)

    rows = list(csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))
    assert [row[1] for row in rows] == ["First name", "Cy", "Ann"]
    assert err == ""
    with in_org(org):
        entry = AuditEntry.objects.get(entity="export")
    assert (entry.actor, entry.via, entry.changes["rows"]) == (admin.user, "cli", [None, 2])


def test_command_writes_xlsx_to_a_file_and_to_binary_standard_output(org, contacts, tmp_path):
    target = tmp_path / "contacts.xlsx"

    _, err = run("--org", org.slug, "--entity", "contacts", "--format", "xlsx",
                 "--output", str(target))
    out, _ = run("--org", org.slug, "--entity", "contacts", "--format", "xlsx",
                 stdout=io.BytesIO())

    assert err == f"3 rows written to {target}\n"
    for data in (target.read_bytes(), out.getvalue()):
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        assert [row[1] for row in sheet.iter_rows(values_only=True)] == [
            "First name", "Ann", "Ben", "Cy"]


@pytest.mark.parametrize(("args", "message"), [
    (["--org", "nowhere", "--entity", "contacts", "--format", "csv"],
     "No organisation has the slug 'nowhere'."),
    (["--entity", "invoices", "--format", "csv"],
     "Unknown entity 'invoices'; choose one of contacts, companies, deals, products, orders, "
     "organisation."),
    (["--entity", "deals", "--format", "vcf"],
     "vCard holds contacts only; export deals as CSV, XLSX or JSON Lines."),
    (["--entity", "products", "--format", "csv", "--query", "q=pump"],
     "Products are exported whole, unfiltered."),
    (["--entity", "contacts", "--format", "pdf"],
     "Unknown format 'pdf'; choose one of csv, xlsx, vcf, jsonl."),
    (["--entity", "companies", "--format", "vcf"],
     "vCard holds contacts only; export companies as CSV, XLSX or JSON Lines."),
    (["--entity", "contacts", "--format", "csv", "--query", "lifecycle_stage=bogus"],
     "This filter value is not valid."),
    (["--entity", "contacts", "--format", "csv", "--query", "tags=decision maker"],
     "There is no filter with this name."),
    (["--entity", "contacts", "--format", "csv", "--as", "nobody@example.com"],
     "nobody@example.com is not an active member of northwind."),
    (["--entity", "contacts", "--format", "csv", "--output", "/nonexistent/folder/x.csv"],
     "Cannot write /nonexistent/folder/x.csv: No such file or directory."),
])
def test_command_refuses_bad_input_clearly(org, args, message):
    if "--org" not in args:
        args = ["--org", org.slug, *args]

    with pytest.raises(CommandError) as caught:
        run(*args)

    assert str(caught.value) == message


def test_progress_is_reported_every_few_thousand_rows(org, contacts, in_org, monkeypatch):
    monkeypatch.setattr(export_services, "PROGRESS_EVERY", 2)
    seen = []

    with in_org(org):
        rows = export_services.write_export("organisation", "csv", io.BytesIO(),
                                            progress=seen.append)

    assert rows == 3 + 3  # the contacts and their "created" timeline events
    assert seen == [2, 4, 6]


@pytest.mark.parametrize("filters", [{"lifecycle_stag": "customer"}, {"tags": "vip"}])
def test_a_mistyped_filter_is_refused_rather_than_exporting_everything(admin, api_client_for,
                                                                      filters):
    response = api_client_for(admin).post("/api/v1/exports", {
        "entity": "contacts", "format": "csv", "filters": filters,
    }, content_type="application/json")

    assert response.status_code == 422
    (name,) = filters
    assert response.json()["errors"] == [
        {"field": name, "code": "invalid", "message": "There is no filter with this name."}
    ]
