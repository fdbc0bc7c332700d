"""Double opt-in: the worker mails a signed link, following it records the consent,
and changed or expired links get a page that says so."""

import re
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import signing
from django.test import Client
from django.utils import timezone

from accord.celery import app
from accord.customers.models import Consent, Contact
from accord.identity.models import Role
from accord.marketing import webforms
from accord.marketing.webform_models import WebFormSubmission
from accord.marketing.webform_tasks import send_confirmation

CONSENT_TEXT = "Send me product updates by e-mail."


@pytest.fixture
def form(org, make_member, in_org):
    marketer = make_member(org, Role.MARKETING)
    with in_org(org):
        return webforms.create_form(org, marketer.user, data={
            "name": "Product updates", "fields": [{"name": "email", "label": "E-mail"}],
            "consent_purpose": "product_updates", "consent_text": CONSENT_TEXT,
            "double_opt_in": True})


def _submit(form, **extra):
    return Client().post(f"/f/{form.public_key}", {"email": "kim@example.net", "consent": "1",
                                                  **extra}, REMOTE_ADDR="198.51.100.20")


def _wait_for(inbox, seconds=30):
    deadline = time.monotonic() + seconds
    while not inbox.messages and time.monotonic() < deadline:
        inbox.arrived.wait(0.2)


@pytest.mark.django_db(transaction=True)
def test_the_worker_mails_a_link_and_following_it_records_the_consent(
        org, form, in_org, smtp_inbox):
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        response = _submit(form)
        _wait_for(smtp_inbox)

    assert response.status_code == 200
    recipients, subject, body = smtp_inbox.only()
    assert recipients == ["kim@example.net"]
    assert subject == "Please confirm your consent for Northwind"
    assert 'You sent the form "Product updates" of Northwind' in body
    link = re.search(r"http://\S+/f/confirm/\S+", body).group(0)
    with in_org(org):
        contact = Contact.objects.get(email="kim@example.net")
        assert not Consent.objects.filter(contact=contact).exists()
        assert WebFormSubmission.objects.get().consent == "pending"

    path = link.split("://", 1)[1].split("/", 1)[1]
    page = Client().get(f"/{path}")
    confirmed = Client().post(f"/{path}", REMOTE_ADDR="198.51.100.21")
    again = Client().post(f"/{path}", REMOTE_ADDR="198.51.100.21")

    assert page.status_code == 200
    assert CONSENT_TEXT in page.content.decode()
    assert "Your consent is confirmed." in confirmed.content.decode()
    assert again.status_code == 200
    with in_org(org):
        consent = Consent.objects.get(contact=contact)
        submission = WebFormSubmission.objects.get()
        assert (consent.purpose, consent.status, consent.method) == (
            "product_updates", "granted", "web_form")
        assert consent.evidence.startswith(
            f"Confirmed link from web form “Product updates”, submission {submission.pk}, "
            "IP 198.51.100.21")
        assert (submission.consent, submission.confirmed_at is not None) == ("granted", True)


def test_sending_the_confirmation_twice_mails_once(org, form, in_org, smtp_inbox):
    _submit(form)
    with in_org(org):
        submission = WebFormSubmission.objects.get()

    sent = [send_confirmation(org.pk, submission.pk) for _ in range(2)]

    assert sent == [True, False]
    assert len(smtp_inbox.messages) == 1


def test_a_changed_link_is_refused_with_a_clear_page(org, form, in_org):
    _submit(form)
    with in_org(org):
        submission = WebFormSubmission.objects.get()
    token = webforms.confirmation_url(submission).rsplit("/", 1)[1]
    value, stamp, signature = token.split(":")
    tampered = f"{value[:-1]}{int(value[-1]) + 1}:{stamp}:{signature}"

    response = Client().post(f"/f/confirm/{tampered}")

    assert response.status_code == 404
    assert "This confirmation link is not valid." in response.content.decode()
    with in_org(org):
        assert not Consent.objects.exists()
        assert WebFormSubmission.objects.get().consent == "pending"


def test_an_expired_link_is_refused_with_a_clear_page(org, form, in_org, monkeypatch):
    _submit(form)
    with in_org(org):
        submission = WebFormSubmission.objects.get()
    old = timezone.now().timestamp() - webforms.CONFIRM_LIFETIME.total_seconds() - 60
    monkeypatch.setattr(signing.time, "time", lambda: old)
    token = webforms.confirmation_url(submission).rsplit("/", 1)[1]
    monkeypatch.undo()

    response = Client().post(f"/f/confirm/{token}")

    assert response.status_code == 410
    assert "This confirmation link has expired." in response.content.decode()
    with in_org(org):
        assert not Consent.objects.exists()
