"""The weekly cycle's settings, its limits, and how deadlines and texts are said.

Pure helpers every other part of :mod:`bot.services.weekly` uses: the config,
deadline wording, the free-text cleaner, and the audit line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar.constants import Holiday
from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog
from bot.assembly.config import Settings
from bot.domain.periods import Periods, WeeklyPeriod
from bot.services import ServiceError
from bot.services.scoring import ScoringSetup, setup_for
from storage import repo

SECTIONS = ("leads", "trips", "progress", "work")
TRIP_MAX = 500
TRIPS_MAX = 20
PROGRESS_TEXT_MAX = 1000
PROGRESS_MAX = 20
PROGRESS_PAGE_LEADS = 300  # the web page's rows: a county unit has far fewer open leads
WORK_MAX = 2000
LEADS_MAX = 50
PICK_LEADS = 12  # how many of the unit's leads the progress picker offers as buttons
REASON_MAX = 500
NONE_WORDS = frozenset({"无", "没有", "暂无", "none", "no", "n/a", "-", "—"})
_HOLIDAY_NAMES = {h.value: h for h in Holiday}


@dataclass(frozen=True)
class WeeklyConfig:
    """The weekly cycle's settings, with one shared :class:`Periods` (and its calendar)."""

    periods: Periods
    confirmation_required: bool = True
    offsets: tuple[timedelta, ...] = (
        timedelta(hours=24),
        timedelta(hours=8),
        timedelta(hours=2),
        timedelta(minutes=30),
    )
    leaders_offset: timedelta = timedelta(hours=2)
    quiet: tuple[time, time] | None = (time(22), time(8))
    grace: timedelta = timedelta(minutes=60)
    form_timeout: timedelta = timedelta(minutes=60)
    stages: tuple[str, ...] = ()
    locale: str = "zh_CN"
    admins: tuple[int, ...] = ()
    scoring: ScoringSetup | None = None  # the rules the weekly outcomes score by

    @classmethod
    def from_settings(
        cls, settings: Settings, periods: Periods, scoring: ScoringSetup | None = None
    ) -> WeeklyConfig:
        return cls(
            periods=periods,
            confirmation_required=settings.confirmation_required,
            offsets=tuple(sorted(settings.reminder_offsets, reverse=True)),
            leaders_offset=settings.leaders_missing_offset,
            quiet=settings.quiet_window,
            grace=timedelta(minutes=settings.reminder_grace_minutes),
            form_timeout=timedelta(minutes=settings.form_timeout_minutes),
            stages=tuple(settings.stages),
            locale=settings.locale,
            admins=tuple(settings.admins),
            scoring=scoring or setup_for(settings),
        )

    @property
    def rules(self) -> ScoringSetup:
        if self.scoring is None:
            raise RuntimeError("WeeklyConfig has no scoring setup: build it with from_settings")
        return self.scoring

    @property
    def zone(self) -> ZoneInfo:
        return self.periods.schedule.zone

    def local(self, t: datetime) -> datetime:
        return t.astimezone(self.zone)

    def today(self, now: datetime) -> date:
        return self.local(now).date()


# --------------------------------------------------------------------------------------
# Deadlines and how to say them
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineInfo:
    key: str
    deadline: datetime  # local time
    shifted: bool
    nominal: date
    holiday_zh: str | None  # 国庆节 …, None when unknown (fallback years, configured days)
    holiday_en: str | None

    def holiday(self, locale: str) -> str | None:
        return self.holiday_zh if locale.startswith("zh") else self.holiday_en


def deadline_info(cfg: WeeklyConfig, period: WeeklyPeriod) -> DeadlineInfo:
    zh = en = None
    if period.shifted:
        try:
            is_holiday, name = chinese_calendar.get_holiday_detail(period.nominal)
        except NotImplementedError:
            is_holiday, name = False, None
        if is_holiday and name in _HOLIDAY_NAMES:
            zh, en = _HOLIDAY_NAMES[name].chinese, str(name)
    return DeadlineInfo(
        period.key, cfg.local(period.deadline), period.shifted, period.nominal, zh, en
    )


def when_text(t: datetime, locale: str) -> str:
    """``11月19日（周四）17:00`` / ``Thu 19 Nov 17:00`` (``t`` already local)."""
    return catalog.plain(
        "weekly.when",
        locale,
        month=t.month,
        day=t.day,
        weekday=catalog.plain(f"weekly.wd.{t.weekday()}", locale),
        time=f"{t:%H:%M}",
    )


def day_text(d: date, locale: str) -> str:
    return catalog.plain("weekly.day", locale, month=d.month, day=d.day)


def shift_note(info: DeadlineInfo, locale: str) -> str:
    """ "截止时间因国庆节调整为 9月30日（周三）17:00。" or "" when not shifted."""
    if not info.shifted:
        return ""
    holiday = info.holiday(locale)
    when = when_text(info.deadline, locale)
    if holiday:
        return catalog.plain("weekly.shift.named", locale, holiday=holiday, when=when)
    return catalog.plain("weekly.shift.generic", locale, when=when)


def remaining_text(delta: timedelta, locale: str) -> str:
    minutes = max(0, int((delta.total_seconds() + 30) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days >= 2:
        return (
            catalog.plain("weekly.left.days", locale, days=days, hours=hours)
            if hours
            else catalog.plain("weekly.left.days_only", locale, days=days)
        )
    hours += days * 24
    if hours and mins:
        return catalog.plain("weekly.left.hours_minutes", locale, hours=hours, minutes=mins)
    if hours:
        return catalog.plain("weekly.left.hours", locale, hours=hours)
    return catalog.plain("weekly.left.minutes", locale, minutes=mins)


def period_label(key: str, locale: str) -> str:
    year, week = key.split("-W")
    return catalog.plain("weekly.period", locale, year=int(year), week=int(week))


# --------------------------------------------------------------------------------------
# Text input
# --------------------------------------------------------------------------------------


def is_none_answer(text: str) -> bool:
    return unicodedata.normalize("NFKC", text or "").strip().lower().rstrip("。.") in NONE_WORDS


def clean_text(text: str | None, limit: int) -> str:
    """Multi-line free text: control characters dropped, blank lines folded, length checked."""
    raw = unicodedata.normalize("NFC", text or "")
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    cleaned = "\n".join(line for line in lines if line)
    cleaned = "".join(ch for ch in cleaned if ch == "\n" or unicodedata.category(ch)[0] != "C")
    if not cleaned:
        raise ServiceError("weekly.input.empty")
    if len(cleaned) > limit:
        raise ServiceError("weekly.input.too_long", limit=limit, length=len(cleaned))
    return cleaned


_CODE = re.compile(r"^\s*[lL]?\s*0*(\d{1,9})\s*$")


def parse_lead_ref(text: str) -> int | None:
    match = _CODE.match(unicodedata.normalize("NFKC", text or ""))
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def repo_audit(
    session: AsyncSession, now: datetime, actor: int | None, action: str, **detail: Any
) -> None:
    repo.audit(session, now, actor, action, **detail)
