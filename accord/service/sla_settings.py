"""Writes to business calendars and SLA policies, and the due times they govern.

Calendars keep the stored format documented on `BusinessCalendar`; every
value is checked here so that the settings pages and the API refuse the same
things with the same messages. A change to a policy or a calendar sets the due
times of the unresolved tickets it governs again: in the same transaction for
a few tickets, in a worker job for many.
"""

import datetime as dt
import logging
import zoneinfo

from django.db import transaction
from django.utils import timezone

from accord.audit import services as audit
from accord.audit.models import Action
from accord.customers.validation import Collector, as_pk, clean_ref, clean_text
from accord.errors import Conflict, NotFound, StaleVersion

from . import sla
from .business_hours import validate_hours
from .models import UNRESOLVED, BusinessCalendar, Priority, Queue, SlaPolicy, Ticket

logger = logging.getLogger(__name__)

CALENDAR_FIELDS = ["name", "time_zone", "hours", "holidays"]
POLICY_FIELDS = ["name", "position", "is_active", "priorities", "queue", "customer_tier",
                 "first_response_minutes", "resolution_minutes", "warn_before_minutes",
                 "calendar"]
# Changing one of these can move tickets to or from a policy, so every
# unresolved ticket has its policy chosen again; the others only move due times.
MATCHING_FIELDS = {"position", "is_active", "priorities", "queue", "customer_tier"}
INLINE_LIMIT = 200  # tickets recomputed inside a save; a form answer stays under a second
MAX_TARGET_MINUTES = 365 * 24 * 60  # a year of working time is already no promise
END_OF_DAY = "24:00"


def get_calendar(calendar_id) -> BusinessCalendar:
    pk = as_pk(calendar_id)
    calendar = BusinessCalendar.objects.filter(pk=pk).first() if pk else None
    if calendar is None:
        raise NotFound("No business calendar with this id.")
    return calendar


def get_policy(policy_id) -> SlaPolicy:
    pk = as_pk(policy_id)
    policy = SlaPolicy.objects.filter(pk=pk).first() if pk else None
    if policy is None:
        raise NotFound("No SLA policy with this id.")
    return policy


# Checking input


def _clean_name(model, data: dict, current, errors: Collector, what: str) -> str | None:
    name = clean_text(data.get("name"), "name", errors)
    if name == "":
        errors.add("name", f"Give the {what} a name.", "required")
    elif name and len(name) > 120:
        errors.add("name", "Keep the name to 120 characters.")
    elif name and model.objects.filter(name__iexact=name).exclude(
            pk=getattr(current, "pk", None)).exists():
        errors.add("name", f"Another {what} already has this name.", "duplicate")
    return name


def _parse_clock(text, *, end: bool) -> dt.time | None:
    """A "HH:MM" wall-clock time; "24:00" only as an end, read as midnight after the day."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if end and text in (END_OF_DAY, "24:00:00"):
        return dt.time(0)
    parts = text.split(":")
    if len(parts) != 2 or not all(part.isdigit() and len(part) == 2 for part in parts):
        return None
    try:
        return dt.time(int(parts[0]), int(parts[1]))
    except ValueError:
        return None


def _clock_text(clock: dt.time, *, end: bool) -> str:
    if end and clock == dt.time(0):
        return END_OF_DAY
    return clock.strftime("%H:%M")


def clean_hours(value, errors: Collector) -> dict | None:
    """Weekly hours in the stored format, each weekday's problems under `hours.<weekday>`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add("hours", 'Give hours as {"0": [["09:00", "17:00"]], ...}, 0 being Monday.')
        return None
    out: dict[str, list[list[str]]] = {}
    ok = True
    for key, intervals in value.items():
        weekday = as_pk(key)
        if weekday is None or not 0 <= weekday <= 6 or str(weekday) != str(key).strip():
            errors.add("hours", "Weekdays are 0 (Monday) to 6 (Sunday).")
            ok = False
            continue
        field = f"hours.{weekday}"
        if not isinstance(intervals, list):
            errors.add(field, "Give a list of [start, end] pairs.")
            ok = False
            continue
        parsed = []
        for interval in intervals:
            start = end = None
            if isinstance(interval, list | tuple) and len(interval) == 2:
                start = _parse_clock(interval[0], end=False)
                end = _parse_clock(interval[1], end=True)
            if start is None or end is None:
                errors.add(field, "Write each interval as HH:MM–HH:MM, such as 09:00–17:00; "
                                  "24:00 may end the day.")
                parsed = None
                break
            parsed.append((start, end))
        if parsed is None:
            ok = False
            continue
        problems = validate_hours({weekday: parsed})
        for problem in problems:
            errors.add(field, problem)
        if problems:
            ok = False
            continue
        if parsed:
            out[str(weekday)] = [[_clock_text(start, end=False), _clock_text(end, end=True)]
                                 for start, end in sorted(parsed)]
    return dict(sorted(out.items())) if ok else None


