"""A sequence's first e-mail to 900 contacts through a real worker killed half-way.

As in the campaign test, the database is copied for the child processes, a
Celery worker runs against the copy and sends to an SMTP server on
loopback, and is killed with SIGKILL once some hundreds of e-mails arrived.
A second worker, started after the claim lease (one second here) is over,
runs the rest. No one may get the e-mail twice.
"""

import collections
import os
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

import accord
from accord.customers.models import Consent, Contact
from accord.marketing import campaigns, sequences
from accord.marketing.sequence_models import Enrolment, EnrolmentEntry
from accord.marketing.tests.test_campaign_crash import (
    ChildDatabase,
    Counter,
    Worker,
    _broker,
    _wait,
)
from conftest import free_port

CONTACTS = 900
KILL_AFTER = 200  # e-mails received before the worker is killed


def _seed(org, admin, sequence) -> set[str]:
    """900 enrolled contacts; every third has no consent and gets nothing."""
    now = timezone.now()
    Contact.objects.bulk_create(
        [Contact(organization=org, first_name=f"P{n}", email=f"p{n}@example.com")
         for n in range(CONTACTS)], batch_size=500)
    ids = dict(Contact.objects.values_list("email", "pk"))
    reachable = {address for n, address in enumerate(sorted(ids)) if n % 3}
    Consent.objects.bulk_create(
        [Consent(organization=org, contact_id=ids[address], channel="email",
                 purpose="marketing", status="granted", method="import", recorded_at=now)
         for address in reachable], batch_size=500)
    enrolments = Enrolment.objects.bulk_create(
        [Enrolment(organization=org, sequence=sequence, contact_id=pk, step_key="s1",
                   next_run_at=now, enrolled_at=now, source="code") for pk in ids.values()],
        batch_size=500)
    EnrolmentEntry.objects.bulk_create(
        [EnrolmentEntry(organization=org, enrolment=enrolment, kind="enrolled",
                        text="Enrolled.", at=now) for enrolment in enrolments], batch_size=500)
    return reachable


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sequence_worker_killed_mid_way_sends_each_first_email_at_most_once(
        org, admin, in_org, tmp_path):
    inbox = Counter()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with in_org(org):
        template = campaigns.create_template(org, admin.user, data={
            "name": "Welcome", "subject": "Welcome {{ contact.first_name }}",
            "html": '<p>Hello, see <a href="https://example.com/start">the guide</a>.</p>'})
        sequence = sequences.save_sequence(org, admin.user, {
            "name": "Welcome", "from_email": "hello@northwind.example", "status": "active",
            "steps": [{"type": "email", "template": template.pk},
                      {"type": "wait", "amount": 3, "unit": "days"}]})
        reachable = _seed(org, admin, sequence)
    database = ChildDatabase(tmp_path)
    env = {**os.environ, "DATABASE_URL": database.url, "BROKER_URL": "filesystem://",
           "ACCORD_VAR_DIR": str(tmp_path), "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
           "SEQUENCE_LEASE_SECONDS": "1", "DJANGO_SETTINGS_MODULE": "accord.settings",
           "PYTHONPATH": os.pathsep.join(filter(None, [
               str(Path(accord.__file__).parent.parent), os.environ.get("PYTHONPATH")]))}
    broker = _broker(tmp_path)
    workers: list[Worker] = []
    try:
        workers.append(Worker(env, tmp_path))
        broker.send_task("accord.marketing.tasks.run_due_sequences", queue="celery")
        _wait(lambda: len(inbox.addresses) >= KILL_AFTER, "the first e-mails", workers[0])
        workers[0].kill()
        received_at_kill = len(inbox.addresses)
        time.sleep(1.5)  # past the lease, so the next run claims what was left
        workers.append(Worker(env, tmp_path))

        def finished():
            return database.query(
                "SELECT COUNT(*) FROM marketing_enrolment WHERE sequence_id = %s AND "
                "step_key = %s", [sequence.pk, "s1"]) == [(0,)]

        broker.send_task("accord.marketing.tasks.run_due_sequences", queue="celery")
        _wait(finished, "every enrolment past the e-mail", workers[1])
        statuses = dict(database.query(
            "SELECT status, COUNT(*) FROM marketing_sequencemessage WHERE sequence_id = %s "
            "GROUP BY status", [sequence.pk]))
        unconfirmed = {address for (address,) in database.query(
            "SELECT address FROM marketing_sequencemessage WHERE sequence_id = %s AND "
            "status = 'sending'", [sequence.pk])}
    finally:
        for worker in workers:
            worker.kill()
        smtp.stop()
        database.drop()

    received = collections.Counter(inbox.addresses)
    assert received_at_kill < len(reachable), "the worker finished before it was killed"
    assert [address for address, count in received.items() if count > 1] == []
    assert set(received) - reachable == set()
    assert len(unconfirmed) <= 1
    assert reachable - set(received) <= unconfirmed
    assert statuses["sent"] + statuses.get("sending", 0) == len(reachable)
    assert statuses["excluded"] == CONTACTS - len(reachable)
