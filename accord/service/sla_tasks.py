"""Background work for SLAs: warnings before a target falls due, escalation once it passes.

`check_slas` runs every minute from beat. Each warning and each breach is a
`SlaAlert` row with a unique key per ticket, kind and target, written before
anyone is told, so a repeated or concurrent run never tells twice. A breach
also marks the ticket, raises its priority one step, adds an internal note
and emits `ticket.sla_breached`, all in the transaction that writes the row.
"""

import datetime as dt
import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django_scopes import scope

from accord import events
from accord.activities.services import site_url
from accord.audit.context import channel
from accord.identity.models import Membership, Organization, Role
from accord.timezones import zone_named

from . import services
from .models import (
    UNRESOLVED,
    Priority,
    SlaAlert,
    SlaAlertKind,
    SlaPolicy,
    SlaTarget,
    Ticket,
)

logger = logging.getLogger(__name__)

BATCH = 500  # alerts per kind and target in one tick; a tick stays well under a minute
MAX_ATTEMPTS = 5  # a refused alert is tried again on the next ticks, then given up
PRIORITY_STEPS = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
DUE_FIELDS = {SlaTarget.FIRST_RESPONSE: "first_response_due_at",
              SlaTarget.RESOLUTION: "resolution_due_at"}


def _moment(now: str | None) -> dt.datetime:
    moment = parse_datetime(now) if now else timezone.now()
    if moment is None or timezone.is_naive(moment):
        raise ValueError("now must be an ISO 8601 date-time with a time zone.")
    return moment


@shared_task(name="accord.service.sla_tasks.check_slas")
def check_slas(now: str | None = None) -> int:
    """Warn of targets falling due and escalate those that passed; return alerts made.

    `now` (ISO 8601) replaces the current time. Alerts whose e-mail the
    server refused are tried again, up to MAX_ATTEMPTS times.
    """
    moment = _moment(now)

    # The only queries here that span organisations: they find which tenants
    # have tickets to alert about, then the work runs inside each tenant's scope.
    work: dict[int, list[tuple[int, str, str]]] = {}
    for target in SlaTarget.values:
        for kind in SlaAlertKind.values:
            for org_id, ticket_id in _due_for_alert(kind, target, moment):
                work.setdefault(org_id, []).append((ticket_id, kind, target))
    retries: dict[int, list[int]] = {}
    for org_id, alert_id in (SlaAlert.unscoped.filter(sent_at__isnull=True,
                                                      failed_at__isnull=False,
                                                      attempts__lt=MAX_ATTEMPTS)
                             .order_by("failed_at", "id").values_list("organization_id", "id")
                             [:BATCH]):
        retries.setdefault(org_id, []).append(alert_id)

    made = 0
    for org in Organization.objects.filter(pk__in=set(work) | set(retries)):
        with scope(organization=org), channel("job"):
            for ticket_id, kind, target in work.get(org.pk, []):
                if kind == SlaAlertKind.BREACH:
                    made += escalate_breach(org, ticket_id, target, now=moment)
                else:
                    made += warn_due_soon(org, ticket_id, target, now=moment)
            for alert_id in retries.get(org.pk, []):
                retry_alert(org, alert_id)
    if work:
        logger.info("sla.checked", extra={"due": sum(map(len, work.values())), "made": made})
    return made


def _open_target(target: str) -> Q:
    """Tickets whose `target` is still owed and its clock running."""
    if target == SlaTarget.FIRST_RESPONSE:
        return Q(first_response_at__isnull=True, first_response_due_at__isnull=False)
    return Q(sla_paused_since__isnull=True, resolution_due_at__isnull=False)


def _due_for_alert(kind: str, target: str, moment: dt.datetime):
    due = DUE_FIELDS[target]
    if kind == SlaAlertKind.BREACH:
        window = Q(**{f"{due}__lt": moment})
    else:
        # Warn-before differs per policy; a handful of distinct values makes
        # a handful of ranges, each served by the due-time index.
        window = Q()
        for minutes in (SlaPolicy.unscoped.filter(warn_before_minutes__gt=0)
                        .values_list("warn_before_minutes", flat=True).distinct()):
            window |= Q(sla_policy__warn_before_minutes=minutes,
                        **{f"{due}__gte": moment,
                           f"{due}__lte": moment + dt.timedelta(minutes=minutes)})
        if not window:
            return []
    alerted = SlaAlert.unscoped.filter(ticket=OuterRef("pk"), kind=kind, target=target)
    return (Ticket.unscoped.filter(window, _open_target(target), status__in=UNRESOLVED,
                                   deleted_at__isnull=True, sla_policy__isnull=False)
            .exclude(Exists(alerted))
            .order_by(due, "id")
            .values_list("organization_id", "id")[:BATCH])


