"""Background work for workflow rules: starting runs, working through them, waking them up,
and looking for dates and schedules. Every task is safe to run twice."""

import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from accord.audit.context import channel
from accord.core.models import DomainEvent
from accord.identity.models import Organization
from accord.timezones import zone_named

from . import runner, scheduling, triggers
from .models import Rule, RuleRun, Trigger

logger = logging.getLogger(__name__)

WAKE_BATCH = 500  # runs woken per beat tick, far under a minute of work to queue


@shared_task(name="accord.automation.tasks.start_run")
def start_run(rule_id: int, event_id: int) -> str | None:
    """Open the run of a rule for an event, once, and work on it."""
    rule = Rule.unscoped.select_related("organization").filter(pk=rule_id).first()
    if rule is None:
        return None
    org = rule.organization
    with scope(organization=org), channel("job"):
        event = DomainEvent.objects.filter(pk=event_id).first()
        if event is None:
            return None
        run = runner.open_run(rule, event)
        if run is None:
            return None
    return advance_run.run(run.pk)


@shared_task(name="accord.automation.tasks.start_behaviour_runs")
def start_behaviour_runs(org_id: int, batch: str) -> int:
    """Open one run per behaviour rule and matching event of a stored batch; how many.

    A run's key is the event's, so a task delivered twice opens nothing new.
    """
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return 0
    with scope(organization=org), channel("job"):
        rules = list(Rule.objects.filter(is_active=True, trigger=Trigger.BEHAVIOUR))
        opened = [
            runner.open_dated_run(rule, "contact", event.contact_id, f"behaviour:{event.pk}",
                                  triggers.behaviour_text(event))
            for rule, event in triggers.behaviour_runs(rules, batch)
        ]
    started = [run.pk for run in opened if run is not None]
    for run_id in started:
        advance_run.delay(run_id)
    return len(started)


@shared_task(name="accord.automation.tasks.advance_run", bind=True,
             max_retries=runner.MAX_ATTEMPTS)
def advance_run(self, run_id: int) -> str | None:
    """Work on a run until it finishes, waits or fails; retried with back-off on a failure."""
    run = RuleRun.unscoped.select_related("organization").filter(pk=run_id).first()
    if run is None:
        return None
    org = run.organization
    with scope(organization=org), channel("job"):
        try:
            return runner.advance(org, run_id)
        except runner.Retry as retry:
            countdown = retry.delay.total_seconds()
            if self.request.called_directly:
                # Called inside start_run, which has no retry of its own.
                advance_run.apply_async((run_id,), countdown=countdown)
                return None
            raise self.retry(countdown=countdown) from None


@shared_task(name="accord.automation.tasks.wake_runs")
def wake_runs() -> int:
    """Queue every run whose wait is over or whose retry is due; how many were queued."""
    due = runner.due_runs(timezone.now(), WAKE_BATCH)
    for _org_id, run_id in due:
        advance_run.delay(run_id)
    return len(due)


@shared_task(name="accord.automation.tasks.check_dated_rules")
def check_dated_rules() -> int:
    """Start the runs of date and schedule rules whose time of day has come; how many."""
    moment = timezone.now()
    org_ids = set(Rule.unscoped.filter(
        Q(trigger=Trigger.DATE_REACHED) | Q(trigger=Trigger.SCHEDULE), is_active=True,
    ).values_list("organization_id", flat=True))
    started = []
    for org in Organization.objects.filter(pk__in=org_ids).order_by("pk"):
        local = moment.astimezone(zone_named(org.time_zone))
        with scope(organization=org), channel("job"):
            started += scheduling.start_due(org, local)
    for run_id in started:
        advance_run.delay(run_id)
    return len(started)
