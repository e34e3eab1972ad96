"""Timed work, driven by a clock rather than by wall-clock sleeps.

Every job is ``async (now) -> None`` and must be safe to run late or twice:
APScheduler calls :meth:`JobRunner.run_due` every few seconds in production;
tests and ``leadbot console``'s ``:time`` call it directly after moving the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.assembly.clock import Clock

log = logging.getLogger(__name__)
Job = Callable[[datetime], Awaitable[object]]  # what a job returns is ignored


@dataclass
class _Entry:
    name: str
    every: timedelta
    job: Job
    next_at: datetime | None = None


@dataclass
class JobRunner:
    clock: Clock
    entries: list[_Entry] = field(default_factory=list)
    last_run: datetime | None = None

    def add(self, name: str, every: timedelta, job: Job) -> None:
        self.entries.append(_Entry(name, every, job))

    async def run_due(self) -> list[str]:
        """Run every job whose time has come; one failing job does not stop the rest."""
        now = self.clock.now()
        ran = []
        for entry in self.entries:
            if entry.next_at is not None and entry.next_at > now:
                continue
            try:
                await entry.job(now)
            except Exception:
                log.exception("job %s failed", entry.name)
            entry.next_at = now + entry.every
            ran.append(entry.name)
        self.last_run = now
        return ran

    def start(self, tick_seconds: float = 5.0) -> AsyncIOScheduler:
        """Poll with APScheduler: the clock decides what is due, so time can be moved."""
        scheduler = AsyncIOScheduler()
        scheduler.add_job(
            self.run_due, "interval", seconds=tick_seconds, max_instances=1, coalesce=True
        )
        scheduler.start()
        return scheduler
