"""Data-subject requests through the API, the web pages and a real worker."""

import io
import json
import time
import zipfile

import pytest
from celery.contrib.testing.worker import start_worker
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models
from django_scopes import scope, scopes_disabled

from accord.audit.models import AuditEntry
from accord.celery import app
from accord.commerce.models import Order
from accord.core.models import SearchEntry
from accord.customers import services as customer_services
from accord.customers.models import Contact
from accord.identity.models import Membership, Role
from accord.marketing.models import SuppressedAddress
from accord.privacy.models import DataRequest
from accord.privacy.tasks import delete_expired_archives, run_request
from accord.service.models import TicketAttachment, TicketMessage

from .conftest import EMAIL, NAME, OTHER_EMAIL, PHONE

API = "/api/v1/privacy/requests"


def make_request(client, contact, kind):
    return client.post(API, {"contact": contact.pk, "kind": kind},
                       content_type="application/json")


def archive_of(client, request_id) -> zipfile.ZipFile:
    answer = client.get(f"{API}/{request_id}/archive")
    assert answer.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(answer.streaming_content)))


def texts_mentioning(org, needles: list[str]) -> list[str]:
    """Every row of the organisation whose text or JSON holds one of `needles`."""
    found = []
    with scopes_disabled():
        for model in apps.get_models():
            if not model.__module__.startswith("accord.") or model is SuppressedAddress:
                continue
            fields = [field for field in model._meta.concrete_fields
                      if isinstance(field, models.CharField | models.TextField
                                    | models.JSONField)]
            has_org = any(field.name == "organization" for field in model._meta.fields)
            if not fields or not has_org:
                continue
            for row in model._base_manager.filter(organization=org):
                for field in fields:
                    text = json.dumps(getattr(row, field.attname), ensure_ascii=False).lower()
                    for needle in needles:
                        if needle.lower() in text:
                            found.append(f"{model.__name__}.{field.name}: {needle}")
    return found


# Export


def test_export_archive_holds_the_contact_and_nothing_of_anyone_else(
        org, admin, api_client_for, person, other_org, make_member):
    contact, other = person
    with scope(organization=other_org):
        outsider = customer_services.create_contact(other_org, None, data={
            "first_name": "Olga", "email": "olga@other-org.example"})
    client = api_client_for(admin)

    answer = make_request(client, contact, "export")
    request_id = answer.json()["id"]
    early = client.get(f"{API}/{request_id}/archive")
    run_request(request_id)
    done = client.get(f"{API}/{request_id}").json()
    archive = archive_of(client, request_id)

    assert answer.status_code == 202
    assert early.status_code == 409
    assert done["status"] == "done"
    assert done["archive_url"] == f"/api/v1/privacy/requests/{request_id}/archive"
    assert {"README.txt", "contact.json", "consents.json", "activities.json", "tickets.json",
            "orders.json", "campaigns.json", "form_submissions.json", "behaviour_events.json",
            "audit.json", "deals.json", "leads.json"} <= set(archive.namelist())
    everything = " ".join(archive.read(name).decode() for name in archive.namelist())
    exported = json.loads(archive.read("contact.json"))
    assert exported["contacts"][0]["email"] == EMAIL
    assert [tag["tag_name"] for tag in exported["tags"]] == ["vip"]
    assert json.loads(archive.read("orders.json"))["orders"][0]["total"] == "49.0000"
    assert "My kettle broke." in everything
    assert json.loads(archive.read("consents.json"))["consents"][0]["status"] == "granted"
    assert OTHER_EMAIL not in everything
    assert "Otto" not in everything
    assert "olga@other-org.example" not in everything
    assert f'"id": {outsider.pk},' not in archive.read("contact.json").decode()
    assert "Reference: " + done["reference"] in archive.read("README.txt").decode()


def test_archive_download_is_audited_and_expires(org, admin, api_client_for, person,
                                                 in_org):
    contact, _ = person
    client = api_client_for(admin)
    request_id = make_request(client, contact, "export").json()["id"]
    run_request(request_id)

    archive_of(client, request_id)
    with in_org(org):
        DataRequest.objects.filter(pk=request_id).update(expires_at="2000-01-01T00:00Z")
    deleted = delete_expired_archives()
    answer = client.get(f"{API}/{request_id}/archive")

    with in_org(org):
        downloads = AuditEntry.objects.filter(entity="datarequest", object_id=request_id,
                                              changes__has_key="downloaded").count()
    assert downloads == 1
    assert deleted == 1
    assert answer.status_code == 409
    assert answer.json()["detail"] == "This archive was deleted after 7 days; make a new " \
                                      "request."


