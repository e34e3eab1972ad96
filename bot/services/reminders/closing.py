"""Closing the periods whose deadline passed: the missing marks, the leaders' summary
(on time, late, missing), and the missing units' points scored in batches after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import catalog
from bot.domain.periods import WeeklyPeriod
from bot.services.reminders.rows import LEADERS_SUMMARY, _deadline_params, _leaders_targets, _row
from bot.services.weekly import (
    WeeklyConfig,
    close_period,
)
from storage import scoring_repo, weekly_repo


def _closing_candidates(cfg: WeeklyConfig, now: datetime) -> list[WeeklyPeriod]:
    current = cfg.periods.week_of(now)
    candidates = [
        cfg.periods.previous(cfg.periods.previous(current)),
        cfg.periods.previous(current),
    ]
    if now >= current.deadline:
        candidates.append(current)
    return candidates


SCORE_BATCH = 25  # units refreshed per transaction after a close: other writers get their turn


async def close_periods(
    session: AsyncSession, now: datetime, cfg: WeeklyConfig, *, score: bool = True
) -> int:
    """Close the periods whose deadline has passed (the last two, oldest first).

    ``score=False``: the missing units' points are left to :func:`score_closed_periods`, which
    the scheduler runs right after this transaction commits (the close itself stays short).
    """
    added = 0
    for period in _closing_candidates(cfg, now):
        if await weekly_repo.skip_of(session, period.key):
            continue  # asked again next tick: a skip taken back within the late window still closes
        if not await weekly_repo.take_mark(session, f"close:{period.key}", now):
            continue
        summary = await close_period(session, now, cfg, period, score=score)
        if score:
            await weekly_repo.take_mark(session, f"scored:{period.key}", now)
        if not (summary.on_time or summary.late or summary.missing):
            continue  # no unit existed then
        rows = []
        not_after = cfg.periods.next(period).deadline
        for chat, locale, private in await _leaders_targets(session, cfg):
            lines = []
            if summary.missing:
                lines.append(
                    catalog.plain(
                        "weekly.summary.missing", locale, names="、".join(summary.missing)
                    )
                )
            if summary.waiting:
                lines.append(
                    catalog.plain(
                        "weekly.summary.waiting", locale, names="、".join(summary.waiting)
                    )
                )
            if summary.late:
                lines.append(
                    catalog.plain("weekly.summary.late", locale, names="、".join(summary.late))
                )
            if summary.previous_late:
                lines.append(
                    catalog.plain(
                        "weekly.summary.previous_late",
                        locale,
                        names="、".join(summary.previous_late),
                    )
                )
            params = {
                **_deadline_params(cfg, period, locale),
                "on_time": len(summary.on_time),
                "late": len(summary.late),
                "missing": len(summary.missing),
                "lines": ("\n" + "\n".join(lines)) if lines else "",
                "_quiet": private,
            }
            rows.append(
                _row(
                    kind=LEADERS_SUMMARY,
                    key=period.key,
                    chat_id=chat,
                    template="weekly.leaders.summary",
                    params=params,
                    locale=locale,
                    due=period.deadline,
                    not_after=not_after,
                    now=now,
                    recipient=catalog.plain("weekly.recipient.leaders", cfg.locale),
                )
            )
        added += await weekly_repo.enqueue(session, rows)
    return added


async def score_closed_periods(db: Any, now: datetime, cfg: WeeklyConfig) -> int:
    """The missing penalties of the periods closed with ``score=False``, then the mark
    ``scored:<key>``.

    Every missing unit of a period at once (:func:`scoring.refresh_weekly`: the weekly rules'
    lines and the totals they move, a few set-based statements in one transaction); a unit
    that needs more (a cap, a 黑榜 streak) gets its year refreshed from the deadline on,
    :data:`SCORE_BATCH` units a transaction.

    Durable: a period closed but not yet marked scored (a crash in between) is scored again at
    the next tick -- a refresh that finds its lines written changes nothing. Returns units refreshed.
    """
    from bot.services.scoring import refresh_after, refresh_weekly

    done = 0
    for period in _closing_candidates(cfg, now):
        async with db.session() as session:
            if not await weekly_repo.has_mark(session, f"close:{period.key}"):
                continue
            if await weekly_repo.has_mark(session, f"scored:{period.key}"):
                continue
            units = sorted({u for u, _ in await scoring_repo.missing_weekly(session, [period.key])})
        async with db.session() as session:
            left = (await refresh_weekly(session, cfg.rules, units, period.deadline, now)).left
        for i in range(0, len(left), SCORE_BATCH):
            async with db.session() as session:
                for unit_id in left[i : i + SCORE_BATCH]:
                    await refresh_after(session, unit_id, now, cfg.rules, since=period.deadline)
        done += len(units)
        async with db.session() as session:
            await weekly_repo.take_mark(session, f"scored:{period.key}", now)
    return done
