"""Every write to sequences and their enrolments, and the step language they are made of.

A sequence is saved from a plain dict, so that people (the builder page, the
API) and code (industry packs, workflow rules) make them the same way:

    save_sequence(org, user, {
        "name": "Welcome", "from_email": "hello@example.com",
        "steps": [
            {"type": "email", "template": 12},
            {"type": "wait", "amount": 2, "unit": "days"},
            {"type": "branch", "condition": "clicked", "step": "s1",
             "then": "exit", "else": "next"},
            {"type": "email", "template": 13},
        ],
        "exit": {"reply": True, "customer": True, "goal_segment": None},
    })

Step types: `email` (a template), `wait` (hours or days), `wait_until` (a
weekday and time in the organisation's or the contact's time zone), `task`
(for the contact's owner), `set_field` and `add_tag` on the contact, and
`branch` on whether the contact opened or clicked an earlier e-mail step or
matches a segment. A branch goes on to the next step, leaves the sequence,
or jumps to a later step by its key; it never jumps back, so every contact
reaches the end. Each step keeps a `key` ("s1", "s2", ...) given when it is
first saved.

A contact always leaves when it withdraws e-mail consent, unsubscribes or is
marked "do not contact"; `exit` adds leaving when it replies by e-mail, when
it becomes a customer, and when it matches a goal segment.
"""

import datetime as dt
import logging
import re

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers import custom_fields
from accord.customers.models import Contact, LifecycleStage
from accord.customers.validation import Collector, as_pk, clean_contact, clean_email
from accord.errors import InvalidInput, NotFound, StaleVersion
from accord.identity.context import acting_member
from accord.identity.visibility import through_contact

from .models import EmailTemplate, Segment
from .sequence_models import (
    Enrolment,
    EnrolmentEntry,
    EnrolmentSource,
    EnrolmentStatus,
    MessageStatus,
    Sequence,
    SequenceMessage,
    SequenceStatus,
)
from .services import visible_segments

logger = logging.getLogger(__name__)

NAME_LIMIT = 120
MAX_STEPS = 30  # a nurture track of a year fits; more is a mistake
MAX_WAIT = {"hours": 24 * 366, "days": 366}  # a year at most, in either unit
STEP_KEY = re.compile(r"^s[0-9]{1,6}$")
TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# Contact fields a step may set, beside custom fields as `cf.<key>`. Names,
# addresses and the owner are left to people.
SETTABLE_FIELDS = ["lifecycle_stage", "title", "source", "time_zone"]
CUSTOM_PREFIX = "cf."
STEP_TYPES = {
    "email": gettext_lazy("Send an e-mail"),
    "wait": gettext_lazy("Wait"),
    "wait_until": gettext_lazy("Wait until a weekday and time"),
    "task": gettext_lazy("Create a task for the contact's owner"),
    "set_field": gettext_lazy("Set a field of the contact"),
    "add_tag": gettext_lazy("Add a tag to the contact"),
    "branch": gettext_lazy("Branch"),
}
BRANCH_CONDITIONS = ["opened", "clicked", "segment"]
EXIT_KEYS = ("reply", "customer", "goal_segment")
SEQUENCE_FIELDS = ["name", "description", "from_name", "from_email", "steps", "exit",
                   "segment", "status"]
ENROL_CHUNK = 500  # contacts per query while enrolling a segment


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def get_sequence(sequence_id) -> Sequence:
    """The sequence of the scope's organisation with this id; NotFound otherwise."""
    pk = as_pk(sequence_id)
    sequence = Sequence.objects.filter(pk=pk).first() if pk else None
    if sequence is None:
        raise NotFound("No sequence with this id.")
    return sequence


def get_enrolment(sequence: Sequence, enrolment_id, membership) -> Enrolment:
    """The sequence's enrolment with this id; NotFound otherwise, also when `membership`
    may not see its contact."""
    pk = as_pk(enrolment_id)
    rows = through_contact(Enrolment.objects.select_related("contact"), membership)
    enrolment = rows.filter(pk=pk, sequence=sequence).first() if pk else None
    if enrolment is None:
        raise NotFound("No enrolment with this id in this sequence.")
    return enrolment


