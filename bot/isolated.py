"""Heavy renders in a short-lived worker process, so the bot's own memory stays small.

The 红黑榜 picture (matplotlib) and the 台账 workbook (openpyxl) take tens of
megabytes while they are built; in the bot's process that memory is never given
back to the system. :func:`run` calls a module-level function in a child forked
from a ``forkserver`` (one fresh child per call: ``max_tasks_per_child=1``), and
only the arguments and the result (bytes) cross. When a child cannot be started
(a sandbox without processes) the call runs in a thread instead, as before.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
PRELOAD = ["bot.board", "bot.export", "bot.digest_xlsx", "handlers.ranking"]
_pool: ProcessPoolExecutor | None = None
_disabled = False


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _pool = ProcessPoolExecutor(max_workers=2, mp_context=ctx, max_tasks_per_child=1)
    return _pool


async def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker process (a thread when processes are unavailable)."""
    global _pool, _disabled
    if not _disabled:
        try:
            return await asyncio.get_running_loop().run_in_executor(_executor(), fn, *args)
        except (BrokenProcessPool, BrokenExecutor, OSError, NotImplementedError) as exc:
            log.warning("worker process unavailable (%s); rendering in a thread", exc)
            _disabled = True
            _pool = None
    return await asyncio.to_thread(fn, *args)


async def warm() -> None:
    """Start the forkserver (it imports the renderers once) so the first picture does not wait."""
    await run(int, 0)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


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
    from bot.export import build_workbook
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
    url: str, setup: Any, now: datetime, kind: str, key: str | None, *, whole: bool = False
) -> bytes:
    """The workbook read and built in a worker process (the whole library needs hundreds of MB)."""
    return (await export_file(url, setup, now, kind, key, whole=whole)).content


async def export_file(
    url: str, setup: Any, now: datetime, kind: str, key: str | None, *, whole: bool = False
) -> ExportFile:
    """Read and build in the worker process (its own connection: not for an in-memory database)."""
    return await run(_export_in_child, url, setup, now, kind, key, whole)
