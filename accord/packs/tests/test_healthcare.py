"""The healthcare pack walked through as a practice would: a patient who agreed to recalls
gets a recall and the reminder task, marketing reaches only patients with a granted
consent, clinical fields stay hidden from reception and marketing everywhere, and every
change to a patient is in the audit log."""

import json

import pytest
from django.test import Client
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.automation import tasks as automation_tasks
from accord.customers import services as customers
from accord.customers.models import Contact, CustomField
from accord.identity.models import Role
from accord.marketing.models import EmailTemplate
from accord.marketing.preferences import preference_link
from accord.packs.tests.helpers import day, post, result
from accord.privacy.models import RetentionRule
from accord.records.models import Record, RecordType
from accord.reports.models import SavedReport

pytestmark = pytest.mark.django_db

PACK = "/api/v1/packs/healthcare"
ALLERGY = "Latex 4c1e"
NOTES = "Fissure sealant 9b2d"


def patient(api, first: str, last: str, *, consents=(), **fields) -> dict:
    made = post(api, "/api/v1/contacts", {
        "first_name": first, "last_name": last, "lifecycle_stage": "customer",
        "email": f"{first.lower()}.{last.lower()}@example.org", "custom_fields": fields})
    assert made.status_code == 201, made.json()
    for purpose, status in consents:
        answer = post(api, f"/api/v1/contacts/{made.json()['id']}/consents", {
            "channel": "email", "purpose": purpose, "status": status, "method": "written"})
        assert answer.status_code == 201, answer.json()
    return made.json()


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def download(client, url: str) -> str:
    return b"".join(client.get(url).streaming_content).decode()


def test_a_patient_who_agreed_to_recalls_gets_the_recall_reminder(
        org, admin, api_client_for, eager):
    api = api_client_for(admin)

    applied = post(api, f"{PACK}/apply", {"dry_run": False})

    assert applied.status_code == 200, applied.json()
    assert applied.json()["counts"]["added"] == 36
    assert result(api, org, "Treatment plans by stage") == {
        ("Assessment",): "300.00", ("Plan proposed",): "2400.00",
        ("Plan accepted",): "850.00"}
    assert result(api, org, "Patients by recall interval") == {
        ("6 months",): "2", ("12 months",): "2"}
    segments = api.get("/api/v1/segments").json()["items"]
    recalls = next(item for item in segments if item["name"] == "Patients who agreed to recalls")
    members = api.get(f"/api/v1/segments/{recalls['id']}/members").json()["items"]
    assert sorted(item["email"] for item in members) == [
        "ana.silva@example.org", "ben.carter@example.org"]

    # Two patients are due for a recall in three weeks; only Eva agreed to recalls.
    eva = patient(api, "Eva", "Lund", consents=[("recalls", "granted")],
                  next_recall=day(21), recall_interval="6 months")
    finn = patient(api, "Finn", "Berg", next_recall=day(21), recall_interval="12 months")
    recall = post(api, "/api/v1/records/recall", {"values": {
        "title": "Eva Lund, six-month check-up", "patient": eva["id"], "due_on": day(21),
        "reason": "Routine check-up", "status": "Due"}})
    assert recall.status_code == 201, recall.json()

    started = automation_tasks.check_dated_rules()

    assert started == 2
    tasks = {person["id"]: [task["subject"] for task in api.get("/api/v1/activities", {
        "contact_id": person["id"], "kind": "task"}).json()["items"]] for person in (eva, finn)}
    assert tasks == {eva["id"]: ["Invite Eva Lund to book their recall"], finn["id"]: []}
    listed = api.get("/api/v1/records/recall", {"cf.patient": eva["id"]}).json()["items"]
    assert [item["title"] for item in listed] == ["Eva Lund, six-month check-up"]


def test_marketing_reaches_only_patients_whose_marketing_consent_is_granted(
        org, admin, make_member, api_client_for):
    api = api_client_for(admin)
    post(api, f"{PACK}/apply", {"dry_run": False})
    patient(api, "Eva", "Lund", consents=[("recalls", "granted"), ("appointments", "granted")])
    patient(api, "Gil", "Moss", consents=[("marketing", "granted"), ("marketing", "withdrawn")])
    patients = post(api, "/api/v1/segments", {
        "name": "All patients", "conditions": {"all": [
            {"field": "lifecycle_stage", "op": "in", "value": ["customer"]}]}}).json()
    with scope(organization=org):
        template = EmailTemplate.objects.get(name="Recall invitation")
    marketer = api_client_for(make_member(org, Role.MARKETING))
    campaign = post(marketer, "/api/v1/campaigns", {
        "name": "Whitening offer", "template_id": template.pk, "segment_id": patients["id"],
        "from_email": "practice@example.org"})
    assert campaign.status_code == 201, campaign.json()

    started = marketer.post(f"/api/v1/campaigns/{campaign.json()['id']}/start")
    report = marketer.get(f"/api/v1/campaigns/{campaign.json()['id']}/report").json()

    assert started.status_code == 200, started.json()
    # Ana agreed to marketing; Ben and Eva to recalls, Chloe to appointment reminders
    # and David to nothing: consent for care is not consent for marketing. Gil withdrew.
    assert report["recipients"] == 6
    assert report["excluded"] == {"no_email": 0, "do_not_contact": 0, "no_consent": 4,
                                  "unsubscribed": 1, "suppressed": 0, "bounced": 0}
    assert report["statuses"]["pending"] == 1


