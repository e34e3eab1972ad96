"""Tests for bot.domain.periods: weekly deadlines with China's holiday shift, and scoring spans."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.periods import (
    SPAN_KINDS,
    Periods,
    Span,
    WeeklyPeriod,
    WeeklySchedule,
    WorkCalendar,
    format_periods_lines,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def periods() -> Periods:
    return Periods(WeeklySchedule())


def _thursdays(year: int) -> list[date]:
    d = date(year, 1, 1)
    d += timedelta(days=(3 - d.weekday()) % 7)
    return [d + timedelta(weeks=i) for i in range(53) if (d + timedelta(weeks=i)).year == year]


def _expected_deadline_day(thursday: date) -> date:
    d = thursday
    while not chinese_calendar.is_workday(d):
        d -= timedelta(days=1)
    return d


# --------------------------------------------------------------------------- #
# Official calendar years
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("thursday", _thursdays(2025) + _thursdays(2026), ids=str)
def test_every_thursday_of_2025_and_2026_matches_chinese_calendar(
    periods: Periods, thursday: date
) -> None:
    iso = thursday.isocalendar()
    p = periods.by_key(f"{iso.year}-W{iso.week:02d}")
    expected_day = _expected_deadline_day(thursday)
    assert p.nominal == thursday
    assert p.deadline == datetime.combine(expected_day, time(17), tzinfo=SHANGHAI)
    assert p.deadline.utcoffset() == timedelta(hours=8)
    assert p.shifted == (expected_day != thursday)
    assert p.start == periods.previous(p).deadline


@pytest.mark.parametrize(
    ("key", "nominal", "deadline_day"),
    [
        ("2025-W40", date(2025, 10, 2), date(2025, 9, 30)),  # National Day 2025 (Oct 1-8)
        ("2026-W40", date(2026, 10, 1), date(2026, 9, 30)),  # National Day 2026
        ("2025-W05", date(2025, 1, 30), date(2025, 1, 27)),  # Spring Festival 2025
        (
            "2026-W08",
            date(2026, 2, 19),
            date(2026, 2, 14),
        ),  # Spring Festival 2026 -> make-up Saturday
        ("2025-W18", date(2025, 5, 1), date(2025, 4, 30)),  # Labour Day 2025
        ("2026-W01", date(2026, 1, 1), date(2025, 12, 31)),  # New Year, crosses the year boundary
    ],
)
def test_known_holiday_shifts(
    periods: Periods, key: str, nominal: date, deadline_day: date
) -> None:
    p = periods.by_key(key)
    assert chinese_calendar.is_workday(deadline_day)
    assert not chinese_calendar.is_workday(nominal)
    assert (p.nominal, p.deadline.date(), p.shifted) == (nominal, deadline_day, True)
    assert p.deadline.time() == time(17)


def test_make_up_saturday_counts_as_workday(periods: Periods) -> None:
    assert date(2026, 2, 14).weekday() == 5
    assert periods.calendar.is_workday(date(2026, 2, 14))
    assert periods.calendar.previous_workday(date(2026, 2, 19)) == date(2026, 2, 14)


def test_every_deadline_2004_to_2035_is_a_workday() -> None:
    periods = Periods(WeeklySchedule())
    weeks = [p for year in range(2004, 2036) for p in periods.weeks_of_year(year)]
    assert all(periods.calendar.is_workday(p.deadline.date()) for p in weeks)
    assert all(
        b.start == a.deadline and a.deadline < b.deadline for a, b in itertools.pairwise(weeks)
    )
    assert periods.calendar.uncovered_years == {2003, *range(2027, 2036)}


def test_unshifted_week_after_national_day(periods: Periods) -> None:
    p = periods.by_key("2026-W41")
    assert p.start == datetime(2026, 9, 30, 17, tzinfo=SHANGHAI)
    assert p.deadline == datetime(2026, 10, 8, 17, tzinfo=SHANGHAI)
    assert not p.shifted


def test_periods_cli_line_for_w38(periods: Periods) -> None:
    lines = format_periods_lines(periods, 2026)
    assert "2026-W38\t2026-09-17T17:00:00+08:00" in lines
    assert len(lines) == 53  # 2026 is an ISO 53-week year
    assert lines[0] == "2026-W01\t2025-12-31T17:00:00+08:00"
    assert lines[-1] == "2026-W53\t2026-12-31T17:00:00+08:00"


def test_weeks_of_year_counts(periods: Periods) -> None:
    assert len(periods.weeks_of_year(2025)) == 52
    weeks = periods.weeks_of_year(2020)  # 53-week year
    assert [p.key for p in weeks][-1] == "2020-W53"
    assert all(b.start == a.deadline for a, b in itertools.pairwise(weeks))
    assert periods.next(weeks[-1]).key == "2021-W01"


def test_empty_back_window_moves_forward() -> None:
    """Oct 1-7 2004 and Sep 29 - Oct 6 2023 are all holidays: going back would hit the previous deadline."""
    periods = Periods(WeeklySchedule())
    p = periods.by_key("2023-W40")
    assert p.nominal == date(2023, 10, 5)
    assert p.start == datetime(2023, 9, 28, 17, tzinfo=SHANGHAI)
    assert p.deadline == datetime(2023, 10, 7, 17, tzinfo=SHANGHAI)  # make-up Saturday
    assert p.shifted
    assert periods.next(p).deadline == datetime(2023, 10, 12, 17, tzinfo=SHANGHAI)
    p2004 = periods.by_key("2004-W41")
    assert p2004.deadline.date() == date(2004, 10, 8)
    assert p2004.start.date() == date(2004, 9, 30)


def test_empty_window_with_no_room_forward_keeps_nominal() -> None:
    holidays = frozenset(
        date(2030, 1, 1) + timedelta(days=i) for i in range(20)
    )  # Tue Jan 1 .. Sun Jan 20
    periods = Periods(WeeklySchedule(extra_holidays=holidays))
    p = periods.by_key("2030-W02")  # Thu Jan 10: nothing free around it
    assert p.deadline.date() == date(2030, 1, 10)
    assert not p.shifted
    assert periods.previous(p).deadline.date() == date(2029, 12, 31)  # Mon before New Year
    following = periods.next(p)  # Thu Jan 17: empty back window, Mon Jan 21 is before Jan 24
    assert (following.deadline.date(), following.shifted) == (date(2030, 1, 21), True)
    assert periods.next(following).deadline.date() == date(2030, 1, 24)


# --------------------------------------------------------------------------- #
# Boundaries
# --------------------------------------------------------------------------- #


def test_instant_at_deadline_belongs_to_that_period(periods: Periods) -> None:
    deadline = datetime(2026, 9, 17, 17, tzinfo=SHANGHAI)
    assert periods.week_of(deadline).key == "2026-W38"
    assert periods.week_of(deadline + US).key == "2026-W39"
    assert periods.week_of(deadline - US).key == "2026-W38"
    assert periods.by_key("2026-W38").contains(deadline)
    assert not periods.by_key("2026-W38").contains(deadline + US)
    assert periods.by_key("2026-W39").contains(deadline + US)


def test_week_of_accepts_any_zone(periods: Periods) -> None:
    same_instant = datetime(2026, 9, 17, 9, tzinfo=UTC)  # 17:00 Shanghai
    assert periods.week_of(same_instant).key == "2026-W38"
    assert periods.week_of(same_instant + US).key == "2026-W39"
    # Late Wednesday in New York is already Thursday in Shanghai.
    assert periods.week_of(datetime(2026, 9, 16, 22, tzinfo=NEW_YORK)).key == "2026-W38"


def test_week_of_inside_shifted_holiday_week(periods: Periods) -> None:
    # Oct 1 2026 (nominal day of W40) is after W40's shifted deadline: belongs to W41.
    assert periods.week_of(datetime(2026, 10, 1, 12, tzinfo=SHANGHAI)).key == "2026-W41"
    assert periods.week_of(datetime(2026, 9, 30, 17, tzinfo=SHANGHAI)).key == "2026-W40"
    assert periods.week_of(datetime(2026, 2, 16, 9, tzinfo=SHANGHAI)).key == "2026-W09"


def test_naive_datetime_rejected(periods: Periods) -> None:
    with pytest.raises(ValueError, match="aware"):
        periods.week_of(datetime(2026, 9, 17, 17))


# --------------------------------------------------------------------------- #
# Beyond the package's data
# --------------------------------------------------------------------------- #


def test_calendar_coverage() -> None:
    cal = WorkCalendar()
    assert cal.covers(date(2026, 6, 1))
    assert not cal.covers(date(2027, 1, 1))
    assert not cal.covers(date(2003, 12, 31))
    assert cal.uncovered_years == set()  # covers() is a question, not a use


@pytest.mark.parametrize("year", [2027, 2030])
def test_uncovered_year_uses_weekends_only(year: int) -> None:
    periods = Periods(WeeklySchedule())
    for p in periods.weeks_of_year(year):
        assert p.deadline.date() == p.nominal
        assert not p.shifted
    assert year in periods.calendar.uncovered_years


def test_uncovered_year_weekday_rules() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2027, 10, 1))  # a Friday: National Day unknown without config
    assert not cal.is_workday(date(2027, 10, 2))  # Saturday
    assert cal.uncovered_years == {2027}
    cal.uncovered_years.add(1999)  # a copy: callers cannot corrupt the bookkeeping
    assert cal.uncovered_years == {2027}


def test_extra_holidays_and_workdays_from_config() -> None:
    schedule = WeeklySchedule(
        extra_holidays=frozenset({date(2027, 9, 30), date(2027, 10, 1)}),  # Thu, Fri
        extra_workdays=frozenset({date(2027, 9, 26)}),  # Sunday make-up day
    )
    periods = Periods(schedule)
    p = periods.by_key("2027-W39")
    assert p.nominal == date(2027, 9, 30)
    assert p.deadline == datetime(2027, 9, 29, 17, tzinfo=SHANGHAI)
    assert p.shifted
    assert periods.calendar.is_workday(date(2027, 9, 26))
    assert periods.calendar.previous_workday(date(2027, 9, 26)) == date(2027, 9, 26)
    assert periods.calendar.uncovered_years == {2027}


def test_extra_days_override_official_data() -> None:
    cal = WorkCalendar(extra_holidays={date(2026, 9, 17)}, extra_workdays={date(2026, 10, 1)})
    assert not cal.is_workday(date(2026, 9, 17))
    assert cal.is_workday(date(2026, 10, 1))
    assert cal.uncovered_years == set()
    periods = Periods(WeeklySchedule(), calendar=cal)
    assert periods.by_key("2026-W38").deadline.date() == date(2026, 9, 16)
    assert periods.by_key("2026-W40").deadline.date() == date(2026, 10, 1)


def test_conflicting_extra_days_rejected() -> None:
    with pytest.raises(ValueError, match="2027-10-01"):
        WeeklySchedule(
            extra_holidays=frozenset({date(2027, 10, 1)}),
            extra_workdays=frozenset({date(2027, 10, 1)}),
        )
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(extra_holidays=[date(2027, 10, 1)], extra_workdays=[date(2027, 10, 1)])


# --------------------------------------------------------------------------- #
# Other zones, weekdays, no shift
# --------------------------------------------------------------------------- #


def test_berlin_friday_noon_across_dst() -> None:
    periods = Periods(
        WeeklySchedule(weekday=4, time=time(12), tz="Europe/Berlin", holiday_shift=False)
    )
    march = periods.by_key("2026-W13")  # Fri Mar 27; DST starts Sun Mar 29
    after = periods.next(march)
    assert march.deadline.isoformat() == "2026-03-27T12:00:00+01:00"
    assert after.deadline.isoformat() == "2026-04-03T12:00:00+02:00"
    # Same-tzinfo subtraction is wall-clock in Python; measure the real elapsed time in UTC.
    elapsed = after.deadline.astimezone(UTC) - march.deadline.astimezone(UTC)
    assert elapsed == timedelta(days=7, hours=-1)
    october = periods.by_key("2026-W44")  # Fri Oct 30; DST ended Sun Oct 25
    assert october.start.isoformat() == "2026-10-23T12:00:00+02:00"
    assert october.deadline.isoformat() == "2026-10-30T12:00:00+01:00"
    # Berlin noon seen from New York (UTC-4 already, Berlin still UTC+1) is 07:00.
    assert periods.week_of(datetime(2026, 3, 27, 6, 59, tzinfo=NEW_YORK)).key == "2026-W13"
    assert periods.week_of(datetime(2026, 3, 27, 7, 0, 0, 1, tzinfo=NEW_YORK)).key == "2026-W14"


def test_holiday_shift_off_keeps_nominal_day() -> None:
    periods = Periods(WeeklySchedule(holiday_shift=False))
    p = periods.by_key("2026-W40")
    assert p.deadline == datetime(2026, 10, 1, 17, tzinfo=SHANGHAI)
    assert not p.shifted
    assert periods.calendar.uncovered_years == set()
    assert all(p.deadline.date() == p.nominal for p in periods.weeks_of_year(2027))
    assert periods.calendar.uncovered_years == set()  # calendar never consulted


def test_berlin_thursday_with_chinese_holidays() -> None:
    """The holiday calendar is China's even when deadlines are expressed in another zone."""
    periods = Periods(WeeklySchedule(tz="Europe/Berlin"))
    p = periods.by_key("2026-W40")
    assert p.deadline.isoformat() == "2026-09-30T17:00:00+02:00"


