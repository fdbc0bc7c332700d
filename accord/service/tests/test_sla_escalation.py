"""The every-minute SLA check: warnings before a target, escalation once it passes, once each."""

import datetime as dt
import threading
import time
import zoneinfo

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection
from django_scopes import scope

from accord.audit.models import AuditEntry
from accord.celery import app
from accord.core.models import DomainEvent
from accord.customers import services as customers
from accord.identity.models import Role, Team
from accord.service import queues, services, sla_settings
from accord.service.models import MessageKind, SlaAlert, Ticket
from accord.service.sla_tasks import _next_priority, check_slas, escalate_breach
from conftest import free_port

RESPONSE_MINUTES = 60
RESOLUTION_MINUTES = 8 * 60


@pytest.fixture
def agent(org, make_member):
    return make_member(org, Role.SUPPORT, email="ada@support.example", full_name="Ada Agent")


@pytest.fixture
def lead(org, make_member):
    return make_member(org, Role.SUPPORT, email="lena@support.example", full_name="Lena Lead")


@pytest.fixture
def manager(org, make_member):
    return make_member(org, Role.MANAGER, email="max@support.example", full_name="Max Manager")


@pytest.fixture
def queue(org, admin, lead):
    with scope(organization=org):
        team = Team.objects.create(organization=org, name="Front line", lead=lead.user)
        return queues.create_queue(org, admin.user, data={"name": "Support", "team": team.pk})


@pytest.fixture
def policy(org, admin):
    with scope(organization=org):
        return sla_settings.create_policy(org, admin.user, data={
            "name": "Standard", "first_response_minutes": RESPONSE_MINUTES,
            "resolution_minutes": RESOLUTION_MINUTES, "warn_before_minutes": 15})


def open_ticket(org, actor, **data) -> Ticket:
    with scope(organization=org):
        customer = customers.create_contact(org, actor, data={
            "first_name": "Claire", "email": "claire@client.example"})
        return services.create_ticket(org, actor, data={
            "subject": "Printer jams", "contact": customer.pk, **data}, body="It jams.")


def at(ticket: Ticket, minutes: int) -> str:
    return (ticket.created_at + dt.timedelta(minutes=minutes)).isoformat()


def test_assignee_is_warned_once_before_the_first_response_is_due(
    org, admin, agent, queue, policy, smtp_inbox
):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id, queue=queue.pk)

    early = check_slas(at(ticket, 30))
    warned = check_slas(at(ticket, 50))
    again = check_slas(at(ticket, 55))

    assert (early, warned, again) == (0, 1, 0)
    recipients, subject, body = smtp_inbox.only()
    assert recipients == ["ada@support.example"]
    assert subject == "SLA due soon: #1 Printer jams"
    assert "The First response target of ticket #1 falls due soon." in body
    assert f"/tickets/{ticket.number}/" in body
    with scope(organization=org):
        ticket.refresh_from_db()
        alert = SlaAlert.objects.get()
    assert ticket.sla_warned_at is not None
    assert (alert.kind, alert.target, alert.due_at) == (
        "warning", "first_response", ticket.first_response_due_at)
    assert alert.sent_at is not None
    assert ticket.priority == "normal"


def test_unassigned_ticket_warns_the_team_lead_of_its_queue(
    org, admin, queue, policy, mailoutbox
):
    ticket = open_ticket(org, admin.user, queue=queue.pk)

    check_slas(at(ticket, 50))

    assert [message.to for message in mailoutbox] == [["lena@support.example"]]


def test_without_assignee_or_team_lead_the_managers_are_warned(
    org, admin, manager, policy, mailoutbox
):
    ticket = open_ticket(org, admin.user)

    check_slas(at(ticket, 50))

    assert [message.to for message in mailoutbox] == [["max@support.example"]]


