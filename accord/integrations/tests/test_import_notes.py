"""A Notes column reaches the timeline of the record its row matches, and undo takes it back."""

import io
import json

import pytest
from django.core.management import call_command

from accord.activities.models import Activity, Kind
from accord.activities.services import update_activity
from accord.customers import services as customers

HEADER = "First name,Last name,Email,Notes\n"
ROW = "Anders,Abara,anders@example.org,Called re renewal 2026\n"


def run_import(tmp_path, org, text: str, duplicates: str) -> dict:
    path = tmp_path / "notes.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    out = io.StringIO()
    call_command("import", str(path), org=org.slug, entity="contact", duplicates=duplicates,
                 stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().splitlines()[-1])


def notes_of(contact) -> list[str]:
    return list(Activity.objects.filter(contact=contact, kind=Kind.NOTE)
                .values_list("body", flat=True))


@pytest.fixture
def anders(org, admin, in_org):
    with in_org(org):
        return customers.create_contact(org, admin.user, data={
            "first_name": "Anders", "last_name": "Abara", "emails": [
                {"address": "anders@example.org", "kind": "work", "label": "",
                 "is_primary": True}]})


@pytest.mark.django_db
@pytest.mark.parametrize("duplicates", ["fill", "overwrite"])
def test_a_row_that_changes_no_field_still_adds_its_note(tmp_path, org, in_org, anders,
                                                         duplicates):
    summary = run_import(tmp_path, org, ROW, duplicates)

    assert (summary["updated"], summary["skipped"]) == (1, 0)
    with in_org(org):
        assert notes_of(anders) == ["Called re renewal 2026"]
        anders.refresh_from_db()
        assert anders.version == 1  # no field of the contact was touched


@pytest.mark.django_db
def test_skipping_duplicates_skips_the_note_too(tmp_path, org, in_org, anders):
    summary = run_import(tmp_path, org, ROW, "skip")

    assert (summary["updated"], summary["skipped"]) == (0, 1)
    with in_org(org):
        assert notes_of(anders) == []


@pytest.mark.django_db
def test_undo_takes_back_the_notes_it_added_to_records_it_did_not_create(
    tmp_path, org, admin, in_org, anders, api_client_for
):
    with in_org(org):
        bea = customers.create_contact(org, admin.user, data={
            "first_name": "Bea", "emails": [{"address": "bea@example.org", "kind": "work",
                                             "label": "", "is_primary": True}]})
    summary = run_import(tmp_path, org, ROW + "Bea,Brand,bea@example.org,Sent the quote\n"
                         "Grace,Hopper,grace@example.org,Met at the fair\n", "fill")
    with in_org(org):
        assert notes_of(bea) == ["Sent the quote"]

    undone = api_client_for(admin).post(f"/api/v1/imports/{summary['import_id']}/undo")

    assert undone.status_code == 200
    assert undone.json() == {"removed": 1, "reverted": 1, "not_reverted": []}
    with in_org(org):
        assert notes_of(anders) == []
        assert notes_of(bea) == []
        bea.refresh_from_db()
        anders.refresh_from_db()
        assert (bea.last_name, anders.deleted_at) == ("", None)


@pytest.mark.django_db
def test_undo_keeps_a_note_someone_changed_after_the_import(
    tmp_path, org, admin, in_org, anders, api_client_for
):
    summary = run_import(tmp_path, org, ROW, "fill")
    with in_org(org):
        note = Activity.objects.get(contact=anders, kind=Kind.NOTE)
        update_activity(org, admin.user, note, data={"body": "Renewal agreed"})

    undone = api_client_for(admin).post(f"/api/v1/imports/{summary['import_id']}/undo")

    assert undone.json()["not_reverted"] == [{
        "row": 2, "record_id": anders.pk,
        "reason": "The note it added was changed after the import; it was kept."}]
    with in_org(org):
        assert notes_of(anders) == ["Renewal agreed"]
