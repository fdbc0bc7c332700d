import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.urls import reverse
from django.utils import timezone

from accord.activities import services
from accord.activities.models import Activity, ReminderDelivery
from accord.activities.tasks import send_due_reminders
from accord.celery import app
from accord.customers import services as customers
from accord.identity.models import Role
from conftest import free_port

UTC = dt.UTC
CREATE_URL = reverse("activities:create")


@pytest.fixture
def contact(org, admin, in_org):
    with in_org(org):
        return customers.create_contact(org, admin.user, data={"first_name": "Ada",
                                                               "last_name": "Lovelace"})


def make_task(org, actor, contact, *, remind_at, due_at, assignee=None, subject="Call back"):
    return services.log_activity(org, actor, data={
        "kind": "task", "subject": subject, "contact": contact, "due_at": due_at,
        "remind_at": remind_at, "assignee": (assignee or actor).pk,
    })


@pytest.mark.parametrize(
    ("day", "due_utc", "remind_utc", "warsaw_text", "london_iso"),
    [
        ("2025-01-15", "2025-01-15T09:00:00+00:00", "2025-01-15T08:45:00+00:00",
         "Due: Wednesday 15 January 2025, 10:00 CET (Europe/Warsaw)",
         "2025-01-15T09:00:00+00:00"),
        ("2025-07-15", "2025-07-15T08:00:00+00:00", "2025-07-15T07:45:00+00:00",
         "Due: Tuesday 15 July 2025, 10:00 CEST (Europe/Warsaw)",
         "2025-07-15T09:00:00+01:00"),
    ],
    ids=["winter", "summer"],
)
def test_reminder_of_a_warsaw_user_fires_at_the_right_utc_instant(
    org, admin, contact, make_member, client_for, in_org, mailoutbox,
    day, due_utc, remind_utc, warsaw_text, london_iso,
):
    admin.user.time_zone = "Europe/Warsaw"
    admin.user.save()
    remind_at = dt.datetime.fromisoformat(remind_utc)
    client_for(admin).post(CREATE_URL, {
        "kind": "task", "contact": contact.pk, "subject": "Quarterly review with Wisła Components",
        "due_at": f"{day}T10:00", "remind_at": f"{day}T09:45",
    })
    with in_org(org):
        task = Activity.objects.get(kind="task")

    early = send_due_reminders((remind_at - dt.timedelta(minutes=1)).isoformat())
    sent_early = len(mailoutbox)
    on_time = send_due_reminders(remind_at.isoformat())
    london = make_member(org, Role.SALES, email="london@example.com")
    london.user.time_zone = "Europe/London"
    london.user.save()
    london_page = client_for(london).get(reverse("activities:detail", args=[task.pk]))
    admin.user.time_zone = "Europe/London"
    admin.user.save()

    assert task.due_at == dt.datetime.fromisoformat(due_utc)
    assert task.remind_at == remind_at
    assert (early, sent_early, on_time, len(mailoutbox)) == (0, 0, 1, 1)
    message = mailoutbox[0]
    assert message.to == [admin.user.email]
    assert message.subject == "Reminder: Quarterly review with Wisła Components"
    assert warsaw_text in message.body
    assert f"http://127.0.0.1:8000/activities/{task.pk}/" in message.body
    assert f'<time datetime="{london_iso}" class="overdue">' in london_page.text
    with in_org(org):
        assert Activity.objects.get(pk=task.pk).due_at == dt.datetime.fromisoformat(due_utc)


def test_running_the_reminder_job_twice_sends_one_email(org, admin, contact, in_org,
                                                        mailoutbox):
    now = timezone.now()
    with in_org(org):
        make_task(org, admin.user, contact, remind_at=now - dt.timedelta(minutes=1),
                  due_at=now + dt.timedelta(hours=1))

    first = send_due_reminders()
    second = send_due_reminders()

    assert (first, second, len(mailoutbox)) == (1, 0, 1)
    with in_org(org):
        assert ReminderDelivery.objects.filter(sent_at__isnull=False).count() == 1


def test_a_claimed_reminder_is_never_sent_again_even_unfinished(
    org, admin, contact, in_org, mailoutbox
):
    now = timezone.now()
    with in_org(org):
        task = make_task(org, admin.user, contact, remind_at=now - dt.timedelta(minutes=1),
                         due_at=now + dt.timedelta(hours=1))
        # A worker that died after claiming the reminder, before the e-mail.
        ReminderDelivery.objects.create(organization=org, activity=task,
                                        remind_at=task.remind_at, recipient=admin.user)

    sent = send_due_reminders()

    assert (sent, len(mailoutbox)) == (0, 0)


