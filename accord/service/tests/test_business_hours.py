import datetime as dt
import re
from zoneinfo import ZoneInfo

import hypothesis
import pytest
from hypothesis import strategies as st

from accord.service.business_hours import (
    WorkingCalendar,
    add_business_time,
    business_time_between,
    sla_deadline,
    sla_elapsed,
    validate_hours,
)

UTC = dt.UTC
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
MICROSECOND = dt.timedelta(microseconds=1)
QUARTER = dt.timedelta(minutes=15)
OFFICE = WorkingCalendar.weekdays("Europe/Amsterdam")
EVERY_DAY = tuple(range(7))
PROPERTIES = hypothesis.settings(max_examples=150, deadline=None, database=None,
                                 derandomize=True)


def amsterdam(*parts):
    return dt.datetime(*parts, tzinfo=AMSTERDAM)


def utc(*parts):
    return dt.datetime(*parts, tzinfo=UTC)


def daily(time_zone, start, end, days=EVERY_DAY):
    return WorkingCalendar(time_zone, dict.fromkeys(days, ((start, end),)))


def test_two_hours_from_friday_afternoon_end_on_monday_morning():
    deadline = add_business_time(amsterdam(2025, 3, 7, 16), 2 * HOUR, OFFICE)

    assert deadline == utc(2025, 3, 10, 9)
    assert deadline.tzinfo is UTC


def test_weekend_with_the_spring_clock_change_keeps_opening_at_nine_local():
    friday = amsterdam(2025, 3, 28, 16)

    deadline = add_business_time(friday, 2 * HOUR, OFFICE)

    assert deadline == utc(2025, 3, 31, 8)
    assert business_time_between(friday, amsterdam(2025, 3, 31, 10), OFFICE) == 2 * HOUR


def test_holidays_remove_whole_local_days():
    christmas = WorkingCalendar("Europe/Amsterdam", OFFICE.hours,
                                holidays=frozenset({dt.date(2025, 12, 25), dt.date(2025, 12, 26)}))

    deadline = add_business_time(amsterdam(2025, 12, 24, 16), 3 * HOUR, christmas)
    worked = business_time_between(amsterdam(2025, 12, 24, 9), amsterdam(2025, 12, 29, 9),
                                   christmas)

    assert deadline == utc(2025, 12, 29, 10)
    assert worked == 8 * HOUR


def test_start_inside_a_holiday_waits_for_the_next_working_day():
    calendar = WorkingCalendar("Europe/Amsterdam", OFFICE.hours,
                               holidays=frozenset({dt.date(2025, 12, 25), dt.date(2025, 12, 26)}))

    deadline = add_business_time(amsterdam(2025, 12, 25, 10), HOUR, calendar)

    assert deadline == utc(2025, 12, 29, 9)


CLOCK_CHANGE_DAYS = [
    pytest.param(AMSTERDAM, dt.date(2025, 3, 30), utc(2025, 3, 30, 7), utc(2025, 3, 30, 15),
                 id="amsterdam-spring"),
    pytest.param(AMSTERDAM, dt.date(2025, 10, 26), utc(2025, 10, 26, 8), utc(2025, 10, 26, 16),
                 id="amsterdam-autumn"),
    pytest.param(NEW_YORK, dt.date(2025, 3, 9), utc(2025, 3, 9, 13), utc(2025, 3, 9, 21),
                 id="new-york-spring"),
    pytest.param(NEW_YORK, dt.date(2025, 11, 2), utc(2025, 11, 2, 14), utc(2025, 11, 2, 22),
                 id="new-york-autumn"),
]


@pytest.mark.parametrize(("zone", "day", "opens", "closes"), CLOCK_CHANGE_DAYS)
def test_nine_to_five_is_eight_hours_on_a_clock_change_day(zone, day, opens, closes):
    calendar = daily(zone.key, dt.time(9), dt.time(17))
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)

    worked = business_time_between(midnight, next_midnight, calendar)

    assert worked == 8 * HOUR


