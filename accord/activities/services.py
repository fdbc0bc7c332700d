"""Writes to the timeline: logging activities, tasks and system events."""

import datetime as dt
import logging
import smtplib

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.models import Company, Contact
from accord.customers.validation import (
    Collector,
    clean_choice,
    clean_member,
    clean_ref,
    clean_text,
)
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.models import Membership
from accord.identity.visibility import can_see
from accord.records.models import Record
from accord.sales.models import Deal
from accord.timezones import zone_named

from .models import USER_KINDS, Activity, CallOutcome, Direction, Kind, ReminderDelivery

logger = logging.getLogger(__name__)

ACTIVITY_FIELDS = [
    "kind", "subject", "body", "contact", "company", "deal", "custom_record", "occurred_at",
    "direction", "outcome", "duration_minutes", "due_at", "assignee", "remind_at",
    "completed_at",
]
TASK_GROUP_LIMIT = 100  # a longer list is not read; "My tasks" says more exist
RECENTLY_DONE = dt.timedelta(days=7)


def log_event(org, actor, event: str, *, contact=None, company=None, deal=None,
              data: dict | None = None) -> Activity:
    """Add a system event (created, stage changed, merged) to a record's timeline."""
    return Activity.objects.create(
        organization=org, kind=Kind.SYSTEM, event=event, data=data or {},
        contact=contact, company=company, deal=deal, occurred_at=timezone.now(),
        author=actor if getattr(actor, "pk", None) else None,
    )


def get_activity(activity_id, membership=None) -> Activity:
    """The entry with this id; given a `membership`, NotFound also when a record the entry
    hangs on is hidden from the member."""
    from accord.identity.visibility import through_records

    entries = Activity.objects.all()
    if membership is not None:
        entries = through_records(entries, membership)
    try:
        activity = entries.filter(pk=int(activity_id)).first()
    except (TypeError, ValueError):
        activity = None
    if activity is None:
        raise NotFound("No activity with this id.")
    return activity


# What an entry hangs on: the visibility area of each, and the message for a record
# that is not there or that the member may not see.
RECORDS = {
    "contact": ("contacts", Contact, "Choose an existing contact."),
    "company": ("companies", Company, "Choose an existing company."),
    "deal": ("deals", Deal, "Choose an existing deal."),
    "custom_record": ("records", Record, "Choose an existing record."),
}


def clean_activity(org, data: dict, *, current: Activity | None = None, viewer=None) -> dict:
    """Validate activity input, naming each bad field; only given keys are returned.

    Given a `viewer` (a Membership), a record the member may not see is refused
    as one that does not exist.
    """
    errors = Collector()
    out: dict = {}
    if "kind" in data or current is None:
        kind = data.get("kind")
        if kind not in USER_KINDS:
            errors.add("kind", "Choose one of: " + ", ".join(USER_KINDS) + ".")
        out["kind"] = kind
    kind = out.get("kind") or getattr(current, "kind", None)
    if "subject" in data:
        out["subject"] = clean_text(data["subject"], "subject", errors)
    if "body" in data:
        body = data["body"] or ""
        if not isinstance(body, str) or len(body) > 50000:
            errors.add("body", "Keep the details under 50,000 characters.")
        else:
            out["body"] = body.strip()
    for key, (area, model, message) in RECORDS.items():
        if key not in data:
            continue
        record = clean_ref(model, data[key], f"{key}_id", errors, message)
        if record is not None and viewer is not None and not can_see(viewer, record, area):
            errors.add(f"{key}_id", message)
            record = None
        out[key] = record
    for field in ("occurred_at", "due_at", "remind_at"):
        if field in data:
            out[field] = _clean_datetime(data[field], field, errors)
    if "direction" in data:
        out["direction"] = clean_choice(data["direction"], "direction", Direction, errors,
                                        blank=True)
    if "outcome" in data:
        out["outcome"] = clean_choice(data["outcome"], "outcome", CallOutcome, errors,
                                      blank=True)
    if "duration_minutes" in data:
        value = data["duration_minutes"]
        if value in (None, ""):
            out["duration_minutes"] = None
        else:
            try:
                out["duration_minutes"] = int(value)
                if not 0 <= out["duration_minutes"] <= 24 * 60:
                    raise ValueError
            except (TypeError, ValueError):
                errors.add("duration_minutes", "Enter minutes between 0 and 1440.")
    if "assignee" in data:
        out["assignee"] = clean_member(org, data["assignee"], "assignee_id", errors)
    if "done" in data:
        out["completed_at"] = timezone.now() if data["done"] else None
        if current is not None and current.completed_at and data["done"]:
            out["completed_at"] = current.completed_at
    errors.raise_if_any()

    merged = {field: getattr(current, field, None) for field in ACTIVITY_FIELDS} | out
    if not (merged.get("contact") or merged.get("company") or merged.get("deal")
            or merged.get("custom_record")):
        errors.add("contact_id", "Link the activity to a contact, a company, a deal or a "
                                 "record.", "required")
    if kind == Kind.TASK:
        if not (merged.get("subject")):
            errors.add("subject", "Say what the task is.", "required")
        if merged.get("remind_at") and merged.get("due_at") is None:
            errors.add("due_at", "A reminder needs a due date.", "required")
        elif merged.get("remind_at") and merged["remind_at"] > merged["due_at"]:
            errors.add("remind_at", "Set the reminder at or before the due time.")
    elif not (merged.get("subject") or merged.get("body")):
        errors.add("body", "Write what happened.", "required")
    if kind != Kind.TASK:
        for field in ("due_at", "remind_at", "completed_at"):
            if out.get(field):
                errors.add(field, "Only tasks have due dates, reminders and completion.")
    errors.raise_if_any()
    return out