def test_done_tasks_and_future_reminders_send_nothing(org, admin, contact, in_org, mailoutbox):
    now = timezone.now()
    with in_org(org):
        done = make_task(org, admin.user, contact, remind_at=now - dt.timedelta(minutes=5),
                         due_at=now + dt.timedelta(hours=1))
        services.set_task_done(org, admin.user, done, done=True)
        make_task(org, admin.user, contact, remind_at=now + dt.timedelta(minutes=5),
                  due_at=now + dt.timedelta(hours=1))
        make_task(org, admin.user, contact, remind_at=now - dt.timedelta(days=2),
                  due_at=now + dt.timedelta(hours=1))

    assert (send_due_reminders(), len(mailoutbox)) == (0, 0)


def test_moving_a_reminder_after_it_was_sent_sends_it_again(
    org, admin, contact, in_org, mailoutbox
):
    now = timezone.now()
    with in_org(org):
        task = make_task(org, admin.user, contact, remind_at=now - dt.timedelta(minutes=10),
                         due_at=now + dt.timedelta(hours=1))
    send_due_reminders()
    with in_org(org):
        services.update_activity(org, admin.user, task,
                                 data={"remind_at": now - dt.timedelta(minutes=1)})

    send_due_reminders()

    assert len(mailoutbox) == 2


def test_refused_delivery_is_retried_on_the_next_run(
    org, admin, contact, in_org, settings, smtp_inbox
):
    now = timezone.now()
    with in_org(org):
        make_task(org, admin.user, contact, remind_at=now - dt.timedelta(minutes=1),
                  due_at=now + dt.timedelta(hours=1))
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there

    failed = send_due_reminders()
    with in_org(org):
        claims_after_failure = ReminderDelivery.objects.count()
    settings.EMAIL_PORT = working_port
    retried = send_due_reminders()

    assert (failed, claims_after_failure, retried) == (0, 0, 1)
    assert len(smtp_inbox.messages) == 1


def test_reminders_stay_inside_their_organization(
    org, other_org, admin, contact, make_member, in_org, mailoutbox
):
    now = timezone.now()
    stranger = make_member(other_org, Role.SALES, email="stranger@example.com")
    with in_org(org):
        make_task(org, admin.user, contact, remind_at=now - dt.timedelta(minutes=1),
                  due_at=now + dt.timedelta(hours=1))
    with in_org(other_org):
        theirs = customers.create_contact(other_org, stranger.user, data={"first_name": "Bo"})
        make_task(other_org, stranger.user, theirs, remind_at=now - dt.timedelta(minutes=1),
                  due_at=now + dt.timedelta(hours=1), subject="Their task")

    sent = send_due_reminders()

    assert sent == 2
    assert sorted((m.to[0], m.subject) for m in mailoutbox) == [
        (admin.user.email, "Reminder: Call back"),
        ("stranger@example.com", "Reminder: Their task"),
    ]


@pytest.mark.worker
def test_worker_delivers_a_due_reminder_once_through_smtp(
    transactional_db, org, admin, contact, in_org, smtp_inbox
):
    now = timezone.now()
    with in_org(org):
        task = make_task(org, admin.user, contact, remind_at=now - dt.timedelta(minutes=1),
                         due_at=now + dt.timedelta(hours=2), subject="Renewal <call>")
    finished = set()

    def on_postrun(task_id=None, **kwargs):
        finished.add(task_id)

    task_postrun.connect(on_postrun, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
            sent = {send_due_reminders.delay().id, send_due_reminders.delay().id}
            deadline = time.monotonic() + 60
            while not sent <= finished and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_postrun.disconnect(on_postrun)

    assert sent <= finished, "the worker did not run both jobs"

    assert len(smtp_inbox.messages) == 1
    recipients, message = smtp_inbox.messages[0]
    assert recipients == [admin.user.email]
    assert message["Subject"] == "Reminder: Renewal <call>"
    body = message.get_content()
    assert 'This is your reminder for the task "Renewal <call>".' in body
    assert "Record: Ada Lovelace" in body
    assert f"http://127.0.0.1:8000/activities/{task.pk}/" in body
    with in_org(org):
        delivery = ReminderDelivery.objects.get()
        assert (delivery.activity_id, delivery.recipient_id) == (task.pk, admin.user.pk)
        assert delivery.sent_at is not None