def test_week_53_key_and_bad_week_54(periods: Periods) -> None:
    assert periods.by_key("2020-W53").nominal == date(2020, 12, 31)
    with pytest.raises(ValueError, match=re.escape("2021 has weeks 01..52")):
        periods.by_key("2021-W53")


def test_previous_and_next_roundtrip(periods: Periods) -> None:
    p = periods.by_key("2026-W38")
    assert periods.previous(periods.next(p)) == p
    assert periods.next(p).start == p.deadline
    assert periods.previous(p).key == "2026-W37"


def test_period_from_other_schedule_rejected(periods: Periods) -> None:
    friday = Periods(WeeklySchedule(weekday=4)).by_key("2026-W38")
    with pytest.raises(ValueError, match="not built for this schedule"):
        periods.next(friday)


# --------------------------------------------------------------------------- #
# Calendar spans
# --------------------------------------------------------------------------- #


def test_calendar_spans_are_half_open_local_midnights(periods: Periods) -> None:
    t = datetime(2026, 10, 16, 0, 0, tzinfo=SHANGHAI)
    month = periods.month_of(t)
    assert (month.key, month.start, month.end) == (
        "2026-10",
        datetime(2026, 10, 1, tzinfo=SHANGHAI),
        datetime(2026, 11, 1, tzinfo=SHANGHAI),
    )
    assert periods.quarter_of(t).key == "2026-Q4"
    assert periods.quarter_of(t).end == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert periods.year_of(t).key == "2026"
    half = periods.half_month_of(t)
    assert half.key == "2026-10-H2"
    assert half.start == t
    assert half.contains(t)
    assert not half.contains(t - US)
    assert periods.half_month_of(t - US).key == "2026-10-H1"
    assert not month.contains(month.end)
    assert month.contains(month.start)


