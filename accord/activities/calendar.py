"""A member's tasks and meetings as an iCalendar feed (RFC 5545) their calendar app subscribes to.

The address holds a secret; Accord keeps only its SHA-256, so a lost address
is replaced, not shown again. The feed holds the member's open tasks with a
due time and tasks done lately (at their due time), and the meetings they
logged, from 90 days back to a year ahead.
"""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from accord.audit import services as audit
from accord.audit.models import Action
from accord.identity.models import Membership

from .models import Activity, CalendarFeed, Kind

PAST = dt.timedelta(days=90)
AHEAD = dt.timedelta(days=365)
MAX_EVENTS = 2000
TASK_MINUTES = 15
MEETING_MINUTES = 60  # when a meeting says nothing of its length


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_feed(org, user) -> str:
    """A new secret address for `user`, replacing any earlier one; shown once."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.filter(user=user).delete()
    feed = CalendarFeed.objects.create(organization=org, user=user, token_hash=_hash(token))
    audit.record(org, user, Action.CREATE, feed, entity="calendar_feed",
                 changes={"user": [None, user.pk]})
    return token


@transaction.atomic
def delete_feed(org, user) -> bool:
    """Stop the member's calendar address; True when there was one."""
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is None:
        return False
    audit.record(org, user, Action.DELETE, feed, entity="calendar_feed",
                 changes={"user": [user.pk, None]})
    feed.delete()
    return True


def feed_for(token: str) -> CalendarFeed | None:
    """The feed whose secret is `token`, while its member is still active; else None."""
    if not token or len(token) > 100:
        return None
    with scopes_disabled():
        feed = (CalendarFeed.unscoped.select_related("organization", "user")
                .filter(token_hash=_hash(token)).first())
        if feed is None or not feed.user.is_active:
            return None
        if not Membership.unscoped.filter(organization=feed.organization, user=feed.user,
                                          is_active=True).exists():
            return None
    return feed


def entries(user, *, now: dt.datetime) -> list[Activity]:
    """The member's tasks and meetings in the feed's window; call inside the scope."""
    start, end = now - PAST, now + AHEAD
    tasks = Q(kind=Kind.TASK, assignee=user, due_at__range=(start, end))
    meetings = Q(kind=Kind.MEETING, author=user, occurred_at__range=(start, end))
    return list(Activity.objects.filter(tasks | meetings)
                .select_related("contact", "company", "deal")
                .order_by("-id")[:MAX_EVENTS])


def _text(value: str) -> str:
    """A TEXT value escaped as RFC 5545 says."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on lines starting with a space."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        piece = char.encode()
        if len(current) + len(piece) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += piece
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _about(activity: Activity) -> str:
    """The record the entry hangs on, by name when the member sees it."""
    for name in ("contact", "company", "deal"):
        record = getattr(activity, name)
        if record is not None:
            return str(record) if activity.seen.get(name) else ""
    return ""


def _event(activity: Activity, *, host: str, now: dt.datetime) -> list[str]:
    if activity.kind == Kind.TASK:
        start = activity.due_at
        minutes = TASK_MINUTES
        summary = activity.subject or "Task"
        if activity.completed_at is not None:
            summary = f"✓ {summary}"
    else:
        start = activity.occurred_at
        minutes = activity.duration_minutes or MEETING_MINUTES
        summary = activity.subject or "Meeting"
    about = _about(activity)
    lines = [
        "BEGIN:VEVENT",
        f"UID:activity-{activity.pk}@{host}",
        f"DTSTAMP:{_stamp(now)}",
        f"DTSTART:{_stamp(start)}",
        f"DTEND:{_stamp(start + dt.timedelta(minutes=minutes))}",
        f"SUMMARY:{_text(summary + (f' ({about})' if about else ''))}",
        f"LAST-MODIFIED:{_stamp(activity.updated_at)}",
    ]
    if activity.body:
        lines.append(f"DESCRIPTION:{_text(activity.body[:2000])}")
    lines.append("END:VEVENT")
    return lines


def render(org, user, activities: list[Activity], *, host: str, now: dt.datetime) -> str:
    """The whole calendar as text with CRLF line ends."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Accord//CRM calendar//EN",
             "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{_text(f'Accord ({org.name})')}"]
    from .services import mark_records_seen

    mark_records_seen(activities, Membership.objects.filter(user=user, is_active=True).first())
    for activity in activities:
        lines.extend(_event(activity, host=host, now=now))
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def read_feed(feed: CalendarFeed, *, host: str) -> str:
    """The feed's calendar, noting when it was last read; call inside the scope."""
    now = timezone.now()
    CalendarFeed.objects.filter(pk=feed.pk).update(last_read_at=now)
    return render(feed.organization, feed.user, entries(feed.user, now=now), host=host,
                  now=now)
