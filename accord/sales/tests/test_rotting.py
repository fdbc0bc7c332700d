"""Reminders to the owners of deals that went quiet, through the beat task and a worker."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from accord.celery import app
from accord.customers.services import create_company
from accord.identity.models import Role
from accord.sales import services
from accord.sales.models import Deal, RotReminder
from accord.sales.tasks import send_rot_reminders
from conftest import free_port

pytestmark = pytest.mark.urls("accord.sales.tests.deal_page_urls")


@pytest.fixture
def pipeline(org, admin):
    """A pipeline whose Proposal stage rots after 7 days and Meeting stage never."""
    with scope(organization=org):
        pipeline = services.create_pipeline(org, admin.user, name="New business")
        proposal = pipeline.stages.get(name="Proposal")
        services.update_stage(org, admin.user, proposal, data={"rot_after_days": 7})
        return pipeline


def make_quiet_deal(org, actor, pipeline, *, quiet_since, stage="Proposal", **data):
    with scope(organization=org):
        deal = services.create_deal(org, actor, data={
            "name": "Forty laptops", "stage": pipeline.stages.get(name=stage).pk, **data})
        Deal.objects.filter(pk=deal.pk).update(last_activity_at=quiet_since)
        deal.refresh_from_db()
        return deal


@pytest.mark.parametrize(
    ("quiet_utc", "warsaw_text"),
    [
        ("2026-01-08T16:30:00+00:00", "Last activity: Thursday 8 January 2026, 17:30 CET "
                                      "(Europe/Warsaw)"),
        ("2026-07-08T16:30:00+00:00", "Last activity: Wednesday 8 July 2026, 18:30 CEST "
                                      "(Europe/Warsaw)"),
    ],
    ids=["winter", "summer"],
)
def test_the_owner_hears_once_when_a_deal_goes_quiet_in_their_time_zone(
    org, admin, pipeline, mailoutbox, quiet_utc, warsaw_text
):
    admin.user.time_zone = "Europe/Warsaw"
    admin.user.full_name = "Alina Nowak"
    admin.user.save()
    quiet_since = dt.datetime.fromisoformat(quiet_utc)
    with scope(organization=org):
        company = create_company(org, admin.user, data={"name": "Wisła Components"})
    deal = make_quiet_deal(org, admin.user, pipeline, quiet_since=quiet_since,
                           company=company.pk, amount="4200.5", currency="EUR")
    rots_at = quiet_since + dt.timedelta(days=7)

    early = send_rot_reminders((rots_at - dt.timedelta(minutes=1)).isoformat())
    on_time = send_rot_reminders(rots_at.isoformat())
    again = send_rot_reminders((rots_at + dt.timedelta(days=1)).isoformat())

    assert (early, on_time, again, len(mailoutbox)) == (0, 1, 0, 1)
    message = mailoutbox[0]
    assert message.to == [admin.user.email]
    assert message.subject == "Deal going quiet: Forty laptops"
    assert 'Hello Alina,\n\nNothing has happened on the deal "Forty laptops" for 7 days.' in (
        message.body)
    assert "Company: Wisła Components\nStage: Proposal\nAmount: 4200.50 EUR\n" in message.body
    assert warsaw_text in message.body
    assert "Deals in Proposal are flagged after 7 days without activity." in message.body
    with scope(organization=org):
        url = reverse("sales:deal", args=[deal.pk])
        reminder = RotReminder.objects.get()
    assert f"http://127.0.0.1:8000{url}\n" in message.body
    assert (reminder.deal_id, reminder.quiet_since) == (deal.pk, quiet_since)
    assert reminder.sent_at is not None


def test_new_activity_starts_a_new_quiet_period(org, admin, pipeline, mailoutbox):
    quiet_since = timezone.now() - dt.timedelta(days=20)
    deal = make_quiet_deal(org, admin.user, pipeline, quiet_since=quiet_since)
    send_rot_reminders()
    services.touch_deal(deal.pk, timezone.now() - dt.timedelta(days=3))

    still_fresh = send_rot_reminders()
    quiet_again = send_rot_reminders((timezone.now() + dt.timedelta(days=5)).isoformat())

    assert (still_fresh, quiet_again, len(mailoutbox)) == (0, 1, 2)
    with scope(organization=org):
        assert RotReminder.objects.count() == 2


def test_closed_deleted_unowned_and_fresh_deals_send_nothing(
    org, admin, pipeline, mailoutbox
):
    long_ago = timezone.now() - dt.timedelta(days=30)
    make_quiet_deal(org, admin.user, pipeline, quiet_since=timezone.now(), name="Fresh")
    make_quiet_deal(org, admin.user, pipeline, quiet_since=long_ago, stage="Meeting",
                    name="Stage never rots")
    make_quiet_deal(org, admin.user, pipeline, quiet_since=long_ago, owner=None,
                    name="Nobody's")
    deleted = make_quiet_deal(org, admin.user, pipeline, quiet_since=long_ago)
    lost = make_quiet_deal(org, admin.user, pipeline, quiet_since=long_ago)
    with scope(organization=org):
        services.delete_deal(org, admin.user, deleted)
        services.move_deal_to_stage(org, admin.user, lost, pipeline.stages.get(name="Lost"),
                                    reason="No budget")
        Deal.objects.filter(pk=lost.pk).update(last_activity_at=long_ago)

    assert (send_rot_reminders(), len(mailoutbox)) == (0, 0)


def test_an_owner_who_left_the_organization_is_not_written_to(
    org, admin, pipeline, make_member, mailoutbox
):
    leaver = make_member(org, Role.SALES, email="leaver@example.com")
    make_quiet_deal(org, admin.user, pipeline, owner=leaver.user_id,
                    quiet_since=timezone.now() - dt.timedelta(days=30))
    with scope(organization=org):
        leaver.is_active = False
        leaver.save()

    assert (send_rot_reminders(), len(mailoutbox)) == (0, 0)


def test_a_claimed_reminder_is_never_sent_again(org, admin, pipeline, mailoutbox):
    deal = make_quiet_deal(org, admin.user, pipeline,
                           quiet_since=timezone.now() - dt.timedelta(days=30))
    with scope(organization=org):
        # A worker that died after claiming the reminder, before the e-mail.
        RotReminder.objects.create(organization=org, deal=deal,
                                   quiet_since=deal.last_activity_at)

    assert (send_rot_reminders(), len(mailoutbox)) == (0, 0)


def test_refused_delivery_is_retried_on_the_next_run(
    org, admin, pipeline, settings, smtp_inbox
):
    make_quiet_deal(org, admin.user, pipeline,
                    quiet_since=timezone.now() - dt.timedelta(days=30))
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there

    failed = send_rot_reminders()
    with scope(organization=org):
        claims_after_failure = RotReminder.objects.count()
    settings.EMAIL_PORT = working_port
    retried = send_rot_reminders()

    assert (failed, claims_after_failure, retried) == (0, 0, 1)
    assert len(smtp_inbox.messages) == 1


def test_reminders_stay_inside_their_organization(
    org, other_org, admin, pipeline, make_member, mailoutbox
):
    stranger = make_member(other_org, Role.ADMIN, email="stranger@example.com")
    with scope(organization=other_org):
        theirs = services.create_pipeline(other_org, stranger.user, name="Theirs")
        services.update_stage(other_org, stranger.user, theirs.stages.get(name="Meeting"),
                              data={"rot_after_days": 3})
    long_ago = timezone.now() - dt.timedelta(days=30)
    make_quiet_deal(org, admin.user, pipeline, quiet_since=long_ago, name="Ours")
    make_quiet_deal(other_org, stranger.user, theirs, quiet_since=long_ago, stage="Meeting",
                    name="Theirs")

    sent = send_rot_reminders()

    assert sent == 2
    assert sorted((m.to[0], m.subject) for m in mailoutbox) == [
        (admin.user.email, "Deal going quiet: Ours"),
        ("stranger@example.com", "Deal going quiet: Theirs"),
    ]


@pytest.mark.worker
def test_worker_sends_a_rot_reminder_once_through_smtp(
    transactional_db, org, admin, pipeline, smtp_inbox
):
    deal = make_quiet_deal(org, admin.user, pipeline, name="Renewal <Q3>",
                           quiet_since=timezone.now() - dt.timedelta(days=8))
    finished = set()

    def on_postrun(task_id=None, **kwargs):
        finished.add(task_id)

    task_postrun.connect(on_postrun, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
            sent = {send_rot_reminders.delay().id, send_rot_reminders.delay().id}
            deadline = time.monotonic() + 60
            while not sent <= finished and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_postrun.disconnect(on_postrun)

    assert sent <= finished, "the worker did not run both jobs"
    assert len(smtp_inbox.messages) == 1
    recipients, message = smtp_inbox.messages[0]
    assert recipients == [admin.user.email]
    assert message["Subject"] == "Deal going quiet: Renewal <Q3>"
    body = message.get_content()
    assert 'Nothing has happened on the deal "Renewal <Q3>" for 8 days.' in body
    with scope(organization=org):
        reminder = RotReminder.objects.get()
    assert (reminder.deal_id, reminder.quiet_since) == (deal.pk, deal.last_activity_at)
    assert reminder.sent_at is not None


def test_beat_runs_the_rot_reminders_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["send-rot-reminders"]

    assert (entry["task"], entry["schedule"]) == (send_rot_reminders.name, 3600.0)