@pytest.mark.parametrize(("zone", "day", "opens", "closes"), CLOCK_CHANGE_DAYS)
def test_deadlines_on_a_clock_change_day_are_right_in_utc(zone, day, opens, closes):
    calendar = daily(zone.key, dt.time(9), dt.time(17))
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    day_before = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(15), tzinfo=zone)

    assert add_business_time(midnight, HOUR, calendar) == opens + HOUR
    assert add_business_time(midnight, 8 * HOUR, calendar) == closes
    assert add_business_time(day_before, 4 * HOUR, calendar) == opens + 2 * HOUR


@pytest.mark.parametrize(("day", "length"), [
    (dt.date(2025, 3, 30), 5 * HOUR),
    (dt.date(2025, 10, 26), 7 * HOUR),
])
def test_an_interval_holding_the_clock_change_lasts_the_real_time(day, length):
    night = WorkingCalendar("Europe/Amsterdam", {6: ((dt.time(0), dt.time(6)),)})
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM)

    worked = business_time_between(midnight - dt.timedelta(hours=12),
                                   midnight + dt.timedelta(days=1), night)
    deadline = add_business_time(midnight, length, night)

    assert worked == length
    assert deadline == dt.datetime(day.year, day.month, day.day, 6, tzinfo=AMSTERDAM)


def test_a_boundary_in_skipped_local_time_means_the_moment_the_clocks_jump():
    calendar = WorkingCalendar("Europe/Amsterdam", {6: ((dt.time(2, 30), dt.time(5)),)})

    opens = add_business_time(amsterdam(2025, 3, 29, 12), MICROSECOND, calendar)
    worked = business_time_between(amsterdam(2025, 3, 30), amsterdam(2025, 3, 31), calendar)

    assert opens == utc(2025, 3, 30, 1) + MICROSECOND
    assert worked == 2 * HOUR


def test_a_boundary_in_repeated_local_time_means_its_first_occurrence():
    calendar = WorkingCalendar("Europe/Amsterdam", {6: ((dt.time(2, 30), dt.time(4)),)})

    opens = add_business_time(amsterdam(2025, 10, 25, 12), MINUTE, calendar)
    worked = business_time_between(amsterdam(2025, 10, 26), amsterdam(2025, 10, 27), calendar)

    assert opens == utc(2025, 10, 26, 0, 31)
    assert worked == dt.timedelta(hours=2, minutes=30)


def test_a_whole_day_calendar_counts_the_short_day_as_23_hours():
    calendar = daily("Europe/Amsterdam", dt.time(0), dt.time(0))

    worked = business_time_between(amsterdam(2025, 3, 30), amsterdam(2025, 3, 31), calendar)

    assert worked == 23 * HOUR


def test_a_whole_day_calendar_over_a_year_is_the_elapsed_time():
    calendar = daily("Europe/Amsterdam", dt.time(0), dt.time(0))
    new_year = amsterdam(2025, 1, 1)

    worked = business_time_between(new_year, amsterdam(2026, 1, 1), calendar)
    deadline = add_business_time(new_year, dt.timedelta(days=365), calendar)

    assert worked == dt.timedelta(days=365)
    assert deadline == utc(2025, 12, 31, 23)


@pytest.mark.parametrize(("start", "deadline"), [
    pytest.param(amsterdam(2025, 1, 13, 7), utc(2025, 1, 13, 9), id="before-opening"),
    pytest.param(amsterdam(2025, 1, 13, 18), utc(2025, 1, 14, 9), id="after-closing"),
    pytest.param(amsterdam(2025, 1, 11, 12), utc(2025, 1, 13, 9), id="on-saturday"),
])
def test_a_start_outside_hours_counts_from_the_next_opening(start, deadline):
    assert add_business_time(start, HOUR, OFFICE) == deadline


def test_a_deadline_reached_at_closing_time_is_closing_time():
    deadline = add_business_time(amsterdam(2025, 1, 13, 9), 8 * HOUR, OFFICE)

    assert deadline == utc(2025, 1, 13, 16)


