"""Activities (notes, calls, meetings, logged e-mails, tasks) come in from a file onto the
timelines of records already here, through the command line and the API, and the
organisation export's activities file restores the timeline of another organisation."""

import datetime as dt
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from accord.activities import services as timeline
from accord.activities.models import Activity, Kind
from accord.audit.models import Action, AuditEntry
from accord.core.demo.sales import STAGES
from accord.customers import services as customers
from accord.identity import services as identity
from accord.identity import visibility
from accord.identity.models import Role
from accord.identity.permissions import ROLE_PERMISSIONS
from accord.integrations import engine
from accord.integrations.exports import services as exports
from accord.integrations.models import ImportJob
from accord.integrations.tasks import run_import
from accord.sales import services as sales
from accord.sales.models import Deal

UTC = dt.UTC

TIMELINE = (
    "Type,Subject,Details,Date,Due date,Done,Contact e-mail,Company,Deal,Assigned to\r\n"
    "Note,Met at the fair,Wants a quote for two pumps,2026-03-02 10:15,,,"
    "dana@hollow.example,,,\r\n"
    "call,Follow-up,Agreed on the price,2026-03-05T14:00:00+01:00,,,,Hollow Oak Ltd,,\r\n"
    "task,Send the contract,,2026-03-05,2026-03-09 12:00,yes,,,Pumps for Hollow Oak,"
    "Admin 1\r\n"
    "meeting,Site visit,,2026-03-12 09:00,,,,hollow.example,,\r\n"
)


def run(*args, **options) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *args, stdout=out, stderr=err, **options)
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def write(tmp_path, text: str, name: str = "timeline.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def records(org, admin, in_org):
    """Dana at Hollow Oak Ltd (hollow.example), and a deal with the company."""
    with in_org(org):
        company = customers.create_company(org, admin.user, data={
            "name": "Hollow Oak Ltd", "domain": "hollow.example"})
        contact = customers.create_contact(org, admin.user, data={
            "first_name": "Dana", "last_name": "Kirsch", "email": "dana@hollow.example",
            "company": company.pk})
        sales.create_pipeline(org, admin.user, name="New business", stages=STAGES)
        deal = sales.create_deal(org, admin.user, data={
            "name": "Pumps for Hollow Oak", "company": company.pk})
    return contact, company, deal


def entries(org, in_org) -> list[tuple]:
    with in_org(org):
        return [(entry.kind, entry.subject, entry.body, entry.contact_id, entry.company_id,
                 entry.deal_id, entry.occurred_at, entry.due_at, entry.completed_at is not None)
                for entry in Activity.objects.exclude(kind=Kind.SYSTEM).order_by("id")]


def test_the_command_logs_each_row_on_the_timeline_of_the_record_it_names(
    org, admin, in_org, records, tmp_path
):
    contact, company, deal = records

    summary, _ = run(write(tmp_path, TIMELINE), org=org.slug, entity="activity")

    assert (summary["created"], summary["failed"]) == (4, 0)
    assert summary["mapping"] == {
        "Type": "kind", "Subject": "subject", "Details": "body", "Date": "occurred_at",
        "Due date": "due_at", "Done": "done", "Contact e-mail": "contact",
        "Company": "company", "Deal": "deal", "Assigned to": "assignee"}
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert entries(org, in_org) == [
        ("note", "Met at the fair", "Wants a quote for two pumps", contact.pk, company.pk,
         None, dt.datetime(2026, 3, 2, 10, 15, tzinfo=UTC), None, False),
        ("call", "Follow-up", "Agreed on the price", None, company.pk, None,
         dt.datetime(2026, 3, 5, 14, 0, tzinfo=berlin), None, False),
        ("task", "Send the contract", "", None, company.pk, deal.pk,
         dt.datetime(2026, 3, 5, tzinfo=UTC), dt.datetime(2026, 3, 9, 12, tzinfo=UTC), True),
        ("meeting", "Site visit", "", None, company.pk, None,
         dt.datetime(2026, 3, 12, 9, tzinfo=UTC), None, False),
    ]
    with in_org(org):
        task = Activity.objects.get(kind=Kind.TASK)
        logged = AuditEntry.objects.filter(entity="activity", action=Action.CREATE).count()
    assert task.assignee_id == admin.user_id
    assert task.author_id == admin.user_id
    assert logged == 4


def test_a_bad_kind_date_or_record_fails_only_its_row_naming_the_column(
    org, admin, in_org, records, tmp_path
):
    contact, _company, _deal = records
    text = (
        "Type,Subject,Date,Contact e-mail,Company\r\n"
        "note,Kept,2026-03-02,dana@hollow.example,\r\n"
        "fax,Sent a fax,2026-03-02,dana@hollow.example,\r\n"
        "note,Bad date,31/02/2026,dana@hollow.example,\r\n"
        "note,Hangs on nothing,2026-03-02,,\r\n"
        "note,Stranger,2026-03-02,nobody@nowhere.example,\r\n"
        "call,Unknown company,2026-03-02,,Nowhere Ltd\r\n"
    )

    summary, err = run(write(tmp_path, text), org=org.slug, entity="activity")

    assert (summary["created"], summary["failed"]) == (1, 5)
    with in_org(org):
        job = ImportJob.objects.get(pk=summary["import_id"])
        reasons = {(row.row, error["column"]): error["reason"]
                   for row in job.ledger.exclude(errors=[]) for error in row.errors}
    assert set(reasons) == {(3, "Type"), (4, "Date"), (5, ""), (6, "Contact e-mail"),
                            (7, "Company")}
    assert reasons[3, "Type"].startswith("Choose one of: note, call, meeting, email, task")
    assert reasons[4, "Date"] == "This value has day 31, which month 2 of 2026 does not have."
    assert reasons[5, ""].startswith("Name the record the activity belongs to")
    assert reasons[6, "Contact e-mail"] == "No contact has this e-mail address."
    assert reasons[7, "Company"] == "No company has this name or domain."
    assert "Type" in err
    assert entries(org, in_org) == [
        ("note", "Kept", "", contact.pk, contact.company_id, None,
         dt.datetime(2026, 3, 2, tzinfo=UTC), None, False)]


def test_importing_activities_needs_the_right_to_add_them(
    org, admin, make_member, records, api_client_for, tmp_path, monkeypatch
):
    manager = make_member(org, Role.MANAGER, email="mia@example.com")
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.MANAGER,
                        ROLE_PERMISSIONS[Role.MANAGER] - {"activities.add"})

    response = api_client_for(manager).post("/api/v1/imports", {
        "file": SimpleUploadedFile("timeline.csv", TIMELINE.encode(), content_type="text/csv"),
        "entity": "activity"})
    with pytest.raises(CommandError, match="may not import activities"):
        run(write(tmp_path, TIMELINE), org=org.slug, entity="activity",
            acting="mia@example.com")

    assert response.status_code == 403