def test_breach_escalates_once_raising_priority_noting_and_telling_everyone(
    org, admin, agent, queue, policy, smtp_inbox
):
    org.time_zone = "Europe/Berlin"
    org.save()
    ticket = open_ticket(org, admin.user, assignee=agent.user_id, queue=queue.pk,
                         priority="high")

    made = check_slas(at(ticket, 61))
    again = check_slas(at(ticket, 90))

    assert (made, again) == (1, 0)
    recipients, subject, body = smtp_inbox.only()
    assert recipients == ["ada@support.example", "lena@support.example"]
    assert subject == "SLA breached: #1 Printer jams"
    assert "The First response target of ticket #1 has passed unmet." in body
    assert "Priority: Urgent" in body
    with scope(organization=org):
        ticket.refresh_from_db()
        note = ticket.messages.get(kind=MessageKind.NOTE)
        event = DomainEvent.objects.get(type="ticket.sla_breached")
        audit = AuditEntry.objects.filter(entity="ticket", object_id=ticket.pk,
                                          action="update").get()
    assert ticket.priority == "urgent"
    assert ticket.sla_breached_at == ticket.first_response_due_at
    assert note.body.startswith("SLA breached: the First response target was due ")
    local = ticket.first_response_due_at.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    assert f"was due {local:%-d %B %Y, %H:%M} {local.tzname()} (Europe/Berlin)" in note.body
    assert f"Due: {local:%A %-d %B %Y, %H:%M} {local.tzname()} (Europe/Berlin)" in body
    assert "Priority raised from High to Urgent." in note.body
    assert (event.object_id, event.data["target"], event.data["previous_priority"]) == (
        ticket.pk, "first_response", "high")
    assert audit.changes == {"priority": ["high", "urgent"]}
    assert audit.via == "job"


def test_urgent_stays_urgent_when_breached(org, admin, agent, policy, mailoutbox):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id, priority="urgent")

    check_slas(at(ticket, 61))

    with scope(organization=org):
        ticket.refresh_from_db()
        note = ticket.messages.get(kind=MessageKind.NOTE)
    assert ticket.priority == "urgent"
    assert "Priority stays Urgent, the highest." in note.body


def test_each_target_breaches_once_on_its_own(org, admin, agent, policy, mailoutbox):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id, priority="low")

    first = check_slas(at(ticket, 61))
    second = check_slas(at(ticket, RESOLUTION_MINUTES + 1))
    third = check_slas(at(ticket, RESOLUTION_MINUTES + 60))

    assert (first, second, third) == (1, 1, 0)
    with scope(organization=org):
        ticket.refresh_from_db()
        targets = sorted(SlaAlert.objects.filter(kind="breach").values_list("target",
                                                                            flat=True))
        notes = ticket.messages.filter(kind=MessageKind.NOTE).count()
    assert targets == ["first_response", "resolution"]
    assert ticket.priority == "high"
    assert notes == 2
    assert [m.subject for m in mailoutbox] == ["SLA breached: #1 Printer jams"] * 2


def test_answered_solved_and_pending_tickets_are_not_escalated(
    org, admin, agent, policy, mailoutbox
):
    answered = open_ticket(org, admin.user, assignee=agent.user_id)
    solved = open_ticket(org, admin.user, assignee=agent.user_id)
    with scope(organization=org):
        services.add_reply(org, agent.user, answered, body="On it.")
        services.update_ticket(org, agent.user, solved, data={"status": "solved"})

    made = check_slas(at(answered, 61))

    assert (made, len(mailoutbox)) == (0, 0)


def test_a_claimed_alert_is_never_repeated(org, admin, agent, policy, mailoutbox):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id)
    with scope(organization=org):
        # Another worker claimed the breach and is still busy with it.
        SlaAlert.objects.create(organization=org, ticket=ticket, kind="breach",
                                target="first_response", due_at=ticket.first_response_due_at)

    made = check_slas(at(ticket, 61))

    with scope(organization=org):
        ticket.refresh_from_db()
    assert (made, len(mailoutbox), ticket.priority) == (0, 0, "normal")