def _still_due(ticket: Ticket, kind: str, target: str, now: dt.datetime) -> dt.datetime | None:
    """The due time of the target when the ticket, read again, still calls for the alert."""
    if ticket.status not in UNRESOLVED or ticket.sla_policy_id is None:
        return None
    if target == SlaTarget.FIRST_RESPONSE and ticket.first_response_at is not None:
        return None
    if target == SlaTarget.RESOLUTION and ticket.sla_paused_since is not None:
        return None
    due = getattr(ticket, DUE_FIELDS[target])
    if due is None:
        return None
    if kind == SlaAlertKind.BREACH:
        return due if due < now else None
    warn = dt.timedelta(minutes=ticket.sla_policy.warn_before_minutes)
    return due if warn and now <= due <= now + warn else None


def _claim(org, ticket: Ticket, kind: str, target: str, due: dt.datetime) -> SlaAlert | None:
    """The new ledger row, or None when another run already made this alert."""
    try:
        with transaction.atomic():
            return SlaAlert.objects.create(organization=org, ticket=ticket, kind=kind,
                                           target=target, due_at=due)
    except IntegrityError:
        return None


def warn_due_soon(org, ticket_id: int, target: str, *, now: dt.datetime) -> bool:
    """Tell whoever works the ticket that `target` falls due soon, once; True if claimed.

    Must run inside the organisation's scope.
    """
    with transaction.atomic():
        ticket = Ticket.objects.select_related("sla_policy").filter(pk=ticket_id).first()
        due = _still_due(ticket, SlaAlertKind.WARNING, target, now) if ticket else None
        if due is None:
            return False
        alert = _claim(org, ticket, SlaAlertKind.WARNING, target, due)
        if alert is None:
            return False
        Ticket.objects.filter(pk=ticket.pk).update(sla_warned_at=now)
    deliver_alert(org, alert)
    return True


@transaction.atomic
def _record_breach(org, ticket_id: int, target: str, now: dt.datetime) -> SlaAlert | None:
    ticket = Ticket.objects.select_related("sla_policy").filter(pk=ticket_id).first()
    due = _still_due(ticket, SlaAlertKind.BREACH, target, now) if ticket else None
    if due is None:
        return None
    alert = _claim(org, ticket, SlaAlertKind.BREACH, target, due)
    if alert is None:
        return None

    previous = ticket.priority
    Ticket.objects.filter(pk=ticket.pk, sla_breached_at__isnull=True).update(
        sla_breached_at=due)
    raised = _next_priority(previous)
    if raised != previous:
        ticket = services.update_ticket(org, None, ticket, data={"priority": raised})
    services.add_note(org, None, ticket, body=_note_text(target, due, previous, raised,
                                                         zone_named(org.time_zone)))
    ticket.refresh_from_db()
    events.emit(org, None, "ticket.sla_breached", ticket, data={
        **services.ticket_event_data(ticket), "target": target, "due_at": due,
        "previous_priority": previous})
    logger.info("ticket.sla_breached", extra={"organization_id": org.id,
                                              "ticket_id": ticket.pk, "target": target})
    return alert


def escalate_breach(org, ticket_id: int, target: str, *, now: dt.datetime) -> bool:
    """Mark, escalate and announce that `target` passed unmet, once; True if this run did.

    Must run inside the organisation's scope. The ticket's changes and the
    ledger row commit together before any e-mail is sent.
    """
    alert = _record_breach(org, ticket_id, target, now)
    if alert is None:
        return False
    deliver_alert(org, alert)
    return True


def _next_priority(priority: str) -> str:
    if priority not in PRIORITY_STEPS:
        return priority
    return PRIORITY_STEPS[min(PRIORITY_STEPS.index(priority) + 1, len(PRIORITY_STEPS) - 1)]


def _note_text(target: str, due: dt.datetime, previous: str, raised: str, zone) -> str:
    with timezone.override(zone), translation.override(settings.LANGUAGE_CODE):
        return render_to_string("service/sla/note_breached.txt", {
            "target": SlaTarget(target).label, "due": due.astimezone(zone),
            "zone_name": str(zone), "previous": Priority(previous).label,
            "raised": Priority(raised).label if raised != previous else None,
        }).strip()


# Who hears


def _reachable(users) -> list:
    """Users who are still active members of the current organisation and have an address."""
    ids = {user.pk for user in users if user is not None and user.is_active and user.email}
    active = set(Membership.objects.filter(user_id__in=ids, is_active=True)
                 .values_list("user_id", flat=True))
    seen, out = set(), []
    for user in users:
        if user is not None and user.pk in active and user.pk not in seen:
            seen.add(user.pk)
            out.append(user)
    return out