# Erase and anonymise


def test_erase_leaves_no_personal_data_of_the_contact_anywhere(org, admin, api_client_for,
                                                               person, in_org):
    contact, other = person
    client = api_client_for(admin)
    with in_org(org):
        assert texts_mentioning(org, [EMAIL])  # the test can see the data before

    request_id = make_request(client, contact, "erase").json()["id"]
    status = run_request(request_id)

    assert status == "done"
    assert texts_mentioning(org, [EMAIL, PHONE, " ".join(NAME), NAME[1]]) == []
    with in_org(org):
        assert not Contact.with_deleted.filter(pk=contact.pk).exists()
        assert not SearchEntry.objects.filter(text__icontains="quixotic").exists()
        assert SuppressedAddress.objects.filter(address=EMAIL).exists()
        assert Contact.objects.get(pk=other.pk).email == OTHER_EMAIL
        assert not Order.objects.filter(number="A-1").exists()
    assert client.get("/api/v1/contacts", {"q": "quixotic"}).json()["items"] == []


def test_anonymise_keeps_the_order_amounts_without_the_person(org, admin, api_client_for,
                                                              person, in_org):
    contact, _ = person
    client = api_client_for(admin)

    request_id = make_request(client, contact, "anonymise").json()["id"]
    run_request(request_id)

    with in_org(org):
        order = Order.objects.get(number="A-1")
        kept = Contact.objects.get(pk=contact.pk)
    assert str(order.total) == "49.0000"
    assert order.contact_id == contact.pk
    assert (kept.first_name, kept.last_name, kept.email, kept.phone, kept.city) == (
        "", "Anonymised", "", "", "")
    assert texts_mentioning(org, [EMAIL, PHONE, " ".join(NAME), NAME[1]]) == []


def test_the_request_record_holds_no_name_or_email(org, admin, api_client_for, person,
                                                   in_org):
    contact, _ = person
    client = api_client_for(admin)

    request_id = make_request(client, contact, "erase").json()["id"]
    run_request(request_id)
    body = client.get(f"{API}/{request_id}").content.decode()

    with in_org(org):
        row = DataRequest.objects.get(pk=request_id)
        entries = list(AuditEntry.objects.filter(entity="datarequest").values())
    stored = json.dumps({field.attname: str(getattr(row, field.attname))
                         for field in DataRequest._meta.concrete_fields}, ensure_ascii=False)
    for text in (stored, body, json.dumps(entries, default=str)):
        assert [word for word in (EMAIL, NAME[1], PHONE) if word in text] == []
    assert row.reference.startswith("DSR-")
    assert len(row.subject_hash) == 64


def test_a_bad_request_names_the_field(admin, api_client_for, person):
    client = api_client_for(admin)

    wrong_kind = client.post(API, {"contact": person[0].pk, "kind": "shred"},
                             content_type="application/json")
    no_contact = client.post(API, {"contact": 987654, "kind": "export"},
                             content_type="application/json")

    assert wrong_kind.status_code == 422
    assert wrong_kind.json()["errors"][0]["field"] == "kind"
    assert no_contact.status_code == 422
    assert no_contact.json()["errors"] == [
        {"field": "contact", "code": "invalid", "message": "No contact with this id."}]


# Permissions and tenancy


def test_a_sales_member_is_refused(org, member, api_client_for, client_for, person):
    contact, _ = person

    api = make_request(api_client_for(member), contact, "export")
    page = client_for(member).get(f"/contacts/{contact.pk}/data-request")
    listing = client_for(member).get("/settings/privacy/requests/")
    contact_page = client_for(member).get(contact.get_absolute_url())

    assert api.status_code == 403
    assert page.status_code == 403
    assert listing.status_code == 403
    assert "Data request" not in contact_page.content.decode()


def test_a_request_of_another_organisation_answers_404(org, admin, other_org, api_client_for,
                                                       client_for, person):
    contact, _ = person
    request_id = make_request(api_client_for(admin), contact, "export").json()["id"]
    run_request(request_id)
    with scopes_disabled():
        outsider = Membership.unscoped.get(organization=other_org, role=Role.ADMIN)

    api = api_client_for(outsider)
    web = client_for(outsider)

    assert api.get(f"{API}/{request_id}").status_code == 404
    assert api.get(f"{API}/{request_id}/archive").status_code == 404
    assert make_request(api, contact, "erase").status_code == 422
    assert web.get(f"/settings/privacy/requests/{request_id}/").status_code == 404
    assert web.get(f"/contacts/{contact.pk}/data-request").status_code == 404


