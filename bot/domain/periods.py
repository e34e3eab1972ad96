"""Reporting periods: weekly submission deadlines and calendar spans for scoring.

Pure logic: no I/O, no clock.  Every "now" is a parameter so the scheduler,
handlers and tests all agree on which period an instant belongs to.

Weekly periods
--------------
A period ends at its deadline (``weekday`` at ``time`` in ``tz``, Thursday
17:00 Asia/Shanghai by default) and starts, exclusively, at the previous
period's deadline, so the periods tile the time line without gaps: an instant
exactly at a deadline belongs to the period that ends there, one microsecond
later belongs to the next one.

Holiday shift (``holiday_shift=True``): when the nominal deadline day is not a
working day in China's official calendar (make-up working days on weekends
count as working days), the deadline moves to the latest working day strictly
after the previous *nominal* deadline day, at the same local time.  When that
window holds no working day at all (Golden Week swallowing the whole week,
e.g. Thursday 2023-10-05), moving back would land on or before the previous
deadline, so the deadline moves *forward* to the first working day after the
nominal day instead -- but only if that day is still strictly before the next
period's deadline; otherwise the deadline stays on the nominal day.  Both
directions set ``shifted=True``.  Under this rule deadline days are always
strictly increasing, and each one lies in the open interval
(nominal - 7 days, nominal + 7 days).

Calendar spans
--------------
Months, quarters, years and half months (1st-15th, 16th-end) are half-open
``[start, end)`` intervals between local midnights in the schedule's zone.  A
"week" span is the weekly period itself and is therefore ``(start, end]``:
``start`` is the previous deadline (exclusive), ``end`` the deadline
(inclusive).  ``Span.contains`` applies the right rule per kind.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from bot.domain.period_keys import (
    _LABELLERS,
    _ONE_DAY,
    SPAN_KINDS,
    _calendar_key,
    _check_kind,
    _check_year,
    _first_day,
    _iso_weeks,
    _next_first_day,
    _parse_calendar_key,
    _parse_week_key,
    key_label,
)

__all__ = [
    "SPAN_KINDS",
    "Periods",
    "Span",
    "WeeklyPeriod",
    "WeeklySchedule",
    "WorkCalendar",
    "format_periods_lines",
    "key_label",  # lives in bot.domain.period_keys; imported from here by callers
]


_ONE_WEEK = timedelta(days=7)


# --------------------------------------------------------------------------- #
# Work calendar
# --------------------------------------------------------------------------- #


class WorkCalendar:
    """China's working-day calendar with a weekend-only fallback.

    ``chinese_calendar`` only knows the years the State Council has already
    published (2004-2026 in 1.11); the bot must keep running past that, so for
    an unknown year Monday-Friday count as working days, corrected by the
    configured extra holidays / make-up working days.  The years that needed
    the fallback are collected in ``uncovered_years`` so the caller can warn
    admins (once) that the deadlines of those years are only approximate --
    this class never logs or notifies by itself.
    """

    def __init__(
        self,
        extra_holidays: Iterable[date] = frozenset(),
        extra_workdays: Iterable[date] = frozenset(),
    ) -> None:
        self._extra_holidays = frozenset(extra_holidays)
        self._extra_workdays = frozenset(extra_workdays)
        _reject_overlap(self._extra_holidays, self._extra_workdays)
        self._days: dict[date, bool] = {}
        self._covered_years: dict[int, bool] = {}
        self._uncovered_used: set[int] = set()

    @property
    def uncovered_years(self) -> set[int]:
        """Years decided by the fallback so far (a copy: callers diff it to warn once)."""
        return set(self._uncovered_used)

    def covers(self, d: date) -> bool:
        """True when chinese_calendar has official data for ``d``'s year."""
        known = self._covered_years.get(d.year)
        if known is None:
            known = _package_covers(d.year)
            self._covered_years[d.year] = known
        return known

    def is_workday(self, d: date) -> bool:
        """Config first (it is how admins correct or extend the data), then the package."""
        cached = self._days.get(d)
        if cached is None:
            cached = self._decide(d)
            self._days[d] = cached
        return cached

    def previous_workday(self, d: date) -> date:
        """The latest working day on or before ``d``."""
        while not self.is_workday(d):
            d -= _ONE_DAY
        return d

    def next_workday(self, d: date) -> date:
        """The earliest working day on or after ``d``."""
        while not self.is_workday(d):
            d += _ONE_DAY
        return d

    def _decide(self, d: date) -> bool:
        covered = self.covers(d)
        if not covered:
            self._uncovered_used.add(d.year)
        if d in self._extra_workdays:
            return True
        if d in self._extra_holidays:
            return False
        if covered:
            return bool(chinese_calendar.is_workday(d))
        return d.weekday() < 5