def test_span_kind_week(periods: Periods) -> None:
    span = periods.span("week", datetime(2026, 9, 17, 17, tzinfo=SHANGHAI))
    start, end = (
        datetime(2026, 9, 10, 17, tzinfo=SHANGHAI),
        datetime(2026, 9, 17, 17, tzinfo=SHANGHAI),
    )
    assert span == Span("week", "2026-W38", start, end)
    assert span.contains(span.end)
    assert not span.contains(span.start)


def test_span_zone_conversion(periods: Periods) -> None:
    # 2026-09-30 20:00 UTC is already Oct 1 in Shanghai.
    assert periods.month_of(datetime(2026, 9, 30, 20, tzinfo=UTC)).key == "2026-10"


def test_berlin_month_spans_cross_dst() -> None:
    periods = Periods(WeeklySchedule(tz="Europe/Berlin"))
    october = periods.span_by_key("month", "2026-10")
    assert october.start.isoformat() == "2026-10-01T00:00:00+02:00"
    assert october.end.isoformat() == "2026-11-01T00:00:00+01:00"
    elapsed = october.end.astimezone(UTC) - october.start.astimezone(UTC)
    assert elapsed == timedelta(days=31, hours=1)


@pytest.mark.parametrize(
    ("kind", "key", "previous"),
    [
        ("week", "2026-W01", "2025-W52"),
        ("week", "2021-W01", "2020-W53"),
        ("month", "2026-01", "2025-12"),
        ("quarter", "2026-Q1", "2025-Q4"),
        ("year", "2026", "2025"),
        ("half", "2026-03-H1", "2026-02-H2"),
        ("half", "2026-03-H2", "2026-03-H1"),
    ],
)
def test_previous_span(periods: Periods, kind: str, key: str, previous: str) -> None:
    span = periods.span_by_key(kind, key)
    prev = periods.previous_span(span)
    assert (prev.kind, prev.key) == (kind, previous)
    assert prev.end == span.start


