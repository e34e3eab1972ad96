"""Which update ids were handled: Telegram may deliver an update more than once.

On PostgreSQL (possibly several instances) every claim is a row inserted at
once, so any instance sees it. A SQLite file is served by one process, so the
process's memory is the authority while it runs and the rows are written behind,
in small batches: the claim stops costing a commit per update. What is at stake
is a window of ``flush_after`` seconds before a crash, in which handled updates
are not yet recorded and would be handled again if Telegram redelivered them —
at least once rather than at most once, the safer side for a reporting bot.

Updates that arrive through the durable inbox (bot/assembly/inbox.py) are deduplicated by
it (an update id is stored once); this class covers the updates handed to the
application directly, and it counts every id the inbox holds as claimed, so one
update id is handled once whichever way it came.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

from storage import inbox, repo
from storage.db import Database

log = logging.getLogger(__name__)


class UpdateClaims:
    def __init__(self, db: Database, flush_after: float = 0.05, keep: int = 50_000) -> None:
        self._db = db
        self._flush_after = flush_after
        self._keep = keep
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._pending: list[tuple[int, datetime]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Remember the ids already recorded, so a restart still drops redeliveries."""
        if not self._db.is_sqlite:
            return
        async with self._db.session() as session:
            for update_id in await repo.recent_update_ids(session, self._keep):
                self._remember(update_id)
            for update_id in await inbox.recent_ids(session, self._keep):
                self._remember(update_id)

    def note(self, update_ids: Iterable[int]) -> None:
        """Ids the inbox stored: durable already, remembered so a direct copy is dropped."""
        if self._db.is_sqlite:
            for update_id in update_ids:
                self._remember(update_id)

    async def claim(self, update_id: int, now: datetime) -> bool:
        """True the first time an update id is seen."""
        if not self._db.is_sqlite:
            async with self._db.session() as session:
                if await inbox.status_of(session, update_id) is not None:
                    return False
            return await repo.claim_update_now(self._db.engine, update_id, now)
        if update_id in self._recent:
            return False
        self._remember(update_id)
        self._pending.append((update_id, now))
        if self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._flush_after, self._write_behind)
        return True

    async def flush(self) -> None:
        """Write what is pending; one writer at a time, so batches never interleave."""
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                async with self._db.session() as session:
                    await repo.record_updates(session, batch)
            except BaseException:
                self._pending[:0] = batch  # not written: keep them for the next flush
                raise

    async def close(self) -> None:
        """On shutdown: nothing claimed may stay unwritten.

        A write already under way is awaited, never cancelled: cancelling a
        SQLite transaction half-way can leave its connection waiting forever.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._writing is not None:
            await asyncio.gather(self._writing, return_exceptions=True)
            self._writing = None
        await self.flush()

    def _write_behind(self) -> None:
        self._timer = None
        self._writing = asyncio.get_running_loop().create_task(self._flush_logged())

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception:  # keep the ids; the next flush retries them
            log.exception("could not record handled update ids; will retry")
            if self._pending and self._timer is None:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(self._flush_after, self._write_behind)

    def _remember(self, update_id: int) -> None:
        self._recent[update_id] = None
        if len(self._recent) > self._keep:
            self._recent.popitem(last=False)
