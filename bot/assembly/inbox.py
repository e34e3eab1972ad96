"""The durable inbox at run time: store every update first, then handle it from the table.

* :meth:`Inbox.accept` writes updates to ``inbox_updates`` and returns once they are
  committed; only then does Telegram hear that they arrived (the webhook answers 200;
  :meth:`Inbox.poll` asks ``getUpdates`` with the next offset, which confirms the
  batch). A redelivered update is already stored and is not stored or handled again.
* :meth:`Inbox.run` leases the oldest pending updates (the first pending one of each
  chat, so one chat's updates keep their order; ``SKIP LOCKED`` on PostgreSQL, so each
  update goes to one instance) and feeds them to ``Application.process_update``. The
  first database transaction of the handler that writes anything marks the update
  done in the same commit (storage/inbox.py); a handler that writes nothing is marked
  done when it returns. A handler that raises before that is tried again, and parked
  after :data:`MAX_TRIES` tries (``/health`` and ``/healthz`` show parked updates).
* A lease is renewed while its update is being handled; an instance that dies leaves
  its leases to run out (``lease`` seconds), then any instance takes them. A SQLite
  file has one process (``leadbot run`` takes a lock), so on start every lease is free.

docs/durability.md tells what a crash can and cannot lose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut

from bot.assembly.clock import Clock
from storage import inbox as inbox_repo
from storage.db import Database
from storage.models import InboxStatus

log = logging.getLogger(__name__)

MAX_TRIES = 3
LEASE = timedelta(seconds=60)
BATCH = 8  # updates leased (and handled side by side, one per chat) at once
IDLE_POLL = 1.0  # seconds between looks at the table when nothing woke the processor
STUCK_AFTER = timedelta(minutes=5)


class NotAnUpdate(ValueError):
    """A body whose ``update_id`` is not an integer: refused before any handler."""


def update_id_of(payload: Any) -> int:
    if not isinstance(payload, dict):
        raise NotAnUpdate("not a JSON object")
    value = payload.get("update_id")
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotAnUpdate("update_id is not an integer")
    return value


class Inbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        app: Any,
        *,
        lease: timedelta = LEASE,
        max_tries: int = MAX_TRIES,
        batch: int = BATCH,
    ) -> None:
        self.db, self.clock, self.app = db, clock, app
        self.lease, self.max_tries, self.batch = lease, max_tries, batch
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._draining = False
        self._outcomes: dict[int, str] = {}
        self.offset: int | None = None

    # -- arrival -------------------------------------------------------------------------
    async def accept(self, payloads: Sequence[dict[str, Any]]) -> int:
        """Store the updates (committed when this returns); raises if the database cannot."""
        for payload in payloads:
            update_id_of(payload)
        async with self.db.session() as session:
            added = await inbox_repo.accept(session, payloads, self.clock.now())
        claims = getattr(getattr(self.app, "services", None), "claims", None)
        if claims is not None:
            claims.note(int(p["update_id"]) for p in payloads)
        self._wake.set()
        return added

    async def poll(
        self,
        timeout: int = 10,
        allowed_updates: list[str] | None = None,
    ) -> None:
        """Long polling driven here: the offset moves past a batch only once it is stored."""
        bot = self.app.bot
        failures = 0
        while not self._stopping:
            try:
                updates = await bot.get_updates(
                    offset=self.offset,
                    timeout=timeout,
                    allowed_updates=allowed_updates,
                    read_timeout=timeout + 10,
                )
            except asyncio.CancelledError:
                raise
            except (InvalidToken, Conflict):
                log.exception("getUpdates refused; polling stops")
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except (TimedOut, NetworkError, OSError):
                failures += 1
                await asyncio.sleep(min(0.5 * failures, 5.0))
                continue
            failures = 0
            if not updates:
                continue
            payloads = [update.to_dict() for update in updates]
            while not self._stopping:
                try:
                    await self.accept(payloads)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:  # database down: the offset stays, nothing is confirmed
                    log.exception("could not store %s updates; retrying", len(payloads))
                    await asyncio.sleep(1.0)
            else:
                return
            self.offset = max(u.update_id for u in updates) + 1

    # -- handling ------------------------------------------------------------------------
    def start_polling(self, **poll_args: Any) -> None:
        """Poll ``getUpdates`` in the background (``leadbot run``, the tests' harness)."""
        self._tasks.append(asyncio.create_task(self.poll(**poll_args), name="leadbot-inbox-poll"))

    async def start(self, *, polling: bool = False, **poll_args: Any) -> None:
        if self.db.is_sqlite:
            async with self.db.session() as session:
                freed = await inbox_repo.release_all(session)
            if freed:
                log.info("inbox: %s updates left by a previous run are handled again", freed)
        self._stopping = False
        self._tasks.append(asyncio.create_task(self.run(), name="leadbot-inbox"))
        if polling:
            self.start_polling(**poll_args)

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop polling; handle what is stored (for up to ``drain_seconds``), then stop.

        What is left after that stays stored, for the next start or another instance."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if task.get_name() == "leadbot-inbox-poll":
                task.cancel()
        self._draining = True
        self._wake.set()
        for task in tasks:
            try:
                await asyncio.wait_for(asyncio.shield(task), drain_seconds)
            except asyncio.CancelledError:
                pass
            except TimeoutError:
                self._stopping = True  # after the update in hand
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._draining = False

    def observe(self, update: Any, outcome: str, elapsed: float) -> None:
        """The application's after-update hook: remember whether the handler failed."""
        update_id = getattr(update, "update_id", None)
        if isinstance(update_id, int):
            self._outcomes[update_id] = outcome

    async def run(self) -> None:
        while not self._stopping:
            try:
                handled = await self.handle_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inbox: could not read pending updates")
                handled = 0
            if self._draining and not handled:
                return
            if handled or self._stopping:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_POLL)

    async def handle_pending(self) -> int:
        """Lease a batch and handle it, one update after the other; returns how many."""
        now = self.clock.now()
        async with self.db.session() as session:
            rows = await inbox_repo.lease_next(session, now, now + self.lease, self.batch)
        # each row is the first pending update of its chat: different chats are handled
        # side by side (a slow upload does not hold up anyone else), one chat in order
        await asyncio.gather(*(self._handle(r.update_id, r.payload, r.attempts) for r in rows))
        return len(rows)

    async def _handle(self, update_id: int, payload: dict[str, Any], attempts: int) -> None:
        renewer = asyncio.create_task(self._renew(update_id))
        error = ""
        try:
            update = Update.de_json(payload, self.app.bot)
            with inbox_repo.handling(update_id, self.clock.now()) as state:
                try:
                    await self.app.process_update(update)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
            outcome = self._outcomes.pop(update_id, "ok")
        except Exception as exc:  # not even an Update: no handler can ever take it
            log.exception("inbox: update %s cannot be read", update_id)
            state, outcome, error = None, "error", f"{type(exc).__name__}: {exc}"
            attempts = self.max_tries
        finally:
            renewer.cancel()
        now = self.clock.now()
        async with self.db.session() as session:
            if state is not None and state.done:
                return  # its first write marked it done
            if outcome != "error" and not error:
                await inbox_repo.mark_done(session, update_id, now)
                return
            park = attempts >= self.max_tries
            await inbox_repo.mark_failed(session, update_id, error or "a handler failed", park=park)
        if park:
            log.error("inbox: update %s failed %s times; parked", update_id, attempts)

    async def _renew(self, update_id: int) -> None:
        every = max(self.lease.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(every)
            try:
                async with self.db.session() as session:
                    await inbox_repo.renew(session, update_id, self.clock.now() + self.lease)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("inbox: could not renew the lease of update %s", update_id)

    # -- health ----------------------------------------------------------------------------
    async def probe(self) -> tuple[bool, dict[str, Any]]:
        async with self.db.session() as session:
            counts = await inbox_repo.counts(session)
            oldest = await inbox_repo.oldest_pending(session)
        detail: dict[str, Any] = {
            "pending": counts.get(InboxStatus.PENDING, 0),
            "parked": counts.get(InboxStatus.PARKED, 0),
        }
        now = self.clock.now()
        if oldest is not None and now - oldest > STUCK_AFTER:
            detail["reason"] = f"updates waiting since {oldest.isoformat()}"
            return False, detail
        return True, detail


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
