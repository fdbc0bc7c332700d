"""Writes to the timeline: logging activities, tasks and system events."""

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accord.audit import services as audit
from accord.audit.models import Action
from accord.errors import InvalidInput, NotFound, StaleVersion

from .models import USER_KINDS, Activity, CallOutcome, Direction, Kind

logger = logging.getLogger(__name__)

ACTIVITY_FIELDS = [
    "kind", "subject", "body", "contact", "company", "occurred_at", "direction", "outcome",
    "duration_minutes", "due_at", "assignee", "remind_at", "completed_at",
]


def log_event(org, actor, event: str, *, contact=None, company=None,
              data: dict | None = None) -> Activity:
    """Add a system event (created, stage changed, merged) to a record's timeline."""
    return Activity.objects.create(
        organization=org, kind=Kind.SYSTEM, event=event, data=data or {},
        contact=contact, company=company, occurred_at=timezone.now(),
        author=actor if getattr(actor, "pk", None) else None,
    )


def get_activity(activity_id) -> Activity:
    try:
        activity = Activity.objects.filter(pk=int(activity_id)).first()
    except (TypeError, ValueError):
        activity = None
    if activity is None:
        raise NotFound("No activity with this id.")
    return activity


def clean_activity(org, data: dict, *, current: Activity | None = None) -> dict:
    """Validate activity input, naming each bad field; only given keys are returned."""
    from accord.customers.validation import (
        Collector,
        clean_choice,
        clean_company_ref,
        clean_member,
        clean_text,
    )

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
    if "contact" in data:
        out["contact"] = _clean_contact_ref(data["contact"], errors)
    if "company" in data:
        out["company"] = clean_company_ref(data["company"], "company_id", errors)
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
    if not (merged.get("contact") or merged.get("company")):
        errors.add("contact_id", "Link the activity to a contact or a company.", "required")
    if kind == Kind.TASK:
        if not (merged.get("subject")):
            errors.add("subject", "Say what the task is.", "required")
        if merged.get("remind_at") and merged.get("due_at") is None:
            errors.add("due_at", "A reminder needs a due date.", "required")
    elif not (merged.get("subject") or merged.get("body")):
        errors.add("body", "Write what happened.", "required")
    if kind != Kind.TASK:
        for field in ("due_at", "remind_at", "completed_at"):
            if out.get(field):
                errors.add(field, "Only tasks have due dates, reminders and completion.")
    errors.raise_if_any()
    return out


def _clean_contact_ref(value, errors):
    from accord.customers.models import Contact

    if value in (None, ""):
        return None
    try:
        contact = Contact.objects.filter(pk=int(getattr(value, "pk", value))).first()
    except (TypeError, ValueError):
        contact = None
    if contact is None:
        errors.add("contact_id", "Choose an existing contact.")
    return contact


def _clean_datetime(value, field: str, errors) -> dt.datetime | None:
    from django.utils.dateparse import parse_datetime

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
def log_activity(org, actor, *, data: dict) -> Activity:
    """Log a note, call, meeting, e-mail or task; raises InvalidInput naming bad fields."""
    values = clean_activity(org, data)
    values.setdefault("occurred_at", None)
    if values["occurred_at"] is None:
        values["occurred_at"] = timezone.now()
    if values.get("contact") is not None and values.get("company") is None:
        values["company"] = values["contact"].company

    activity = Activity(organization=org, author=actor if getattr(actor, "pk", None) else None,
                        **values)
    if activity.kind == Kind.TASK and activity.assignee_id is None and getattr(actor, "pk", None):
        activity.assignee = actor
    activity.save()

    audit.record(org, actor, Action.CREATE, activity,
                 changes=audit.diff({}, audit.snapshot(activity, ACTIVITY_FIELDS)))
    logger.info("activity.logged", extra={"organization_id": org.id,
                                          "activity_id": activity.pk, "kind": activity.kind})
    return activity


@transaction.atomic
def update_activity(org, actor, activity: Activity, *, data: dict,
                    expected_version: int | None = None) -> Activity:
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    if activity.kind == Kind.SYSTEM:
        raise InvalidInput({"kind": "System events cannot be edited."})
    if expected_version is not None and int(expected_version) != activity.version:
        raise StaleVersion(current_version=activity.version)
    values = clean_activity(org, data, current=activity)

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