def test_over_the_api_a_hidden_contact_counts_as_missing_and_undo_removes_the_entries(
    org, admin, make_member, in_org, records, api_client_for
):
    contact, _company, _deal = records
    manager = make_member(org, Role.MANAGER, full_name="Mia Manager")
    outsider = make_member(org, Role.SALES, full_name="Olga Outsider")
    with in_org(org):
        identity.save_team(org, admin.user, name="East", lead=manager.user, members=[admin])
        identity.save_team(org, admin.user, name="West", members=[outsider])
        customers.create_contact(org, outsider.user, data={
            "first_name": "Otto", "last_name": "West", "email": "otto@west.example"})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team", "companies": "team"}})
    text = (
        b"kind,subject,contact\r\n"
        b"note,Seen,dana@hollow.example\r\n"
        b"note,Hidden,otto@west.example\r\n"
        b"call,Called,dana@hollow.example\r\n"
    )
    client = api_client_for(manager)

    started = client.post("/api/v1/imports", {
        "file": SimpleUploadedFile("timeline.csv", text, content_type="text/csv"),
        "entity": "activity"})
    run_import(started.json()["id"])
    job = client.get(f"/api/v1/imports/{started.json()['id']}").json()

    assert started.status_code == 202
    assert (job["created"], job["failed"]) == (2, 1)
    assert job["errors"] == [{"row": 3, "column": "contact", "value": "otto@west.example",
                              "reason": "No contact has this e-mail address."}]
    with in_org(org):
        assert sorted(Activity.objects.exclude(kind=Kind.SYSTEM)
                      .values_list("subject", "contact_id")) == [
            ("Called", contact.pk), ("Seen", contact.pk)]

    undone = client.post(f"/api/v1/imports/{job['id']}/undo")

    assert undone.json()["removed"] == 2
    with in_org(org):
        assert not Activity.objects.exclude(kind=Kind.SYSTEM).exists()
        assert AuditEntry.objects.filter(entity="activity", action=Action.DELETE).count() == 2


def test_an_id_an_earlier_import_stored_matches_and_other_rows_are_always_new(
    org, admin, in_org, records, tmp_path
):
    text = ("ID,Type,Details,Contact e-mail\r\n"
            "A-1,note,First words,dana@hollow.example\r\n"
            ",note,No id,dana@hollow.example\r\n")
    path = write(tmp_path, text)
    run(path, org=org.slug, entity="activity")

    summary, _ = run(write(tmp_path, text.replace("First words", "Second words")),
                     org=org.slug, entity="activity", duplicates="overwrite")

    assert (summary["created"], summary["updated"]) == (1, 1)
    with in_org(org):
        assert sorted(Activity.objects.exclude(kind=Kind.SYSTEM)
                      .values_list("body", flat=True)) == ["No id", "No id", "Second words"]


