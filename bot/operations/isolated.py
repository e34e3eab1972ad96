"""Heavy renders in a short-lived worker process, so the bot's own memory stays small.

The 红黑榜 picture (matplotlib) and the 台账 workbook (openpyxl) take tens of
megabytes while they are built; in the bot's process that memory is never given
back to the system. :meth:`Workers.run` calls a module-level function in a child forked
from a ``forkserver`` (one fresh child per call: ``max_tasks_per_child=1``), and
only the arguments and the result (bytes) cross. When a child cannot be started
(a sandbox without processes) the call runs in a thread instead, as before.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
PRELOAD = [
    "bot.rendering.board",
    "bot.rendering.export",
    "bot.rendering.digest_xlsx",
    "bot.rules.describe",
]
PARENT_POLL_SECONDS = 1.0  # how often a worker without pidfd support looks for its bot


class Workers:
    """The render workers of one bot process: built once (``Services.workers``), started
    on first use, shut down with the bot.

    A worker is forked by the forkserver, not by the bot, and holds both ends of its
    own call queue, so when the bot is killed (kill -9) nothing tells it to go: it would
    wait for work forever and keep the forkserver (and its resource tracker) alive. So
    each worker watches the bot's process itself (:func:`_watch_parent`) and exits with it.
    """

    def __init__(self, max_workers: int = 2) -> None:
        self.max_workers = max_workers
        self._pool: ProcessPoolExecutor | None = None
        self._disabled = False

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            self._pool = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=ctx,
                max_tasks_per_child=1,
                initializer=_watch_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker process (a thread when processes are unavailable)."""
        if not self._disabled:
            try:
                return await asyncio.get_running_loop().run_in_executor(self._executor(), fn, *args)
            except (BrokenProcessPool, BrokenExecutor, OSError, NotImplementedError) as exc:
                log.warning("worker process unavailable (%s); rendering in a thread", exc)
                self._disabled = True
                self._pool = None
        return await asyncio.to_thread(fn, *args)

    async def warm(self) -> None:
        """Start the forkserver (it imports the renderers once) so the first picture does
        not wait."""
        await self.run(int, 0)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _watch_parent(bot_pid: int) -> None:
    """A worker's initializer: a daemon thread that ends the worker when the bot is gone."""
    threading.Thread(target=_wait_for_exit, args=(bot_pid,), daemon=True).start()


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll
        while _alive(pid):
            time.sleep(PARENT_POLL_SECONDS)
    else:
        select.select([fd], [], [])  # readable once the process has exited
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class ExportFile:
    """A built workbook and what its caption says."""

    content: bytes
    filename: str
    span: Any
    leads: int
    weekly: int
    ledger: int
    units: int
    peak_mb: float = 0.0  # the worker's peak resident memory


def _export_in_child(
    url: str, setup: Any, now: datetime, kind: str, key: str | None, whole: bool
) -> ExportFile:
    from bot.rendering.export import build_workbook
    from bot.services import export
    from storage.db import Database

    async def go() -> Any:
        db = Database(url)
        try:
            async with db.session() as session:
                return await export.collect(session, setup, now, kind, key, whole=whole)
        finally:
            await db.dispose()

    import resource

    data = asyncio.run(go())
    content = build_workbook(data)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return ExportFile(
        content,
        data.filename,
        data.span,
        len(data.leads),
        len(data.weekly),
        len(data.ledger),
        len(data.ranking),
        peak,
    )


async def export_workbook(
    workers: Workers,
    url: str,
    setup: Any,
    now: datetime,
    kind: str,
    key: str | None,
    *,
    whole: bool = False,
) -> bytes:
    """The workbook read and built in a worker process (the whole library streams page by
    page; its seconds of CPU and its buffers stay out of the bot process)."""
    return (await export_file(workers, url, setup, now, kind, key, whole=whole)).content


async def export_file(
    workers: Workers,
    url: str,
    setup: Any,
    now: datetime,
    kind: str,
    key: str | None,
    *,
    whole: bool = False,
) -> ExportFile:
    """Read and build in the worker process (its own connection: not for an in-memory database)."""
    return await workers.run(_export_in_child, url, setup, now, kind, key, whole)
