"""Closing a period at its deadline (the scheduler): missing marks and the summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Outcome, VersionStatus
from bot.domain.periods import WeeklyPeriod
from bot.services.scoring import refresh_after, refresh_weekly
from bot.services.weekly.config import WeeklyConfig
from storage import weekly_repo


@dataclass(frozen=True)
class PeriodSummary:
    period: WeeklyPeriod
    on_time: tuple[str, ...]
    late: tuple[str, ...]
    missing: tuple[str, ...]
    waiting: tuple[str, ...]  # missing, but a version waits for the head
    previous_late: tuple[str, ...]  # units that filed the previous period late since


async def close_period(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    period: WeeklyPeriod,
    *,
    score: bool = True,
) -> PeriodSummary:
    """Mark units without an accepted version missing; return the period's summary.

    ``score``: score the missing units' penalties here (:func:`refresh_weekly`, all at once); False
    when the caller does it afterwards in short transactions of its own
    (:func:`bot.services.reminders.score_closed_periods`).
    """
    subs = await weekly_repo.submissions_for(session, period.key)
    units = [u for u in await weekly_repo.active_units(session) if u.created_at < period.deadline]
    absent = [u.id for u in units if u.id not in subs]  # units that never opened the period
    if absent:
        await weekly_repo.ensure_submissions(session, absent, period.key, now)
        subs = await weekly_repo.submissions_for(session, period.key)
    on_time, late, missing, waiting = [], [], [], []
    missing_ids = []
    for unit in units:  # a unit created after the deadline did not exist when the period ended
        sub = subs[unit.id]
        if sub.accepted_version_id is None:
            sub.outcome, sub.missing_marked_at, sub.updated_at = Outcome.MISSING, now, now
            missing_ids.append(unit.id)
            missing.append(unit.name)
            if sub.latest_status == VersionStatus.SUBMITTED:
                waiting.append(unit.name)
        elif sub.outcome == Outcome.LATE:
            late.append(unit.name)
        else:
            on_time.append(unit.name)
    if score:  # scoring: the missing penalties, dated at the deadline
        await session.flush()
        left = (await refresh_weekly(session, cfg.rules, missing_ids, period.deadline, now)).left
        for unit_id in left:
            await refresh_after(session, unit_id, now, cfg.rules, since=period.deadline)
    previous = cfg.periods.previous(period)
    previous_late = [
        s.unit.name
        for s in (await weekly_repo.submissions_for(session, previous.key)).values()
        if s.outcome == Outcome.LATE and s.done_at is not None and s.done_at > previous.deadline
    ]
    return PeriodSummary(
        period, tuple(on_time), tuple(late), tuple(missing), tuple(waiting), tuple(previous_late)
    )