def test_zero_duration_ends_at_the_start_even_outside_hours():
    saturday = amsterdam(2025, 1, 11, 12)

    deadline = add_business_time(saturday, dt.timedelta(0), OFFICE)

    assert deadline == utc(2025, 1, 11, 11)
    assert deadline.tzinfo is UTC


def test_no_working_time_between_an_end_that_is_not_after_the_start():
    monday = amsterdam(2025, 1, 13, 10)

    assert business_time_between(monday, monday, OFFICE) == dt.timedelta(0)
    assert business_time_between(monday, monday - HOUR, OFFICE) == dt.timedelta(0)


def test_thirty_days_of_office_hours_run_past_holidays_and_the_clock_change():
    calendar = WorkingCalendar("Europe/Amsterdam", OFFICE.hours,
                               holidays=frozenset({dt.date(2025, 4, 21), dt.date(2025, 5, 5)}))
    start = amsterdam(2025, 1, 6, 9)

    deadline = add_business_time(start, dt.timedelta(days=30), calendar)

    assert deadline == utc(2025, 5, 13, 15)
    assert business_time_between(start, deadline, calendar) == dt.timedelta(days=30)


@pytest.mark.parametrize(("start", "duration"), [
    (utc(2025, 3, 30, 0, 30), dt.timedelta(hours=5)),
    (amsterdam(2025, 10, 25, 23, 59, 59, 999_999), dt.timedelta(days=40, microseconds=3)),
    (dt.datetime(2024, 2, 28, 20, tzinfo=NEW_YORK), dt.timedelta(days=1, minutes=7)),
])
def test_the_always_calendar_is_plain_arithmetic(start, duration):
    always = WorkingCalendar.always()
    # Adding to a datetime with a zone moves its wall clock; elapsed time is
    # added in UTC.
    end = start.astimezone(UTC) + duration

    assert add_business_time(start, duration, always) == end
    assert business_time_between(start, end, always) == duration


def test_naive_datetimes_are_refused():
    naive = dt.datetime(2025, 1, 13, 9)  # noqa: DTZ001 - the case under test
    message = "start is a naive datetime; give it a time zone (for example UTC)."

    with pytest.raises(ValueError, match=re.escape(message)):
        add_business_time(naive, HOUR, OFFICE)
    with pytest.raises(ValueError, match=re.escape(message)):
        business_time_between(naive, utc(2025, 1, 14), OFFICE)
    with pytest.raises(ValueError, match="^end is a naive datetime"):
        business_time_between(utc(2025, 1, 12), naive, OFFICE)
    with pytest.raises(ValueError, match="^pause start is a naive datetime"):
        sla_deadline(utc(2025, 1, 12), HOUR, OFFICE, [(naive, None)])
    with pytest.raises(ValueError, match="^now is a naive datetime"):
        sla_elapsed(utc(2025, 1, 12), naive, OFFICE, [])


def test_a_calendar_without_working_hours_never_reaches_a_deadline():
    idle = WorkingCalendar("Europe/Amsterdam", {0: (), 3: ()})
    message = "The calendar has no working hours, so no working time ever passes."

    with pytest.raises(ValueError, match=re.escape(message)):
        add_business_time(amsterdam(2025, 1, 13, 9), HOUR, idle)
    with pytest.raises(ValueError, match=re.escape(message)):
        sla_deadline(amsterdam(2025, 1, 13, 9), HOUR, idle, [])
    assert business_time_between(amsterdam(2025, 1, 13), amsterdam(2026, 1, 13),
                                 idle) == dt.timedelta(0)


def test_a_negative_duration_is_refused():
    with pytest.raises(ValueError, match="^The duration must not be negative.$"):
        add_business_time(amsterdam(2025, 1, 13, 9), -MINUTE, OFFICE)


MONDAY_NINE = amsterdam(2025, 1, 13, 9)


