"""Outgoing webhooks against a receiver each test starts on 127.0.0.1."""

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone
from django_scopes import scopes_disabled

from accord.audit.models import AuditEntry
from accord.celery import app
from accord.core.models import DomainEvent
from accord.identity.models import Role
from accord.integrations import outbound, webhooks
from accord.integrations.webhook_models import DeliveryStatus, Webhook, WebhookDelivery

API = "/api/v1/webhooks"


class Receiver:
    """An HTTP server on loopback that records every POST and answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []  # consumed in order; then 204
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body})
                status, headers = receiver.answers.pop(0) if receiver.answers else (204, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                receiver.arrived.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/accord"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Receiver()
    yield server
    server.stop()


def subscribe(api, url, events=("contact.created",), **extra):
    answer = api.post(API, {"url": url, "events": list(events), **extra},
                      content_type="application/json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def create_contact(api, **data):
    answer = api.post("/api/v1/contacts", {"first_name": "Ada", **data},
                      content_type="application/json")
    assert answer.status_code == 201, answer.content
    return answer.json()


def only_delivery() -> WebhookDelivery:
    with scopes_disabled():
        return WebhookDelivery.unscoped.select_related("webhook", "event").get()


def expected_signature(secret: str, header: str, body: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in header.split(","))
    digest = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body,
                      hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, parts["v1"])


def test_subscribing_answers_the_secret_once(admin, api_client_for, receiver):
    api = api_client_for(admin)
    created = subscribe(api, receiver.url, events=["contact.created", "deal.won"])
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["contact.created", "deal.won"]
    read = api.get(f"{API}/{created['id']}").json()
    assert "secret" not in read
    assert read["url"] == receiver.url
    entry = AuditEntry.unscoped.get(entity="webhook", action="create")
    assert created["secret"] not in json.dumps(entry.changes)


def test_a_given_secret_is_kept_and_bad_input_is_named(admin, api_client_for, receiver):
    api = api_client_for(admin)
    mine = subscribe(api, receiver.url, secret="s3cret-of-my-own-choosing")
    assert mine["secret"] == "s3cret-of-my-own-choosing"
    bad = api.post(API, {"url": "ftp://example.invalid/x", "events": ["contact.eaten"],
                         "secret": "short"}, content_type="application/json")
    assert bad.status_code == 422
    assert {(e["field"], e["message"]) for e in bad.json()["errors"]} == {
        ("url", "Use an http:// or https:// address."),
        ("events", "Unknown event type(s): contact.eaten."),
        ("secret", "Use a secret of 16 to 128 characters."),
    }


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook",
    "http://192.168.0.10/hook", "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
])
def test_private_loopback_and_metadata_targets_are_refused(admin, api_client_for, settings,
                                                           url):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    answer = api_client_for(admin).post(API, {"url": url, "events": ["contact.created"]},
                                        content_type="application/json")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "url"
    assert "private, loopback or link-local" in answer.json()["errors"][0]["message"]


def test_the_check_is_repeated_at_send_time(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(outbound.Refused):
        outbound.post("http://127.0.0.1:9/hook", b"{}", {})


def test_a_committed_change_is_delivered_signed(org, admin, api_client_for, receiver,
                                                transactional_db):
    api = api_client_for(admin)
    hook = subscribe(api, receiver.url)
    contact = create_contact(api, last_name="Lovelace")

    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.PENDING
    assert webhooks.attempt_delivery(delivery.pk) == DeliveryStatus.DELIVERED

    [request] = receiver.requests
    assert request["path"] == "/hooks/accord"
    body = json.loads(request["body"])
    assert body["type"] == "contact.created"
    assert body["data"]["id"] == contact["id"]
    assert body["data"]["last_name"] == "Lovelace"
    assert body["id"] == delivery.event_id
    assert body["occurred_at"].endswith("Z")
    assert expected_signature(hook["secret"], request["headers"]["Accord-Signature"],
                              request["body"])
    timestamp = int(request["headers"]["Accord-Signature"].split(",")[0][2:])
    assert abs(timestamp - time.time()) < 60
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        "delivered", 1, 204)


def test_only_subscribed_types_are_delivered_once_per_event(org, admin, api_client_for,
                                                            receiver, transactional_db):
    api = api_client_for(admin)
    subscribe(api, receiver.url, events=["company.created"])
    create_contact(api)
    assert not WebhookDelivery.unscoped.exists()
    api.post("/api/v1/companies", {"name": "Initech"}, content_type="application/json")
    event = DomainEvent.unscoped.get(type="company.created")
    assert webhooks.queue_deliveries(event) == []  # announced again: no second delivery
    assert WebhookDelivery.unscoped.count() == 1


def test_failures_back_off_then_give_up_after_a_day_and_tell_the_admins(
        org, admin, api_client_for, receiver, smtp_inbox, transactional_db):
    api = api_client_for(admin)
    hook = subscribe(api, receiver.url)
    create_contact(api)
    delivery = only_delivery()
    receiver.answers = [(500, {})] * 3
    start = timezone.now()

    assert webhooks.attempt_delivery(delivery.pk, now=start) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == start + dt.timedelta(minutes=1)
    assert webhooks.attempt_delivery(delivery.pk, now=start) is None  # not due yet
    second = start + dt.timedelta(minutes=1)
    assert webhooks.attempt_delivery(delivery.pk, now=second) == DeliveryStatus.PENDING
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == second + dt.timedelta(minutes=2)
    assert delivery.last_error == "The receiver answered 500."

    late = start + dt.timedelta(days=1, minutes=1)
    assert webhooks.attempt_delivery(delivery.pk, now=late) == DeliveryStatus.FAILED
    webhook = Webhook.unscoped.get(pk=hook["id"])
    assert webhook.paused_at == late
    recipients, subject, body = smtp_inbox.only()
    assert recipients == [admin.user.email]
    assert subject == "Accord: a webhook of Northwind was paused"
    assert receiver.url in body

    # Paused: new events are not kept for it until it is switched on again.
    create_contact(api, first_name="Grace")
    assert WebhookDelivery.unscoped.count() == 1
    log = api.get(f"{API}/{hook['id']}/deliveries/{delivery.pk}").json()
    assert [a["status_code"] for a in log["attempt_log"]] == [500, 500, 500]


def test_the_back_off_doubles_up_to_six_hours():
    assert [webhooks.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 9)] == [1, 2, 4, 256]
    assert webhooks.backoff(12) == dt.timedelta(hours=6)


def test_redirects_are_not_followed(org, admin, api_client_for, receiver, transactional_db):
    api = api_client_for(admin)
    subscribe(api, receiver.url)
    create_contact(api)
    receiver.answers = [(302, {"Location": receiver.url.replace("/hooks/accord", "/elsewhere")})]
    assert webhooks.attempt_delivery(only_delivery().pk) == DeliveryStatus.PENDING
    assert [request["path"] for request in receiver.requests] == ["/hooks/accord"]
    assert only_delivery().last_error == "The receiver answered 302."


def test_a_delivery_is_replayed_with_the_same_id_and_body(org, admin, api_client_for,
                                                          receiver, transactional_db):
    api = api_client_for(admin)
    hook = subscribe(api, receiver.url)
    create_contact(api)
    delivery = only_delivery()
    webhooks.attempt_delivery(delivery.pk)

    answer = api.post(f"{API}/{hook['id']}/deliveries/{delivery.pk}/replay")
    assert answer.status_code == 202
    assert answer.json()["status"] == "pending"
    assert webhooks.attempt_delivery(delivery.pk) == DeliveryStatus.DELIVERED
    first, second = receiver.requests
    assert first["body"] == second["body"]
    listed = api.get(f"{API}/{hook['id']}/deliveries").json()["items"]
    assert [(item["id"], item["attempts"]) for item in listed] == [(delivery.pk, 2)]


def test_webhooks_are_admin_only_and_other_organisations_see_none(
        org, other_org, admin, make_member, api_client_for, receiver):
    hook = subscribe(api_client_for(admin), receiver.url)
    manager = make_member(org, Role.MANAGER)
    assert api_client_for(manager).get(API).status_code == 403
    with scopes_disabled():
        from accord.identity.models import Membership

        stranger = Membership.unscoped.get(organization=other_org, role=Role.ADMIN)
    outsider = api_client_for(stranger)
    assert outsider.get(API).json()["items"] == []
    for method, path in [("get", ""), ("patch", ""), ("delete", ""), ("get", "/deliveries")]:
        answer = getattr(outsider, method)(f"{API}/{hook['id']}{path}", {},
                                           content_type="application/json")
        assert answer.status_code == 404, (method, path)


def test_switching_a_paused_webhook_on_lifts_the_pause(org, admin, api_client_for, receiver):
    api = api_client_for(admin)
    hook = subscribe(api, receiver.url)
    Webhook.unscoped.filter(pk=hook["id"]).update(paused_at=timezone.now(), pause_reason="x")
    answer = api.patch(f"{API}/{hook['id']}", {"is_active": True, "version": hook["version"]},
                       content_type="application/json")
    assert answer.status_code == 200
    assert answer.json()["paused_at"] is None


def test_a_change_needs_the_current_version(org, admin, api_client_for, receiver):
    api = api_client_for(admin)
    hook = subscribe(api, receiver.url)
    url = f"{API}/{hook['id']}"

    missing = api.patch(url, {"is_active": False}, content_type="application/json")
    changed = api.patch(url, {"is_active": False, "version": hook["version"]},
                        content_type="application/json")
    stale = api.patch(url, {"is_active": True, "version": hook["version"]},
                      content_type="application/json")

    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "version"
    assert (changed.status_code, changed.json()["version"]) == (200, hook["version"] + 1)
    assert stale.status_code == 409


@pytest.mark.worker
def test_a_worker_delivers_what_the_api_changed(org, admin, api_client_for, receiver,
                                                transactional_db):
    api = api_client_for(admin)
    subscribe(api, receiver.url)
    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        create_contact(api, first_name="Worker")
        receiver.arrived.wait(60)
    assert [json.loads(r["body"])["data"]["first_name"] for r in receiver.requests] == [
        "Worker"]
    assert only_delivery().status == DeliveryStatus.DELIVERED
