"""Rules set off by domain events run on a real worker."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from accord.activities.models import Activity
from accord.automation.models import RuleRun
from accord.celery import app
from accord.customers import services as customers
from accord.customers.models import ContactTag


def wait_for_run(org, in_org, rule, *, status="done", seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with in_org(org):
            run = RuleRun.objects.filter(rule=rule).first()
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