# Web pages


def test_erasing_from_the_contact_page_asks_for_confirmation(org, admin, client_for, person,
                                                             in_org):
    contact, _ = person
    client = client_for(admin)

    page = client.get(contact.get_absolute_url())
    refused = client.post(f"/contacts/{contact.pk}/data-request", {"kind": "erase"})
    accepted = client.post(f"/contacts/{contact.pk}/data-request",
                           {"kind": "erase", "confirm": "ERASE"})
    with in_org(org):
        made = DataRequest.objects.get()
    listing = client.get("/settings/privacy/requests/")

    assert f"/contacts/{contact.pk}/data-request" in page.content.decode()
    assert refused.status_code == 422
    assert "Type ERASE to confirm; this cannot be undone." in refused.content.decode()
    assert accepted.status_code == 302
    assert accepted["Location"] == f"/settings/privacy/requests/{made.pk}/"
    assert made.reference in listing.content.decode()
    assert made.kind == "erase"


# A real worker


@pytest.mark.worker
def test_worker_writes_the_archive_and_emails_the_requester(
        transactional_db, org, admin, api_client_for, client_for, person, smtp_inbox):
    contact, _ = person
    client = api_client_for(admin)

    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        request_id = make_request(client, contact, "export").json()["id"]
        deadline = time.monotonic() + 60
        while not smtp_inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)

    recipients, subject, body = smtp_inbox.only()
    made = client.get(f"{API}/{request_id}").json()
    assert recipients == [admin.user.email]
    assert subject == f"Data request {made['reference']} is done (Export)"
    link = f"http://127.0.0.1:8000/settings/privacy/requests/{request_id}/archive"
    assert link in body
    assert EMAIL not in body
    download = client_for(admin).get(link.removeprefix("http://127.0.0.1:8000"))
    assert download.status_code == 200
    assert made["status"] == "done"


# Files


def attach(org, contact, content: bytes) -> TicketAttachment:
    with scope(organization=org):
        message = TicketMessage.objects.filter(ticket__contact=contact).first()
        attachment = TicketAttachment(organization=org, message=message, filename="scan.pdf",
                                      content_type="application/pdf", size=len(content))
        attachment.file.save("scan.pdf", ContentFile(content), save=True)
    return attachment


def test_the_archive_holds_the_ticket_attachments(org, admin, api_client_for, person):
    contact, _ = person
    attachment = attach(org, contact, b"%PDF-1.4 passport scan")
    client = api_client_for(admin)
    request_id = make_request(client, contact, "export").json()["id"]

    run_request(request_id)
    archive = archive_of(client, request_id)

    name = f"files/attachment-{attachment.pk}-scan.pdf"
    assert archive.read(name) == b"%PDF-1.4 passport scan"
    assert client.get(f"{API}/{request_id}").json()["counts"]["files"] == 1


def test_erasure_deletes_the_attachment_files_from_storage(
        org, admin, api_client_for, person, django_capture_on_commit_callbacks):
    contact, _ = person
    attachment = attach(org, contact, b"private")
    stored = attachment.file.name
    client = api_client_for(admin)
    request_id = make_request(client, contact, "erase").json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        run_request(request_id)

    assert not attachment.file.storage.exists(stored)


def test_requests_are_listed_and_filtered_by_kind_and_status(admin, api_client_for, person):
    contact, other = person
    client = api_client_for(admin)
    exported = make_request(client, contact, "export").json()["id"]
    erased = make_request(client, other, "erase").json()["id"]
    run_request(erased)

    everything = client.get(API).json()
    erasures = client.get(API, {"kind": "erase"}).json()
    queued = client.get(API, {"status": "queued"}).json()
    about = client.get(API, {"contact": contact.pk}).json()

    assert [item["id"] for item in everything["items"]] == [erased, exported]
    assert [item["id"] for item in erasures["items"]] == [erased]
    assert [item["id"] for item in queued["items"]] == [exported]
    assert [item["id"] for item in about["items"]] == [exported]
    assert everything["next"] is None
