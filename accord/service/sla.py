"""SLA clocks: which policy a ticket runs against and when its targets fall due.

Targets count working time of the policy's business calendar only, and the
resolution clock stands still while the ticket is pending on the customer.
The due times are kept on the ticket so that "due soon" and "breached" are
plain indexed filters; they are recomputed whenever something they depend on
changes (priority, queue, status).
"""

import datetime as dt
import logging

from django.db.models import Q

from .business_hours import WorkingCalendar, sla_deadline
from .models import BusinessCalendar, SlaPolicy, Ticket, TicketStatus

logger = logging.getLogger(__name__)

# The statuses in which the customer, not the team, has the next move.
PAUSED_STATUSES = {TicketStatus.PENDING}
DONE_STATUSES = {TicketStatus.SOLVED, TicketStatus.CLOSED}


def working_calendar(calendar: BusinessCalendar | None) -> WorkingCalendar:
    """The arithmetic's view of a stored calendar; no calendar (or one that cannot be
    read) means round the clock."""
    if calendar is None:
        return WorkingCalendar.always()
    try:
        return _stored_calendar(calendar)
    except ValueError:
        logger.warning("sla.unreadable_calendar", extra={"calendar_id": calendar.pk})
        return WorkingCalendar.always()


def _stored_calendar(calendar: BusinessCalendar) -> WorkingCalendar:
    hours = {}
    for weekday, intervals in (calendar.hours or {}).items():
        hours[int(weekday)] = tuple(
            (dt.time.fromisoformat(start), _end_time(end)) for start, end in intervals
        )
    holidays = frozenset(dt.date.fromisoformat(day) for day in calendar.holidays or [])
    return WorkingCalendar(time_zone=calendar.time_zone, hours=hours, holidays=holidays)


def _end_time(text: str) -> dt.time:
    # "24:00" is how people write the end of the day; the arithmetic reads
    # midnight as an end time as the end of that day.
    return dt.time(0) if text in ("24:00", "24:00:00") else dt.time.fromisoformat(text)


def matching_policy(ticket: Ticket) -> SlaPolicy | None:
    """The first active policy whose priority, queue and customer tier all fit."""
    candidates = (SlaPolicy.objects.filter(is_active=True)
                  .filter(Q(queue__isnull=True) | Q(queue_id=ticket.queue_id))
                  .select_related("calendar").order_by("position", "id"))
    tags = None
    for policy in candidates:
        if policy.priorities and ticket.priority not in policy.priorities:
            continue
        if policy.customer_tier:
            if tags is None:
                tags = ticket.customer_tag_names()
            if policy.customer_tier.lower() not in tags:
                continue
        return policy
    return None


def pauses(ticket: Ticket, *, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime | None]]:
    """The spans the ticket spent waiting on the customer; the last may still run."""
    spans: list[tuple[dt.datetime, dt.datetime | None]] = []
    started = None
    for change in ticket.status_changes.order_by("at", "id"):
        if change.to_status in PAUSED_STATUSES and started is None:
            started = change.at
        elif change.to_status not in PAUSED_STATUSES and started is not None:
            spans.append((started, change.at))
            started = None
    if started is not None:
        spans.append((started, None))
    return spans


def _deadline(ticket: Ticket, minutes: int | None, calendar: WorkingCalendar, spans):
    if minutes is None:
        return None
    try:
        return sla_deadline(ticket.created_at, dt.timedelta(minutes=minutes), calendar, spans)
    except ValueError:
        # A calendar stored before its hours were checked (no working time at
        # all) must not stop tickets or mail coming in; the target has no due
        # time until the calendar is fixed.
        logger.warning("sla.unusable_calendar", extra={"ticket_id": ticket.pk})
        return None


def recompute(ticket: Ticket, *, now: dt.datetime) -> None:
    """Set the due times on the (unsaved) ticket from its policy and history."""
    policy = ticket.sla_policy
    if policy is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        ticket.sla_paused_since = None
        return
    calendar = working_calendar(policy.calendar)
    spans = pauses(ticket, now=now) if ticket.pk else []
    ticket.sla_paused_since = spans[-1][0] if spans and spans[-1][1] is None else None
    if ticket.first_response_at is None:
        # The first answer is owed whatever the status: pending does not
        # stop it, because nobody has answered yet.
        ticket.first_response_due_at = _deadline(ticket, policy.first_response_minutes,
                                                 calendar, [])
    if ticket.status not in DONE_STATUSES:
        ticket.resolution_due_at = _deadline(ticket, policy.resolution_minutes, calendar, spans)


def apply_policy(ticket: Ticket, *, now: dt.datetime) -> None:
    """Choose the ticket's policy again and save its due times (the row must exist).

    A ticket that no policy fits any more keeps the one it had, so that a
    change such as an escalation's higher priority never drops targets
    still running.
    """
    ticket.sla_policy = matching_policy(ticket) or ticket.sla_policy
    recompute(ticket, now=now)
    ticket.save(update_fields=["sla_policy", "first_response_due_at", "resolution_due_at",
                               "sla_paused_since"])


def on_status_change(ticket: Ticket, previous: str, status: str, *, at: dt.datetime) -> None:
    """The status moved (its history row is written): pause, resume or stop the clock."""
    if ticket.sla_policy_id is None:
        return
    recompute(ticket, now=at)


def on_first_response(ticket: Ticket, *, at: dt.datetime) -> None:
    """The first answer went out; a late one marks the ticket breached."""
    due = ticket.first_response_due_at
    if due is not None and at > due and ticket.sla_breached_at is None:
        ticket.sla_breached_at = due


def is_breached(ticket: Ticket, *, now: dt.datetime) -> bool:
    """A target has passed unmet: no first answer in time, or not solved in time."""
    if ticket.sla_breached_at is not None:
        return True
    if ticket.first_response_at is None and ticket.first_response_due_at and \
            now > ticket.first_response_due_at:
        return True
    if ticket.status in DONE_STATUSES:
        return bool(ticket.resolution_due_at and ticket.solved_at
                    and ticket.solved_at > ticket.resolution_due_at)
    return bool(ticket.resolution_due_at and now > ticket.resolution_due_at
                and ticket.sla_paused_since is None)


def next_due(ticket: Ticket) -> dt.datetime | None:
    """The earliest target still open, for the lists' "due" column."""
    times = []
    if ticket.first_response_at is None and ticket.first_response_due_at:
        times.append(ticket.first_response_due_at)
    if ticket.status not in DONE_STATUSES and ticket.sla_paused_since is None \
            and ticket.resolution_due_at:
        times.append(ticket.resolution_due_at)
    return min(times) if times else None
