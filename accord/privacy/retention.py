"""Retention rules: which old records an organisation no longer keeps, and removing them.

Each entity has a small fixed set of conditions and actions that make sense
for it (see `ENTITIES` and docs/privacy.md). `matching` is the one query a
rule stands for: the dry run lists it and the run works through it, so the
dry run shows exactly what the run then removes. Runs go in batches, each
its own transaction, so a large backlog never holds a lock for long.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from accord import search
from accord.activities.models import Activity
from accord.audit import services as audit
from accord.audit.models import Action
from accord.commerce.models import Order
from accord.customers.models import Consent, ConsentStatus, Contact, consents_in_effect
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.marketing.webform_models import WebFormSubmission
from accord.records.models import Record, RecordType
from accord.sales.models import DealContact, Lead, LeadActivity
from accord.service.models import TicketMessage, TicketStatus

from . import erasure
from .models import (
    RetentionAction,
    RetentionCondition,
    RetentionEntity,
    RetentionRule,
    RetentionRun,
)
from .subject import load

logger = logging.getLogger(__name__)

BATCH = 200  # records per transaction: a second or two of deletes at most
RUN_LIMIT = 20_000  # records per rule per night; the rest waits for the next night
PREVIEW_ROWS = 20
SWEEP_BATCH = 100  # identifiers looked for in one pass over every table
MAX_AGE_DAYS = 36_500  # a hundred years
RULE_FIELDS = ["name", "entity", "condition", "age_days", "action", "is_active",
               "record_type", "date_field"]
DATE_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class EntityRules:
    conditions: tuple[str, ...]
    actions: tuple[str, ...]


ENTITIES = {
    RetentionEntity.TICKET_MESSAGE: EntityRules(
        (RetentionCondition.TICKET_CLOSED,),
        (RetentionAction.DELETE, RetentionAction.ANONYMISE)),
    RetentionEntity.LEAD: EntityRules(
        (RetentionCondition.NOT_CONTACTED,),
        (RetentionAction.DELETE, RetentionAction.ANONYMISE)),
    RetentionEntity.ACTIVITY: EntityRules(
        (RetentionCondition.OLDER_THAN,), (RetentionAction.DELETE,)),
    RetentionEntity.CONTACT: EntityRules(
        (RetentionCondition.INACTIVE_NO_CONSENT,),
        (RetentionAction.DELETE, RetentionAction.ANONYMISE)),
    RetentionEntity.FORM_SUBMISSION: EntityRules(
        (RetentionCondition.RECEIVED_BEFORE,), (RetentionAction.DELETE,)),
    RetentionEntity.CUSTOM_RECORD: EntityRules(
        (RetentionCondition.DATE_PASSED, RetentionCondition.CREATED_BEFORE),
        (RetentionAction.DELETE,)),
}


# Rules


def get_rule(rule_id) -> RetentionRule:
    """A rule of the current organisation by id, or NotFound."""
    try:
        rule = RetentionRule.objects.filter(pk=int(rule_id)).first()
    except (TypeError, ValueError, OverflowError):
        rule = None
    if rule is None:
        raise NotFound("No retention rule with this id.")
    return rule


def clean_rule(spec: dict, current: RetentionRule | None = None) -> dict:
    """The rule's values from a plain dict; InvalidInput naming each bad field.

    Missing keys keep the current rule's values; for a new rule, `condition`
    may be left out when the entity has only one.
    """
    def given(name, default=None):
        if name in spec:
            return spec[name]
        return getattr(current, name) if current is not None else default

    errors = {}
    entity = given("entity")
    rules = ENTITIES.get(entity)
    if rules is None:
        errors["entity"] = "Choose one of: " + ", ".join(RetentionEntity.values) + "."
    condition = given("condition")
    if rules is not None:
        if condition in (None, "") and len(rules.conditions) == 1:
            condition = rules.conditions[0]
        if condition not in rules.conditions:
            errors["condition"] = ("For this entity choose: " + ", ".join(rules.conditions)
                                   + ".")
    action = given("action")
    if rules is not None and action not in rules.actions:
        errors["action"] = "For this entity choose: " + ", ".join(rules.actions) + "."
    age = given("age_days")
    if isinstance(age, bool) or not isinstance(age, int | str):
        age = None
    try:
        age = int(age)
    except (TypeError, ValueError):
        age = None
    if age is None or not 1 <= age <= MAX_AGE_DAYS:
        errors["age_days"] = f"Enter a whole number of days from 1 to {MAX_AGE_DAYS}."
    record_type, date_field = _clean_record_type(entity, condition, given, errors)
    # Left empty, the name says what the rule does; it is made only once the
    # rest is valid, so that a bad field is not reported twice.
    name = str(given("name", "") or "").strip()
    if not name and not errors:
        what = record_type.plural if record_type else RetentionEntity(entity).label
        name = f"{what}: {RetentionAction(action).label.lower()} after {age} days"
    if len(name) > 120:
        errors["name"] = "Keep the name under 120 characters."
    active = given("is_active", True)
    if not isinstance(active, bool):
        errors["is_active"] = "Answer true or false."
    if errors:
        raise InvalidInput(errors)
    return {"name": name, "entity": entity, "condition": condition, "age_days": age,
            "action": action, "is_active": active, "record_type": record_type,
            "date_field": date_field}


def _clean_record_type(entity, condition, given, errors: dict
                       ) -> tuple[RecordType | None, str]:
    """The record type (given by key) and date field of a custom-record rule; none for
    other entities, which may not name them."""
    named = given("record_type")
    if isinstance(named, RecordType):
        named = named.key
    date_field = str(given("date_field", "") or "").strip()
    if entity != RetentionEntity.CUSTOM_RECORD:
        if named:
            errors["record_type"] = "Only a rule on custom records names a record type."
        if date_field:
            errors["date_field"] = "Only a rule on custom records names a date field."
        return None, ""
    record_type = RecordType.objects.filter(key=str(named or "")).first()
    if record_type is None:
        errors["record_type"] = "Choose the key of a record type."
        return None, ""
    if condition != RetentionCondition.DATE_PASSED:
        if date_field:
            errors["date_field"] = "Only the condition date_passed counts from a date field."
        return record_type, ""
    dates = list(record_type.fields.filter(field_type__in=DATE_TYPES)
                 .order_by("position", "pk").values_list("key", flat=True))
    if date_field not in dates:
        errors["date_field"] = ("Choose one of the type's date fields: "
                                + (", ".join(dates) or "it has none") + ".")
    return record_type, date_field


@transaction.atomic
def save_retention_rule(org, actor, spec: dict, *, rule: RetentionRule | None = None,
                        expected_version: int | None = None) -> RetentionRule:
    """Create a rule from `spec`, or change `rule`; InvalidInput naming each bad field.

    `spec` is a plain dict such as {"entity": "ticket_message", "age_days":
    1095, "action": "delete"}; StaleVersion when `expected_version` is given
    and someone saved the rule since.
    """
    if rule is not None:
        rule = RetentionRule.objects.select_for_update().get(pk=rule.pk)
        if expected_version is not None and int(expected_version) != rule.version:
            raise StaleVersion(current_version=rule.version)
    values = clean_rule(spec, rule)
    before = audit.snapshot(rule, RULE_FIELDS) if rule is not None else {}
    if rule is None:
        rule = RetentionRule.objects.create(organization=org, created_by=_user(actor), **values)
        action = Action.CREATE
    else:
        for name, value in values.items():
            setattr(rule, name, value)
        rule.save_new_version()
        action = Action.UPDATE
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS))
    if changes or action == Action.CREATE:
        audit.record(org, actor, action, rule, changes=changes)
    logger.info("retention.rule_saved", extra={"organization_id": org.id,
                                               "rule_id": rule.pk})
    return rule


@transaction.atomic
def delete_retention_rule(org, actor, rule: RetentionRule) -> None:
    audit.record(org, actor, Action.PURGE, rule,
                 changes={field: [value, None]
                          for field, value in audit.snapshot(rule, RULE_FIELDS).items()})
    rule.delete()


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# What a rule matches


def matching(rule: RetentionRule, *, now: dt.datetime | None = None):
    """The records `rule` removes now, oldest id first; the dry run lists these."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=rule.age_days)
    anonymise = rule.action == RetentionAction.ANONYMISE
    if rule.entity == RetentionEntity.TICKET_MESSAGE:
        rows = TicketMessage.objects.annotate(
            ended=Coalesce("ticket__closed_at", "ticket__solved_at")).filter(
            ticket__status__in=[TicketStatus.CLOSED, TicketStatus.SOLVED], ended__lt=cutoff)
        if anonymise:
            rows = rows.exclude(body=erasure.ERASED, from_address="", from_name="")
        return rows.select_related("ticket").order_by("pk")
    if rule.entity == RetentionEntity.LEAD:
        rows = Lead.objects.filter(updated_at__lt=cutoff).exclude(
            Exists(LeadActivity.objects.filter(lead=OuterRef("pk"), created_at__gte=cutoff)))
        if anonymise:
            rows = rows.exclude(last_name=erasure.ANONYMOUS_NAME, first_name="", email="")
        return rows.order_by("pk")
    if rule.entity == RetentionEntity.ACTIVITY:
        return Activity.objects.filter(occurred_at__lt=cutoff).order_by("pk")
    if rule.entity == RetentionEntity.FORM_SUBMISSION:
        return WebFormSubmission.objects.filter(created_at__lt=cutoff).select_related(
            "form").order_by("pk")
    if rule.entity == RetentionEntity.CUSTOM_RECORD:
        return _old_records(rule, cutoff)
    return _inactive_contacts(cutoff, anonymise)


