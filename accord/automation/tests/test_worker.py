"""Rules set off by domain events run on a real worker."""

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import OperationalError

from accord.activities.models import Activity
from accord.automation import runner
from accord.automation.models import RuleRun
from accord.celery import app
from accord.customers import services as customers
from accord.customers.models import ContactTag


def wait_for_run(org, in_org, rule, *, status="done", seconds=60):
    deadline = time.monotonic() + seconds
    run = None
    while time.monotonic() < deadline:
        try:
            with in_org(org):
                run = RuleRun.objects.filter(rule=rule).first()
        except OperationalError:
            # SQLite's shared in-memory test database refuses a read while the
            # worker thread writes ("table is locked"); look again.
            run = None
        if run is not None and run.status == status:
            return run
        time.sleep(0.1)
    raise AssertionError(f"no {status} run; last seen {run and run.status}")


@pytest.mark.django_db(transaction=True)
def test_new_contact_is_tagged_and_given_a_task_by_the_worker(org, admin, in_org, make_rule):
    rule = make_rule(org, name="Welcome", trigger="created", settings={"entity": "contact"},
                     actions=[{"type": "add_tag", "tag": "new"},
                              {"type": "create_task", "subject": "Call {{ contact.first_name }}",
                               "days": 2}])

    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        with in_org(org):
            contact = customers.create_contact(org, admin.user, data={
                "first_name": "Ada", "email": "ada@example.com"})
        run = wait_for_run(org, in_org, rule)

    with in_org(org):
        tags = list(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))
        task = Activity.objects.get(kind="task", contact=contact)
    assert tags == ["new"]
    assert (task.subject, task.assignee_id) == ("Call Ada", admin.user_id)
    assert [entry["status"] for entry in run.log] == ["done", "done"]
    assert run.key == f"event:{run.event_id}"


class FailingReceiver:
    """A webhook receiver on 127.0.0.1 that answers every call with 500."""

    def __init__(self):
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                calls.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def failing_receiver(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = FailingReceiver()
    yield receiver
    receiver.stop()


@pytest.mark.django_db(transaction=True)
def test_a_failing_action_is_retried_then_logged_and_reported_to_the_rules_creator(
    org, admin, in_org, make_rule, failing_receiver, smtp_inbox, monkeypatch
):
    # The back-off is minutes in production; here each retry is due at once.
    monkeypatch.setattr(runner, "backoff", lambda attempts: dt.timedelta(0))
    rule = make_rule(org, name="Tell the shop", trigger="created",
                     settings={"entity": "contact"},
                     actions=[{"type": "add_tag", "tag": "synced"},
                              {"type": "call_webhook", "url": failing_receiver.url}])

    with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
        with in_org(org):
            contact = customers.create_contact(org, admin.user, data={"first_name": "Ada"})
        run = wait_for_run(org, in_org, rule, status="failed")

    assert len(failing_receiver.calls) == runner.MAX_ATTEMPTS == 4
    assert failing_receiver.calls[0]["id"] == contact.pk
    assert [(entry["type"], entry["status"]) for entry in run.log] == [
        ("add_tag", "done"), ("call_webhook", "retrying"), ("call_webhook", "retrying"),
        ("call_webhook", "retrying"), ("call_webhook", "failed")]
    assert run.log[-1]["detail"] == "Gave up after 4 attempts: The receiver answered 500."
    recipients, subject, body = smtp_inbox.only()
    assert recipients == [admin.user.email]
    assert subject == "Accord: the rule “Tell the shop” failed"
    assert f"/settings/rules/{rule.pk}/" in body