# The step language


def settable_fields(viewer=None) -> list[str]:
    """The fields a step may set; given a `viewer` (a Membership), without the custom
    fields hidden from its role."""
    return [*SETTABLE_FIELDS,
            *(f"{CUSTOM_PREFIX}{field.key}"
              for field in custom_fields.active_fields("contact", viewer))]


def field_input(field: str, value: str) -> dict:
    """The contact update that sets `field` to `value`."""
    if field.startswith(CUSTOM_PREFIX):
        return {"custom_fields": {field.removeprefix(CUSTOM_PREFIX): value}}
    return {field: value}


def _whole(value, low: int, high: int) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high and str(number) == str(value).strip() else None


def _next_key(used: set[str]) -> str:
    number = 1
    while f"s{number}" in used:
        number += 1
    return f"s{number}"


def clean_steps(org, raw, stored: list[dict] | None = None) -> list[dict]:
    """The steps in their stored form, with keys; InvalidInput naming `steps[i].<setting>`.

    A step may set only a field the acting member may see, except that a step
    kept as it is stored (`stored`, the sequence's steps now) stays as someone
    who may see the field wrote it.
    """
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput({"steps": _("Give the steps as a list.")})
    if len(raw) > MAX_STEPS:
        raise InvalidInput({"steps": _("Use at most %(max)s steps.") % {"max": MAX_STEPS}})
    errors = Collector()
    given = [item.get("key") for item in raw if isinstance(item, dict)]
    used = {key for key in given if isinstance(key, str) and STEP_KEY.match(key)}
    keys: list[str] = []
    for item in raw:
        key = item.get("key") if isinstance(item, dict) else None
        if not (isinstance(key, str) and STEP_KEY.match(key)) or key in keys:
            key = _next_key(used | set(keys))
        keys.append(key)
    steps: list[dict] = []
    for index, item in enumerate(raw):
        field = f"steps[{index}]"
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in STEP_TYPES:
            errors.add(f"{field}.type", _("Choose one of: %(types)s.") % {
                "types": ", ".join(STEP_TYPES)})
            continue
        cleaner = CLEANERS[kind]
        values = cleaner(org, item, field, errors, keys=keys, index=index, raw=raw,
                         stored=stored or [])
        steps.append({"key": keys[index], "type": kind, **values})
    errors.raise_if_any()
    return steps


def _clean_email(org, item, field, errors, **_context) -> dict:
    pk = as_pk(item.get("template"))
    template = EmailTemplate.objects.filter(pk=pk).first() if pk else None
    if template is None:
        errors.add(f"{field}.template", _("Choose one of your e-mail templates."),
                   "required" if item.get("template") in (None, "") else "invalid")
    return {"template": template.pk if template else None}


def _clean_wait(org, item, field, errors, **_context) -> dict:
    unit = item.get("unit") or "days"
    if unit not in MAX_WAIT:
        errors.add(f"{field}.unit", _("Choose hours or days."))
        return {"amount": None, "unit": unit}
    amount = _whole(item.get("amount"), 1, MAX_WAIT[unit])
    if amount is None:
        errors.add(f"{field}.amount", _("Enter a whole number from 1 to %(max)s.") % {
            "max": MAX_WAIT[unit]})
    return {"amount": amount, "unit": unit}


def _clean_wait_until(org, item, field, errors, **_context) -> dict:
    weekday = str(item.get("weekday") or "").lower()
    if weekday not in WEEKDAYS:
        errors.add(f"{field}.weekday", _("Choose a day of the week, monday to sunday."))
    at = str(item.get("time") or "")
    if not TIME.match(at):
        errors.add(f"{field}.time", _("Enter a time as HH:MM, for example 09:30."))
    zone = item.get("zone") or "organization"
    if zone not in ("organization", "contact"):
        errors.add(f"{field}.zone", _("Choose the organisation's or the contact's time zone."))
    return {"weekday": weekday, "time": at, "zone": zone}