def clean_holidays(value, errors: Collector) -> list[str] | None:
    """Distinct ISO dates, in order."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add("holidays", "Give a list of dates as YYYY-MM-DD.")
        return None
    days = set()
    for item in value:
        try:
            days.add(dt.date.fromisoformat(item.strip()) if isinstance(item, str) else None)
        except ValueError:
            days.add(None)
    if None in days:
        errors.add("holidays", "Write each holiday as a date, YYYY-MM-DD.")
        return None
    return [day.isoformat() for day in sorted(days)]


def clean_time_zone(value, errors: Collector) -> str | None:
    name = value.strip() if isinstance(value, str) else value
    # "localtime" and the like name whatever the server is set to, not a place.
    if not name or name not in zoneinfo.available_timezones() or "/" not in name and \
            name not in ("UTC",):
        errors.add("time_zone", "Choose a time zone such as Europe/Berlin.")
        return None
    return name


def clean_calendar(data: dict, *, current: BusinessCalendar | None = None) -> dict:
    """The calendar's values from `data`; InvalidInput naming each bad field."""
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        out["name"] = _clean_name(BusinessCalendar, data, current, errors, "calendar")
    if "time_zone" in data or current is None:
        out["time_zone"] = clean_time_zone(data.get("time_zone"), errors)
    if "hours" in data or current is None:
        out["hours"] = clean_hours(data.get("hours"), errors)
        if out["hours"] == {}:
            # A target counted in working time would never fall due.
            errors.add("hours", "Give at least one working interval, such as Monday "
                                "09:00–17:00.")
    if "holidays" in data:
        out["holidays"] = clean_holidays(data["holidays"], errors)
    errors.raise_if_any()
    return out


def _clean_minutes(value, field: str, errors: Collector, *, minimum: int) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.add(field, "Enter a whole number of minutes.")
        return None
    number = as_pk(value)
    if number is None:
        errors.add(field, "Enter a whole number of minutes.")
    elif number < minimum:
        errors.add(field, "Enter at least one minute." if minimum else "Enter zero or more.")
        number = None
    elif number > MAX_TARGET_MINUTES:
        errors.add(field, "Keep this under a year.")
        number = None
    return number


