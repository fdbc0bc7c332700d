"""When consent was given: times ahead of the clock or before 1990 are refused, and a
grant dated in the future never outranks a later withdrawal."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from accord.customers import services as customer_services
from accord.customers.models import Consent
from accord.marketing import campaigns
from accord.marketing.preferences import preference_link

MARKETING_EMAIL = {"kind": "consent", "channel": "email", "purpose": "marketing",
                   "op": "granted"}


@pytest.fixture
def noor(org, admin, in_org):
    with in_org(org):
        return customer_services.create_contact(org, admin.user, data={
            "first_name": "Noor", "email": "noor@example.net"})


def _consent(client, contact, recorded_at):
    return client.post(f"/api/v1/contacts/{contact.pk}/consents", {
        "channel": "email", "purpose": "marketing", "status": "granted",
        "recorded_at": recorded_at}, content_type="application/json")


@pytest.mark.parametrize(("recorded_at", "message"), [
    ("2099-01-01T00:00:00Z", "Consent cannot be recorded in the future."),
    ("1800-01-01T00:00:00Z", "Consent cannot be recorded before 1990; check the date."),
])
def test_consent_dated_in_the_future_or_before_1990_answers_422_naming_recorded_at(
        org, admin, noor, in_org, api_client_for, recorded_at, message):
    response = _consent(api_client_for(admin), noor, recorded_at)

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "recorded_at", "code": "invalid", "message": message}]
    with in_org(org):
        assert not Consent.objects.filter(contact=noor).exists()


def test_consent_a_few_minutes_ahead_is_a_fast_clock_and_stored_as_now(
        org, admin, noor, in_org, api_client_for):
    ahead = timezone.now() + dt.timedelta(minutes=3)

    response = _consent(api_client_for(admin), noor, ahead.isoformat())

    assert response.status_code == 201
    with in_org(org):
        assert Consent.objects.get(contact=noor).recorded_at < ahead


def test_contact_page_refuses_consent_before_1990_next_to_the_field(admin, noor, client_for):
    response = client_for(admin).post(f"/contacts/{noor.pk}/consent/", {
        "channel": "email", "purpose": "marketing", "status": "granted",
        "method": "verbal", "recorded_at": "1800-01-01T09:00"})

    assert response.status_code == 422
    assert "Consent cannot be recorded before 1990; check the date." in \
        response.content.decode()


def test_a_grant_stored_with_a_future_date_does_not_outrank_unsubscribing(
        org, admin, noor, in_org, api_client_for):
    with in_org(org):
        customer_services.record_consent(org, admin.user, noor, channel="email",
                                         purpose="marketing", status="granted",
                                         method="web_form")
        # Rows like this were accepted before times ahead of the clock were refused.
        Consent.objects.create(organization=org, contact=noor, channel="email",
                               purpose="marketing", status="granted", method="api",
                               recorded_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    path = "/" + preference_link(noor).split("://", 1)[1].split("/", 1)[1]
    api = api_client_for(admin)

    unsubscribed = Client().post(path, {"action": "unsubscribe"})
    current = api.get(f"/api/v1/contacts/{noor.pk}/consents")
    segment = api.post("/api/v1/segments/preview", {"conditions": {"all": [MARKETING_EMAIL]}},
                       content_type="application/json")
    centre = Client().get(path)

    assert "You are unsubscribed from everything." in unsubscribed.content.decode()
    assert [(c["purpose"], c["status"], c["method"]) for c in current.json()["items"]] == [
        ("marketing", "withdrawn", "unsubscribe")]
    assert segment.json() == {"count": 0,
                              "summary": "Consent to E-mail for Marketing is granted"}
    assert " checked" not in centre.content.decode()
    with in_org(org):
        assert campaigns.marketing_consent([noor.pk]) == {noor.pk: "withdrawn"}