def _clean_task(org, item, field, errors, **_context) -> dict:
    subject = " ".join(str(item.get("subject") or "").split())
    if not subject:
        errors.add(f"{field}.subject", _("Write what the task is."), "required")
    elif len(subject) > 200:
        errors.add(f"{field}.subject", _("Keep the subject under 200 characters."), "too_long")
    days = _whole(item.get("days", 0) if item.get("days") not in (None, "") else 0, 0, 365)
    if days is None:
        errors.add(f"{field}.days", _("Enter a whole number of days from 0 to 365."))
    return {"subject": subject, "days": days}


def _clean_set_field(org, item, field, errors, *, stored, **_context) -> dict:
    name = str(item.get("field") or "")
    value = item.get("value")
    value = "" if value is None else str(value)[:2000]
    # A field hidden from the member's role is as unknown to them as a made-up one.
    offered = settable_fields(acting_member())
    kept = {"type": "set_field", "field": name, "value": value} in [
        {"type": step.get("type"), "field": step.get("field"), "value": step.get("value")}
        for step in stored]
    if name not in offered and not (kept and name in settable_fields()):
        errors.add(f"{field}.field", _("Choose one of: %(names)s.") % {
            "names": ", ".join(offered)})
    else:
        try:
            clean_contact(org, field_input(name, value), current=Contact(first_name="-"))
        except InvalidInput as exc:
            errors.add(f"{field}.value", exc.errors[0]["message"])
    return {"field": name, "value": value}


def _clean_add_tag(org, item, field, errors, **_context) -> dict:
    tag = " ".join(str(item.get("tag") or "").split())
    if not tag:
        errors.add(f"{field}.tag", _("Name the tag."), "required")
    elif len(tag) > 100:
        errors.add(f"{field}.tag", _("Keep the tag under 100 characters."), "too_long")
    return {"tag": tag}


def _target(value, field, errors, *, keys, index) -> str:
    value = value or "next"
    if value in ("next", "exit"):
        return value
    if value in keys[index + 1:]:
        return value
    errors.add(field, _("Go to the next step, exit, or name a later step (%(keys)s).") % {
        "keys": ", ".join(keys[index + 1:]) or "-"})
    return value


def _clean_branch(org, item, field, errors, *, keys, index, raw, **_context) -> dict:
    condition = item.get("condition")
    out: dict = {"condition": condition}
    if condition not in BRANCH_CONDITIONS:
        errors.add(f"{field}.condition", _("Choose opened, clicked or segment."))
    elif condition == "segment":
        pk = as_pk(item.get("segment"))
        segment = visible_segments().filter(pk=pk).first() if pk else None
        if segment is None:
            errors.add(f"{field}.segment", _("Choose one of your segments."))
        out["segment"] = segment.pk if segment else None
    else:
        step = item.get("step")
        earlier = [key for key, other in zip(keys[:index], raw[:index], strict=True)
                   if isinstance(other, dict) and other.get("type") == "email"]
        if step not in earlier:
            errors.add(f"{field}.step", _("Choose an e-mail step before this one (%(keys)s).")
                       % {"keys": ", ".join(earlier) or "-"})
        out["step"] = step
    out["then"] = _target(item.get("then"), f"{field}.then", errors, keys=keys, index=index)
    out["else"] = _target(item.get("else"), f"{field}.else", errors, keys=keys, index=index)
    return out


CLEANERS = {
    "email": _clean_email, "wait": _clean_wait, "wait_until": _clean_wait_until,
    "task": _clean_task, "set_field": _clean_set_field, "add_tag": _clean_add_tag,
    "branch": _clean_branch,
}


