"""Date and schedule rules: once a day, at the rule's time, the records whose day has come.

A date rule takes the records whose date is `days` away from today (before
it when negative); a schedule rule takes the contacts that meet its
conditions, skipping those it ran for in the last `repeat_days` days. Each
record gets a run keyed by rule, record and day, so a second look the same
day starts nothing new.
"""

import datetime as dt
import logging

from django.db.models import Q

from accord.marketing.conditions import Conditions

from . import runner, triggers
from .models import Rule, RuleRun, Trigger

logger = logging.getLogger(__name__)


def _time_of(rule: Rule) -> dt.time:
    hours, minutes = (rule.settings or {}).get("time", "08:00").split(":")
    return dt.time(int(hours), int(minutes))


def _claim_day(rule: Rule, today: dt.date) -> bool:
    """Take today's look for `rule`; False when it was taken already."""
    return bool(Rule.objects.filter(pk=rule.pk).filter(
        Q(last_checked_on__isnull=True) | Q(last_checked_on__lt=today),
    ).update(last_checked_on=today))


def dated_records(rule: Rule, today: dt.date) -> tuple[str, list[int], dt.date]:
    """The entity, ids and target date of the records a date rule is due for today."""
    entity, field = triggers.date_field(rule.settings.get("date", ""))
    target = today - dt.timedelta(days=int(rule.settings.get("days") or 0))
    model = triggers.ENTITIES[entity]
    if field.startswith("custom."):
        lookup = {f"custom_fields__{field.removeprefix('custom.')}": target.isoformat()}
    else:
        lookup = {field: target}
    return entity, list(model.objects.filter(**lookup).values_list("pk", flat=True)), target


def scheduled_contacts(org, rule: Rule, today: dt.date) -> list[int]:
    """The contacts a schedule rule runs for today: matching, and not taken too recently."""
    repeat = int(rule.settings.get("repeat_days") or 1)
    since = today - dt.timedelta(days=repeat - 1)
    recent = RuleRun.objects.filter(rule=rule, created_at__date__gte=since).values("object_id")
    return list(Conditions(org).contacts(rule.conditions).exclude(pk__in=recent)
                .values_list("pk", flat=True))


def start_due(org, local: dt.datetime) -> list[int]:
    """Open the runs of the organisation's date and schedule rules due at `local` time."""
    today = local.date()
    opened = []
    rules = Rule.objects.filter(trigger__in=[Trigger.DATE_REACHED, Trigger.SCHEDULE],
                                is_active=True).order_by("pk")
    for rule in rules:
        if local.time() < _time_of(rule) or not _claim_day(rule, today):
            continue
        if rule.trigger == Trigger.DATE_REACHED:
            entity, ids, target = dated_records(rule, today)
            text = f"{rule.settings['date']} = {target.isoformat()}"
            keys = [(object_id, f"date:{object_id}:{target.isoformat()}") for object_id in ids]
        else:
            entity, text = "contact", f"schedule {today.isoformat()}"
            keys = [(object_id, f"schedule:{object_id}:{today.isoformat()}")
                    for object_id in scheduled_contacts(org, rule, today)]
        for object_id, key in keys:
            run = runner.open_dated_run(rule, entity, object_id, key, text)
            if run is not None:
                opened.append(run.pk)
        logger.info("rule.dated_checked", extra={"organization_id": org.id,
                                                 "rule_id": rule.pk, "count": len(keys)})
    return opened