def _old_records(rule: RetentionRule, cutoff: dt.datetime):
    # Records in the trash count too: retention means gone for good.
    rows = Record.with_deleted.filter(record_type_id=rule.record_type_id).select_related(
        "record_type")
    if rule.condition == RetentionCondition.CREATED_BEFORE:
        return rows.filter(created_at__lt=cutoff).order_by("pk")
    # Dates are stored as ISO text ("2019-05-01", or with a time after it),
    # so the first ten characters compare as the day itself on both databases.
    day = Substr(KeyTextTransform(rule.date_field, "values"), 1, 10)
    return rows.annotate(day=day).filter(day__lt=cutoff.date().isoformat()).exclude(
        day="").order_by("pk")


def _inactive_contacts(cutoff: dt.datetime, anonymise: bool):
    # Only consents already in effect count: a grant dated ahead of the clock
    # has not happened yet and must neither outrank a withdrawal nor keep a
    # contact for ever.
    in_effect = consents_in_effect(Consent.objects.all())
    later = in_effect.filter(
        contact=OuterRef("contact"), channel=OuterRef("channel"), purpose=OuterRef("purpose"),
        recorded_at__gt=OuterRef("recorded_at"))
    granted = in_effect.filter(contact=OuterRef("pk"), status=ConsentStatus.GRANTED) \
        .exclude(Exists(later))
    rows = Contact.objects.filter(created_at__lt=cutoff).exclude(
        Exists(Activity.objects.filter(contact=OuterRef("pk"), occurred_at__gte=cutoff))
    ).exclude(
        Exists(Order.objects.filter(contact=OuterRef("pk"), placed_at__gte=cutoff))
    ).exclude(
        Exists(DealContact.objects.filter(contact=OuterRef("pk"), deal__updated_at__gte=cutoff))
    ).exclude(Exists(granted))
    if anonymise:
        rows = rows.exclude(Q(last_name=erasure.ANONYMOUS_NAME) & Q(first_name="")
                            & Q(email=""))
    return rows.order_by("pk")