def clean_exit(raw) -> dict:
    """The exit conditions: `reply`, `customer` (both on unless turned off) and an optional
    `goal_segment`; InvalidInput names each value that is not true or false and each
    unknown key."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput({"exit": _("Give the exit conditions as an object.")})
    errors = Collector()
    for key in sorted(raw.keys() - set(EXIT_KEYS)):
        errors.add(f"exit.{key}", _("Use only these keys: %(keys)s.") % {
            "keys": ", ".join(EXIT_KEYS)}, "unknown")
    out: dict = {}
    for key in ("reply", "customer"):
        value = raw.get(key, True)
        if not isinstance(value, bool):
            errors.add(f"exit.{key}", _("Give true or false."))
        out[key] = value is not False
    out["goal_segment"] = None
    if raw.get("goal_segment") not in (None, ""):
        pk = as_pk(raw.get("goal_segment"))
        segment = visible_segments().filter(pk=pk).first() if pk else None
        if segment is None:
            errors.add("exit.goal_segment", _("Choose one of your segments."))
        out["goal_segment"] = segment.pk if segment else None
    errors.raise_if_any()
    return out


def describe_step(step: dict) -> str:
    """One step in a sentence, for the builder, the log and the report."""
    kind = step.get("type")
    if kind == "email":
        template = EmailTemplate.objects.filter(pk=step.get("template")).first()
        return _("Send the e-mail “%(name)s”") % {"name": template or _("(deleted template)")}
    if kind == "wait":
        if step["unit"] == "hours":
            return ngettext("Wait %(amount)s hour", "Wait %(amount)s hours",
                            step["amount"]) % step
        return ngettext("Wait %(amount)s day", "Wait %(amount)s days", step["amount"]) % step
    if kind == "wait_until":
        return _("Wait until %(weekday)s %(time)s (%(zone)s time)") % {
            **step, "weekday": step["weekday"].capitalize(),
            "zone": _("the contact's") if step["zone"] == "contact" else _("the organisation's")}
    if kind == "task":
        return ngettext("Create the task “%(subject)s” for the owner, due in %(days)s day",
                        "Create the task “%(subject)s” for the owner, due in %(days)s days",
                        step["days"]) % step
    if kind == "set_field":
        return _("Set %(field)s to “%(value)s”") % step
    if kind == "add_tag":
        return _("Add the tag “%(tag)s”") % step
    if kind == "branch":
        if step["condition"] == "segment":
            segment = Segment.objects.filter(pk=step.get("segment")).first()
            test = _("the contact is in the segment “%(name)s”") % {
                "name": segment or _("(deleted segment)")}
        else:
            test = _("the contact %(did)s the e-mail of step %(step)s") % {
                "did": _("opened") if step["condition"] == "opened" else _("clicked in"),
                "step": step["step"]}
        return _("If %(test)s: %(then)s, otherwise: %(else)s") % {
            "test": test, "then": _target_words(step["then"]),
            "else": _target_words(step["else"])}
    return str(kind)


def _target_words(target: str) -> str:
    if target == "next":
        return _("go on")
    if target == "exit":
        return _("leave the sequence")
    return _("go to step %(key)s") % {"key": target}


# Sequences


def clean_sequence(org, data: dict, *, current: Sequence | None = None) -> dict:
    """Validate a sequence spec; only keys present in `data` are returned (all on create)."""
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        name = data.get("name")
        name = " ".join(name.split()) if isinstance(name, str) else ""
        if not name:
            errors.add("name", _("Give the sequence a name."), "required")
        elif len(name) > NAME_LIMIT or "\x00" in name:
            errors.add("name", _("Keep the name under 120 characters."), "too_long")
        elif Sequence.objects.filter(name__iexact=name).exclude(
                pk=getattr(current, "pk", None)).exists():
            errors.add("name", _("Another sequence already has this name."), "duplicate")
        out["name"] = name
    if "description" in data:
        description = " ".join(str(data.get("description") or "").split())
        if len(description) > 500:
            errors.add("description", _("Keep the description under 500 characters."),
                       "too_long")
        out["description"] = description
    if "from_name" in data:
        from_name = data.get("from_name") or ""
        from_name = " ".join(from_name.split()) if isinstance(from_name, str) else ""
        if len(from_name) > NAME_LIMIT or any(c in from_name for c in '"<>\x00'):
            errors.add("from_name", _("Use a plain name of up to 120 characters."))
        out["from_name"] = from_name
    if "from_email" in data or current is None:
        address = clean_email(data.get("from_email") or "", "from_email", errors)
        if not address and not any(e["field"] == "from_email" for e in errors.errors):
            errors.add("from_email", _("Give the address the e-mails are sent from."),
                       "required")
        out["from_email"] = address or ""
    if "segment" in data:
        value = data.get("segment")
        segment = None
        if value not in (None, ""):
            pk = as_pk(getattr(value, "pk", value))
            segment = visible_segments().filter(pk=pk).first() if pk else None
            if segment is None:
                errors.add("segment", _("Choose one of your segments."))
        out["segment"] = segment
    if "steps" in data or current is None:
        try:
            out["steps"] = clean_steps(org, data.get("steps"),
                                       getattr(current, "steps", None))
        except InvalidInput as exc:
            errors.absorb(exc)
    if "exit" in data or current is None:
        try:
            out["exit"] = clean_exit(data.get("exit"))
        except InvalidInput as exc:
            errors.absorb(exc)
    if "status" in data and data["status"] not in SequenceStatus.values:
        errors.add("status", _("Choose draft, active or paused."))
    status = data.get("status", getattr(current, "status", SequenceStatus.DRAFT))
    steps = out.get("steps", getattr(current, "steps", []))
    if status == SequenceStatus.ACTIVE and not steps and "steps" in out:
        errors.add("steps", _("Add at least one step before activating the sequence."),
                   "required")
    elif status == SequenceStatus.ACTIVE and not steps:
        errors.add("status", _("Add at least one step before activating the sequence."))
    errors.raise_if_any()
    return out


def _snapshot(sequence: Sequence) -> dict:
    return audit.snapshot(sequence, SEQUENCE_FIELDS)


@transaction.atomic
def save_sequence(org, actor, data: dict, *, sequence: Sequence | None = None,
                  expected_version: int | None = None) -> Sequence:
    """Create a sequence from `data`, or change `sequence` with the keys present in it.

    `status` in `data` activates or pauses it as `set_status` does. Raises
    InvalidInput naming every bad field, StaleVersion when `expected_version`
    is not the stored one. A changed step list applies to enrolments from
    their next step on; an enrolment whose step was removed goes on with the
    step that now stands where it was.
    """
    if sequence is None:
        values = clean_sequence(org, data)
        status = data.get("status") or SequenceStatus.DRAFT
        sequence = Sequence.objects.create(organization=org, created_by=_user(actor),
                                           status=status, **values)
        audit.record(org, actor, Action.CREATE, sequence,
                     changes=audit.diff({}, _snapshot(sequence)))
        logger.info("marketing.sequence_created", extra={
            "organization_id": org.id, "sequence_id": sequence.pk})
        return sequence

    sequence = Sequence.objects.select_for_update().get(pk=sequence.pk)
    if expected_version is not None and int(expected_version) != sequence.version:
        raise StaleVersion(current_version=sequence.version)
    values = clean_sequence(org, data, current=sequence)

    before = _snapshot(sequence)
    old_keys = [step["key"] for step in sequence.steps]
    for name, value in values.items():
        setattr(sequence, name, value)
    if "status" in data:
        sequence.status = data["status"]
    changes = audit.diff(before, _snapshot(sequence))
    if not changes:
        return sequence
    sequence.save_new_version()
    if "steps" in values:
        _repoint_enrolments(sequence, old_keys)

    audit.record(org, actor, Action.UPDATE, sequence, changes=changes)
    return sequence


def _repoint_enrolments(sequence: Sequence, old_keys: list[str]) -> None:
    """Move active enrolments whose next step was removed to the step now in its place."""
    new_keys = [step["key"] for step in sequence.steps]
    gone = [key for key in old_keys if key not in new_keys]
    for key in gone:
        position = old_keys.index(key)
        following = [k for k in old_keys[position + 1:] if k in new_keys]
        replacement = following[0] if following else ""
        Enrolment.objects.filter(sequence=sequence, status=EnrolmentStatus.ACTIVE,
                                 step_key=key).update(step_key=replacement)


def set_status(org, actor, sequence: Sequence, status: str, *,
               expected_version: int | None = None) -> Sequence:
    """Activate or pause a sequence. While paused its enrolments wait where they are and
    nothing is sent; activated again, the steps that came due meanwhile run."""
    if status not in SequenceStatus.values:
        raise InvalidInput({"status": _("Choose draft, active or paused.")})
    return save_sequence(org, actor, {"status": status}, sequence=sequence,
                         expected_version=expected_version)


@transaction.atomic
def delete_sequence(org, actor, sequence: Sequence, *,
                    expected_version: int | None = None) -> None:
    """Delete a sequence with its enrolments and their log; InvalidInput while active."""
    sequence = Sequence.objects.select_for_update().get(pk=sequence.pk)
    if expected_version is not None and int(expected_version) != sequence.version:
        raise StaleVersion(current_version=sequence.version)
    if sequence.is_active:
        raise InvalidInput({"status": _("Pause the sequence before deleting it.")})

    audit.record(org, actor, Action.DELETE, sequence,
                 changes=audit.diff(_snapshot(sequence), {}))
    sequence.delete()


# Enrolments


def log(enrolment: Enrolment, kind: str, text: str, *, step_key: str = "",
        at: dt.datetime | None = None) -> None:
    EnrolmentEntry.objects.create(organization_id=enrolment.organization_id,
                                  enrolment=enrolment, step_key=step_key, kind=kind,
                                  text=str(text)[:500], at=at or timezone.now())


@transaction.atomic
def enrol_contact(org, actor, sequence: Sequence, contact: Contact, *,
                  source: str = EnrolmentSource.MANUAL,
                  now: dt.datetime | None = None) -> Enrolment | None:
    """Put a contact at the first step of the sequence; None when it is in it already.

    A draft or paused sequence takes enrolments too: they start when it is
    activated. A contact in the trash or merged away cannot be enrolled.
    """
    if contact.deleted_at is not None or contact.merged_into_id is not None:
        raise InvalidInput({"contact": _("This contact is in the trash or was merged.")})
    now = now or timezone.now()
    first = sequence.steps[0]["key"] if sequence.steps else ""
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                organization=org, sequence=sequence, contact=contact, source=source,
                step_key=first, next_run_at=now, enrolled_at=now, enrolled_by=_user(actor))
    except IntegrityError:
        return None
    with transaction.atomic():
        log(enrolment, "enrolled", _("Enrolled (%(source)s).") % {
            "source": EnrolmentSource(source).label}, at=now)
        audit.record(org, actor, Action.CREATE, enrolment,
                     changes={"sequence": [None, sequence.pk], "contact": [None, contact.pk]})
    logger.info("marketing.contact_enrolled", extra={
        "organization_id": org.id, "sequence_id": sequence.pk, "enrolment_id": enrolment.pk,
        "contact_id": contact.pk})
    return enrolment


def enrol_contacts(org, actor, sequence: Sequence, contact_ids: list, *,
                   source: str = EnrolmentSource.MANUAL) -> dict:
    """Enrol each contact of `contact_ids`; counts of `enrolled`, `already` (in it now)
    and `not_found`, so one bad id does not stop the others."""
    counts = {"enrolled": 0, "already": 0, "not_found": 0}
    for value in contact_ids:
        pk = as_pk(value)
        contact = (Contact.objects.filter(pk=pk, deleted_at__isnull=True,
                                          merged_into__isnull=True).first() if pk else None)
        if contact is None:
            counts["not_found"] += 1
            continue
        enrolled = enrol_contact(org, actor, sequence, contact, source=source)
        counts["enrolled" if enrolled else "already"] += 1
    return counts


def enrol_segment(org, actor, sequence: Sequence, segment: Segment, membership, *,
                  only_new: bool = False) -> dict:
    """Enrol every current member of the segment that `membership` may see and that is
    not in the sequence now; None for `membership` (code) enrols every member.

    With `only_new`, a contact that was ever enrolled is left out, which is
    how new members are picked up without enrolling again those who finished.
    """
    from .campaigns import reached_by, segment_contacts

    contacts = reached_by(segment_contacts(org, segment, [membership]), [membership])
    if only_new:
        contacts = contacts.exclude(pk__in=Enrolment.objects.filter(sequence=sequence)
                                    .values("contact_id"))
    counts = {"enrolled": 0, "already": 0}
    ids = list(contacts.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), ENROL_CHUNK):
        for contact in Contact.objects.filter(pk__in=ids[start:start + ENROL_CHUNK]):
            source = EnrolmentSource.SEGMENT if actor is None else EnrolmentSource.MANUAL
            enrolled = enrol_contact(org, actor, sequence, contact, source=source)
            counts["enrolled" if enrolled else "already"] += 1
    return counts


@transaction.atomic
def remove_enrolment(org, actor, enrolment: Enrolment, *, why: str = "") -> Enrolment:
    """Take a contact out of a sequence; nothing more runs for it. InvalidInput when it
    has left already."""
    enrolment = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if not enrolment.is_active:
        raise InvalidInput({"status": _("This contact has left the sequence already.")})

    enrolment.status = EnrolmentStatus.REMOVED
    enrolment.finished_at = timezone.now()
    enrolment.next_run_at = None
    enrolment.save(update_fields=["status", "finished_at", "next_run_at"])
    who = getattr(actor, "email", "") if _user(actor) else ""
    log(enrolment, "removed", why or (_("Taken out by %(who)s.") % {"who": who} if who
                                      else _("Taken out.")), step_key=enrolment.step_key)
    audit.record(org, actor, Action.UPDATE, enrolment,
                 changes={"status": [EnrolmentStatus.ACTIVE, EnrolmentStatus.REMOVED]})
    return enrolment


def remove_contact(org, actor, sequence: Sequence, contact: Contact, *, why: str = "") -> bool:
    """Take the contact out of the sequence if it is in it; whether it was."""
    enrolment = Enrolment.objects.filter(sequence=sequence, contact=contact,
                                         status=EnrolmentStatus.ACTIVE).first()
    if enrolment is None:
        return False
    remove_enrolment(org, actor, enrolment, why=why)
    return True


def enrolments(sequence: Sequence, membership, *, status: str | None = None,
               step: str | None = None):
    """The sequence's enrolments of contacts `membership` may see."""
    rows = through_contact(Enrolment.objects.filter(sequence=sequence),
                           membership).select_related("contact")
    if status:
        rows = rows.filter(status=status)
    if step:
        rows = rows.filter(step_key=step, status=EnrolmentStatus.ACTIVE)
    return rows


