"""Which process runs the schedule: one leader per database.

PostgreSQL: several ``leadbot webhook`` instances may share one database; exactly one
of them runs the timed jobs. Leadership is ``pg_try_advisory_lock(LOCK_KEY)`` taken on
a dedicated connection (its own engine, outside the application's pool, autocommit so
it never sits idle in a transaction). The lock lives as long as that connection:

* A follower tries again every ``retry_seconds``.
* The leader dies (crash, ``kill -9``, container stopped): its socket closes, the
  server ends the session at once and the lock is free; a follower takes it at its
  next try, within ``retry_seconds``.
* The leader's host or network vanishes (no FIN reaches the server): the session is
  given TCP keepalives and a TCP user timeout so the server gives up on it within
  ``takeover_seconds - retry_seconds``; a follower then takes the lock, so takeover
  stays within ``takeover_seconds``.
* The leader confirms its connection every ``lease / 3`` seconds and stops calling
  itself leader when the last confirmation is older than the lease
  (``(takeover_seconds - retry_seconds) / 2``): it steps down before the server can
  hand the lock to someone else. Jobs must still be safe to run twice
  (see :mod:`scheduler.jobs`); leadership narrows, it does not replace, idempotence.

SQLite: one process owns the file, so that process is always the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.assembly.clock import Clock, SystemClock
from scheduler.jobs import JobRunner

log = logging.getLogger(__name__)

# A fixed 64-bit key: advisory locks are per database, so one key per jurisdiction.
LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"leadbot:scheduler-leader").digest()[:8], "big", signed=True
)
LeaderListener = Callable[[bool], None]


class LeaderElection:
    def __init__(
        self,
        url: str,
        *,
        retry_seconds: float = 10.0,
        takeover_seconds: float = 30.0,
        clock: Clock | None = None,
        key: int = LOCK_KEY,
    ) -> None:
        if takeover_seconds < 2 * retry_seconds:
            raise ValueError("takeover_seconds must be at least twice retry_seconds")
        self.url = url
        self.single_process = url.startswith("sqlite")
        self.retry_seconds = retry_seconds
        self.takeover_seconds = takeover_seconds
        self.lease_seconds = (takeover_seconds - retry_seconds) / 2
        self.key = key
        self.clock = clock or SystemClock()
        self.listeners: list[LeaderListener] = []
        self.leader_since: datetime | None = None
        self.last_error: str | None = None
        self._leader = False
        self._confirmed_at = 0.0  # monotonic time of the last proof we hold the lock
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = False

    # -- state ------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        if not self._leader:
            return False
        if self.single_process:
            return True
        return time.monotonic() - self._confirmed_at < self.lease_seconds

    @property
    def running(self) -> bool:
        return self._started

    def _set_leader(self, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        self.leader_since = self.clock.now() if leader else None
        log.info("scheduler leadership %s", "acquired" if leader else "lost")
        for listener in list(self.listeners):
            try:
                listener(leader)
            except Exception:
                log.exception("leader listener failed")

    # -- lifecycle --------------------------------------------------------------
    async def start(self) -> None:
        """Take part in the election; the first attempt is made before returning."""
        if self._started:
            return
        self._started = True
        if self.single_process:
            self._set_leader(True)
            return
        await self._attempt()
        self._task = asyncio.create_task(self._loop(), name="leadbot-leader-election")

    async def stop(self) -> None:
        """Leave the election, releasing the lock if held."""
        if not self._started:
            return
        self._started = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None and self._leader:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key}), 5
                )
        self._set_leader(False)
        await self._drop_connection()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3 if self._leader else self.retry_seconds)
            await self._attempt()

    async def _attempt(self) -> None:
        """One round: connect if needed; a follower tries the lock, the leader proves it still holds it."""
        try:
            conn = await self._connection()
            if self._leader:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), self.lease_seconds / 3)
                self._confirmed_at = time.monotonic()
            else:
                got = await asyncio.wait_for(
                    conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}),
                    self.retry_seconds,
                )
                if got:
                    self._confirmed_at = time.monotonic()
                    self._set_leader(True)
            self.last_error = None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            log.warning("leader election: %s", self.last_error)
            self._set_leader(False)
            await self._drop_connection()

    async def _connection(self) -> AsyncConnection:
        if self._conn is not None and not self._conn.closed and not self._conn.invalidated:
            return self._conn
        if self._engine is None:
            self._engine = create_async_engine(
                self.url, poolclass=NullPool, connect_args=self._connect_args()
            )
        conn = await asyncio.wait_for(self._engine.connect(), max(self.retry_seconds, 5.0))
        self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    def _connect_args(self) -> dict[str, Any]:
        """Let the server notice a vanished leader in time (ignored on Unix sockets)."""
        detect = max(self.takeover_seconds - self.retry_seconds, 2.0)
        return {
            "server_settings": {
                "application_name": "leadbot-scheduler-leader",
                "tcp_keepalives_idle": str(max(int(detect / 2), 1)),
                "tcp_keepalives_interval": str(max(int(detect / 4), 1)),
                "tcp_keepalives_count": "2",
                "tcp_user_timeout": str(int(detect * 1000)),
            }
        }

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), 2)
        with contextlib.suppress(Exception):
            await conn.invalidate()

    # -- health -----------------------------------------------------------------
    async def probe(self) -> tuple[bool, dict[str, Any]]:
        """Healthy unless the election cannot reach the database while it should run."""
        detail: dict[str, Any] = {
            "is_leader": self.is_leader,
            "since": self.leader_since.isoformat()
            if self.leader_since and self.is_leader
            else None,
            "mode": "single-process" if self.single_process else "postgresql-advisory-lock",
        }
        if self._started and self.last_error:
            detail["reason"] = f"election cannot reach the database: {self.last_error}"
            return False, detail
        return True, detail


class Ticker:
    """The scheduler's clock: a tick every few seconds, on the leader only.

    :meth:`stop` lets the tick in progress finish (within ``grace``) before anything else
    shuts down: a job cut off inside a database session would otherwise leave the
    session's close waiting for a connection that the disposal has already gone from,
    and the process would never exit.
    """

    def __init__(self, jobs: JobRunner, leader: LeaderElection, tick_seconds: float) -> None:
        self.jobs, self.leader = jobs, leader
        self.running: asyncio.Task[Any] | None = None
        self.scheduler = AsyncIOScheduler()
        self.scheduler.add_job(
            self._tick, "interval", seconds=tick_seconds, max_instances=1, coalesce=True
        )

    async def _tick(self) -> None:
        if not self.leader.is_leader:
            return
        self.running = asyncio.current_task()
        try:
            await self.jobs.run_due()
        except asyncio.CancelledError:  # cut short after the grace: each job may be
            log.info("scheduler: the tick in progress was stopped by the shutdown")
        finally:
            self.running = None

    def start(self) -> Ticker:
        self.scheduler.start()
        return self

    def shutdown(self, wait: bool = False) -> None:
        """At once (tests); :meth:`stop` is the graceful way."""
        self.scheduler.shutdown(wait=wait)

    async def stop(self, grace: float = 10.0) -> None:
        self.scheduler.pause()  # no new tick
        task = self.running
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), grace)
            except TimeoutError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.scheduler.shutdown(wait=False)


def tick_when_leader(jobs: JobRunner, leader: LeaderElection, tick_seconds: float) -> Ticker:
    """:meth:`JobRunner.start`, except that a tick runs the jobs only on the leader."""
    return Ticker(jobs, leader, tick_seconds).start()
