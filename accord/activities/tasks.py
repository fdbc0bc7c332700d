"""Background work for the timeline: task reminders, sent by the beat every minute."""

import datetime as dt
import logging

from celery import shared_task
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_scopes import scope

from accord.audit.context import channel
from accord.identity.models import Organization

from . import services
from .models import Activity, Kind, ReminderDelivery

logger = logging.getLogger(__name__)

BATCH = 500  # one beat tick; at a few hundred e-mails a minute it ends well inside 60 s
# A reminder found more than a day late (the worker was down) is dropped: by
# then it reminds of something the assignee has already missed or handled.
LATE_LIMIT = dt.timedelta(hours=24)


@shared_task(name="accord.activities.tasks.send_due_reminders")
def send_due_reminders(now: str | None = None) -> int:
    """Send every task reminder that is due and not yet delivered; return how many.

    Safe to run twice or concurrently: each reminder is claimed by a unique
    ReminderDelivery row before its e-mail goes out. `now` (ISO 8601) replaces
    the current time, for catching up on a given instant.
    """
    moment = parse_datetime(now) if now else timezone.now()
    if moment is None or timezone.is_naive(moment):
        raise ValueError("now must be an ISO 8601 date-time with a time zone.")

    # The only query here that spans organisations: it finds which tenants
    # have work, then everything else runs inside that tenant's scope.
    delivered = ReminderDelivery.unscoped.filter(
        activity=OuterRef("pk"), remind_at=OuterRef("remind_at")
    )
    due = (
        Activity.unscoped.filter(
            kind=Kind.TASK, completed_at__isnull=True, assignee__isnull=False,
            remind_at__lte=moment, remind_at__gt=moment - LATE_LIMIT,
        )
        .exclude(Exists(delivered))
        .order_by("remind_at", "id")
        .values_list("organization_id", "id")[:BATCH]
    )
    by_org: dict[int, list[int]] = {}
    for organization_id, activity_id in due:
        by_org.setdefault(organization_id, []).append(activity_id)

    sent = 0
    for org in Organization.objects.filter(pk__in=by_org):
        with scope(organization=org), channel("job"):
            for activity_id in by_org[org.pk]:
                sent += services.send_task_reminder(org, activity_id, now=moment)
    if by_org:
        logger.info("reminders.tick", extra={"due": sum(map(len, by_org.values())),
                                             "sent": sent})
    return sent