def clean_policy(data: dict, *, current: SlaPolicy | None = None) -> dict:
    """The policy's values from `data`; InvalidInput naming each bad field."""
    errors = Collector()
    out: dict = {}
    if "name" in data or current is None:
        out["name"] = _clean_name(SlaPolicy, data, current, errors, "policy")
    if "position" in data:
        position = data["position"]
        if isinstance(position, bool) or as_pk(position) is None or as_pk(position) < 0:
            errors.add("position", "Enter zero or a positive whole number.")
        else:
            out["position"] = as_pk(position)
    if "is_active" in data:
        if not isinstance(data["is_active"], bool):
            errors.add("is_active", "Give true or false.")
        out["is_active"] = bool(data["is_active"])
    if "priorities" in data:
        priorities = data["priorities"] or []
        if not isinstance(priorities, list) or not set(priorities) <= set(Priority.values):
            errors.add("priorities", "Choose among: " + ", ".join(Priority.values) + ".")
        else:
            out["priorities"] = [value for value in Priority.values if value in priorities]
    if "queue" in data:
        out["queue"] = clean_ref(Queue, data["queue"], "queue_id", errors,
                                 "Choose an existing queue.")
    if "customer_tier" in data:
        tier = clean_text(data["customer_tier"], "customer_tier", errors)
        if tier and len(tier) > 60:
            errors.add("customer_tier", "Keep the tier to 60 characters.")
        out["customer_tier"] = tier
    for name in ("first_response_minutes", "resolution_minutes"):
        if name in data:
            out[name] = _clean_minutes(data[name], name, errors, minimum=1)
    if "warn_before_minutes" in data:
        warn = _clean_minutes(data["warn_before_minutes"], "warn_before_minutes", errors,
                              minimum=0)
        out["warn_before_minutes"] = warn or 0
    if "calendar" in data:
        out["calendar"] = clean_ref(BusinessCalendar, data["calendar"], "calendar_id", errors,
                                    "Choose an existing business calendar.")
    targets = [out.get(name, getattr(current, name, None))
               for name in ("first_response_minutes", "resolution_minutes")]
    if not errors.errors and not any(targets):
        errors.add("first_response_minutes",
                   "Set a first response target, a resolution target or both.", "required")
    errors.raise_if_any()
    return out


def _lock(model, record, expected_version):
    locked = model.objects.select_for_update().get(pk=record.pk)
    if expected_version is not None and int(expected_version) != locked.version:
        raise StaleVersion(current_version=locked.version)
    return locked


# Calendars


@transaction.atomic
def create_calendar(org, actor, *, data: dict) -> BusinessCalendar:
    values = clean_calendar(data)
    calendar = BusinessCalendar.objects.create(organization=org, **values)
    audit.record(org, actor, Action.CREATE, calendar,
                 changes=audit.diff({}, audit.snapshot(calendar, CALENDAR_FIELDS)))
    return calendar


@transaction.atomic
def update_calendar(org, actor, calendar: BusinessCalendar, *, data: dict,
                    expected_version: int | None = None) -> BusinessCalendar:
    """Change a calendar; the tickets of the policies using it get new due times."""
    calendar = _lock(BusinessCalendar, calendar, expected_version)
    values = clean_calendar(data, current=calendar)
    before = audit.snapshot(calendar, CALENDAR_FIELDS)
    for name, value in values.items():
        setattr(calendar, name, value)
    changes = audit.diff(before, audit.snapshot(calendar, CALENDAR_FIELDS))
    if not changes:
        return calendar
    calendar.save_new_version()
    audit.record(org, actor, Action.UPDATE, calendar, changes=changes)
    if {"time_zone", "hours", "holidays"} & changes.keys():
        recompute_governed(org, Ticket.objects.filter(sla_policy__calendar=calendar))
    return calendar


@transaction.atomic
def delete_calendar(org, actor, calendar: BusinessCalendar, *,
                    expected_version: int | None = None) -> None:
    """Remove a calendar no policy uses; Conflict naming the policies otherwise."""
    calendar = _lock(BusinessCalendar, calendar, expected_version)
    users = list(SlaPolicy.objects.filter(calendar=calendar).values_list("name", flat=True))
    if users:
        raise Conflict("These SLA policies count their targets with this calendar: "
                       + ", ".join(users) + ". Give them another calendar first.")
    governed = list(Ticket.objects.filter(sla_policy__calendar=calendar,
                                          status__in=UNRESOLVED).values_list("pk", flat=True))
    audit.record(org, actor, Action.DELETE, calendar,
                 changes=audit.diff(audit.snapshot(calendar, CALENDAR_FIELDS), {}))
    calendar.delete()
    recompute_governed(org, Ticket.objects.filter(pk__in=governed))