def describe(rule: RetentionRule, record) -> tuple[str, str]:
    """(what people see, link) for one matching record, for the dry run."""
    if rule.entity == RetentionEntity.TICKET_MESSAGE:
        return (f"#{record.ticket.number} {record.ticket.subject} – message {record.pk}",
                record.ticket.get_absolute_url())
    if rule.entity == RetentionEntity.FORM_SUBMISSION:
        return (f"{record.form.name} – submission {record.pk}", record.form.get_absolute_url())
    return str(record), record.get_absolute_url()


def dry_run(rule: RetentionRule, *, now: dt.datetime | None = None) -> dict:
    """How many records the rule would remove now, and the first few of them."""
    rows = matching(rule, now=now)
    first = [{"id": record.pk, "label": label, "url": url}
             for record in rows[:PREVIEW_ROWS] for label, url in [describe(rule, record)]]
    return {"count": rows.count(), "first": first}


# Running


def run_rule(org, actor, rule: RetentionRule, *, trigger: str,
             now: dt.datetime | None = None) -> RetentionRun:
    """Remove what the rule matches, a batch per transaction; log and audit the run.

    Safe to run twice: a second run finds what the first removed gone. Must
    run inside the organisation's scope.
    """
    now = now or timezone.now()
    run = RetentionRun.objects.create(organization=org, rule=rule, started_at=timezone.now(),
                                      trigger=trigger)
    matched = matching(rule, now=now).count()
    processed = 0
    while processed < min(matched, RUN_LIMIT):
        ids = list(matching(rule, now=now).values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        with transaction.atomic():
            processed += _apply(org, actor, rule, ids)
        RetentionRun.objects.filter(pk=run.pk).update(processed=processed)
    finished = timezone.now()
    with transaction.atomic():
        RetentionRun.objects.filter(pk=run.pk).update(matched=matched, processed=processed,
                                                      finished_at=finished)
        RetentionRule.objects.filter(pk=rule.pk).update(last_run_at=finished)
        audit.record(org, actor, Action.ACCESS, rule, entity="retentionrule",
                     changes={"run": [None, trigger], "matched": [None, matched],
                              "processed": [None, processed]})
    logger.info("retention.rule_ran", extra={"organization_id": org.id, "rule_id": rule.pk,
                                             "matched": matched, "processed": processed})
    run.refresh_from_db()
    return run


def _apply(org, actor, rule: RetentionRule, ids: list[int]) -> int:
    anonymise = rule.action == RetentionAction.ANONYMISE
    if rule.entity == RetentionEntity.TICKET_MESSAGE:
        messages = TicketMessage.objects.filter(pk__in=ids)
        erasure.remove_message_files(messages)
        if anonymise:
            return messages.update(**erasure.blank_message())
        messages.delete()
        return len(ids)
    if rule.entity == RetentionEntity.LEAD:
        leads = Lead.with_deleted.filter(pk__in=ids)
        LeadActivity.objects.filter(lead_id__in=ids).delete()
        if anonymise:
            return leads.update(**erasure.ANONYMOUS_LEAD)
        leads.delete()
        return len(ids)
    if rule.entity == RetentionEntity.ACTIVITY:
        Activity.objects.filter(pk__in=ids).delete()
        return len(ids)
    if rule.entity == RetentionEntity.FORM_SUBMISSION:
        WebFormSubmission.objects.filter(pk__in=ids).delete()
        return len(ids)
    if rule.entity == RetentionEntity.CUSTOM_RECORD:
        # Links from and to the records go with them (cascade); the run's
        # audit entry on the rule counts them, as for the other entities.
        Record.with_deleted.filter(pk__in=ids).delete()
        search.reindex(Record, ids)
        return len(ids)
    identifiers: list[str] = []
    for contact in Contact.objects.filter(pk__in=ids):
        subject = load(contact)
        identifiers += [*subject.addresses, *subject.phones]
        erasure.erase(org, actor, subject, anonymise=anonymise, suppress=False,
                      sweep_tables=False)
    # One sweep of every table for many people at once, instead of one per person.
    for start in range(0, len(identifiers), SWEEP_BATCH):
        erasure.sweep(org, identifiers[start:start + SWEEP_BATCH])
    return len(ids)


def run_active_rules(org, *, now: dt.datetime | None = None) -> list[RetentionRun]:
    """Run every active rule of the organisation, as the nightly schedule does."""
    return [run_rule(org, None, rule, trigger="schedule", now=now)
            for rule in RetentionRule.objects.filter(is_active=True).order_by("pk")]


def recent_runs(rule: RetentionRule, limit: int = 20) -> list[RetentionRun]:
    return list(rule.runs.order_by("-started_at", "-id")[:limit])
