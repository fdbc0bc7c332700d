import datetime as dt
import json
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile

from accord.audit.models import AuditEntry
from accord.celery import app
from accord.customers.models import Contact
from accord.identity.models import Role
from accord.integrations import engine
from accord.integrations.models import ImportJob

PEOPLE = (
    b"Email,First name,Last name,Birthday\r\n"
    b"ada@example.com,Ada,Lovelace,10/12/1815\r\n"
    b"not-an-email,Bad,Row,\r\n"
    b"grace@example.com,Grace,Hopper,09/12/1906\r\n"
)


def upload(client, content=PEOPLE, name="people.csv", **fields):
    return client.post("/api/v1/imports", {
        "file": SimpleUploadedFile(name, content, content_type="text/csv"), **fields})


def wait_for(org, in_org, job_id, statuses=("done", "failed", "cancelled"), timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with in_org(org):
            job = ImportJob.objects.get(pk=job_id)
        if job.status in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} stayed {job.status}")


@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_an_uploaded_file_and_the_api_reports_counts_and_errors(
    org, admin, api_client_for, in_org
):
    client = api_client_for(admin)

    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        response = upload(client, entity="contact")
        job = wait_for(org, in_org, response.json()["id"])
    detail = client.get(f"/api/v1/imports/{job.pk}").json()
    errors = client.get(f"/api/v1/imports/{job.pk}/errors")

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["mapping"] == {"Email": "email", "First name": "first_name",
                                          "Last name": "last_name", "Birthday": "birthday"}
    assert {key: detail[key] for key in ("status", "created", "failed", "progress")} == {
        "status": "done", "created": 2, "failed": 1, "progress": 100}
    assert detail["errors"] == [{"row": 3, "column": "Email", "value": "not-an-email",
                                 "reason": "Enter a valid e-mail address, such as "
                                           "name@example.com."}]
    assert errors["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(errors.streaming_content).decode() == (
        "\ufeffrow,column,value,reason\r\n"
        "3,Email,not-an-email,\"Enter a valid e-mail address, such as name@example.com.\"\r\n")
    with in_org(org):
        assert set(AuditEntry.objects.filter(entity="contact").values_list("via", flat=True)) \
            == {"job"}
        assert sorted(Contact.objects.values_list("email", "birthday")) == [
            ("ada@example.com", dt.date(1815, 12, 10)),
            ("grace@example.com", dt.date(1906, 12, 9)),
        ]


def run_now(org, admin, in_org, job_id):
    """Run a queued job in this process, as the worker would."""
    with in_org(org):
        job = ImportJob.objects.get(pk=job_id)
        return engine.run_job(org, admin.user, job)


def test_a_mapping_and_options_given_as_json_are_used(org, admin, api_client_for, in_org):
    client = api_client_for(admin)

    response = upload(client, entity="contact",
                      mapping=json.dumps({"Email": "email", "Last name": "last_name"}),
                      options=json.dumps({"date_order": "mdy", "duplicate_policy": "skip"}))
    job = run_now(org, admin, in_org, response.json()["id"])

    assert response.status_code == 202
    assert response.json()["options"]["duplicate_policy"] == "skip"
    assert (job.created_count, job.failed_count) == (2, 1)
    with in_org(org):
        assert sorted(Contact.objects.values_list("first_name", "last_name")) == [
            ("", "Hopper"), ("", "Lovelace")]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"entity": "ticket"}, "entity",
     "Choose what the file holds: contact, company, deal, product, lead, order, custom_field, "
     "activity."),
    ({"entity": "contact", "mapping": "[1]"}, "mapping",
     'Give a JSON object, such as {"Email": "email"}.'),
    ({"entity": "contact", "mapping": '{"Email": "fax_number"}'}, "mapping.Email", None),
    ({"entity": "contact", "options": '{"date_order": "dym"}'}, "date_order",
     "Choose one of: dmy, mdy, ymd."),
])
def test_bad_uploads_answer_422_naming_the_field(org, admin, api_client_for, in_org, fields,
                                                 field, message):
    response = upload(api_client_for(admin), **fields)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == field
    if message:
        assert error["message"] == message
    with in_org(org):
        assert ImportJob.objects.count() == 0


def test_a_file_that_cannot_be_read_says_why(org, admin, api_client_for):
    response = upload(api_client_for(admin), content=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" * 8,
                      name="old.xls", entity="contact")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert ".xlsx" in response.json()["errors"][0]["message"]


def test_list_cancel_and_undo(org, admin, api_client_for, in_org):
    client = api_client_for(admin)
    first = upload(client, entity="contact").json()
    second = upload(client, entity="contact", name="more.csv").json()
    run_now(org, admin, in_org, first["id"])

    listed = client.get("/api/v1/imports").json()
    cancelled = client.post(f"/api/v1/imports/{second['id']}/cancel")
    undone = client.post(f"/api/v1/imports/{first['id']}/undo")
    again = client.post(f"/api/v1/imports/{first['id']}/undo")

    assert [item["filename"] for item in listed["items"]] == ["more.csv", "people.csv"]
    assert listed["next"] is None
    assert cancelled.json()["status"] == "cancelled"
    assert undone.json() == {"removed": 2, "reverted": 0, "not_reverted": []}
    assert again.status_code == 409
    assert again.json()["detail"].startswith("This import was already undone on ")
    assert client.get(f"/api/v1/imports/{first['id']}").json()["status"] == "undone"
    with in_org(org):
        assert Contact.objects.count() == 0
        assert Contact.with_deleted.count() == 2


def test_another_organisations_import_answers_404(org, admin, other_org, api_client_for,
                                                  make_member):
    job_id = upload(api_client_for(admin), entity="contact").json()["id"]
    outsider = api_client_for(make_member(other_org, Role.ADMIN))

    answers = [outsider.get(f"/api/v1/imports/{job_id}").status_code,
               outsider.get(f"/api/v1/imports/{job_id}/errors").status_code,
               outsider.post(f"/api/v1/imports/{job_id}/cancel").status_code,
               outsider.post(f"/api/v1/imports/{job_id}/undo").status_code]

    assert answers == [404, 404, 404, 404]
    assert outsider.get("/api/v1/imports").json()["items"] == []


def test_read_only_members_cannot_start_an_import_nor_see_others(org, admin, make_member,
                                                                api_client_for):
    upload(api_client_for(admin), entity="contact")
    reader = api_client_for(make_member(org, Role.READ_ONLY))

    assert upload(reader, entity="contact").status_code == 403
    listed = reader.get("/api/v1/imports")
    assert listed.status_code == 200
    assert listed.json()["items"] == []


def test_a_file_with_no_mapped_column_is_refused_and_nothing_kept(org, admin, api_client_for,
                                                                  in_org):
    response = upload(api_client_for(admin), content=b"Tier,Remark\r\nGold,Met at fair\r\n",
                      entity="contact")

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "mapping"
    assert error["message"] == ("No column of the file fills a field (its headers: Tier, "
                                "Remark). Map at least one column to a field.")
    with in_org(org):
        assert ImportJob.objects.count() == 0


def test_a_file_with_only_a_header_row_is_refused(org, admin, api_client_for, in_org):
    response = upload(api_client_for(admin), content=b"First name,Last name,Email\r\n",
                      entity="contact")

    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["message"]) == (
        "file", "The file has no rows below its header, so there is nothing to import.")
    with in_org(org):
        assert ImportJob.objects.count() == 0