@pytest.mark.parametrize("format", ["csv", "xlsx"])
def test_the_organisation_export_restores_the_timeline_in_another_organisation(
    org, admin, other_org, make_member, in_org, tmp_path, format
):
    other_admin = make_member(other_org, Role.ADMIN, email="restorer@example.com")
    with in_org(org):
        company = customers.create_company(org, admin.user, data={
            "name": "Hollow Oak Ltd", "domain": "hollow.example"})
        dana = customers.create_contact(org, admin.user, data={
            "first_name": "Dana", "last_name": "Kirsch", "email": "dana@hollow.example",
            "company": company.pk})
        timeline.log_activity(org, admin.user, data={
            "kind": "note", "subject": "Fair", "body": "Wants a quote\nfor two pumps",
            "contact": dana.pk, "occurred_at": "2026-03-02T10:15:00Z"})
        timeline.log_activity(org, admin.user, data={
            "kind": "call", "subject": "Follow-up", "body": "=price agreed",
            "company": company.pk, "occurred_at": "2026-03-05T13:00:00Z",
            "direction": "outbound", "outcome": "connected", "duration_minutes": 12})
        task = timeline.log_activity(org, admin.user, data={
            "kind": "task", "subject": "Send the contract", "contact": dana.pk,
            "occurred_at": "2026-03-05T13:30:00Z", "due_at": "2026-03-09T12:00:00Z"})
        timeline.set_task_done(org, admin.user, task, done=True)
        timeline.log_activity(org, admin.user, data={
            "kind": "task", "subject": "Visit in spring", "contact": dana.pk,
            "occurred_at": "2026-03-06T08:00:00Z", "due_at": "2026-04-01T09:00:00Z"})
        sales.create_pipeline(org, admin.user, name="New business", stages=STAGES)
        deal = sales.create_deal(org, admin.user, data={
            "name": "Pumps for Hollow Oak", "company": company.pk})
        timeline.log_activity(org, admin.user, data={
            "kind": "meeting", "subject": "Pump demo", "deal": deal.pk,
            "occurred_at": "2026-03-07T10:00:00Z"})
        before = restored_timeline()
        with (tmp_path / "org.zip").open("wb") as stream:
            exports.write_export("organisation", format, stream)
    with zipfile.ZipFile(tmp_path / "org.zip") as archive:
        archive.extractall(tmp_path / "org")
    folder = tmp_path / "org"

    options = {"org": other_org.slug, "acting": "restorer@example.com"}
    run(str(folder / f"companies.{format}"), entity="company", **options)
    run(str(folder / f"contacts.{format}"), entity="contact", **options)
    # Pipelines are not part of the export; the deals file names the deals' owner, who
    # must be a member here.
    with in_org(other_org):
        sales.create_pipeline(other_org, other_admin.user, name="New business",
                              stages=STAGES)
    make_member(other_org, Role.SALES, email=admin.user.email)
    run(str(folder / f"deals.{format}"), entity="deal", **options)
    summary, _ = run(str(folder / f"activities.{format}"), entity="activity", **options)

    with in_org(org):
        system_events = Activity.objects.filter(kind=Kind.SYSTEM).count()
    assert (summary["created"], summary["failed"]) == (5, 0)
    assert summary["skipped"] == system_events
    with in_org(other_org):
        assert restored_timeline() == before
        assert set(Activity.objects.exclude(kind=Kind.SYSTEM)
                   .values_list("author_id", flat=True)) == {other_admin.user_id}


def restored_timeline() -> list[tuple]:
    """Each user entry with the e-mail, company and deal name it hangs on, which survive a
    restore where ids do not."""
    return [
        (entry.kind, entry.subject, entry.body,
         entry.contact.email if entry.contact_id else None,
         entry.company.name if entry.company_id else None,
         entry.deal.name if entry.deal_id else None, entry.occurred_at,
         entry.due_at, entry.completed_at, entry.direction, entry.outcome,
         entry.duration_minutes)
        for entry in Activity.objects.exclude(kind=Kind.SYSTEM)
        .select_related("contact", "company", "deal").order_by("occurred_at")]


def upload_in_wizard(client, org, in_org, text: str) -> ImportJob:
    """Upload an activities file on the wizard's first page; the job it made."""
    client.post("/imports/new/", {
        "file": SimpleUploadedFile("timeline.csv", text.encode()), "entity": "activity"})
    with in_org(org):
        return ImportJob.objects.get()


