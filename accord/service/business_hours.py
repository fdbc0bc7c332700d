"""Working-time arithmetic for SLA timers: business hours, holidays and pauses.

A calendar gives, per weekday, intervals of local wall-clock time in its
zone. Conventions:

- An interval ending at ``time(0)`` ends at midnight at the end of its day
  (24:00); one starting at ``time(0)`` starts at the beginning of its day. So
  ``(time(0), time(0))`` is the whole day, and a night shift from 22:00 to
  06:00 is written as two intervals: ``(time(22), time(0))`` on one weekday
  and ``(time(0), time(6))`` on the next.
- Working time is real elapsed time inside the intervals. 09:00–17:00 is
  eight hours on the day the clocks change as well, because the change
  happens outside it; an interval that contains the change itself is as long
  as the time that really passes (00:00–06:00 is five hours on the spring
  day in Europe, seven on the autumn day).
- A boundary that falls on a local time skipped by the clocks means the
  moment they jump; one that falls on a repeated local time means its first
  occurrence.
- A holiday removes every interval of that local date.

Every function takes aware datetimes (a naive one raises ValueError) and
answers in UTC. Whole weeks without holidays or clock changes are taken in
one step, so a thirty-day target costs a few dozen zone look-ups.
"""

import bisect
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

UTC = dt.UTC
ZERO = dt.timedelta(0)
DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)
WEEK_DAYS = 7
FULL_DAY = dt.timedelta(hours=24)
SECOND = dt.timedelta(seconds=1)
WEEKDAY_NAMES = (
    gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"), gettext_lazy("Friday"), gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
)

Pause = tuple[dt.datetime, dt.datetime | None]


