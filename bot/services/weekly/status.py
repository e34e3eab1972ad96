"""Where a unit stands for a period: ``/status`` for a member, the overview for leaders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Role, VersionStatus
from bot.domain.periods import WeeklyPeriod
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.weekly.calendar import late_window_end, overdue_period
from bot.services.weekly.config import DeadlineInfo, WeeklyConfig, deadline_info
from storage import weekly_repo
from storage.models import (
    Unit,
    WeeklySkip,
    WeeklySubmission,
)


@dataclass(frozen=True)
class SubmissionState:
    """Where a unit stands for one period."""

    unit_id: int
    unit_name: str
    period: WeeklyPeriod
    info: DeadlineInfo
    skipped: str | None  # the reason, when the week is skipped (may be "")
    latest_number: int
    latest_status: str | None  # submitted / confirmed / returned
    latest_at: datetime | None
    latest_by: str | None
    return_reason: str | None
    accepted: bool
    outcome: str | None  # on_time / late / missing
    done_at: datetime | None
    has_head: bool = True

    @property
    def done(self) -> bool:
        return self.accepted or self.skipped is not None


def _require_unit_member(actor: Actor) -> int:
    if actor.unit_id is None or actor.role not in (Role.LIAISON, Role.HEAD):
        raise ServiceError("weekly.not_unit_member")
    return actor.unit_id


async def unit_state(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    unit_id: int,
    period: WeeklyPeriod,
    *,
    sub: WeeklySubmission | None = None,
    skip: WeeklySkip | bool | None = False,
    unit_name: str | None = None,
    has_head: bool | None = None,
) -> SubmissionState:
    if sub is None:
        sub = await weekly_repo.submission(session, unit_id, period.key)
    if skip is False:
        skip = await weekly_repo.skip_of(session, period.key)
    if unit_name is None:
        unit = await session.get(Unit, unit_id)
        unit_name = unit.name if unit else "?"
    latest = (
        await weekly_repo.latest_version(session, sub.id)
        if sub is not None and sub.latest_number
        else None
    )
    if has_head is None:
        has_head = any(
            m.role == Role.HEAD.value for m in await weekly_repo.unit_people(session, [unit_id])
        )
    return SubmissionState(
        unit_id,
        unit_name,
        period,
        deadline_info(cfg, period),
        (skip.reason or "") if isinstance(skip, WeeklySkip) else None,
        sub.latest_number if sub else 0,
        sub.latest_status if sub else None,
        latest.submitted_at if latest else None,
        latest.submitted_by_name if latest else None,
        latest.return_reason if latest and latest.status == VersionStatus.RETURNED else None,
        bool(sub and sub.accepted_version_id),
        sub.outcome if sub else None,
        sub.done_at if sub else None,
        has_head,
    )


@dataclass(frozen=True)
class MyStatus:
    current: SubmissionState
    overdue: SubmissionState | None  # last period, still owed (late window open)
    late_until: datetime | None
    draft_period: str | None


async def my_status(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, actor: Actor
) -> MyStatus:
    unit_id = _require_unit_member(actor)
    current = await unit_state(session, now, cfg, unit_id, cfg.periods.week_of(now))
    overdue_period_ = await overdue_period(session, now, cfg, unit_id)
    overdue = (
        await unit_state(session, now, cfg, unit_id, overdue_period_) if overdue_period_ else None
    )
    draft = await weekly_repo.draft_of(session, actor.tg_user_id)
    return MyStatus(
        current,
        overdue,
        late_window_end(cfg, overdue_period_) if overdue_period_ else None,
        draft.period_key if draft else None,
    )


async def pending_review(session: AsyncSession, actor: Actor, mine: MyStatus) -> int | None:
    """The version a head still has to confirm or return (overdue period first), if any:
    /status offers its card again."""
    if actor.role is not Role.HEAD:
        return None
    pending = None
    for state in (mine.overdue, mine.current):
        if state is not None and state.latest_status == VersionStatus.SUBMITTED:
            sub = await weekly_repo.submission(session, state.unit_id, state.period.key)
            latest = await weekly_repo.latest_version(session, sub.id) if sub else None
            pending = latest.id if latest else None
    return pending


@dataclass(frozen=True)
class Overview:
    period: WeeklyPeriod
    info: DeadlineInfo
    skipped: str | None
    units: tuple[SubmissionState, ...]
    previous_key: str
    previous_counts: dict[str, int]  # outcome → units, for the previous period


async def overview(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, period: WeeklyPeriod | None = None
) -> Overview:
    """Every unit's state for a period (default: the current one), for leaders."""
    period = period or cfg.periods.week_of(now)
    skip = await weekly_repo.skip_of(session, period.key)
    subs = await weekly_repo.submissions_for(session, period.key)
    people = await weekly_repo.unit_people(session)
    heads = {m.unit_id for m in people if m.role == Role.HEAD.value}
    states = []
    for unit in await weekly_repo.active_units(session):
        states.append(
            await unit_state(
                session,
                now,
                cfg,
                unit.id,
                period,
                sub=subs.get(unit.id),
                skip=skip,
                unit_name=unit.name,
                has_head=unit.id in heads,
            )
        )
    previous = cfg.periods.previous(period)
    counts: dict[str, int] = {}
    for sub in (await weekly_repo.submissions_for(session, previous.key)).values():
        if sub.outcome:
            counts[sub.outcome] = counts.get(sub.outcome, 0) + 1
    return Overview(
        period,
        deadline_info(cfg, period),
        (skip.reason or "") if skip else None,
        tuple(states),
        previous.key,
        counts,
    )