def _package_covers(year: int) -> bool:
    """Ask the package itself so a newer chinesecalendar release extends coverage for free."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _reject_overlap(holidays: frozenset[date], workdays: frozenset[date]) -> None:
    """A day listed as both holiday and workday is a config mistake, not something to guess."""
    both = holidays & workdays
    if both:
        days = ", ".join(d.isoformat() for d in sorted(both))
        raise ValueError(f"dates listed both as extra holidays and extra workdays: {days}")


# --------------------------------------------------------------------------- #
# Schedule and value types
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class WeeklySchedule:
    """When the weekly submission is due; validated eagerly so bad config fails at startup."""

    weekday: int = 3  # Monday=0 ... Thursday=3
    time: _dt.time = _dt.time(17, 0)  # qualified: the field name shadows the class here
    tz: str = "Asia/Shanghai"
    holiday_shift: bool = True
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if (
            isinstance(self.weekday, bool)
            or not isinstance(self.weekday, int)
            or not 0 <= self.weekday <= 6
        ):
            raise ValueError(
                f"weekday must be an int 0 (Monday) .. 6 (Sunday), got {self.weekday!r}"
            )
        if not isinstance(self.time, time):
            raise ValueError(f"time must be a datetime.time, got {self.time!r}")
        if self.time.tzinfo is not None:
            raise ValueError("time must be naive; the zone is given by tz")
        _zone(self.tz)
        # Config loaders hand over lists/sets; freeze them so the schedule stays hashable.
        object.__setattr__(self, "extra_holidays", frozenset(self.extra_holidays))
        object.__setattr__(self, "extra_workdays", frozenset(self.extra_workdays))
        _reject_overlap(self.extra_holidays, self.extra_workdays)

    @property
    def zone(self) -> ZoneInfo:
        """The schedule's zone as a tzinfo (ZoneInfo instances are cached by the stdlib)."""
        return _zone(self.tz)