def _clean_datetime(value, field: str, errors) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = parse_datetime(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, dt.datetime):
        errors.add(field, "Enter a date and time, such as 2026-05-01T09:30:00Z.")
        return None
    if timezone.is_naive(value):
        errors.add(field, "Include the time zone, such as Z or +02:00.")
        return None
    return value


@transaction.atomic
def log_activity(org, actor, *, data: dict, viewer=None) -> Activity:
    """Log a note, call, meeting, e-mail or task; raises InvalidInput naming bad fields.

    Given a `viewer`, the entry may hang only on records the member sees."""
    values = clean_activity(org, data, viewer=viewer)
    values.setdefault("occurred_at", None)
    if values["occurred_at"] is None:
        values["occurred_at"] = timezone.now()
    if values.get("contact") is not None and values.get("company") is None:
        values["company"] = values["contact"].company
    if values.get("deal") is not None and values.get("company") is None:
        values["company"] = values["deal"].company

    activity = Activity(organization=org, author=actor if getattr(actor, "pk", None) else None,
                        **values)
    if activity.kind == Kind.TASK and activity.assignee_id is None and getattr(actor, "pk", None):
        activity.assignee = actor
    activity.save()
    if activity.deal_id:
        Deal.objects.filter(pk=activity.deal_id,
                            last_activity_at__lt=activity.occurred_at).update(
            last_activity_at=activity.occurred_at)

    audit.record(org, actor, Action.CREATE, activity,
                 changes=audit.diff({}, audit.snapshot(activity, ACTIVITY_FIELDS)))
    logger.info("activity.logged", extra={"organization_id": org.id,
                                          "activity_id": activity.pk, "kind": activity.kind})
    return activity


@transaction.atomic
def update_activity(org, actor, activity: Activity, *, data: dict,
                    expected_version: int | None = None, viewer=None) -> Activity:
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    if activity.kind == Kind.SYSTEM:
        raise InvalidInput({"kind": "System events cannot be edited."})
    if expected_version is not None and int(expected_version) != activity.version:
        raise StaleVersion(current_version=activity.version)
    values = clean_activity(org, data, current=activity, viewer=viewer)

    before = audit.snapshot(activity, ACTIVITY_FIELDS)
    for field, value in values.items():
        setattr(activity, field, value)
    changes = audit.diff(before, audit.snapshot(activity, ACTIVITY_FIELDS))
    if not changes:
        return activity
    activity.version = F("version") + 1
    activity.save()
    activity.refresh_from_db()
    audit.record(org, actor, Action.UPDATE, activity, changes=changes)
    return activity


def set_task_done(org, actor, task: Activity, *, done: bool) -> Activity:
    if task.kind != Kind.TASK:
        raise InvalidInput({"kind": "Only tasks can be marked done."})
    return update_activity(org, actor, task, data={"done": done})


@transaction.atomic
def delete_activity(org, actor, activity: Activity) -> None:
    if activity.kind == Kind.SYSTEM:
        raise InvalidInput({"kind": "System events cannot be deleted."})
    audit.record(org, actor, Action.DELETE, activity,
                 changes=audit.diff(audit.snapshot(activity, ACTIVITY_FIELDS), {}))
    activity.delete()