@pytest.mark.parametrize(
    ("kind", "key", "zh", "en"),
    [
        ("week", "2026-W38", "2026年第38周", "2026 week 38"),
        ("month", "2026-10", "2026年10月", "Oct 2026"),
        ("quarter", "2026-Q4", "2026年第4季度", "2026 Q4"),
        ("year", "2026", "2026年", "2026"),
        ("half", "2026-10-H1", "2026年10月上半月", "1–15 Oct 2026"),
        ("half", "2026-02-H2", "2026年2月下半月", "16–28 Feb 2026"),
        ("half", "2024-02-H2", "2024年2月下半月", "16–29 Feb 2024"),
    ],
)
def test_labels(periods: Periods, kind: str, key: str, zh: str, en: str) -> None:
    span = periods.span_by_key(kind, key)
    assert span.label() == zh
    assert span.label("zh_CN") == zh
    assert span.label("en") == en


def test_first_workday_of_month(periods: Periods) -> None:
    assert periods.first_workday_of_month(2026, 10) == date(2026, 10, 8)
    assert periods.first_workday_of_month(2026, 2) == date(2026, 2, 2)
    assert periods.first_workday_of_month(2027, 5) == date(
        2027, 5, 3
    )  # fallback: Sat 1st -> Mon 3rd
    with pytest.raises(ValueError, match="month"):
        periods.first_workday_of_month(2026, 13)


