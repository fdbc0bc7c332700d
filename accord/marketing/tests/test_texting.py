"""Text messages (SMS) to contacts: a gateway on loopback, consent, the API and the
timeline."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from accord.activities.models import Activity
from accord.customers import services as customers
from accord.identity.models import Role
from accord.integrations import outbound
from accord.marketing.models import TextMessage


def texts_url(contact) -> str:
    return f"/api/v1/contacts/{contact.pk}/texts"


def send(api, contact, **body):
    return api.post(texts_url(contact), body, content_type="application/json")


@pytest.fixture
def ada(org, admin, in_org):
    with in_org(org):
        return customers.create_contact(org, admin.user, data={
            "first_name": "Ada", "phones": [{"number": "+44 20 7946 0958", "kind": "work"},
                                            {"number": "+49 151 2345 6789", "kind": "mobile"}]})


class Gateway:
    """An SMS gateway on 127.0.0.1 that keeps what it gets and answers as told."""

    def __init__(self, status=200):
        received = self.received = []
        self.status = status
        self.reply = None  # what to answer instead of {"id": ...}
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                answer = {"id": f"gw-{len(received)}"} if gateway.reply is None else gateway.reply
                body = json.dumps(answer).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    gateway = Gateway()
    settings.SMS_URL = gateway.url
    settings.SMS_FROM = "Northwind"
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    yield gateway
    gateway.stop()


def test_a_text_goes_to_the_mobile_number_through_the_gateway_and_onto_the_timeline(
        org, admin, ada, in_org, api_client_for, gateway):
    api = api_client_for(admin)

    sent = send(api, ada, body="Your order is ready for pick-up.")
    listed = api.get(texts_url(ada)).json()

    assert sent.status_code == 201, sent.json()
    assert (sent.json()["to"], sent.json()["status"], sent.json()["provider_id"]) == (
        "+4915123456789", "sent", "gw-1")
    assert gateway.received == [{"to": "+4915123456789", "from": "Northwind",
                                 "body": "Your order is ready for pick-up."}]
    assert [item["id"] for item in listed["items"]] == [sent.json()["id"]]
    with in_org(org):
        entry = Activity.objects.get(contact=ada, event="sms.sent")
    assert entry.data == {"to": "+4915123456789", "body": "Your order is ready for pick-up."}


def test_a_refusing_gateway_leaves_the_text_failed_with_the_reason(
        org, admin, ada, in_org, api_client_for, gateway):
    gateway.status = 503

    answer = send(api_client_for(admin), ada, body="Hello")

    assert answer.status_code == 422
    assert answer.json()["detail"] == "The SMS gateway answered 503."
    with in_org(org):
        message = TextMessage.objects.get()
    assert (message.status, message.error) == ("failed", "The SMS gateway answered 503.")


def test_the_gateway_may_not_be_a_private_address_unless_allowed(
        org, admin, ada, in_org, api_client_for, gateway, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []

    answer = send(api_client_for(admin), ada, body="Hello")

    assert answer.status_code == 422
    assert gateway.received == []


def test_marketing_texts_need_sms_consent_and_the_campaigns_permission(
        org, admin, ada, in_org, api_client_for, make_member):
    api = api_client_for(admin)
    sales = api_client_for(make_member(org, Role.SALES, email="sam@example.com"))

    without_consent = send(api, ada, body="Spring sale!", marketing=True)
    with in_org(org):
        customers.record_consent(org, admin.user, ada, channel="sms", purpose="marketing",
                                 status="granted", method="written")
    by_sales = send(sales, ada, body="Spring sale!", marketing=True)
    with_consent = send(api, ada, body="Spring sale!", marketing=True)
    service_by_sales = send(sales, ada, body="See you at 10:00.")

    assert without_consent.status_code == 422
    assert without_consent.json()["detail"] == "The contact has not agreed to marketing by SMS."
    assert by_sales.status_code == 403
    assert with_consent.status_code == 201
    assert service_by_sales.status_code == 201


def test_no_number_do_not_contact_and_an_empty_body_are_refused(
        org, admin, in_org, api_client_for):
    api = api_client_for(admin)
    with in_org(org):
        nobody = customers.create_contact(org, admin.user, data={"first_name": "Nobody"})
        quiet = customers.create_contact(org, admin.user, data={
            "first_name": "Quiet", "do_not_contact": True,
            "phones": [{"number": "+49 151 2345 6789"}]})

    no_number = send(api, nobody, body="Hi")
    marked = send(api, quiet, body="Hi")
    empty = send(api, quiet, body="   ")

    assert no_number.json()["detail"] == ("The contact has no phone number in international "
                                          "form.")
    assert marked.json()["detail"] == "The contact is marked “do not contact”."
    assert [error["field"] for error in empty.json()["errors"]] == ["body"]
    with in_org(org):
        assert not TextMessage.objects.exists()


def test_texts_of_another_organisation_are_not_found(org, other_org, admin, ada,
                                                     make_member, api_client_for):
    outsider = api_client_for(make_member(other_org, Role.ADMIN, email="olga@example.com"))

    assert outsider.get(texts_url(ada)).status_code == 404
    assert send(outsider, ada, body="Hi").status_code == 404


class SlowGateway(Gateway):
    """A gateway that keeps the message and then does not answer in time."""

    def __init__(self):
        super().__init__()
        handler = self.server.RequestHandlerClass
        received = self.received

        def do_post(request):
            received.append(json.loads(request.rfile.read(int(request.headers["Content-Length"]))))
            time.sleep(1.5)

        handler.do_POST = do_post


def test_a_gateway_that_does_not_answer_leaves_the_text_unconfirmed_and_never_resent(
        org, admin, ada, in_org, api_client_for, settings, monkeypatch):
    slow = SlowGateway()
    settings.SMS_URL = slow.url
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    monkeypatch.setattr(outbound, "READ_TIMEOUT", 0.5)
    try:
        answer = send(api_client_for(admin), ada, body="Your table is ready.")
    finally:
        slow.stop()

    assert answer.status_code == 201
    assert answer.json()["status"] == "sending"
    assert "may have been sent, so it is not sent again" in answer.json()["error"]
    assert len(slow.received) == 1
    with in_org(org):
        assert Activity.objects.filter(contact=ada, event="sms.unconfirmed").count() == 1


def test_a_gateway_yes_without_an_id_counts_as_sent(org, admin, ada, api_client_for, gateway):
    gateway.reply = {"ok": True}

    answer = send(api_client_for(admin), ada, body="Hello")

    assert (answer.status_code, answer.json()["status"], answer.json()["provider_id"]) == (
        201, "sent", "")


def test_a_nul_character_is_named_as_such(org, admin, ada, api_client_for):
    answer = send(api_client_for(admin), ada, body="\x00nul")

    assert answer.json()["errors"][0]["message"] == (
        "The message holds a NUL character; remove it.")


def test_a_marketing_text_by_token_needs_the_campaigns_write_scope(org, admin, ada, in_org):
    from django.test import Client

    from accord.identity import services as identity

    with in_org(org):
        customers.record_consent(org, admin.user, ada, channel="sms", purpose="marketing",
                                 status="granted", method="written")
        _token, contacts_only = identity.create_token(org, admin.user, name="CRM sync",
                                                      scopes=["contacts:write"])
        _token, both = identity.create_token(org, admin.user, name="Marketing",
                                             scopes=["contacts:write", "campaigns:write"])

    def post(raw, **body):
        return Client(headers={"Authorization": f"Bearer {raw}"}).post(
            texts_url(ada), body, content_type="application/json")

    assert post(contacts_only, body="Reminder").status_code == 201
    refused = post(contacts_only, body="Sale!", marketing=True)
    assert (refused.status_code, refused.json()["missing_scope"]) == (403, "campaigns:write")
    assert post(both, body="Sale!", marketing=True).status_code == 201


def test_a_text_is_written_and_sent_from_the_contact_page(org, admin, ada, in_org,
                                                          client_for, make_member):
    client = client_for(admin)
    reader = client_for(make_member(org, Role.READ_ONLY, email="rita@example.com"))

    page = client.get(f"/contacts/{ada.pk}/").content.decode()
    sent = client.post(f"/contacts/{ada.pk}/texts/", {"body": "See you at 10:00."},
                       follow=True)
    refused = client.post(f"/contacts/{ada.pk}/texts/", {"body": "Sale!", "marketing": "on"},
                          follow=True)
    read_only_page = reader.get(f"/contacts/{ada.pk}/").content.decode()
    read_only_post = reader.post(f"/contacts/{ada.pk}/texts/", {"body": "Hi"})

    assert 'id="contact-texts"' in page
    assert "No text messages yet." in page
    assert "Text +4915123456789" in page
    assert "Text sent to +4915123456789." in sent.content.decode()
    assert "See you at 10:00." in sent.content.decode()
    assert "The contact has not agreed to marketing by SMS." in refused.content.decode()
    assert f'action="/contacts/{ada.pk}/texts/"' not in read_only_page
    assert read_only_post.status_code == 403
    with in_org(org):
        assert list(TextMessage.objects.values_list("body", "status")) == [
            ("See you at 10:00.", "sent")]


def test_the_contact_page_says_why_no_text_can_be_sent(org, admin, in_org, client_for):
    with in_org(org):
        nobody = customers.create_contact(org, admin.user, data={"first_name": "Nobody"})

    page = client_for(admin).get(f"/contacts/{nobody.pk}/").content.decode()

    assert "The contact has no phone number in international form." in page
    assert 'name="body"' not in page.split('id="contact-texts"')[1]
