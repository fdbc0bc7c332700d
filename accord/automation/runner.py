"""Running a rule for one record: conditions once, then each action in order, logged.

A run is claimed before it is worked on, so two workers never run the same
one. Each action's change and its log entry commit together, so a run that
is retried or woken again starts at the first action not yet done. E-mail
and webhook calls happen inside that transaction: should the database fail
after one was sent, the retry sends it again, while a failure before the
send changes nothing.
"""

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accord import events
from accord.activities.services import site_url
from accord.core.models import DomainEvent
from accord.errors import DomainError

from . import actions, custom_records, triggers
from .models import Rule, RuleRun, RunStatus
from .reading import Reader
from .services import author_of, conditions_met, error_text, may_run_for

logger = logging.getLogger(__name__)

# A rule whose change sets off a rule whose change sets off... stops here:
# deep enough for rules that hand work to each other, short of a loop.
MAX_DEPTH = 5
MAX_ATTEMPTS = 4  # the first try and three retries
LEASE = dt.timedelta(minutes=10)  # far above one run's actions; then another worker may take it


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failure: 1, 4, 16 minutes."""
    return dt.timedelta(minutes=4 ** max(attempts - 1, 0))


def open_run(rule: Rule, event: DomainEvent) -> RuleRun | None:
    """The run of `rule` for `event`, made once; None when it exists already."""
    entity, object_id = triggers.run_target(event)
    run, made = RuleRun.objects.get_or_create(
        organization_id=rule.organization_id, rule=rule, key=f"event:{event.pk}",
        defaults={"event": event, "entity": entity, "object_id": object_id,
                  "depth": events.chain_depth(event) + 1, "actions": rule.actions,
                  "trigger_text": triggers.event_text(event)},
    )
    return run if made else None


def open_dated_run(rule: Rule, entity: str, object_id: int, key: str, text: str) -> RuleRun | None:
    """A run set off by a date or a schedule; None when that key ran already."""
    run, made = RuleRun.objects.get_or_create(
        organization_id=rule.organization_id, rule=rule, key=key,
        defaults={"entity": entity, "object_id": object_id, "actions": rule.actions,
                  "trigger_text": text[:300]},
    )
    return run if made else None


def _claim(run_id: int, now: dt.datetime) -> bool:
    return bool(RuleRun.objects.filter(
        Q(status=RunStatus.PENDING)
        | Q(status__in=[RunStatus.RUNNING, RunStatus.WAITING], resume_at__lte=now),
        pk=run_id,
    ).update(status=RunStatus.RUNNING, resume_at=now + LEASE))


def _entry(index: int | None, kind: str, status: str, detail: str, now: dt.datetime) -> dict:
    return {"index": index, "type": kind, "status": status, "detail": str(detail)[:1000],
            "at": now.isoformat()}


def _finish(run: RuleRun, status: str, now: dt.datetime, entry: dict | None = None) -> str:
    if entry:
        run.log = [*run.log, entry]
    run.status = status
    run.finished_at = now
    run.resume_at = None
    run.save(update_fields=["log", "status", "finished_at", "resume_at"])
    logger.info("rule.run_finished", extra={
        "organization_id": run.organization_id, "rule_id": run.rule_id, "run_id": run.pk,
        "status": status})
    return status


class Retry(Exception):
    """The run failed an action and should be tried again after `delay`."""

    def __init__(self, delay: dt.timedelta):
        super().__init__(delay)
        self.delay = delay


def advance(org, run_id: int, *, now: dt.datetime | None = None) -> str | None:
    """Work on a run until it finishes, waits or fails; its status, None when not taken.

    Raises Retry when an action failed and will be tried again.
    """
    now = now or timezone.now()
    if not _claim(run_id, now):
        return None
    run = RuleRun.objects.select_related("rule", "rule__created_by", "event").get(pk=run_id)
    rule = run.rule

    if custom_records.is_record(run.entity):
        # A record type switched off (or deleted) stops its runs, waiting ones too.
        reason = custom_records.why_not_running(run.entity)
        if reason:
            status = RunStatus.SKIPPED if run.next_action == 0 else RunStatus.STOPPED
            return _finish(run, status, now, _entry(None, "", status, reason, now))
    # A rule on `record.deleted` runs for the record it finds in the trash.
    trashed = run.event_id is not None and run.event.type == "record.deleted"
    record = triggers.load_record(run.entity, run.object_id, trashed=trashed)
    starting = run.next_action == 0 and not run.log
    contact = triggers.contact_of(run.entity, record)
    if record is not None and not may_run_for(rule, run.entity, record, contact):
        # A member's rule keeps to the records they see, checked afresh when a wait
        # ends; the entry names nothing, and their run list leaves the run out.
        status = RunStatus.SKIPPED if starting else RunStatus.STOPPED
        return _finish(run, status, now, _entry(
            None, "", status, _("The rule's author may not see this record."), now))
    if starting:
        stop = _check_start(org, run, rule, record, now)
        if stop is not None:
            return stop
    elif record is None:
        return _finish(run, RunStatus.STOPPED, now, _entry(
            None, "", RunStatus.STOPPED, _("The record no longer exists."), now))
    step = actions.Step(org=org, rule=rule, entity=run.entity, record=record, contact=contact,
                        depth=run.depth, run_id=run.pk)

    for index in range(run.next_action, len(run.actions)):
        action = run.actions[index]
        if action["type"] == "wait":
            until = now + actions.wait_for(action)
            run.log = [*run.log, _entry(index, "wait", RunStatus.WAITING,
                                        _("Waiting until %(when)s UTC.")
                                        % {"when": until.strftime("%Y-%m-%d %H:%M")}, now)]
            run.next_action = index + 1
            run.status = RunStatus.WAITING
            run.resume_at = until
            run.save(update_fields=["log", "next_action", "status", "resume_at"])
            return RunStatus.WAITING
        try:
            with transaction.atomic(), events.chained(run.depth):
                detail = actions.perform(step, action)
                run.log = [*run.log, _entry(index, action["type"], "done", detail, now)]
                run.next_action = index + 1
                run.attempts = 0
                run.save(update_fields=["log", "next_action", "attempts"])
        except actions.ActionSkipped as exc:
            run.log = [*run.log, _entry(index, action["type"], RunStatus.SKIPPED, str(exc), now)]
            run.next_action = index + 1
            run.attempts = 0
            run.save(update_fields=["log", "next_action", "attempts"])
        except DomainError as exc:
            return _failed(run, index, action, error_text(exc), now)
        except Exception:
            # Absorbed on purpose: the run log and the rule's author hear of
            # it and it is retried, rather than the run hanging unexplained.
            logger.exception("rule.action_crashed", extra={
                "organization_id": run.organization_id, "rule_id": run.rule_id,
                "run_id": run.pk, "action": action["type"]})
            return _failed(run, index, action,
                           _("An unexpected error stopped this action."), now)
    return _finish(run, RunStatus.DONE, now)


def _check_start(org, run: RuleRun, rule: Rule, record, now: dt.datetime) -> str | None:
    if run.depth > MAX_DEPTH:
        logger.warning("rule.loop_stopped", extra={
            "organization_id": org.id, "rule_id": rule.pk, "run_id": run.pk})
        return _finish(run, RunStatus.STOPPED, now, _entry(
            None, "", RunStatus.STOPPED,
            _("Stopped: this change was made by a chain of %(depth)s rule runs, each set off "
              "by the one before; rules stop after %(max)s so that they cannot loop.")
            % {"depth": run.depth - 1, "max": MAX_DEPTH}, now))
    if not rule.is_active:
        return _finish(run, RunStatus.SKIPPED, now, _entry(
            None, "", RunStatus.SKIPPED, _("The rule was switched off."), now))
    if not triggers.is_known_entity(run.entity):
        return _finish(run, RunStatus.SKIPPED, now, _entry(
            None, "", RunStatus.SKIPPED,
            _("Rules do not act on %(entity)s records.") % {"entity": run.entity}
            if run.entity != "form_submission" else
            _("The form was sent without a contact (it made a lead only), so there is no "
              "contact for the rule to act on."), now))
    if record is None:
        return _finish(run, RunStatus.SKIPPED, now, _entry(
            None, "", RunStatus.SKIPPED, _("The record no longer exists."), now))
    author = author_of(rule)
    if author is not None and Reader(author).rule_hides(rule):
        # Hidden from the author's role since the rule was saved: whether it ran
        # would tell them about the field.
        return _finish(run, RunStatus.SKIPPED, now, _entry(
            None, "", RunStatus.SKIPPED,
            _("The rule uses a field hidden from its author's role."), now))
    matched, reason = conditions_met(org, rule.conditions,
                                     triggers.contact_of(run.entity, record), entity=run.entity,
                                     seen_by=(author,))
    if not matched:
        # The tree checked is kept, so that the entry can be told again without a
        # field hidden from whoever reads it (reading.Reader.run_out).
        entry = {**_entry(None, "", RunStatus.SKIPPED, reason, now),
                 "conditions": rule.conditions}
        return _finish(run, RunStatus.SKIPPED, now, entry)
    return None


def _failed(run: RuleRun, index: int, action: dict, message: str, now: dt.datetime) -> str:
    """Log a failed action; retry it later, or after the last attempt give the run up."""
    attempts = run.attempts + 1
    logger.warning("rule.action_failed", extra={
        "organization_id": run.organization_id, "rule_id": run.rule_id, "run_id": run.pk,
        "action": action["type"], "attempt": attempts})
    if attempts < MAX_ATTEMPTS:
        delay = backoff(attempts)
        run.log = [*run.log, _entry(index, action["type"], "retrying",
                                    _("Attempt %(n)s failed: %(error)s")
                                    % {"n": attempts, "error": message}, now)]
        run.attempts = attempts
        run.resume_at = now + delay
        run.save(update_fields=["log", "attempts", "resume_at"])
        raise Retry(delay)
    _finish(run, RunStatus.FAILED, now, _entry(
        index, action["type"], RunStatus.FAILED,
        _("Gave up after %(n)s attempts: %(error)s") % {"n": attempts, "error": message}, now))
    _tell_creator(run, message)
    return RunStatus.FAILED


def _tell_creator(run: RuleRun, message: str) -> None:
    creator = run.rule.created_by
    if creator is None or not creator.email:
        return
    send_mail(
        subject=_("Accord: the rule “%(name)s” failed") % {"name": run.rule.name},
        message=_("The rule “%(name)s” could not finish its run for %(entity)s %(id)s:\n\n"
                  "%(error)s\n\nThe run log shows each step:\n%(url)s\n")
        % {"name": run.rule.name, "entity": run.entity, "id": run.object_id,
           "error": message, "url": f"{site_url()}{run.rule.get_absolute_url()}"},
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[creator.email],
        fail_silently=True,
    )


def due_runs(now: dt.datetime, limit: int) -> list[tuple[int, int]]:
    """(organisation id, run id) of runs to wake: waits over, retries due, leases lapsed,
    and runs whose first task was lost; across organisations."""
    stale = now - dt.timedelta(minutes=5)
    return list(
        RuleRun.unscoped.filter(
            Q(status__in=[RunStatus.WAITING, RunStatus.RUNNING], resume_at__lte=now)
            | Q(status=RunStatus.PENDING, created_at__lte=stale))
        .order_by("id").values_list("organization_id", "pk")[:limit]
    )