def _zone(name: str) -> ZoneInfo:
    """ZoneInfoNotFoundError is a KeyError; config errors should read as ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name like 'Asia/Shanghai')"
        ) from exc


@dataclass(frozen=True)
class Span:
    """A scoring period.

    Calendar kinds are half-open ``[start, end)``.  Kind "week" mirrors the
    weekly period and is ``(start, end]`` -- start is the previous deadline,
    end the deadline -- so that a submission at exactly 17:00 counts for the
    week it was due in.
    """

    kind: str
    key: str
    start: datetime
    end: datetime
    # The bounds in UTC, the zone the database's instants carry: two datetimes of one tzinfo
    # compare without asking either for its offset (a report asks tens of thousands).
    start_utc: datetime = field(init=False, repr=False, compare=False)
    end_utc: datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_utc", _utc(self.start))
        object.__setattr__(self, "end_utc", _utc(self.end))

    def contains(self, t: datetime) -> bool:
        """Membership by absolute instant, whatever zone ``t`` carries."""
        if t.tzinfo is not _dt.UTC:
            t = _utc(t)
        if self.kind == "week":
            return self.start_utc < t <= self.end_utc
        return self.start_utc <= t < self.end_utc

    def label(self, locale: str = "zh_CN") -> str:
        """Human label; any locale not starting with "zh" gets the English form."""
        chinese = locale.lower().replace("-", "_").startswith("zh")
        return _LABELLERS[self.kind](self.key, chinese)


@dataclass(frozen=True)
class WeeklyPeriod:
    """One weekly reporting period, ``(start, deadline]``."""

    key: str  # ISO year-week of the nominal deadline day, e.g. "2026-W38"
    start: datetime  # previous period's deadline (exclusive)
    deadline: datetime  # inclusive, in the schedule's zone
    nominal: date  # the configured weekday in that ISO week
    shifted: bool  # deadline moved off the nominal day for a holiday

    def contains(self, t: datetime) -> bool:
        """True when ``start < t <= deadline`` as absolute instants."""
        u = _utc(t)
        return _utc(self.start) < u <= _utc(self.deadline)

    def as_span(self) -> Span:
        """The period in the shape the scoring code uses for every kind."""
        return Span(kind="week", key=self.key, start=self.start, end=self.deadline)


# --------------------------------------------------------------------------- #
# Periods
# --------------------------------------------------------------------------- #


class Periods:
    """Maps instants and keys to weekly periods and calendar spans for one schedule.

    Without an explicit ``calendar`` one is built from the schedule's extra
    days.  Pass a shared ``WorkCalendar`` to share its cache and its
    ``uncovered_years`` bookkeeping; it is then used as given (the schedule's
    extra days are not merged into it).
    """

    def __init__(self, schedule: WeeklySchedule, calendar: WorkCalendar | None = None) -> None:
        self.schedule = schedule
        if calendar is None:
            calendar = WorkCalendar(schedule.extra_holidays, schedule.extra_workdays)
        self.calendar = calendar
        self._zone = schedule.zone
        self._deadline_days: dict[date, date] = {}
        # Periods and spans by their first day: the scoring code asks for the same few hundred
        # of them for every unit and every entry, and building one costs zone conversions.
        self._weeks: dict[date, WeeklyPeriod] = {}
        self._deadlines: dict[date, datetime] = {}
        self._keys: dict[str, WeeklyPeriod] = {}
        self._spans: dict[tuple[str, date], Span] = {}

    # ---- weekly periods -------------------------------------------------- #

    def week_of(self, t: datetime) -> WeeklyPeriod:
        """The period whose ``(start, deadline]`` contains ``t``."""
        u = _utc(t)
        local_day = u.astimezone(self._zone).date()
        nominal = local_day + timedelta(days=(self.schedule.weekday - local_day.weekday()) % 7)
        # Deadlines stay within a week of their nominal day, so a step or two suffices.
        while _utc(self._deadline_at(nominal)) < u:
            nominal += _ONE_WEEK
        while _utc(self._deadline_at(nominal - _ONE_WEEK)) >= u:
            nominal -= _ONE_WEEK
        return self._period(nominal)

    def by_key(self, key: str) -> WeeklyPeriod:
        """The period for an ISO week key such as "2026-W38"."""
        found = self._keys.get(key)
        if found is None:
            year, week = _parse_week_key(key)
            found = self._period(date.fromisocalendar(year, week, self.schedule.weekday + 1))
            self._keys[key] = found
        return found

    def next(self, p: WeeklyPeriod) -> WeeklyPeriod:
        """The period starting at ``p``'s deadline."""
        return self._period(self._own_nominal(p) + _ONE_WEEK)

    def previous(self, p: WeeklyPeriod) -> WeeklyPeriod:
        """The period ending at ``p``'s start."""
        return self._period(self._own_nominal(p) - _ONE_WEEK)

    def weeks_of_year(self, year: int) -> list[WeeklyPeriod]:
        """All periods whose key has this ISO year (52 or 53 of them)."""
        _check_year(year, f"year {year}")
        isoweekday = self.schedule.weekday + 1
        return [
            self._period(date.fromisocalendar(year, w, isoweekday))
            for w in range(1, _iso_weeks(year) + 1)
        ]

    def _own_nominal(self, p: WeeklyPeriod) -> date:
        """Refuse periods built for another weekday: stepping them would silently drift."""
        if p.nominal.weekday() != self.schedule.weekday:
            raise ValueError(
                f"period {p.key} was not built for this schedule "
                f"(nominal day {p.nominal} is not weekday {self.schedule.weekday})"
            )
        return p.nominal

    def _period(self, nominal: date) -> WeeklyPeriod:
        found = self._weeks.get(nominal)
        if found is None:
            iso = nominal.isocalendar()
            deadline_day = self._deadline_day(nominal)
            found = self._weeks[nominal] = WeeklyPeriod(
                key=f"{iso.year:04d}-W{iso.week:02d}",
                start=self._deadline_at(nominal - _ONE_WEEK),
                deadline=self._deadline_at(nominal),
                nominal=nominal,
                shifted=deadline_day != nominal,
            )
        return found

    def _deadline_at(self, nominal: date) -> datetime:
        found = self._deadlines.get(nominal)
        if found is None:
            found = self._deadlines[nominal] = self._local(
                self._deadline_day(nominal), self.schedule.time
            )
        return found

    def _deadline_day(self, nominal: date) -> date:
        day = self._deadline_days.get(nominal)
        if day is None:
            day = self._compute_deadline_day(nominal)
            self._deadline_days[nominal] = day
        return day

    def _compute_deadline_day(self, nominal: date) -> date:
        """Apply the shift rule from the module docstring."""
        cal = self.calendar
        if not self.schedule.holiday_shift or cal.is_workday(nominal):
            return nominal
        back = self._latest_workday_after(nominal - _ONE_WEEK, nominal)
        if back is not None:
            return back
        forward = cal.next_workday(nominal + _ONE_DAY)
        following = nominal + _ONE_WEEK
        next_deadline = self._latest_workday_after(nominal, following)
        if next_deadline is not None and forward < next_deadline:
            return forward
        return nominal

    def _latest_workday_after(self, exclusive: date, inclusive: date) -> date | None:
        """Latest working day in ``(exclusive, inclusive]``, if any."""
        day = inclusive
        while day > exclusive:
            if self.calendar.is_workday(day):
                return day
            day -= _ONE_DAY
        return None

    def _local(self, d: date, at: time) -> datetime:
        """Wall time in the schedule zone, normalised through UTC.

        The round trip turns a wall time that falls into a DST gap into the
        instant it actually denotes, so equal instants compare equal and print
        the same.
        """
        naive = datetime.combine(d, at, tzinfo=self._zone)
        return naive.astimezone(_dt.UTC).astimezone(self._zone)

    # ---- calendar spans --------------------------------------------------- #

    def month_of(self, t: datetime) -> Span:
        return self.span("month", t)

    def quarter_of(self, t: datetime) -> Span:
        return self.span("quarter", t)

    def year_of(self, t: datetime) -> Span:
        return self.span("year", t)

    def half_month_of(self, t: datetime) -> Span:
        return self.span("half", t)

    def span(self, kind: str, t: datetime) -> Span:
        """The span of ``kind`` containing ``t``; one entry point for the scoring code."""
        _check_kind(kind)
        if kind == "week":
            return self.week_of(t).as_span()
        local_day = _utc(t).astimezone(self._zone).date()
        return self._calendar_span(kind, _first_day(kind, local_day))

    def previous_span(self, span: Span) -> Span:
        """The span of the same kind right before ``span``."""
        _check_kind(span.kind)
        if span.kind == "week":
            return self.previous(self.by_key(span.key)).as_span()
        first = _parse_calendar_key(span.kind, span.key)
        return self._calendar_span(span.kind, _first_day(span.kind, first - _ONE_DAY))

    def span_by_key(self, kind: str, key: str) -> Span:
        """Parse "2026-W38", "2026-10", "2026-Q4", "2026" or "2026-10-H1"/"-H2"."""
        _check_kind(kind)
        if kind == "week":
            return self.by_key(key).as_span()
        return self._calendar_span(kind, _parse_calendar_key(kind, key))

    def first_workday_of_month(self, year: int, month: int) -> date:
        """For month-start reminders; uses the work calendar even if holiday_shift is off."""
        _check_year(year, f"year {year}")
        if not 1 <= month <= 12:
            raise ValueError(f"month must be 1..12, got {month}")
        return self.calendar.next_workday(date(year, month, 1))

    def _calendar_span(self, kind: str, first: date) -> Span:
        found = self._spans.get((kind, first))
        if found is None:
            _check_year(first.year, f"{kind} span in year {first.year}")
            found = self._spans[kind, first] = Span(
                kind=kind,
                key=_calendar_key(kind, first),
                start=self._local(first, time(0)),
                end=self._local(_next_first_day(kind, first), time(0)),
            )
        return found


def _utc(t: datetime) -> datetime:
    """Naive datetimes are ambiguous across zones; refuse them instead of guessing."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"aware datetime required, got naive {t.isoformat()}")
    return t.astimezone(_dt.UTC)


# --------------------------------------------------------------------------- #
# CLI support
# --------------------------------------------------------------------------- #


def format_periods_lines(periods: Periods, year: int) -> list[str]:
    """Lines for ``leadbot periods --year``: tab-separated so admins can paste into a sheet."""
    return [f"{p.key}\t{p.deadline.isoformat()}" for p in periods.weeks_of_year(year)]
