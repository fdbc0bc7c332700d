"""The preference centre through its signed link: opting in and out per purpose,
unsubscribing from everything, and refusing links that were changed."""

import pytest
from django.test import Client

from accord.customers import services as customer_services
from accord.customers.models import Consent
from accord.marketing.preferences import preference_link
from accord.merge_fields import person_values, render


@pytest.fixture
def contact(org, admin, in_org):
    with in_org(org):
        contact = customer_services.create_contact(org, admin.user, data={
            "first_name": "Noor", "email": "noor@example.net"})
        for purpose in ("newsletter", "surveys"):
            customer_services.record_consent(
                org, admin.user, contact, channel="email", purpose=purpose,
                status="granted", method="web_form", evidence="sign-up form")
        return contact


def _path(contact) -> str:
    return "/" + preference_link(contact).split("://", 1)[1].split("/", 1)[1]


def test_the_link_in_an_email_is_absolute_and_opens_the_contacts_preferences(contact):
    link = preference_link(contact)

    response = Client().get(_path(contact))

    assert link.startswith("http://127.0.0.1:")
    body = response.content.decode()
    assert response.status_code == 200
    assert "What Northwind may send to noor@example.net, and how." in body
    assert 'name="consent" value="email:newsletter" checked' in body
    assert 'name="consent" value="email:surveys" checked' in body
    assert 'name="consent" value="email:marketing">' in body


def test_opting_out_of_one_purpose_is_recorded_with_evidence(org, contact, in_org):
    response = Client().post(_path(contact), {"action": "save",
                                              "consent": ["email:newsletter", "sms:marketing"]},
                             REMOTE_ADDR="192.0.2.44")

    assert response.status_code == 200
    assert "Your preferences are saved." in response.content.decode()
    with in_org(org):
        latest = [(c.channel, c.purpose, c.status, c.method, c.evidence)
                  for c in Consent.objects.filter(contact=contact, recorded_by=None)
                  .order_by("channel", "purpose")]
        assert latest == [
            ("email", "surveys", "withdrawn", "web_form", "Preference centre, IP 192.0.2.44"),
            ("sms", "marketing", "granted", "web_form", "Preference centre, IP 192.0.2.44"),
        ]
        current = {(c.channel, c.purpose): c.status
                   for c in customer_services.current_consents(contact)}
        assert current == {("email", "newsletter"): "granted",
                           ("email", "surveys"): "withdrawn",
                           ("sms", "marketing"): "granted"}


def test_unsubscribing_from_everything_withdraws_every_granted_consent(org, contact, in_org):
    response = Client().post(_path(contact), {"action": "unsubscribe",
                                              "consent": ["email:newsletter"]},
                             REMOTE_ADDR="192.0.2.45")

    assert response.status_code == 200
    body = response.content.decode()
    assert "You are unsubscribed from everything." in body
    assert " checked" not in body
    with in_org(org):
        withdrawn = Consent.objects.filter(contact=contact, status="withdrawn")
        assert sorted((c.purpose, c.method, c.evidence) for c in withdrawn) == [
            ("newsletter", "unsubscribe",
             "Preference centre: unsubscribed from all, IP 192.0.2.45"),
            ("surveys", "unsubscribe",
             "Preference centre: unsubscribed from all, IP 192.0.2.45"),
        ]


def test_a_tampered_link_is_refused_and_changes_nothing(org, contact, in_org):
    path = _path(contact)
    value, signature = path.rsplit(":", 1)
    other_contact = value[:-1] + str((int(value[-1]) + 1) % 10)

    answers = [Client().get(f"{other_contact}:{signature}"),
               Client().post(f"{other_contact}:{signature}", {"action": "unsubscribe"}),
               Client().get(f"{value}:{signature[:-2]}xx")]

    assert [response.status_code for response in answers] == [404, 404, 404]
    assert "This link is not valid." in answers[0].content.decode()
    with in_org(org):
        assert not Consent.objects.filter(status="withdrawn").exists()


def test_a_deleted_contacts_link_stops_working(org, admin, contact, in_org):
    with in_org(org):
        customer_services.delete_contact(org, admin.user, contact)

    response = Client().get(_path(contact))

    assert response.status_code == 404
    assert "This link is not valid any more." in response.content.decode()


def test_an_email_text_links_the_preference_centre_with_a_merge_field(org, contact, in_org):
    with in_org(org):
        text = render("Change what we send: {{ contact.preferences_url }}",
                      person_values(contact))

    link = text.split(": ", 1)[1]
    response = Client().get("/" + link.split("://", 1)[1].split("/", 1)[1])

    assert link == preference_link(contact)
    assert response.status_code == 200
    assert "What Northwind may send to noor@example.net, and how." in response.content.decode()
