"""Export jobs of custom records write a link to a row the member may not see by its id
alone, in every format, as the record list's own CSV does."""

import csv
import io
import json

import openpyxl
import pytest

from accord.customers import services as customers
from accord.identity import visibility
from accord.identity.models import Role
from accord.integrations.tasks import run_export
from accord.records import services as records
from accord.records.models import RecordType

API = "/api/v1/exports"
MATTER = {
    "key": "matter", "singular": "Matter", "plural": "Matters", "title_field": "title",
    "confidential": True,
    "fields": [{"key": "title", "label": "Title", "type": "text", "required": True}],
}
TIME_ENTRY = {
    "key": "time_entry", "singular": "Time entry", "plural": "Time entries",
    "title_field": "work",
    "fields": [{"key": "work", "label": "Work", "type": "text", "required": True},
               {"key": "matter", "label": "Matter", "type": "record", "target": "matter"},
               {"key": "client", "label": "Client", "type": "contact"}],
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def entry(org, admin, make_member, in_org):
    """A time entry (no owner) on the admin's confidential matter for a contact of a
    seller's; managers see every record but only their team's contacts."""
    seller = make_member(org, Role.SALES)
    with in_org(org):
        records.save_type(org, admin.user, MATTER)
        records.save_type(org, admin.user, TIME_ENTRY)
        matter = records.create_record(org, admin.user, RecordType.objects.get(key="matter"),
                                       data={"values": {"title": "Quasar SECRETMATTER"}})
        client = customers.create_contact(org, seller.user, data={
            "first_name": "Hidden", "last_name": "Client", "email": "hidden@client.example"})
        records.create_record(org, admin.user, RecordType.objects.get(key="time_entry"),
                              data={"values": {"work": "Review", "matter": matter.pk,
                                               "client": client.pk}, "owner": None})
        visibility.update_visibility(org, admin.user, roles={Role.MANAGER: {
            "contacts": "team"}})
    return matter, client


def exported(client, fmt: str) -> bytes:
    started = client.post(API, {"entity": "record:time_entry", "format": fmt},
                          content_type="application/json")
    assert started.status_code == 202, started.json()
    run_export(started.json()["id"])
    job = client.get(f"{API}/{started.json()['id']}").json()
    assert job["status"] == "done", job
    return b"".join(client.get(job["download_url"]).streaming_content)


def test_an_export_job_writes_a_hidden_link_by_its_id_alone_in_every_format(
        org, admin, make_member, api_client_for, entry):
    matter, contact = entry
    manager = api_client_for(make_member(org, Role.MANAGER))

    document = json.loads(exported(manager, "jsonl"))
    rows = list(csv.reader(io.StringIO(exported(manager, "csv").decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(exported(manager, "xlsx"))).active
    admins = json.loads(exported(api_client_for(admin), "jsonl"))

    assert manager.get(f"/api/v1/records/matter/{matter.pk}").status_code == 404
    assert document["values"]["matter"] == {"id": matter.pk, "name": None}
    assert document["values"]["client"] == {"id": contact.pk, "name": None}
    assert dict(zip(rows[0], rows[1], strict=True))["Matter"] == f"#{matter.pk}"
    assert dict(zip(rows[0], rows[1], strict=True))["Client"] == f"#{contact.pk}"
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert dict(zip(cells[0], cells[1], strict=True))["Matter"] == f"#{matter.pk}"
    assert admins["values"]["matter"] == {"id": matter.pk, "name": "Quasar SECRETMATTER"}
    assert admins["values"]["client"] == {"id": contact.pk, "name": "hidden@client.example"}