def test_the_wizard_suggests_the_columns_previews_and_runs_an_activities_file(
    org, admin, client_for, in_org, records
):
    client = client_for(admin)
    text = ("Type,Subject,Date,Contact e-mail\r\n"
            "note,Fair,2026-03-02 10:15,dana@hollow.example\r\n"
            "fax,Sent a fax,2026-03-02,dana@hollow.example\r\n")

    job = upload_in_wizard(client, org, in_org, text)
    mapping_page = client.get(f"/imports/{job.pk}/map/")
    client.post(f"/imports/{job.pk}/map/", {
        "column_0": "kind", "column_1": "subject", "column_2": "occurred_at",
        "column_3": "contact", "date_order": "ymd", "number_style": "1,234.56"})
    preview = client.get(f"/imports/{job.pk}/preview/")
    client.post(f"/imports/{job.pk}/preview/", {"duplicate_policy": "fill"})
    with in_org(org):
        engine.run_job(org, admin.user, ImportJob.objects.get(pk=job.pk))
    detail = client.get(f"/imports/{job.pk}/")

    assert '<option value="contact" selected>' in mapping_page.text
    assert "1 looks new, 0 match an existing record or an earlier row, 1 is " in preview.text
    assert "Choose one of: note, call, meeting, email, task." in preview.text
    assert "<dt>Rows created</dt><dd>1</dd>" in detail.text
    assert [entry[:2] for entry in entries(org, in_org)] == [("note", "Fair")]


def test_the_wizard_offers_no_duplicate_choice_for_activities_without_an_id_column(
    org, admin, client_for, in_org, records
):
    client = client_for(admin)
    text = ("Type,Subject,Contact e-mail\r\n"
            "note,Fair,dana@hollow.example\r\n")
    job = upload_in_wizard(client, org, in_org, text)

    without_id = client.get(f"/imports/{job.pk}/preview/")
    client.post(f"/imports/{job.pk}/map/", {
        "column_0": "kind", "column_1": "external_id", "column_2": "contact",
        "date_order": "ymd", "number_style": "1,234.56"})
    with_id = client.get(f"/imports/{job.pk}/preview/")

    assert 'name="duplicate_policy"' not in without_id.text
    assert "There is no choice about rows that match a record already here" in without_id.text
    assert 'name="duplicate_policy"' in with_id.text


def test_the_command_and_the_api_say_the_duplicate_policy_is_ignored_where_nothing_matches(
    org, admin, in_org, records, api_client_for, tmp_path
):
    text = "Type,Subject,Contact e-mail\r\nnote,Fair,dana@hollow.example\r\n"

    summary, err = run(write(tmp_path, text), org=org.slug, entity="activity",
                       duplicates="skip")
    started = api_client_for(admin).post("/api/v1/imports", {
        "file": SimpleUploadedFile("timeline.csv", text.encode(), content_type="text/csv"),
        "entity": "activity", "options": json.dumps({"duplicate_policy": "skip"})})

    assert summary["created"] == 1
    assert "--duplicates is ignored for this file: Activities are never matched" in err
    assert started.status_code == 202
    assert started.json()["options"]["duplicate_policy"] is None


def test_a_deal_id_from_an_earlier_deals_import_finds_a_deal_whose_name_is_shared(
    org, admin, in_org, records, tmp_path
):
    _contact, _company, first = records
    run(write(tmp_path, "ID,Name\r\nD-7,Pumps for Hollow Oak\r\n", "deals.csv"),
        org=org.slug, entity="deal")
    text = ("Type,Subject,Deal,Deal ID\r\n"
            "note,Found by id,Pumps for Hollow Oak,D-7\r\n"
            "note,Found by neither,,D-9\r\n")

    summary, _ = run(write(tmp_path, text), org=org.slug, entity="activity")

    with in_org(org):
        second = Deal.objects.exclude(pk=first.pk).get()
        job = ImportJob.objects.get(pk=summary["import_id"])
        reasons = {(row.row, error["column"]): error["reason"]
                   for row in job.ledger.exclude(errors=[]) for error in row.errors}
        logged = list(Activity.objects.exclude(kind=Kind.SYSTEM)
                      .values_list("subject", "deal_id"))
    assert (summary["created"], summary["failed"]) == (1, 1)
    assert logged == [("Found by id", second.pk)]
    assert reasons == {
        (2, "Deal"): "More than one deal has this name; log the activity on the deal's "
                     "page instead. The row's other deal column finds one, which the entry "
                     "is logged on.",
        (3, "Deal ID"): "No deal has this id; import the deals first, from a file with the "
                        "same ids."}