@pytest.mark.parametrize(("pauses", "target", "deadline"), [
    pytest.param([], 4 * HOUR, utc(2025, 1, 13, 12), id="no-pause"),
    pytest.param([(amsterdam(2025, 1, 13, 10), amsterdam(2025, 1, 13, 11, 30))], 4 * HOUR,
                 utc(2025, 1, 13, 13, 30), id="closed-pause"),
    pytest.param([(amsterdam(2025, 1, 13, 16), amsterdam(2025, 1, 14, 10))], 8 * HOUR,
                 utc(2025, 1, 14, 10), id="pause-over-the-night"),
    pytest.param([(amsterdam(2025, 1, 13, 8), amsterdam(2025, 1, 13, 10))], 4 * HOUR,
                 utc(2025, 1, 13, 13), id="pause-begun-before-the-start"),
    pytest.param([(amsterdam(2025, 1, 13, 10, 30), amsterdam(2025, 1, 13, 11, 30)),
                  (amsterdam(2025, 1, 13, 10), amsterdam(2025, 1, 13, 11))], 4 * HOUR,
                 utc(2025, 1, 13, 13, 30), id="overlapping-pauses"),
    pytest.param([(amsterdam(2025, 1, 13, 10), amsterdam(2025, 1, 13, 12)),
                  (amsterdam(2025, 1, 13, 10, 30), amsterdam(2025, 1, 13, 11))], 4 * HOUR,
                 utc(2025, 1, 13, 14), id="pause-inside-another"),
    pytest.param([(amsterdam(2025, 1, 13, 19), amsterdam(2025, 1, 14, 8))], 8 * HOUR,
                 utc(2025, 1, 13, 16), id="pause-outside-hours"),
    pytest.param([(amsterdam(2025, 1, 13, 14), None)], 4 * HOUR, utc(2025, 1, 13, 12),
                 id="running-pause-begun-after-the-deadline"),
    pytest.param([(amsterdam(2025, 1, 13, 13), None)], 4 * HOUR, utc(2025, 1, 13, 12),
                 id="running-pause-begun-at-the-deadline"),
    pytest.param([(amsterdam(2025, 1, 13, 11), None)], 4 * HOUR, None,
                 id="running-pause-stops-the-clock"),
    pytest.param([(amsterdam(2025, 1, 13, 10), amsterdam(2025, 1, 13, 11)),
                  (amsterdam(2025, 1, 13, 10, 30), None)], 4 * HOUR, None,
                 id="running-pause-joined-to-a-closed-one"),
])
def test_sla_deadline_counts_only_working_time_outside_pauses(pauses, target, deadline):
    assert sla_deadline(MONDAY_NINE, target, OFFICE, pauses) == deadline


@pytest.mark.parametrize(("pauses", "now", "elapsed"), [
    pytest.param([], amsterdam(2025, 1, 13, 15), 6 * HOUR, id="no-pause"),
    pytest.param([(amsterdam(2025, 1, 13, 10), amsterdam(2025, 1, 13, 11, 30))],
                 amsterdam(2025, 1, 13, 15), dt.timedelta(hours=4, minutes=30),
                 id="closed-pause"),
    pytest.param([(amsterdam(2025, 1, 13, 10), amsterdam(2025, 1, 13, 11)),
                  (amsterdam(2025, 1, 13, 10, 30), amsterdam(2025, 1, 13, 11, 30))],
                 amsterdam(2025, 1, 13, 15), dt.timedelta(hours=4, minutes=30),
                 id="overlapping-pauses-count-once"),
    pytest.param([(amsterdam(2025, 1, 13, 14), None)], amsterdam(2025, 1, 13, 15), 5 * HOUR,
                 id="running-pause"),
    pytest.param([(amsterdam(2025, 1, 13, 16), None)], amsterdam(2025, 1, 13, 15), 6 * HOUR,
                 id="pause-after-now"),
    pytest.param([(amsterdam(2025, 1, 13, 7), amsterdam(2025, 1, 13, 10))],
                 amsterdam(2025, 1, 13, 15), 5 * HOUR, id="pause-begun-before-the-start"),
    pytest.param([], amsterdam(2025, 1, 13, 8), dt.timedelta(0), id="now-before-the-start"),
])
def test_sla_elapsed_leaves_out_pauses(pauses, now, elapsed):
    assert sla_elapsed(MONDAY_NINE, now, OFFICE, pauses) == elapsed


