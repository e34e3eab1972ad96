"""The schedule: every timed job the bot runs is registered here, and nowhere else.

One :class:`scheduler.jobs.JobRunner` ticks every few seconds on the process that holds
scheduler leadership (``scheduler.leader``); each job below runs when its interval has
passed. Within one tick the jobs run in the order they are listed, so the order says
which job's effect the next one sees (the stage-node refresh before the monthly 红黑榜;
the weekly close before the leaders' reports, which go out through the weekly outbox).
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.services import maintenance, scoring, stage_nodes
from scheduler import board as board_jobs
from scheduler import digests as digest_jobs
from scheduler import forms as form_jobs
from scheduler import reminders as weekly_jobs
from scheduler.reminders import EVERY_TICK
from storage import inbox as inbox_repo

if TYPE_CHECKING:
    from bot.assembly.app import LeadbotApplication

log = logging.getLogger(__name__)

FORM_SWEEP = timedelta(minutes=5)
INBOX_KEPT = timedelta(days=7)  # handled updates stay this long (redeliveries are dropped)


def register(app: LeadbotApplication) -> None:
    """Add every job to ``app.jobs``; ``app.weekly`` and ``app.digests`` are already built."""

    jobs, services = app.jobs, app.services
    setup = services.scoring

    async def prune(now: datetime) -> None:
        async with services.db.session() as session:
            await maintenance.prune_processed_updates(session, now)
            await inbox_repo.prune(session, now - INBOX_KEPT)  # done updates; parked ones stay

    async def rules_check(now: datetime) -> None:
        async with services.db.session() as session:
            if await scoring.note_rules(session, setup, now):
                log.warning(
                    "the rules file (%s) changed since the ledger was derived: run `leadbot rescore`",
                    setup.source,
                )

    jobs.add("prune-update-ids", timedelta(hours=6), prune)
    # Forms nobody finished: closed with a note after the idle timeout.
    jobs.add("expire-idle-forms", FORM_SWEEP, functools.partial(form_jobs.expire_idle_forms, app))
    # 全流程倒排: a lead's stay in a stage runs out with no one acting; the units it hits are
    # refreshed. Hourly, not daily: the query is cheap, and a node due late on the 31st still
    # makes the month's 红黑榜 -- added before the board so that in one tick the refresh comes first.
    jobs.add(
        "scoring-stage-nodes",
        timedelta(hours=1),
        functools.partial(stage_nodes.refresh_fallen_due, services.db, setup),
    )
    jobs.add(
        "monthly-board", timedelta(minutes=10), functools.partial(board_jobs.monthly_board, app)
    )
    jobs.add("scoring-rules-check", timedelta(hours=24), rules_check)
    # The weekly cycle: calendar coverage, closing periods, planning reminders, the outbox.
    weekly = app.weekly.jobs
    jobs.add("weekly-calendar", timedelta(hours=6), weekly.calendar)
    jobs.add("weekly-close", EVERY_TICK, weekly.close)
    jobs.add("weekly-plan", EVERY_TICK, weekly.plan)
    jobs.add("outbox-drain", EVERY_TICK, weekly.drain)
    # The leaders' reports: after the weekly close, through its outbox.
    jobs.add("leader-digests", digest_jobs.EVERY, app.digests.run)


__all__ = ["register", "weekly_jobs"]