def test_refused_alert_is_sent_on_a_later_run_without_escalating_again(
    org, admin, agent, policy, settings, smtp_inbox
):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id)
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nothing listens there

    check_slas(at(ticket, 61))
    with scope(organization=org):
        failed = SlaAlert.objects.get()
    settings.EMAIL_PORT = working_port
    check_slas(at(ticket, 62))
    check_slas(at(ticket, 63))

    assert (failed.sent_at, failed.attempts) == (None, 1)
    assert len(smtp_inbox.messages) == 1
    with scope(organization=org):
        ticket.refresh_from_db()
        alert = SlaAlert.objects.get()
        notes = ticket.messages.filter(kind=MessageKind.NOTE).count()
    assert alert.sent_at is not None
    assert (ticket.priority, notes) == ("high", 1)


def test_alerts_stay_inside_their_organisation(
    org, other_org, admin, agent, policy, make_member, mailoutbox
):
    stranger = make_member(other_org, Role.ADMIN, email="stranger@example.com")
    with scope(organization=other_org):
        sla_settings.create_policy(other_org, stranger.user, data={
            "name": "Theirs", "first_response_minutes": RESPONSE_MINUTES})
    ours = open_ticket(org, admin.user, assignee=agent.user_id)
    open_ticket(other_org, stranger.user, assignee=stranger.user_id)

    made = check_slas(at(ours, 120))

    assert made == 2
    assert sorted(message.to[0] for message in mailoutbox) == [
        "ada@support.example", "stranger@example.com"]


def test_two_runs_that_both_found_the_ticket_escalate_once(
    org, admin, agent, policy, mailoutbox
):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id)
    now = ticket.created_at + dt.timedelta(minutes=61)

    # Both runs listed the ticket before either wrote its ledger row.
    with scope(organization=org):
        first = escalate_breach(org, ticket.pk, "first_response", now=now)
        second = escalate_breach(org, ticket.pk, "first_response", now=now)
        ticket.refresh_from_db()
        notes = ticket.messages.filter(kind=MessageKind.NOTE).count()

    assert (first, second) == (True, False)
    assert (len(mailoutbox), notes, ticket.priority) == (1, 1, "high")


@pytest.mark.skipif(connection.vendor == "sqlite",
                    reason="SQLite's shared in-memory test database locks whole tables, so "
                           "two threads cannot write to it at once; runs on PostgreSQL")
def test_two_checks_running_at_once_escalate_once(
    transactional_db, org, admin, agent, policy, mailoutbox
):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id)
    moment = at(ticket, 61)
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(check_slas(moment))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [0, 1]
    assert len(mailoutbox) == 1
    with scope(organization=org):
        ticket.refresh_from_db()
        assert ticket.messages.filter(kind=MessageKind.NOTE).count() == 1
    assert ticket.priority == "high"


@pytest.mark.worker
def test_worker_running_the_check_twice_sends_one_breach_mail(
    transactional_db, org, admin, agent, policy, smtp_inbox
):
    ticket = open_ticket(org, admin.user, assignee=agent.user_id)
    moment = at(ticket, 61)
    finished = set()

    def on_postrun(task_id=None, **kwargs):
        finished.add(task_id)

    task_postrun.connect(on_postrun, weak=False)
    try:
        with start_worker(app, perform_ping_check=False, shutdown_timeout=30):
            sent = {check_slas.delay(moment).id, check_slas.delay(moment).id}
            deadline = time.monotonic() + 60
            while not sent <= finished and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        task_postrun.disconnect(on_postrun)

    assert sent <= finished, "the worker did not run both jobs"
    assert len(smtp_inbox.messages) == 1
    recipients, message = smtp_inbox.messages[0]
    # No queue, so no team lead: the breach goes to the admins beside the assignee.
    assert recipients == ["ada@support.example", admin.user.email]
    assert message["Subject"] == "SLA breached: #1 Printer jams"


def test_priority_rises_one_step_and_stops_at_urgent():
    assert [_next_priority(p) for p in ("low", "normal", "high", "urgent")] == [
        "normal", "high", "urgent", "urgent"]


def test_beat_checks_slas_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["check-slas"]

    assert (entry["task"], entry["schedule"]) == (check_slas.name, 60.0)
