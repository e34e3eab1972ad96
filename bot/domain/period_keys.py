"""Period keys (``2026-W45``, ``2026-11``, ``2026-Q4``, ``2026``, ``2026-11-H1``): parsing
and checking them, the date arithmetic of calendar spans (dates only; zones are applied
by :class:`bot.domain.periods.Periods`), and the labels people read (``2026年11月``, ``Nov 2026``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

SPAN_KINDS: frozenset[str] = frozenset({"week", "month", "quarter", "year", "half"})


# Keys carry four-digit years; the margins keep date arithmetic around the
# first/last period of a year away from date.min / date.max.
_MIN_YEAR = 1000
_MAX_YEAR = 9998

_ONE_DAY = timedelta(days=1)


_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- #
# Calendar-span arithmetic (dates only; zones are applied by Periods)
# --------------------------------------------------------------------------- #


def _first_day(kind: str, d: date) -> date:
    """First day of the calendar span of ``kind`` containing ``d``."""
    if kind == "month":
        return d.replace(day=1)
    if kind == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if kind == "year":
        return date(d.year, 1, 1)
    return d.replace(day=1 if d.day <= 15 else 16)


def _next_first_day(kind: str, first: date) -> date:
    """First day of the following span; ``first`` must be a span's first day."""
    if kind == "half" and first.day == 1:
        return first.replace(day=16)
    months = {"month": 1, "half": 1, "quarter": 3, "year": 12}[kind]
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _calendar_key(kind: str, first: date) -> str:
    if kind == "month":
        return f"{first.year:04d}-{first.month:02d}"
    if kind == "quarter":
        return f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"
    if kind == "year":
        return f"{first.year:04d}"
    return f"{first.year:04d}-{first.month:02d}-H{1 if first.day == 1 else 2}"


_KEY_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "week": (re.compile(r"(\d{4})-W(\d{2})"), "'YYYY-Www', e.g. '2026-W38'"),
    "month": (re.compile(r"(\d{4})-(\d{2})"), "'YYYY-MM', e.g. '2026-10'"),
    "quarter": (re.compile(r"(\d{4})-Q(\d)"), "'YYYY-Qn' with n in 1..4, e.g. '2026-Q4'"),
    "year": (re.compile(r"(\d{4})"), "'YYYY', e.g. '2026'"),
    "half": (
        re.compile(r"(\d{4})-(\d{2})-H(\d)"),
        "'YYYY-MM-H1' (1st-15th) or 'YYYY-MM-H2' (16th-end), e.g. '2026-10-H1'",
    ),
}


def _match_key(kind: str, key: object) -> tuple[int, ...]:
    """Keys come from chat input too, so tolerate case and surrounding blanks."""
    pattern, expected = _KEY_FORMATS[kind]
    match = pattern.fullmatch(key.strip().upper()) if isinstance(key, str) else None
    if match is None:
        raise ValueError(f"bad {kind} key {key!r}: expected {expected}")
    numbers = tuple(int(g) for g in match.groups())
    _check_year(numbers[0], f"{kind} key {key!r}")
    return numbers


def _parse_week_key(key: str) -> tuple[int, int]:
    year, week = _match_key("week", key)
    weeks = _iso_weeks(year)
    if not 1 <= week <= weeks:
        raise ValueError(f"bad week key {key!r}: ISO year {year} has weeks 01..{weeks}")
    return year, week


def _parse_calendar_key(kind: str, key: str) -> date:
    """First day of the span named by ``key``."""
    numbers = _match_key(kind, key)
    year = numbers[0]
    if kind == "year":
        return date(year, 1, 1)
    if kind == "quarter":
        quarter = numbers[1]
        if not 1 <= quarter <= 4:
            raise ValueError(f"bad quarter key {key!r}: quarter must be 1..4")
        return date(year, 3 * quarter - 2, 1)
    month = numbers[1]
    if not 1 <= month <= 12:
        raise ValueError(f"bad {kind} key {key!r}: month must be 01..12")
    if kind == "month":
        return date(year, month, 1)
    half = numbers[2]
    if half not in (1, 2):
        raise ValueError(f"bad half key {key!r}: half must be H1 (1st-15th) or H2 (16th-end)")
    return date(year, month, 1 if half == 1 else 16)


def _iso_weeks(year: int) -> int:
    """Dec 28 always falls in the last ISO week of its year."""
    return date(year, 12, 28).isocalendar().week


def _check_kind(kind: str) -> None:
    if kind not in SPAN_KINDS:
        raise ValueError(
            f"unknown span kind {kind!r}: expected one of {', '.join(sorted(SPAN_KINDS))}"
        )


def _check_year(year: int, what: str) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValueError(f"{what}: year must be within {_MIN_YEAR}..{_MAX_YEAR}")


# --------------------------------------------------------------------------- #
# Labels
# --------------------------------------------------------------------------- #


def _week_label(key: str, chinese: bool) -> str:
    year, week = _parse_week_key(key)
    return f"{year}年第{week}周" if chinese else f"{year} week {week}"


def _month_label(key: str, chinese: bool) -> str:
    first = _parse_calendar_key("month", key)
    return (
        f"{first.year}年{first.month}月"
        if chinese
        else f"{_EN_MONTHS[first.month - 1]} {first.year}"
    )


def _quarter_label(key: str, chinese: bool) -> str:
    first = _parse_calendar_key("quarter", key)
    quarter = (first.month - 1) // 3 + 1
    return f"{first.year}年第{quarter}季度" if chinese else f"{first.year} Q{quarter}"


def _year_label(key: str, chinese: bool) -> str:
    first = _parse_calendar_key("year", key)
    return f"{first.year}年" if chinese else f"{first.year}"


def _half_label(key: str, chinese: bool) -> str:
    first = _parse_calendar_key("half", key)
    if chinese:
        return f"{first.year}年{first.month}月{'上' if first.day == 1 else '下'}半月"
    last = (_next_first_day("half", first) - _ONE_DAY).day
    return f"{first.day}–{last} {_EN_MONTHS[first.month - 1]} {first.year}"


_LABELLERS: dict[str, Callable[[str, bool], str]] = {
    "week": _week_label,
    "month": _month_label,
    "quarter": _quarter_label,
    "year": _year_label,
    "half": _half_label,
}

_KEY_PATTERNS = (
    ("week", re.compile(r"\d{4}-W\d{2}")),
    ("half", re.compile(r"\d{4}-\d{2}-H[12]")),
    ("quarter", re.compile(r"\d{4}-Q[1-4]")),
    ("month", re.compile(r"\d{4}-\d{2}")),
    ("year", re.compile(r"\d{4}")),
)


def key_label(key: str, locale: str = "zh_CN") -> str:
    """``2026-W48`` → ``2026年第48周``, ``2026-Q4`` → ``2026年第4季度`` …; an unknown key as it is."""
    chinese = locale.lower().replace("-", "_").startswith("zh")
    for kind, pattern in _KEY_PATTERNS:
        if pattern.fullmatch(key):
            try:
                return _LABELLERS[kind](key, chinese)
            except ValueError:
                return key
    return key