@dataclass(frozen=True)
class WorkingCalendar:
    """When work happens: intervals per weekday (0 is Monday) in a zone, minus holidays.

    The hours are checked and read when the calendar is made; invalid hours or
    an unknown zone raise ValueError naming every problem.
    """

    time_zone: str
    hours: dict[int, tuple[tuple[dt.time, dt.time], ...]]
    holidays: frozenset[dt.date] = frozenset()
    _zone: zoneinfo.ZoneInfo = field(init=False, repr=False, compare=False)
    _days: tuple[tuple[tuple[dt.timedelta, dt.timedelta], ...], ...] = field(
        init=False, repr=False, compare=False)
    _week_total: dt.timedelta = field(init=False, repr=False, compare=False)
    _sorted_holidays: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        problems = validate_hours(self.hours)
        if problems:
            raise ValueError(" ".join(problems))
        try:
            zone = zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(
                _("%(name)r is not a known time zone.") % {"name": self.time_zone}) from exc

        days = tuple(_merged(self.hours.get(weekday, ())) for weekday in range(WEEK_DAYS))
        holidays = frozenset(self.holidays)
        object.__setattr__(self, "hours", dict(self.hours))
        object.__setattr__(self, "holidays", holidays)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_days", days)
        object.__setattr__(self, "_week_total",
                           sum((end - start for day in days for start, end in day), ZERO))
        object.__setattr__(self, "_sorted_holidays", tuple(sorted(holidays)))

    @classmethod
    def always(cls) -> "WorkingCalendar":
        """Every hour of every day, in UTC: working time is plain elapsed time."""
        whole_day = ((dt.time(0), dt.time(0)),)
        return cls("UTC", dict.fromkeys(range(WEEK_DAYS), whole_day))

    @classmethod
    def weekdays(cls, time_zone: str, start: dt.time = dt.time(9),
                 end: dt.time = dt.time(17)) -> "WorkingCalendar":
        """Monday to Friday from `start` to `end` local time in `time_zone`."""
        return cls(time_zone, dict.fromkeys(range(5), ((start, end),)))

    def _holiday_free_week(self, first_day: dt.date) -> bool:
        """No holiday falls in the seven local days from `first_day`."""
        index = bisect.bisect_left(self._sorted_holidays, first_day)
        return (index == len(self._sorted_holidays)
                or self._sorted_holidays[index] >= first_day + WEEK)

    def _spans(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The working intervals of a local date as UTC instants, in order."""
        if day in self.holidays:
            return []
        intervals = self._days[day.weekday()]
        if not intervals:
            return []
        midnight = dt.datetime(day.year, day.month, day.day)  # noqa: DTZ001 - local wall time
        spans = []
        for start, end in intervals:
            begins = _instant(self._zone, midnight + start)
            ends = _instant(self._zone, midnight + end)
            if begins < ends:
                spans.append((begins, ends))
        return spans

    def _midnight(self, day: dt.date) -> tuple[dt.datetime, dt.timedelta]:
        """The instant a local date begins and the zone's UTC offset then."""
        wall = dt.datetime(day.year, day.month, day.day)  # noqa: DTZ001 - local wall time
        instant = _instant(self._zone, wall)
        return instant, wall - instant.replace(tzinfo=None)


def validate_hours(hours: Mapping) -> list[str]:
    """Every problem with weekly hours, as sentences for the person who set them.

    An empty list means the hours are fine. Weekdays are 0 (Monday) to 6
    (Sunday); an end of 00:00 means midnight at the end of the day.
    """
    problems = []
    for weekday, intervals in hours.items():
        if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
            problems.append(
                _("Weekday %(weekday)r is out of range: use 0 for Monday to 6 for Sunday.")
                % {"weekday": weekday})
            continue
        name = WEEKDAY_NAMES[weekday]
        spans = []
        for interval in intervals:
            shape_ok = (isinstance(interval, Sequence) and len(interval) == 2
                        and all(isinstance(part, dt.time) for part in interval))
            if not shape_ok:
                problems.append(_("%(day)s: each interval is a pair of times, start and end.")
                                % {"day": name})
                continue
            start, end = interval
            label = f"{_clock(start)}–{_clock(end, end_of_day=True)}"
            if start.tzinfo is not None or end.tzinfo is not None:
                problems.append(
                    _("%(day)s %(interval)s: times carry no time zone; the calendar's applies.")
                    % {"day": name, "interval": label})
                continue
            begins, ends = _offset(start), _offset(end, end_of_day=True)
            if ends <= begins:
                problems.append(
                    _("%(day)s %(interval)s does not end after it starts. To work past "
                      "midnight, end the interval at 00:00 and start the next day at 00:00.")
                    % {"day": name, "interval": label})
                continue
            spans.append((begins, ends, label))

        spans.sort()
        reach = None
        for begins, ends, label in spans:
            if reach is not None and begins < reach[1]:
                problems.append(_("%(day)s %(first)s overlaps %(second)s.")
                                % {"day": name, "first": reach[2], "second": label})
            if reach is None or ends > reach[1]:
                reach = (begins, ends, label)
    return list(dict.fromkeys(problems))


def add_business_time(start: dt.datetime, duration: dt.timedelta,
                      calendar: WorkingCalendar) -> dt.datetime:
    """The earliest instant by which `duration` of working time has passed since `start`.

    A zero duration answers `start` itself, even outside working hours. Raises
    ValueError for a naive `start`, a negative duration, or a calendar without
    any working hours (the time would never pass).
    """
    start = _as_utc(start, "start")
    _check_can_pass(duration, calendar)
    if duration == ZERO:
        return start

    remaining = duration
    day = start.astimezone(calendar._zone).date()
    while True:
        if remaining > calendar._week_total:
            week = _whole_week(calendar, day, start)
            if week is not None:
                remaining -= calendar._week_total
                day = week[0]
                continue
        for begins, ends in calendar._spans(day):
            begins = max(begins, start)
            if ends <= begins:
                continue
            if ends - begins >= remaining:
                return begins + remaining
            remaining -= ends - begins
        day += DAY


def business_time_between(start: dt.datetime, end: dt.datetime,
                          calendar: WorkingCalendar) -> dt.timedelta:
    """The working time in [start, end); zero when `end` is not after `start`.

    Raises ValueError for a naive datetime.
    """
    start, end = _as_utc(start, "start"), _as_utc(end, "end")
    if end <= start or calendar._week_total == ZERO:
        return ZERO

    total = ZERO
    day = start.astimezone(calendar._zone).date()
    last_day = end.astimezone(calendar._zone).date()
    while day <= last_day:
        if day + WEEK <= last_day:
            week = _whole_week(calendar, day, start)
            if week is not None and week[1] <= end:
                total += calendar._week_total
                day = week[0]
                continue
        for begins, ends in calendar._spans(day):
            begins, ends = max(begins, start), min(ends, end)
            if ends > begins:
                total += ends - begins
        day += DAY
    return total


def sla_deadline(started: dt.datetime, target: dt.timedelta, calendar: WorkingCalendar,
                 pauses: Iterable[Pause] = ()) -> dt.datetime | None:
    """When `target` of working time outside the pauses has passed since `started`.

    A pause is (paused, resumed); resumed is None while it still runs. None is
    answered when the clock is stopped by such a pause before the target is
    reached; a target reached before the running pause began keeps its
    deadline. Pauses may overlap and may begin before `started`. Raises
    ValueError as add_business_time does, and for a pause resumed before it
    began.
    """
    started = _as_utc(started, "started")
    _check_can_pass(target, calendar)

    cursor, remaining = started, target
    for paused, resumed in _merged_pauses(pauses, started):
        available = business_time_between(cursor, paused, calendar)
        if available >= remaining:
            break
        remaining -= available
        if resumed is None:
            return None
        cursor = max(cursor, resumed)
    return add_business_time(cursor, remaining, calendar)


def sla_elapsed(started: dt.datetime, now: dt.datetime, calendar: WorkingCalendar,
                pauses: Iterable[Pause] = ()) -> dt.timedelta:
    """The working time outside the pauses in [started, now); a running pause lasts until now.

    Raises ValueError for a naive datetime or a pause resumed before it began.
    """
    started, now = _as_utc(started, "started"), _as_utc(now, "now")
    if now <= started:
        return ZERO

    elapsed = business_time_between(started, now, calendar)
    for paused, resumed in _merged_pauses(pauses, started):
        if paused >= now:
            break
        ends = now if resumed is None else min(resumed, now)
        elapsed -= business_time_between(paused, ends, calendar)
    return elapsed


def _whole_week(calendar: WorkingCalendar, day: dt.date,
                start: dt.datetime) -> tuple[dt.date, dt.datetime] | None:
    """The next date and its first instant when the week from `day` counts whole, else None.

    A week counts whole, as the calendar's weekly hours, when it begins at or
    after `start`, holds no holiday and has the same UTC offset at both ends.
    A zone whose clocks changed and changed back within one week would be
    counted by the wall clock; the rules of zones in use today do not do that.
    """
    if not calendar._holiday_free_week(day):
        return None
    begins, offset = calendar._midnight(day)
    if begins < start:
        return None
    following = day + WEEK
    ends, following_offset = calendar._midnight(following)
    if following_offset != offset:
        return None
    return following, ends


def _merged_pauses(pauses: Iterable[Pause], started: dt.datetime) -> list[Pause]:
    """Pauses in order, overlapping ones joined, cut to begin no earlier than `started`."""
    checked = []
    for paused, resumed in pauses:
        paused = _as_utc(paused, "pause start")
        if resumed is not None:
            resumed = _as_utc(resumed, "pause end")
            if resumed < paused:
                raise ValueError("A pause must not end before it begins.")
            if resumed <= started:
                continue
        checked.append((max(paused, started), resumed))
    checked.sort(key=lambda pause: pause[0])

    merged: list[Pause] = []
    for paused, resumed in checked:
        if merged and (merged[-1][1] is None or paused <= merged[-1][1]):
            last_paused, last_resumed = merged[-1]
            if last_resumed is not None:
                merged[-1] = (last_paused, None if resumed is None else max(last_resumed, resumed))
            continue
        merged.append((paused, resumed))
    return merged


def _instant(zone: zoneinfo.ZoneInfo, wall: dt.datetime) -> dt.datetime:
    """The UTC instant of a naive local wall time, by the conventions above."""
    local = wall.replace(tzinfo=zone)
    before = local.utcoffset()
    after = local.replace(fold=1).utcoffset()
    if before < after:
        return _clock_change(zone, wall - after, wall - before)
    return (wall - before).replace(tzinfo=UTC)


def _clock_change(zone: zoneinfo.ZoneInfo, earlier: dt.datetime,
                  later: dt.datetime) -> dt.datetime:
    """The instant the clocks jump forward, between two naive UTC times either side of it.

    Zones change their offset on a whole second, so a search over seconds
    finds it exactly; it runs only for a boundary inside skipped local time.
    """
    base = earlier.replace(microsecond=0, tzinfo=UTC)
    new_offset = later.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    low, high = 0, int((later.replace(tzinfo=UTC) - base) / SECOND) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if (base + middle * SECOND).astimezone(zone).utcoffset() == new_offset:
            high = middle
        else:
            low = middle
    return base + high * SECOND


def _merged(intervals: Iterable[tuple[dt.time, dt.time]]) -> tuple[
        tuple[dt.timedelta, dt.timedelta], ...]:
    """A day's valid intervals as offsets from midnight, sorted, touching ones joined."""
    merged: list[tuple[dt.timedelta, dt.timedelta]] = []
    for begins, ends in sorted((_offset(start), _offset(end, end_of_day=True))
                               for start, end in intervals):
        if merged and begins <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], ends))
        else:
            merged.append((begins, ends))
    return tuple(merged)


def _offset(clock: dt.time, *, end_of_day: bool = False) -> dt.timedelta:
    """A time of day as the time since midnight; an end of 00:00 is 24 hours."""
    since_midnight = dt.timedelta(hours=clock.hour, minutes=clock.minute,
                                  seconds=clock.second, microseconds=clock.microsecond)
    if end_of_day and since_midnight == ZERO:
        return FULL_DAY
    return since_midnight


def _clock(clock: dt.time, *, end_of_day: bool = False) -> str:
    if end_of_day and clock == dt.time(0):
        return "24:00"
    return clock.strftime("%H:%M:%S" if clock.second or clock.microsecond else "%H:%M")


def _check_can_pass(duration: dt.timedelta, calendar: WorkingCalendar) -> None:
    if duration < ZERO:
        raise ValueError("The duration must not be negative.")
    if calendar._week_total == ZERO:
        raise ValueError("The calendar has no working hours, so no working time ever passes.")


def _as_utc(value: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}.")
    if value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; give it a time zone (for example UTC).")
    return value.astimezone(UTC)