def test_first_workday_of_october_2026_matches_package() -> None:
    d = date(2026, 10, 1)
    while not chinese_calendar.is_workday(d):
        d += timedelta(days=1)
    assert Periods(WeeklySchedule()).first_workday_of_month(2026, 10) == d


# --------------------------------------------------------------------------- #
# Bad input
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("kind", "key", "message"),
    [
        ("week", "2026-W54", "weeks 01..53"),
        ("week", "2026-W00", "weeks 01..53"),
        ("week", "garbage", "expected 'YYYY-Www'"),
        ("week", "2026-38", "expected 'YYYY-Www'"),
        ("week", "", "bad week key"),
        ("month", "2026-13", "month must be 01..12"),
        ("month", "2026-00", "month must be 01..12"),
        ("month", "2026-1", "expected 'YYYY-MM'"),
        ("quarter", "2026-Q5", "quarter must be 1..4"),
        ("quarter", "2026-4", "expected 'YYYY-Qn'"),
        ("year", "26", "expected 'YYYY'"),
        ("year", "0999", "year must be within"),
        ("half", "2026-10-H3", "H1 .*or H2"),
        ("half", "2026-10", "expected 'YYYY-MM-H1'"),
        ("half", "2026-13-H1", "month must be 01..12"),
    ],
)
def test_bad_keys(periods: Periods, kind: str, key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        periods.span_by_key(kind, key)


def test_bad_kind_and_key_types(periods: Periods) -> None:
    with pytest.raises(ValueError, match="unknown span kind 'fortnight'"):
        periods.span("fortnight", datetime(2026, 1, 1, tzinfo=SHANGHAI))
    with pytest.raises(ValueError, match="bad week key"):
        periods.by_key(202638)  # type: ignore[arg-type]


def test_keys_tolerate_case_and_blanks(periods: Periods) -> None:
    assert periods.by_key(" 2026-w38 ").key == "2026-W38"
    assert periods.span_by_key("half", "2026-10-h2").key == "2026-10-H2"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weekday": 7},
        {"weekday": -1},
        {"tz": "Mars/Olympus"},
        {"time": time(17, tzinfo=UTC)},
    ],
    ids=str,
)
def test_bad_schedule_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WeeklySchedule(**kwargs)  # type: ignore[arg-type]