# Policies


@transaction.atomic
def create_policy(org, actor, *, data: dict) -> SlaPolicy:
    """Add a policy; every unresolved ticket has its policy chosen again."""
    values = clean_policy(data)
    policy = SlaPolicy.objects.create(organization=org, **values)
    audit.record(org, actor, Action.CREATE, policy,
                 changes=audit.diff({}, audit.snapshot(policy, POLICY_FIELDS)))
    recompute_governed(org, Ticket.objects.all())
    return policy


@transaction.atomic
def update_policy(org, actor, policy: SlaPolicy, *, data: dict,
                  expected_version: int | None = None) -> SlaPolicy:
    """Change a policy and the due times of the unresolved tickets it governs.

    A change to what the policy matches chooses every unresolved ticket's
    policy again; a change of targets or calendar touches only its own tickets.
    """
    policy = _lock(SlaPolicy, policy, expected_version)
    values = clean_policy(data, current=policy)
    before = audit.snapshot(policy, POLICY_FIELDS)
    for name, value in values.items():
        setattr(policy, name, value)
    changes = audit.diff(before, audit.snapshot(policy, POLICY_FIELDS))
    if not changes:
        return policy
    policy.save_new_version()
    audit.record(org, actor, Action.UPDATE, policy, changes=changes)
    if MATCHING_FIELDS & changes.keys():
        recompute_governed(org, Ticket.objects.all())
    else:
        recompute_governed(org, Ticket.objects.filter(sla_policy=policy))
    return policy


@transaction.atomic
def delete_policy(org, actor, policy: SlaPolicy, *,
                  expected_version: int | None = None) -> None:
    """Remove a policy; its tickets fall to the next policy that matches, if any."""
    policy = _lock(SlaPolicy, policy, expected_version)
    audit.record(org, actor, Action.DELETE, policy,
                 changes=audit.diff(audit.snapshot(policy, POLICY_FIELDS), {}))
    policy.delete()
    recompute_governed(org, Ticket.objects.all())


# Due times


def recompute_governed(org, tickets) -> int | None:
    """Set the due times of the unresolved `tickets` again; how many, or None when queued.

    Up to INLINE_LIMIT tickets are done at once, inside the caller's
    transaction; more go to a worker job after commit, which reads the
    settings as they stand when it runs.
    """
    ids = list(tickets.filter(status__in=UNRESOLVED).order_by("pk")
               .values_list("pk", flat=True)[:INLINE_LIMIT + 1])
    if len(ids) <= INLINE_LIMIT:
        return recompute_tickets(org, ids)
    queryset_ids = list(tickets.filter(status__in=UNRESOLVED).order_by("pk")
                        .values_list("pk", flat=True))
    transaction.on_commit(lambda: _queue_recompute(org.pk, queryset_ids))
    logger.info("sla.recompute_queued",
                extra={"organization_id": org.id, "tickets": len(queryset_ids)})
    return None


def _queue_recompute(org_id: int, ids: list[int]) -> None:
    from .sla_tasks import recompute_due_times

    recompute_due_times.delay(org_id, ids)


def recompute_tickets(org, ids: list[int]) -> int:
    """Choose the policy of each unresolved ticket again and save its due times.

    Must run inside the organisation's scope. Running it twice gives the same
    due times, so a repeated job changes nothing more.
    """
    now = timezone.now()
    done = 0
    tickets = (Ticket.objects.filter(pk__in=ids, status__in=UNRESOLVED)
               .select_related("contact", "company").order_by("pk"))
    for ticket in tickets.iterator(chunk_size=500):
        sla.apply_policy(ticket, now=now)
        done += 1
    return done
