"""The weekly cycle's timed jobs, as :class:`~scheduler.jobs.JobRunner` entries.

In the order they run on each tick (so one ``run_due()`` plans and then sends):

* ``weekly-calendar`` (every 6 h) — warn admins once about calendar years the
  holiday package does not cover;
* ``weekly-close`` — at a deadline: missing marks and the leaders' summary;
* ``weekly-plan`` — reminders whose time has come, and the leaders' missing list;
* ``outbox-drain`` — send what is due (:class:`scheduler.outbox.Outbox`), then
  report undelivered messages to the admins, and send that report too.

Every job is safe to run late or twice: planning is guarded by durable marks and
the outbox's unique key, sending by the claim. ``jobs.run_due()`` returns only
after the drain has sent (or marked) everything due, which the tests and
``leadbot console``'s ``:time`` rely on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot.services import reminders
from bot.services.weekly import WeeklyConfig
from bot.services.weekly import notices as weekly_notices
from scheduler.outbox import RATE, DrainReport, Outbox, render
from storage.db import Database

log = logging.getLogger(__name__)
EVERY_TICK = timedelta(0)
MAX_REPORT_ROUNDS = 3


class WeeklyJobs:
    def __init__(
        self, db: Database, cfg: WeeklyConfig, outbox: Outbox, metrics: Any = None
    ) -> None:
        self.db, self.cfg, self.outbox, self.metrics = db, cfg, outbox, metrics
        self.last_drain: DrainReport | None = None

    async def calendar(self, now: datetime) -> None:
        async with self.db.session() as session:
            await reminders.warn_uncovered_calendar(session, now, self.cfg)

    async def close(self, now: datetime) -> None:
        async with self.db.session() as session:
            await reminders.close_periods(session, now, self.cfg, score=False)
        await reminders.score_closed_periods(self.db, now, self.cfg)  # short transactions

    async def plan(self, now: datetime) -> None:
        async with self.db.session() as session:
            planned = await reminders.plan_reminders(session, now, self.cfg)
        if planned.reminders and self.metrics is not None:
            self.metrics.reminders_due.inc(planned.reminders)

    async def drain(self, now: datetime) -> None:
        report = await self.outbox.drain(now)
        for _ in range(MAX_REPORT_ROUNDS):  # a report is itself a message to send
            async with self.db.session() as session:
                if not await reminders.plan_failure_report(session, now, self.cfg):
                    break
            more = await self.outbox.drain(now)
            report.sent += more.sent
            report.failed += more.failed
        self.last_drain = report


class WeeklyRuntime:
    """What handlers and jobs share: the config (with its Periods), the outbox, the jobs."""

    def __init__(self, cfg: WeeklyConfig, outbox: Outbox, jobs: WeeklyJobs) -> None:
        self.cfg, self.outbox, self.jobs = cfg, outbox, jobs


def install(app: Any, periods: Any) -> WeeklyRuntime:
    """Wire the weekly cycle into a built application: config, outbox sender, its jobs (which
    scheduler.schedule registers), the outbox health probe and metrics (when the application has them)."""
    services = app.services
    cfg = WeeklyConfig.from_settings(services.settings, periods, services.scoring)
    metrics = getattr(app, "metrics", None)
    outbox = Outbox(
        services.db,
        services.clock,
        getattr(app, "send_bot", app.bot),
        # per channel and kind, else the catalog
        render.dispatching(render.catalog_render, weekly_notices.RENDERERS),
        gate=reminders.quiet_gate(cfg),
        metrics=metrics,
        rate=RATE,
        username=lambda: _username(app.bot),
    )
    jobs = WeeklyJobs(services.db, cfg, outbox, metrics)  # scheduled by scheduler.schedule
    health = getattr(app, "health", None)
    if health is not None:
        health.register("outbox", outbox_probe(outbox, services.clock))
    return WeeklyRuntime(cfg, outbox, jobs)


STUCK_AFTER = timedelta(minutes=5)


def outbox_probe(outbox: Outbox, clock: Any) -> Any:
    """``outbox``: backlog and permanent failures; fails only when due messages are stuck
    (pending for over 5 minutes past due), not because someone blocked the bot."""

    async def probe() -> tuple[bool, dict[str, Any]]:
        from storage import weekly_repo

        now = clock.now()
        async with outbox.db.session() as session:
            counts = await weekly_repo.outbox_counts(session)
            oldest = await weekly_repo.oldest_pending_due(session, now)
        detail: dict[str, Any] = {
            "backlog": counts.get("pending", 0) + counts.get("sending", 0),
            "failed": counts.get("failed", 0),
            "unknown": counts.get("unknown", 0),
            "last_drain": outbox.last_drain.isoformat() if outbox.last_drain else None,
        }
        if oldest is not None and now - oldest > STUCK_AFTER:
            detail["reason"] = f"messages due since {oldest.isoformat()} not sent"
            return False, detail
        return True, detail

    return probe


def _username(bot: Any) -> str | None:
    """The bot's @username for deep links; None before (or without) Telegram's getMe --
    DingTalk alone never calls Telegram."""
    try:
        return str(bot.username)
    except RuntimeError:
        return None
