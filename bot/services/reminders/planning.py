"""Planning the reminders before the deadline when their time comes: to the liaisons
(the head, a substitute on leave) and the units' groups, the leaders' list of units
not done yet, and picking a week up again after its skip was taken back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog
from bot.domain.enums import OutboxStatus, Role, VersionStatus
from bot.domain.periods import WeeklyPeriod
from bot.forms.buttons import WeeklyDecision
from bot.forms.callbacks import encode
from bot.services.reminders.quiet import quiet_end
from bot.services.reminders.rows import (
    LEADERS_MISSING,
    REMIND,
    _deadline_params,
    _leaders_targets,
    _offset_name,
    _row,
    _start_button,
)
from bot.services.weekly import (
    WeeklyConfig,
    day_text,
    substitutes,
)
from storage import weekly_repo
from storage.models import Member


@dataclass
class Planned:
    rows: int = 0  # rows inserted (any kind)
    reminders: int = 0  # of which reminders to people and groups


async def plan_reminders(session: AsyncSession, now: datetime, cfg: WeeklyConfig) -> Planned:
    """Plan every reminder whose time has come in the current period (once each)."""
    planned = Planned()
    period = cfg.periods.week_of(now)
    if now >= period.deadline or await weekly_repo.skip_of(session, period.key):
        return planned
    for offset in cfg.offsets:
        at = period.deadline - offset
        if at > now or at <= period.start:
            continue
        if not await weekly_repo.take_mark(
            session, f"plan:{period.key}:{_offset_name(offset)}", now
        ):
            continue
        rows = await _unit_reminders(session, now, cfg, period, offset, at)
        added = await weekly_repo.enqueue(session, rows)
        planned.rows += added
        planned.reminders += added
    at = period.deadline - cfg.leaders_offset
    if period.start < at <= now and await weekly_repo.take_mark(
        session, f"plan:{period.key}:leaders", now
    ):
        planned.rows += await weekly_repo.enqueue(
            session, await _leaders_missing(session, now, cfg, period, at)
        )
    return planned


async def resume_week(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, period_key: str
) -> int:
    """A skip was taken back: the week's reminders go on from here.

    A reminder whose time to be sent passed during the skip is moot: its plan mark
    is taken so it is neither sent late nor reported to admins as missed. Rows the
    skip cancelled that are still in time go out again; their number is returned.
    Closing the period is not touched: :func:`close_periods` closes an un-skipped
    period at its next tick, even after the deadline.
    """
    period = cfg.periods.by_key(period_key)
    due = [
        (period.deadline - offset, f"plan:{period.key}:{_offset_name(offset)}")
        for offset in cfg.offsets
    ]
    due.append((period.deadline - cfg.leaders_offset, f"plan:{period.key}:leaders"))
    for at, mark in due:
        if period.start < at and min(at + cfg.grace, period.deadline) <= now:
            await weekly_repo.take_mark(session, mark, now)
    return await weekly_repo.revive_cancelled(session, period.key, weekly_repo.SKIPPED_WEEK, now)


async def _unit_reminders(
    session: AsyncSession,
    now: datetime,
    cfg: WeeklyConfig,
    period: WeeklyPeriod,
    offset: timedelta,
    at: datetime,
) -> list[dict[str, Any]]:
    kind = REMIND + _offset_name(offset)
    subs = await weekly_repo.submissions_for(session, period.key)
    people = await weekly_repo.unit_people(session)
    by_unit: dict[int, list[Member]] = {}
    for m in people:
        by_unit.setdefault(m.unit_id or 0, []).append(m)
    groups = await weekly_repo.unit_groups(session)
    day = cfg.local(max(at, now)).date()
    leaves = await weekly_repo.leaves_on(session, day)
    not_after = min(at + cfg.grace, period.deadline)
    rows: list[dict[str, Any]] = []
    for unit in await weekly_repo.active_units(session):
        sub = subs.get(unit.id)
        if sub is not None and sub.accepted_version_id is not None:
            continue
        waiting = sub is not None and sub.latest_status == VersionStatus.SUBMITTED
        members = by_unit.get(unit.id, [])
        targets = [
            m for m in members if m.role == (Role.HEAD.value if waiting else Role.LIAISON.value)
        ]
        if waiting and not targets:
            targets = [m for m in members if m.role == Role.LIAISON.value]
        version_id = None
        if waiting:
            latest = await weekly_repo.latest_version(session, sub.id)  # type: ignore[union-attr]
            version_id = latest.id if latest else None
        for member, away in _recipients(targets, members, leaves, day):
            locale = member.locale or cfg.locale
            params = {
                **_deadline_params(cfg, period, locale),
                "unit": unit.name,
                "_quiet": True,
                "number": sub.latest_number if sub else 0,
                "leave": _leave_note(away, locale),
            }
            is_head_note = waiting and member.role == Role.HEAD.value
            template = (
                "weekly.remind.head"
                if is_head_note
                else ("weekly.remind.waiting" if waiting else "weekly.remind.liaison")
            )
            buttons = (
                [
                    [
                        {
                            "label": "weekly.button.review",
                            "data": encode(WeeklyDecision(version_id, "show")),
                        }
                    ]
                ]
                if is_head_note and version_id
                else _start_button()
            )
            due, status, error = (
                at,
                OutboxStatus.PENDING,
                None,
            )  # planned late: due at once, within grace
            end = quiet_end(max(at, now), cfg.quiet, cfg.zone)
            row_not_after = not_after
            if end is not None:
                if end < period.deadline:
                    due, row_not_after = end, min(end + cfg.grace, period.deadline)
                else:
                    status, error = OutboxStatus.SKIPPED, "quiet hours last until the deadline"
            rows.append(
                _row(
                    kind=kind,
                    key=period.key,
                    chat_id=member.tg_user_id,
                    template=template,
                    params=params,
                    locale=locale,
                    due=due,
                    not_after=row_not_after,
                    now=now,
                    unit_id=unit.id,
                    recipient=catalog.plain(
                        "weekly.recipient.person",
                        cfg.locale,
                        name=member.display_name,
                        unit=unit.name,
                    ),
                    buttons=buttons,
                    status=status,
                    error=error,
                )
            )
        chat = groups.get(unit.id)
        if chat is not None:
            params = {**_deadline_params(cfg, period, cfg.locale), "unit": unit.name}
            rows.append(
                _row(
                    kind=kind,
                    key=period.key,
                    chat_id=chat,
                    template="weekly.remind.group_waiting" if waiting else "weekly.remind.group",
                    params=params,
                    locale=cfg.locale,
                    due=at,
                    not_after=not_after,
                    now=now,
                    unit_id=unit.id,
                    recipient=catalog.plain("weekly.recipient.group", cfg.locale, unit=unit.name),
                    buttons=_start_button(),
                )
            )
    return rows


def _recipients(
    targets: Sequence[Member], members: Sequence[Member], leaves: dict[int, date], day: date
) -> list[tuple[Member, list[tuple[str, date]]]]:
    """(member, [(name, until) of those on leave they receive for]) — one entry per person."""
    found: dict[int, tuple[Member, list[tuple[str, date]]]] = {}
    for member in targets:
        until = leaves.get(member.id)
        if until is None or until < day:
            found.setdefault(member.tg_user_id, (member, []))
            continue
        for sub in substitutes(members, member, leaves, day):
            found.setdefault(sub.tg_user_id, (sub, []))[1].append((member.display_name, until))
    return list(found.values())


def _leave_note(away: list[tuple[str, date]], locale: str) -> str:
    if not away:
        return ""
    who = "、".join(
        catalog.plain("weekly.remind.away_one", locale, name=n, day=day_text(u, locale))
        for n, u in away
    )
    return "\n" + catalog.plain("weekly.remind.on_behalf", locale, who=who)


async def _leaders_missing(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, period: WeeklyPeriod, at: datetime
) -> list[dict[str, Any]]:
    subs = await weekly_repo.submissions_for(session, period.key)
    missing: list[str] = []
    waiting: list[str] = []
    for unit in await weekly_repo.active_units(session):
        sub = subs.get(unit.id)
        if sub is not None and sub.accepted_version_id is not None:
            continue
        (
            waiting if sub is not None and sub.latest_status == VersionStatus.SUBMITTED else missing
        ).append(unit.name)
    rows = []
    for chat, locale, private in await _leaders_targets(session, cfg):
        lines = []
        if missing:
            lines.append(
                catalog.plain(
                    "weekly.leaders.not_submitted",
                    locale,
                    names="、".join(missing),
                    count=len(missing),
                )
            )
        if waiting:
            lines.append(
                catalog.plain(
                    "weekly.leaders.waiting", locale, names="、".join(waiting), count=len(waiting)
                )
            )
        if not lines:
            lines.append(catalog.plain("weekly.leaders.all_in", locale))
        params = {
            **_deadline_params(cfg, period, locale),
            "lines": "\n".join(lines),
            "_quiet": private,
        }
        rows.append(
            _row(
                kind=LEADERS_MISSING,
                key=period.key,
                chat_id=chat,
                template="weekly.leaders.missing",
                params=params,
                locale=locale,
                due=at,
                not_after=min(at + cfg.grace, period.deadline),
                now=now,
                recipient=catalog.plain("weekly.recipient.leaders", cfg.locale),
            )
        )
    return rows