def test_a_pause_that_ends_before_it_begins_is_refused():
    backwards = [(amsterdam(2025, 1, 13, 11), amsterdam(2025, 1, 13, 10))]

    with pytest.raises(ValueError, match="^A pause must not end before it begins.$"):
        sla_deadline(MONDAY_NINE, HOUR, OFFICE, backwards)
    with pytest.raises(ValueError, match="^A pause must not end before it begins.$"):
        sla_elapsed(MONDAY_NINE, amsterdam(2025, 1, 13, 12), OFFICE, backwards)


def test_hours_with_touching_intervals_and_night_shifts_are_fine():
    hours = {
        0: ((dt.time(9), dt.time(12)), (dt.time(12), dt.time(17))),
        5: ((dt.time(22), dt.time(0)),),
        6: ((dt.time(0), dt.time(6)),),
    }

    assert validate_hours(hours) == []


def test_validate_hours_names_every_problem():
    hours = {
        2: ((dt.time(9), dt.time(13)), (dt.time(12), dt.time(17))),
        4: ((dt.time(17), dt.time(9)), (dt.time(9), dt.time(9))),
        0: ((dt.time(9), dt.time(17)), (dt.time(10), dt.time(11)), (dt.time(12), dt.time(13))),
        6: ((dt.time(22), dt.time(0)), (dt.time(23), dt.time(0))),
        7: ((dt.time(9), dt.time(17)),),
        -1: (),
        1: (dt.time(9), dt.time(17)),
    }

    problems = validate_hours(hours)

    assert problems == [
        "Wednesday 09:00–13:00 overlaps 12:00–17:00.",
        "Friday 17:00–09:00 does not end after it starts. To work past midnight, end the "
        "interval at 00:00 and start the next day at 00:00.",
        "Friday 09:00–09:00 does not end after it starts. To work past midnight, end the "
        "interval at 00:00 and start the next day at 00:00.",
        "Monday 09:00–17:00 overlaps 10:00–11:00.",
        "Monday 09:00–17:00 overlaps 12:00–13:00.",
        "Sunday 22:00–24:00 overlaps 23:00–24:00.",
        "Weekday 7 is out of range: use 0 for Monday to 6 for Sunday.",
        "Weekday -1 is out of range: use 0 for Monday to 6 for Sunday.",
        "Tuesday: each interval is a pair of times, start and end.",
    ]


def test_a_calendar_with_invalid_hours_or_zone_cannot_be_made():
    with pytest.raises(ValueError, match="^Weekday 7 is out of range"):
        WorkingCalendar("UTC", {7: ((dt.time(9), dt.time(17)),)})
    with pytest.raises(ValueError, match="^'Mars/Olympus' is not a known time zone.$"):
        WorkingCalendar.weekdays("Mars/Olympus")


# Generated checks. The brute-force count walks UTC in quarter hours and asks
# the local wall clock whether each quarter is working time; it agrees with
# the calendar when no interval boundary lies in the small hours, where the
# clocks change in these zones.
ZONES = ["UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kathmandu"]
QUARTERS_A_DAY = 96
SMALL_HOURS = range(4, 16)  # 01:00 to 03:45 as quarter numbers


def clock(quarter):
    return dt.time(quarter // 4 % 24, quarter % 4 * 15)


@st.composite
def calendars(draw, avoid_small_hours=False):
    allowed = [quarter for quarter in range(QUARTERS_A_DAY + 1)
               if not (avoid_small_hours and quarter in SMALL_HOURS)]
    hours = {}
    for weekday in range(7):
        points = sorted(draw(st.sets(st.sampled_from(allowed), max_size=4)))
        if len(points) % 2:
            points.pop()
        hours[weekday] = tuple((clock(points[i]), clock(points[i + 1]))
                               for i in range(0, len(points), 2))
    hypothesis.assume(any(hours.values()))
    holidays = draw(st.frozensets(st.dates(dt.date(2025, 1, 1), dt.date(2025, 3, 31)),
                                  max_size=15))
    return WorkingCalendar(draw(st.sampled_from(ZONES)), hours, holidays)


def quarter_hours(low, high):
    steps = int((high - low) / QUARTER)
    return st.integers(0, steps).map(lambda step: low + step * QUARTER)


instants = st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2025, 3, 31),  # noqa: DTZ001
                        timezones=st.just(UTC))
