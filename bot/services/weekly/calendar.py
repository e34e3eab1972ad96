"""Which period a unit files for, members on leave, and skipped weeks (``/leave``, ``/skipweek``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.dates import parse_day
from bot.domain.periods import WeeklyPeriod
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.weekly.config import (
    DeadlineInfo,
    WeeklyConfig,
    day_text,
    deadline_info,
    period_label,
    repo_audit,
)
from storage import weekly_repo
from storage.models import (
    MemberLeave,
    Unit,
    WeeklySkip,
)


@dataclass(frozen=True)
class Target:
    period: WeeklyPeriod
    late: bool  # the deadline has passed: accepted until ``late_until``
    late_until: datetime | None


def late_window_end(cfg: WeeklyConfig, period: WeeklyPeriod) -> datetime:
    """A period's late submissions are accepted until the next period's deadline."""
    return cfg.periods.next(period).deadline


def period_open(cfg: WeeklyConfig, period: WeeklyPeriod, now: datetime) -> bool:
    return now <= late_window_end(cfg, period)


async def _unit_created(session: AsyncSession, unit_id: int) -> datetime | None:
    unit = await session.get(Unit, unit_id)
    return unit.created_at if unit else None


async def overdue_period(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, unit_id: int
) -> WeeklyPeriod | None:
    """The previous period when the unit still owes it (late window open), else None."""
    current = cfg.periods.week_of(now)
    previous = cfg.periods.previous(current)
    created = await _unit_created(session, unit_id)
    if created is None or created >= previous.deadline:
        return None
    if await weekly_repo.skip_of(session, previous.key):
        return None
    sub = await weekly_repo.submission(session, unit_id, previous.key)
    if sub is not None and sub.accepted_version_id is not None:
        return None
    return previous


async def target_period(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, unit_id: int, *, current: bool = False
) -> Target:
    if not current:
        overdue = await overdue_period(session, now, cfg, unit_id)
        if overdue is not None:
            return Target(overdue, True, late_window_end(cfg, overdue))
    return Target(cfg.periods.week_of(now), False, None)


# --------------------------------------------------------------------------------------
# Leave and skipped weeks
# --------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_OFF = frozenset({"off", "end", "cancel", "stop", "结束", "取消", "销假", "返岗"})


def parse_leave(text: str, today: date) -> date | bool | None:
    """``until 2026-12-03`` / ``12月3日`` / ``明天`` / ``下周一`` → the date; ``off`` → None; else False."""
    raw = unicodedata.normalize("NFKC", text or "").strip().lower()
    raw = re.sub(r"^(until|till|to|至|到|直到)\s*", "", raw).strip()
    if raw in _OFF:
        return None
    found = parse_day(raw, today, future=True)  # 明天, 下周一, 12月3日 … as the forms read them
    return False if found is None else found


@dataclass(frozen=True)
class LeaveResult:
    until: date | None  # None: leave ended
    substitutes: tuple[str, ...]


async def set_leave(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, text: str
) -> LeaveResult:
    if actor.member_id is None or actor.unit_id is None:
        raise ServiceError("weekly.not_unit_member")
    today = cfg.today(now)
    parsed = parse_leave(text, today)
    if parsed is False:
        raise ServiceError("weekly.leave.usage")
    if parsed is None:
        await weekly_repo.clear_leave(session, actor.member_id)
        repo_audit(session, now, actor.tg_user_id, "weekly.leave_off")
        return LeaveResult(None, ())
    assert isinstance(parsed, date)
    if parsed < today:
        raise ServiceError("weekly.leave.past", day=day_text(parsed, actor.locale))
    if parsed > today + timedelta(days=366):
        raise ServiceError("weekly.leave.too_far")
    existing = await weekly_repo.leave_of(session, actor.member_id)
    if existing is None:
        session.add(MemberLeave(member_id=actor.member_id, until=parsed, set_at=now))
    else:
        existing.until, existing.set_at = parsed, now
    repo_audit(session, now, actor.tg_user_id, "weekly.leave", until=parsed.isoformat())
    people = await weekly_repo.unit_people(session, [actor.unit_id])
    leaves = await weekly_repo.leaves_on(session, today)
    me = next((m for m in people if m.id == actor.member_id), None)
    subs = substitutes(people, me, leaves, today) if me else []
    return LeaveResult(parsed, tuple(m.display_name for m in subs))


def substitutes(people: Any, member: Any, leaves: dict[int, date], day: date) -> list[Any]:
    """Who receives a member's reminders while they are away: the unit's other
    members of the same role, else those of the other role (liaison ↔ head)."""
    present = [
        m
        for m in people
        if m.unit_id == member.unit_id and m.id != member.id and leaves.get(m.id, date.min) < day
    ]
    same = [m for m in present if m.role == member.role]
    return same or [m for m in present if m.role != member.role]


def parse_week_ref(cfg: WeeklyConfig, text: str, now: datetime) -> WeeklyPeriod:
    """``2027-W06``, a date in the week (``2027-02-11``), ``本周`` / ``下周``."""
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if raw.lower() in ("本周", "this", "this week", "current"):
        return cfg.periods.week_of(now)
    if raw.lower() in ("下周", "next", "next week"):
        return cfg.periods.next(cfg.periods.week_of(now))
    try:
        return cfg.periods.by_key(raw)
    except ValueError:
        pass
    match = _ISO_DATE.fullmatch(raw)
    if match:
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise ServiceError("weekly.skip.usage") from None
        return cfg.periods.week_of(datetime.combine(day, time(12), tzinfo=cfg.zone))
    raise ServiceError("weekly.skip.usage")


@dataclass(frozen=True)
class SkipResult:
    info: DeadlineInfo
    reason: str
    skipped: bool  # False: un-skipped
    cancelled: int


async def skip_week(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor, text: str
) -> SkipResult:
    """``2027-W06 春节`` skips the week; ``2027-W06 off`` takes the skip back."""
    if not actor.is_admin:
        raise ServiceError("access.admin_only")
    words = (text or "").split(maxsplit=1)
    if not words:
        raise ServiceError("weekly.skip.usage")
    period = parse_week_ref(cfg, words[0], now)
    rest = words[1].strip() if len(words) > 1 else ""
    if now > late_window_end(cfg, period):
        raise ServiceError("weekly.skip.past", period=period_label(period.key, actor.locale))
    if rest.lower() in ("off", "undo", "取消", "撤销"):
        removed = await weekly_repo.remove_skip(session, period.key)
        if not removed:
            raise ServiceError(
                "weekly.skip.not_skipped", period=period_label(period.key, actor.locale)
            )
        repo_audit(session, now, actor.tg_user_id, "weekly.unskip", period=period.key)
        return SkipResult(deadline_info(cfg, period), "", False, 0)
    reason = rest[:200]
    existing = await weekly_repo.skip_of(session, period.key)
    if existing is None:
        session.add(
            WeeklySkip(period_key=period.key, reason=reason or None, by_tg=actor.tg_user_id, at=now)
        )
    else:
        existing.reason, existing.by_tg, existing.at = reason or None, actor.tg_user_id, now
    cancelled = 0
    for prefix in ("remind:", "leaders:"):
        cancelled += await weekly_repo.cancel_pending(
            session, period.key, kind_prefix=prefix, why=weekly_repo.SKIPPED_WEEK
        )
    repo_audit(session, now, actor.tg_user_id, "weekly.skip", period=period.key, note=reason)
    return SkipResult(deadline_info(cfg, period), reason, True, cancelled)


async def upcoming_skips(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig
) -> list[tuple[DeadlineInfo, str]]:
    first = cfg.periods.previous(cfg.periods.week_of(now))
    return [
        (deadline_info(cfg, cfg.periods.by_key(s.period_key)), s.reason or "")
        for s in await weekly_repo.skips_from(session, first.key)
    ]