def test_schedule_freezes_config_sets() -> None:
    schedule = WeeklySchedule(extra_holidays={date(2027, 1, 1)})  # type: ignore[arg-type]
    assert isinstance(schedule.extra_holidays, frozenset)
    hash(schedule)


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #

ZONES = st.sampled_from([SHANGHAI, BERLIN, NEW_YORK, UTC, ZoneInfo("Asia/Kolkata")])
INSTANTS = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2035, 12, 31, 23, 59, 59), timezones=ZONES
)
SCHEDULES = st.sampled_from(
    [
        WeeklySchedule(),
        WeeklySchedule(weekday=4, time=time(12), tz="Europe/Berlin"),
        WeeklySchedule(weekday=0, time=time(9, 30), tz="America/New_York"),
        WeeklySchedule(weekday=3, holiday_shift=False),
    ]
)
_PERIODS: dict[WeeklySchedule, Periods] = {}


def _periods_for(schedule: WeeklySchedule) -> Periods:
    """Share caches across examples so the properties stay fast."""
    return _PERIODS.setdefault(schedule, Periods(schedule))


@settings(max_examples=200, deadline=None)
@given(t=INSTANTS, schedule=SCHEDULES)
def test_property_week_of(t: datetime, schedule: WeeklySchedule) -> None:
    periods = _periods_for(schedule)
    p = periods.week_of(t)
    assert p.contains(t)
    local = p.deadline.astimezone(ZoneInfo(schedule.tz))
    assert local.time() == schedule.time
    assert p.deadline.tzinfo == ZoneInfo(schedule.tz)
    assert p.nominal.weekday() == schedule.weekday
    if schedule.holiday_shift:
        assert periods.calendar.is_workday(local.date())
    else:
        assert local.date() == p.nominal
    nxt, prev = periods.next(p), periods.previous(p)
    assert nxt.start == p.deadline and p.start == prev.deadline
    assert prev.deadline < p.deadline < nxt.deadline
    assert prev.nominal == p.nominal - timedelta(weeks=1) and nxt.nominal == p.nominal + timedelta(
        weeks=1
    )
    assert abs((p.deadline.date() - p.nominal).days) < 7
    assert periods.by_key(p.key) == p
    assert not p.contains(p.deadline + US) and nxt.contains(p.deadline + US)


@settings(max_examples=200, deadline=None)
@given(t=INSTANTS, kind=st.sampled_from(sorted(SPAN_KINDS)), schedule=SCHEDULES)
def test_property_span_roundtrip(t: datetime, kind: str, schedule: WeeklySchedule) -> None:
    periods = _periods_for(schedule)
    span = periods.span(kind, t)
    assert span.contains(t)
    assert periods.span_by_key(kind, span.key) == span
    prev = periods.previous_span(span)
    assert prev.end == span.start
    assert not prev.contains(t)
    assert span.label("zh_CN") and span.label("en")


@settings(max_examples=100, deadline=None)
@given(year=st.integers(min_value=2004, max_value=2035))
def test_property_weeks_of_year_contiguous(year: int) -> None:
    weeks = _periods_for(WeeklySchedule()).weeks_of_year(year)
    assert len(weeks) in (52, 53)
    assert all(p.key.startswith(f"{year}-W") for p in weeks)
    assert all(
        b.start == a.deadline and a.deadline < b.deadline for a, b in itertools.pairwise(weeks)
    )


def test_weekly_period_as_span_is_week_kind(periods: Periods) -> None:
    p: WeeklyPeriod = periods.by_key("2026-W38")
    assert p.as_span().kind == "week"
    assert p.as_span().label() == "2026年第38周"