def contact_enrolments(contact: Contact):
    return (Enrolment.objects.filter(contact=contact).select_related("sequence")
            .order_by("-enrolled_at", "-id"))


def step_report(sequence: Sequence, membership) -> list[dict]:
    """Per step: its description, how many enrolments wait at it, and for e-mail steps how
    many were sent, opened, clicked and not sent; exits are counted at the step they
    left from. Only contacts `membership` may see are counted."""
    messages = dict.fromkeys([step["key"] for step in sequence.steps])
    sent = through_contact(SequenceMessage.objects.filter(sequence=sequence), membership)
    enrolled = through_contact(Enrolment.objects.filter(sequence=sequence), membership)
    rows = (sent.values("step_key").annotate(
        sent=Count("id", filter=Q(status__in=[MessageStatus.SENT, MessageStatus.SENDING])),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        excluded=Count("id", filter=Q(status=MessageStatus.EXCLUDED)),
        failed=Count("id", filter=Q(status__in=[MessageStatus.FAILED, MessageStatus.BOUNCED]))))
    for row in rows:
        messages[row["step_key"]] = row
    waiting = dict(enrolled.filter(status=EnrolmentStatus.ACTIVE).order_by()
                   .values("step_key").annotate(n=Count("id")).values_list("step_key", "n"))
    exited = dict(enrolled.filter(status=EnrolmentStatus.EXITED).order_by()
                  .values("step_key").annotate(n=Count("id")).values_list("step_key", "n"))
    report = []
    for position, step in enumerate(sequence.steps, start=1):
        counts = messages.get(step["key"]) or {}
        report.append({
            "key": step["key"], "position": position, "type": step["type"],
            "description": describe_step(step), "waiting": waiting.get(step["key"], 0),
            "exited": exited.get(step["key"], 0),
            **{name: counts.get(name, 0)
               for name in ("sent", "opened", "clicked", "excluded", "failed")}})
    return report


def is_customer(contact: Contact) -> bool:
    return contact.lifecycle_stage in (LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST)
