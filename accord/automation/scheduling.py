"""Date and schedule rules: once a day, at the rule's time, the records whose day has come.

A date rule takes the records whose date is `days` away from today (before
it when negative); a schedule rule takes the contacts that meet its
conditions, skipping those it ran for in the last `repeat_days` days. Each
record gets a run keyed by rule, record and day, so a second look the same
day starts nothing new.

A date rule whose look was missed (the scheduler was down, say) catches up:
its next look also takes the days it missed while switched on, up to
CATCH_UP_DAYS back, so a reminder is late rather than lost. Schedule rules
do not catch up; their next look simply finds the contacts that match then.
"""

import datetime as dt
import logging

from django.db.models import Q

from accord.marketing.conditions import Conditions
from accord.records.models import Record

from . import custom_records, runner, triggers
from .models import Rule, RuleRun, Trigger
from .services import author_of

logger = logging.getLogger(__name__)

CATCH_UP_DAYS = 7  # today and the six days before it


def _time_of(rule: Rule) -> dt.time:
    hours, minutes = (rule.settings or {}).get("time", "08:00").split(":")
    return dt.time(int(hours), int(minutes))


def _claim_day(rule: Rule, today: dt.date) -> bool:
    """Take today's look for `rule`; False when it was taken already."""
    return bool(Rule.objects.filter(pk=rule.pk).filter(
        Q(last_checked_on__isnull=True) | Q(last_checked_on__lt=today),
    ).update(last_checked_on=today))


def days_to_look_at(last_checked_on: dt.date | None, today: dt.date) -> list[dt.date]:
    """Today, and the days after `last_checked_on` that were missed, at most CATCH_UP_DAYS."""
    if last_checked_on is None:
        return [today]
    first = max(last_checked_on + dt.timedelta(days=1),
                today - dt.timedelta(days=CATCH_UP_DAYS - 1))
    return [first + dt.timedelta(days=n) for n in range((today - first).days + 1)]


def dated_records(rule: Rule, days: list[dt.date]) -> tuple[str, list[tuple[int, dt.date]]]:
    """The entity, and (id, target date) of each record a date rule is due for on `days`."""
    entity, field = triggers.date_field(rule.settings.get("date", ""))
    offset = dt.timedelta(days=int(rule.settings.get("days") or 0))
    targets = [day - offset for day in days]
    if custom_records.is_record(entity):
        # Date values sit in the JSON column as ISO text ("2026-05-01"), so
        # the days are matched as text, which both databases compare exactly.
        name = f"values__{field}"
        found = Record.objects.filter(record_type__key=custom_records.type_key(entity),
                                      record_type__is_active=True,
                                      **{f"{name}__in": [t.isoformat() for t in targets]})
        pairs = [(pk, dt.date.fromisoformat(value)) for pk, value in found.values_list("pk", name)]
        return entity, sorted(pairs, key=lambda pair: (pair[1], pair[0]))
    model = triggers.ENTITIES[entity]
    if field.startswith("custom."):
        name = f"custom_fields__{field.removeprefix('custom.')}"
        found = model.objects.filter(**{f"{name}__in": [t.isoformat() for t in targets]})
        pairs = [(pk, dt.date.fromisoformat(value)) for pk, value in found.values_list("pk", name)]
    else:
        pairs = list(model.objects.filter(**{f"{field}__in": targets}).values_list("pk", field))
    return entity, sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def scheduled_contacts(org, rule: Rule, today: dt.date) -> list[int]:
    """The contacts a schedule rule runs for today: matching, and not taken too recently."""
    repeat = int(rule.settings.get("repeat_days") or 1)
    since = today - dt.timedelta(days=repeat - 1)
    recent = RuleRun.objects.filter(rule=rule, created_at__date__gte=since).values("object_id")
    contacts = Conditions(org).contacts(rule.conditions, seen_by=(author_of(rule),))
    return list(contacts.exclude(pk__in=recent).values_list("pk", flat=True))


def start_due(org, local: dt.datetime) -> list[int]:
    """Open the runs of the organisation's date and schedule rules due at `local` time."""
    today = local.date()
    opened = []
    rules = Rule.objects.filter(trigger__in=[Trigger.DATE_REACHED, Trigger.SCHEDULE],
                                is_active=True).order_by("pk")
    for rule in rules:
        if local.time() < _time_of(rule) or not _claim_day(rule, today):
            continue
        if rule.trigger == Trigger.DATE_REACHED and not triggers.is_known_date(
                rule.settings.get("date", ""), author_of(rule)):
            # The record type or its date field was switched off or deleted, or
            # hidden since from the author's role: the rule finds nothing to run
            # for until it is back.
            logger.warning("rule.date_unknown", extra={"organization_id": org.id,
                                                       "rule_id": rule.pk})
            continue
        if rule.trigger == Trigger.DATE_REACHED:
            entity, found = dated_records(rule, days_to_look_at(rule.last_checked_on, today))
            keys = [(object_id, f"date:{object_id}:{target.isoformat()}",
                     f"{rule.settings['date']} = {target.isoformat()}")
                    for object_id, target in found]
        else:
            entity, text = "contact", f"schedule {today.isoformat()}"
            keys = [(object_id, f"schedule:{object_id}:{today.isoformat()}", text)
                    for object_id in scheduled_contacts(org, rule, today)]
        for object_id, key, text in keys:
            run = runner.open_dated_run(rule, entity, object_id, key, text)
            if run is not None:
                opened.append(run.pk)
        logger.info("rule.dated_checked", extra={"organization_id": org.id,
                                                 "rule_id": rule.pk, "count": len(keys)})
    return opened