def tasks_for_user(user, *, now: dt.datetime) -> dict[str, list[Activity]]:
    """The user's tasks in the current organisation, grouped as "My tasks" shows them.

    Open tasks fall into overdue (due before `now`), today (due later on the
    user's current day, in the active time zone) and upcoming (due later, or
    with no due date, last). Done tasks are those finished in the last week.
    Each group holds at most TASK_GROUP_LIMIT + 1 rows so the page can say
    that more exist without counting them.
    """
    tasks = Activity.objects.filter(kind=Kind.TASK, assignee=user).select_related(
        "contact", "company"
    )
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    end_of_today = timezone.make_aware(dt.datetime.combine(tomorrow, dt.time.min))
    open_tasks = tasks.filter(completed_at__isnull=True)
    cut = TASK_GROUP_LIMIT + 1
    return {
        "overdue": list(open_tasks.filter(due_at__lt=now).order_by("due_at", "id")[:cut]),
        "today": list(open_tasks.filter(due_at__gte=now, due_at__lt=end_of_today)
                      .order_by("due_at", "id")[:cut]),
        "upcoming": list(
            open_tasks.exclude(due_at__lt=end_of_today)
            .order_by(F("due_at").asc(nulls_last=True), "id")[:cut]
        ),
        "done": list(tasks.filter(completed_at__gte=now - RECENTLY_DONE)
                     .order_by("-completed_at", "-id")[:cut]),
    }


def send_task_reminder(org, activity_id: int, *, now: dt.datetime | None = None) -> bool:
    """E-mail the assignee of an open task that its reminder is due; True if sent.

    Exactly once per (task, reminder time): a ReminderDelivery row is written
    before the e-mail goes out, and a reminder whose row exists is never sent
    again, whichever run wrote it. When the mail server refuses the message
    the row is removed so that the next run tries again. Must run inside the
    organisation's scope.
    """
    now = now or timezone.now()
    activity = (
        Activity.objects.select_related("assignee", "contact", "company")
        .filter(pk=activity_id, kind=Kind.TASK, completed_at__isnull=True,
                remind_at__isnull=False, remind_at__lte=now)
        .first()
    )
    if activity is None or not _may_be_reminded(activity.assignee):
        return False

    try:
        with transaction.atomic():
            delivery = ReminderDelivery.objects.create(
                organization=org, activity=activity, remind_at=activity.remind_at,
                recipient=activity.assignee,
            )
    except IntegrityError:
        return False

    try:
        _reminder_message(org, activity).send()
    except (smtplib.SMTPException, OSError):
        # Nothing was accepted by the server, so forgetting the attempt is safe
        # and lets the next beat tick retry.
        ReminderDelivery.objects.filter(pk=delivery.pk).delete()
        logger.warning("reminder.send_failed", extra={
            "organization_id": org.id, "activity_id": activity.pk,
        })
        return False
    ReminderDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now())
    logger.info("reminder.sent", extra={
        "organization_id": org.id, "activity_id": activity.pk,
        "recipient_id": activity.assignee_id,
    })
    return True


def _may_be_reminded(user) -> bool:
    return (
        user is not None
        and user.is_active
        and bool(user.email)
        and Membership.objects.filter(user=user, is_active=True).exists()
    )


def _reminder_message(org, activity: Activity) -> EmailMessage:
    """The reminder e-mail, with times in the assignee's own time zone."""
    user = activity.assignee
    zone = zone_named(user.time_zone)
    context = {
        "org": org,
        "task": activity,
        "record": activity.record,
        "user": user,
        "zone_name": str(zone),
        "url": site_url() + activity.get_absolute_url(),
    }
    with timezone.override(zone), translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("activities/email/task_reminder_subject.txt", context)
        body = render_to_string("activities/email/task_reminder.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()), body=body, to=[user.email],
    )


def site_url() -> str:
    """Where links in e-mails point: SITE_URL, or the local server `make run` starts."""
    configured = getattr(settings, "SITE_URL", "")
    if configured:
        return configured.rstrip("/")
    return f"http://127.0.0.1:{settings.PORT}"


def mark_records_seen(activities, membership) -> None:
    """Note on each entry which records it hangs on the member sees, as `seen`
    ({"contact": True, ...}; "record" for the one it is shown under). A task stays with
    its assignee whoever may see its record, so pages name that record only when seen."""
    from accord.identity.visibility import sees

    known: dict[tuple, bool] = {}

    def seen(record) -> bool:
        key = (type(record), record.pk)
        if key not in known:
            known[key] = sees(membership, record)
        return known[key]

    for activity in activities:
        activity.seen = {name: seen(record) for name, record in (
            ("contact", activity.contact), ("company", activity.company),
            ("deal", activity.deal), ("record", activity.record)) if record is not None}