def supervisors(ticket: Ticket) -> list:
    """The lead of the ticket's queue's team, else the managers (else the admins)."""
    lead = ticket.queue.team.lead if ticket.queue_id and ticket.queue.team_id else None
    found = _reachable([lead])
    if found:
        return found
    for role in (Role.MANAGER, Role.ADMIN):
        members = (Membership.objects.filter(role=role, is_active=True, user__is_active=True)
                   .select_related("user").order_by("user__email"))
        found = _reachable([membership.user for membership in members])
        if found:
            return found
    return []


def alert_recipients(ticket: Ticket, kind: str) -> list:
    """A warning goes to the assignee, or without one to the supervisors; a breach to both."""
    assignee = _reachable([ticket.assignee])
    if kind == SlaAlertKind.WARNING:
        return assignee or supervisors(ticket)
    return _reachable(assignee + supervisors(ticket))


# Sending


def deliver_alert(org, alert: SlaAlert) -> bool:
    """E-mail an alert already claimed in the ledger; True once the server took it.

    A refusal is noted in `failed_at` for a later run; an alert nobody can be
    told about is left unsent.
    """
    ticket = (Ticket.objects.select_related("assignee", "queue__team__lead", "sla_policy")
              .get(pk=alert.ticket_id))
    recipients = alert_recipients(ticket, alert.kind)
    if not recipients:
        logger.warning("sla_alert.nobody_to_tell",
                       extra={"organization_id": org.id, "alert_id": alert.pk})
        return False
    try:
        _alert_message(org, alert, ticket, recipients).send()
    except (smtplib.SMTPException, OSError):
        SlaAlert.objects.filter(pk=alert.pk).update(failed_at=timezone.now(),
                                                    attempts=F("attempts") + 1)
        logger.warning("sla_alert.send_failed",
                       extra={"organization_id": org.id, "alert_id": alert.pk})
        return False
    SlaAlert.objects.filter(pk=alert.pk).update(sent_at=timezone.now(), failed_at=None,
                                                attempts=F("attempts") + 1)
    logger.info("sla_alert.sent", extra={"organization_id": org.id, "alert_id": alert.pk,
                                         "ticket_id": ticket.pk, "kind": alert.kind})
    return True


def retry_alert(org, alert_id: int) -> bool:
    """Send a refused alert again; the conditional update lets one run claim the retry."""
    alert = SlaAlert.objects.filter(pk=alert_id, sent_at__isnull=True,
                                    failed_at__isnull=False).first()
    if alert is None:
        return False
    claimed = SlaAlert.objects.filter(pk=alert.pk, failed_at=alert.failed_at,
                                      sent_at__isnull=True).update(failed_at=None)
    return bool(claimed) and deliver_alert(org, alert)


def _alert_message(org, alert: SlaAlert, ticket: Ticket, recipients: list) -> EmailMessage:
    """The alert e-mail, with the due time in the organisation's time zone."""
    zone = zone_named(org.time_zone)
    context = {
        "org": org, "ticket": ticket, "alert": alert,
        "target": SlaTarget(alert.target).label, "breach": alert.kind == SlaAlertKind.BREACH,
        "due": alert.due_at.astimezone(zone), "zone_name": str(zone),
        "assignee": ticket.assignee, "url": site_url() + ticket.get_absolute_url(),
    }
    with timezone.override(zone), translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("service/sla/email/alert_subject.txt", context)
        body = render_to_string("service/sla/email/alert.txt", context)
    return EmailMessage(subject=" ".join(subject.split()), body=body,
                        to=[user.email for user in recipients])


# Due times after a settings change


@shared_task(name="accord.service.sla_tasks.recompute_due_times")
def recompute_due_times(org_id: int, ticket_ids: list[int]) -> int:
    """Choose the policy and due times of the given unresolved tickets again; return how many.

    Safe to run twice: it reads the settings and tickets as they are and
    writes what follows from them.
    """
    from .sla_settings import recompute_tickets

    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    done = 0
    with scope(organization=org), channel("job"):
        for start in range(0, len(ticket_ids), BATCH):
            with transaction.atomic():
                done += recompute_tickets(org, ticket_ids[start:start + BATCH])
    logger.info("sla.recomputed", extra={"organization_id": org_id, "tickets": done})
    return done


@shared_task(name="accord.service.sla_tasks.send_satisfaction_surveys")
def send_satisfaction_surveys(now: str | None = None) -> int:
    """Ask the customer of each recently solved ticket how it went; return surveys sent."""
    from .satisfaction import send_due_surveys

    return send_due_surveys(_moment(now))