durations = st.timedeltas(dt.timedelta(0), dt.timedelta(days=4))


def counted_by_wall_clock(calendar, start, end):
    zone = ZoneInfo(calendar.time_zone)
    total = dt.timedelta(0)
    moment = start
    while moment < end:
        local = moment.astimezone(zone)
        since_midnight = local - local.replace(hour=0, minute=0)
        if local.date() not in calendar.holidays:
            for opens, closes in calendar.hours[local.weekday()]:
                ends = dt.timedelta(days=1) if closes == dt.time(0) else dt.timedelta(
                    hours=closes.hour, minutes=closes.minute)
                if dt.timedelta(hours=opens.hour, minutes=opens.minute) <= since_midnight < ends:
                    total += QUARTER
        moment += QUARTER
    return total


@PROPERTIES
@hypothesis.given(calendar=calendars(avoid_small_hours=True),
                  start=quarter_hours(utc(2025, 1, 1), utc(2025, 3, 10)),
                  length=st.integers(0, 20 * QUARTERS_A_DAY))
def test_working_time_matches_a_count_by_the_wall_clock(calendar, start, length):
    end = start + length * QUARTER

    assert business_time_between(start, end, calendar) == counted_by_wall_clock(
        calendar, start, end)


@PROPERTIES
@hypothesis.given(calendar=calendars(), start=instants, duration=durations)
def test_adding_then_measuring_gives_back_the_duration(calendar, start, duration):
    deadline = add_business_time(start, duration, calendar)

    assert business_time_between(start, deadline, calendar) == duration
    if duration:
        assert business_time_between(start, deadline - MICROSECOND, calendar) < duration


@PROPERTIES
@hypothesis.given(calendar=calendars(), start=instants, end=instants)
def test_measuring_then_adding_lands_at_or_before_the_end(calendar, start, end):
    worked = business_time_between(start, end, calendar)

    assert add_business_time(start, worked, calendar) <= max(start, end)


@PROPERTIES
@hypothesis.given(calendar=calendars(), moments=st.lists(instants, min_size=3, max_size=3))
def test_working_time_adds_up_over_consecutive_ranges(calendar, moments):
    first, middle, last = sorted(moments)

    assert business_time_between(first, last, calendar) == (
        business_time_between(first, middle, calendar)
        + business_time_between(middle, last, calendar))


@PROPERTIES
@hypothesis.given(start=st.datetimes(timezones=st.sampled_from([UTC, AMSTERDAM, NEW_YORK]),
                                     min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001
                                     max_value=dt.datetime(2090, 1, 1)),  # noqa: DTZ001
                  duration=st.timedeltas(dt.timedelta(0), dt.timedelta(days=400)))
def test_the_always_calendar_agrees_with_plain_arithmetic(start, duration):
    always = WorkingCalendar.always()
    # Adding to a datetime with a zone moves its wall clock; elapsed time is
    # added in UTC.
    end = start.astimezone(UTC) + duration

    assert add_business_time(start, duration, always) == end
    assert business_time_between(start, end, always) == duration


@PROPERTIES
@hypothesis.given(calendar=calendars(), started=instants,
                  target=st.timedeltas(dt.timedelta(0), dt.timedelta(days=2)),
                  pauses=st.lists(st.tuples(instants, durations), max_size=4))
def test_the_sla_clock_reaches_its_target_exactly_at_the_deadline(calendar, started, target,
                                                                  pauses):
    closed = [(paused, paused + length) for paused, length in pauses]

    deadline = sla_deadline(started, target, calendar, closed)

    assert sla_elapsed(started, deadline, calendar, closed) == target
    if target:
        assert sla_elapsed(started, deadline - MICROSECOND, calendar, closed) < target