def test_the_preference_centre_offers_care_purposes_only_where_they_are_used(
        org, other_org, admin, api_client_for):
    post(api_client_for(admin), f"{PACK}/apply", {"dry_run": False})
    with scope(organization=org):
        ana = Contact.objects.get(email="ana.silva@example.org")
    with scope(organization=other_org):
        shopper = customers.create_contact(other_org, None, data={
            "first_name": "Noor", "email": "noor@example.net"})

    patient_page = Client().get(path_of(preference_link(ana))).content.decode()
    shop_page = Client().get(path_of(preference_link(shopper))).content.decode()

    assert 'name="consent" value="email:recalls" checked' in patient_page
    assert 'name="consent" value="email:appointments" checked' in patient_page
    assert "Recalls" not in shop_page
    assert "Appointment reminders" not in shop_page
    assert 'name="consent" value="email:newsletter"' in shop_page


def test_clinical_fields_stay_hidden_from_reception_and_marketing_and_changes_are_audited(
        org, admin, make_member, api_client_for, client_for):
    api = api_client_for(admin)
    post(api, f"{PACK}/apply", {"dry_run": False})
    eva = patient(api, "Eva", "Lund", allergies=ALLERGY, patient_number="P-20001")
    visit = post(api, "/api/v1/records/appointment", {"values": {
        "title": "Eva Lund, check-up", "patient": eva["id"], "starts_at": f"{day(-1)}T09:00:00Z",
        "appointment_type": "Check-up", "status": "Attended", "clinical_notes": NOTES}})
    assert visit.status_code == 201, visit.json()

    changed = api.patch(f"/api/v1/contacts/{eva['id']}", {
        "version": eva["version"], "custom_fields": {"medications": "Ibuprofen 7e3a"}},
        content_type="application/json")

    assert changed.status_code == 200, changed.json()
    with scope(organization=org):
        entries = list(AuditEntry.objects.filter(entity="contact", object_id=eva["id"])
                       .order_by("pk").values_list("action", "changes"))
    assert [action for action, _changes in entries] == ["create", "update"]
    assert entries[1][1]["custom_fields"][1]["medications"] == "Ibuprofen 7e3a"
    assert "Ibuprofen 7e3a" in client_for(admin).get(
        "/settings/audit-log/?entity=contact").content.decode()

    for role in (Role.SUPPORT, Role.MARKETING):
        member = make_member(org, role)
        read = api_client_for(member).get(f"/api/v1/contacts/{eva['id']}").json()
        assert read["custom_fields"] == {"patient_number": "P-20001"}, role
        history = api_client_for(member).get(f"/api/v1/contacts/{eva['id']}/history").json()
        assert "Ibuprofen" not in json.dumps(history), role
        browser = client_for(member)
        listing = browser.get("/contacts/?columns=name,cf.allergies,cf.medications")
        assert "Lund" in listing.content.decode(), role
        assert "Allergies" not in listing.content.decode(), role
        if role == Role.SUPPORT:
            # Reception exports nothing at all.
            assert browser.get("/contacts/export.csv").status_code == 403
        else:
            exported = download(browser, "/contacts/export.csv?columns=name,cf.allergies")
            assert "Lund" in exported
            assert ALLERGY not in exported
            records_csv = download(browser, "/records/appointment/export")
            assert "Eva Lund, check-up" in records_csv
            assert NOTES not in records_csv
        found = browser.get("/search", {"q": "Latex"}).content.decode()
        assert "Lund" not in found, role
        assert "Lund" in browser.get("/search", {"q": "Lund"}).content.decode(), role
        visits = api_client_for(member).get("/api/v1/records/appointment").json()["items"]
        assert [sorted(item["values"]) for item in visits if item["id"] == visit.json()["id"]
                ] == [["appointment_type", "patient", "starts_at", "status", "title"]], role
        assert "Eva Lund" not in browser.get("/search", {"q": "Fissure"}).content.decode()

    manager = api_client_for(make_member(org, Role.MANAGER))
    seen = manager.get(f"/api/v1/contacts/{eva['id']}").json()["custom_fields"]
    assert (seen["allergies"], seen["medications"]) == (ALLERGY, "Ibuprofen 7e3a")


def test_the_pack_removes_cleanly_from_an_empty_organisation(org, admin, api_client_for):
    api = api_client_for(admin)
    post(api, f"{PACK}/apply", {"dry_run": False})

    removed = post(api, f"{PACK}/remove", {"delete_data": False}).json()

    assert removed["counts"]["kept"] == 0
    with scope(organization=org):
        assert not RecordType.objects.exists()
        assert not Record.with_deleted.exists()
        assert not Contact.objects.exists()
        assert not CustomField.objects.exists()
        assert not RetentionRule.objects.exists()
        assert not SavedReport.objects.exists()


def test_the_pack_applies_to_the_demo_and_removes_cleanly(on_demo):
    page, recalls = on_demo("healthcare", "Practice", "/records/recall/")

    assert "Treatment plans by stage" in page
    assert "2,400.00" in page or "2400.00" in page
    assert "Ana Silva, six-month check-up" in recalls
