"""The outbox sender: planned messages leave exactly once, within Telegram's limits.

Rows are planned by :mod:`bot.services.reminders` into ``outbox_messages`` with a
unique ``(kind, period_key, chat_id)``; :meth:`Outbox.drain` delivers the due ones.

Protocol, per row: **claim+attempt → send → mark**, each step its own transaction.

1. *Claim, one row at a time, when the pace allows a send* (:func:`scheduler.outbox.repo.
   candidates` and ``claim_one``): the oldest due ``pending`` row whose chat has no
   earlier row waiting or in flight is set ``sending`` with ``attempted_at`` in one
   short transaction, committed right before the HTTP call. On PostgreSQL the
   candidates are read ``FOR UPDATE SKIP LOCKED`` and the update re-checks
   ``status='pending'``, so two instances never hold one row, and neither waits on
   the other. Nothing is claimed ahead of sending: a worker takes its next row only
   when the pace (``rate`` messages/s overall, at most ``concurrency`` sends in
   flight) lets it send one now.
2. *Send* through a bot without PTB's rate limiter (its retries would sleep while
   the row counts as attempted): our pace does the limiting.
3. *Answer*: ``sent`` (with the message id), or for an answer that says the message
   was *not* delivered (429, 5xx, no connection) the row goes straight back to
   ``pending`` with ``attempted_at`` cleared, still due, and every worker pauses for
   the ``retry_after``; after ``inline_retries`` such answers in one drain it backs
   off (``due_at`` later). Marks are group-committed.

**The crash window, precisely.** A row is ``sending`` only between the commit of its
claim and the commit of Telegram's answer, i.e. while its HTTP request is under way.
A crash leaves at most ``concurrency`` rows per instance in that state (one per send
worker; 8 by default), and only those: after the lease (10 minutes) each becomes
``unknown`` and is reported to the admins, never resent (Telegram offers no
idempotency key). Every other row -- due, deferred, answered 429, claimed by no one --
is ``pending`` and is sent after the restart, by whichever instance drains first.
A timeout while reading the answer is ambiguous; it is retried (a lost reminder is
worse than a rare duplicate) and counted as ``outbox_retried``.

A message missed while the bot was down is sent on start if it is still within
its grace time (``not_after``), otherwise recorded as ``skipped``.

**Documents.** A row may carry a file in ``params["_document"]`` (``filename``,
``data`` in base64, an HTML ``caption``; ``"as": "photo"`` for a picture), built
when the row was planned (the leaders' reports: bot/services/digests/schedule.py; the
红黑榜 picture: bot/services/board.py). It is sent with sendDocument right
after the row's text, as one more part of the same claim: a retry, inline or
later (the count of parts delivered is kept in ``params``), resumes at the first
part not yet sent. Rows to one chat are sent one after the other, in the
order they were planned, so a text and its file are never interleaved with
another row's.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.assembly.clock import Clock
from bot.domain.enums import OutboxStatus
from bot.rendering.text import split_html
from scheduler.outbox import repo as outbox_repo
from scheduler.outbox.render import Renderer
from storage import weekly_repo
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("scheduler.outbox")  # the name operators filter on, kept from one module

Gate = Callable[[OutboxMessage, datetime], tuple[Any, ...] | None]
CONCURRENCY = 8  # sends in flight at once per instance: the crash window
RATE = 30.0  # messages per second, Telegram's overall limit for a bot
LEASE = timedelta(minutes=10)
INLINE_RETRIES = 3
MAX_429 = 20  # 429 answers one row may get in one drain before it backs off
MAX_RETRY_WAIT = 60.0
BACKOFF = timedelta(seconds=30)
PARTS_SENT = (
    "_parts_sent"  # in params: how many parts (texts, then the file) were delivered before a retry
)
MAX_BACKOFF = timedelta(minutes=10)


@dataclass
class DrainReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    deferred: int = 0
    retried: int = 0
    postponed: int = 0  # transient failure: back to pending with a back-off
    unknown: int = 0
    sent_ids: list[int] = field(default_factory=list)

    @property
    def touched(self) -> int:
        return self.sent + self.failed + self.skipped + self.deferred + self.postponed


class Pace:
    """At most ``rate`` sends per second overall (a token bucket of one second's worth),
    and a pause for everyone after a 429; ``rate=None`` paces nothing (unit tests)."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._tokens = rate or 0.0
        self._stamp: float | None = None
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + seconds)

    async def ready(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self._paused_until > now:
                await asyncio.sleep(self._paused_until - now)
                continue
            if self.rate is None:
                return
            if self._stamp is not None:
                self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)


class Outbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        bot: Bot,
        render: Renderer,
        *,
        gate: Gate | None = None,
        batch: int | None = None,
        concurrency: int = CONCURRENCY,
        rate: float | None = None,
        lease: timedelta = LEASE,
        inline_retries: int = INLINE_RETRIES,
        metrics: Any = None,
        username: Callable[[], str | None] | None = None,
    ) -> None:
        self.db, self.clock, self.bot, self.render, self.gate = db, clock, bot, render, gate
        self.concurrency = batch or concurrency  # ``batch``: the old name of the same bound
        self.lease, self.inline_retries, self.metrics = lease, inline_retries, metrics
        self.pace = Pace(rate)
        self._username = username or (lambda: getattr(self.bot, "username", None))
        self.last_drain: datetime | None = None
        self._mark_lock = asyncio.Lock()
        self._marks: list[tuple[int, str, dict[str, Any]]] = []
        self._drain_lock = asyncio.Lock()
        self._claim_lock = asyncio.Lock()

    # -- the job ---------------------------------------------------------------------------
    async def drain(self, now: datetime | None = None) -> DrainReport:
        """Send everything due; returns when every claimed row is sent or marked."""
        now = now or self.clock.now()
        report = DrainReport()
        async with self._drain_lock:  # one drain at a time per process
            async with self.db.session() as session:
                if not await weekly_repo.has_work(session):
                    self.last_drain = now
                    return report
                report.skipped += await weekly_repo.skip_expired(session, now)
                report.unknown += await outbox_repo.expire_stale_attempts(session, now - self.lease)
            run = _Run(now, report)
            await asyncio.gather(*(self._worker(run) for _ in range(max(1, self.concurrency))))
            self.last_drain = now
        if report.touched:
            log.info("outbox: %s", report)
        return report

    async def counts(self) -> tuple[int, int]:
        """(due backlog, permanent failures) for the health probe."""
        async with self.db.session() as session:
            counts = await weekly_repo.outbox_counts(session)
        return counts.get(OutboxStatus.PENDING, 0) + counts.get(
            OutboxStatus.SENDING, 0
        ), counts.get(OutboxStatus.FAILED, 0)

    async def _worker(self, run: _Run) -> None:
        """Take the next row only when a send may start now; stop when nothing is left.

        A worker that finds nothing while others are sending waits for one of them to
        finish: its chat's next row may then be claimable."""
        while True:
            await self.pace.ready()
            row = await self._claim(run)
            if row is None:
                if run.in_flight == 0:
                    run.wake()
                    return
                await run.changed()
                continue
            run.in_flight += 1
            try:
                await self._deliver(row, row.claim_token or "", run)
            finally:
                run.in_flight -= 1
                run.wake()

    async def _claim(self, run: _Run) -> OutboxMessage | None:
        # one claim transaction at a time in this process
        async with self._claim_lock, self.db.session() as session:
            for row in await outbox_repo.candidates(session, run.now):
                decision = self.gate(row, run.now) if self.gate else None
                if decision is not None and decision[0] == "defer":
                    await outbox_repo.set_pending(
                        session, row.id, due_at=decision[1], not_after=decision[2]
                    )
                    run.report.deferred += 1
                    continue
                if decision is not None:
                    await outbox_repo.set_pending(
                        session, row.id, status=OutboxStatus.SKIPPED, error=str(decision[1])
                    )
                    run.report.skipped += 1
                    continue
                token = uuid.uuid4().hex
                if await outbox_repo.claim_one(session, row.id, token, run.now):
                    row.claim_token, row.attempts = token, (row.attempts or 0) + 1
                    session.expunge(row)
                    return row
        return None

    # -- one row -----------------------------------------------------------------------------
    async def _deliver(self, row: OutboxMessage, token: str, run: _Run) -> None:
        report = run.report
        try:
            text, buttons = self.render(row, run.now, self._username())
            document = _document(row)
        except Exception as exc:  # a template bug must not stall the queue
            log.exception("outbox row %s could not be rendered", row.id)
            await self._fail(row, token, f"render error: {exc}"[:500], report)
            return
        markup = _markup(buttons)
        parts = split_html(text)
        total = len(parts) + (document is not None)
        done = min(
            int((row.params or {}).get(PARTS_SENT, 0)), total
        )  # parts an earlier try delivered
        message_id = None
        try:
            while done < total:
                if done < len(parts):
                    last = done == len(parts) - 1
                    message = await self.bot.send_message(
                        row.chat_id, parts[done], reply_markup=markup if last else None
                    )
                    message_id = message.message_id
                else:
                    assert document is not None
                    await _send_file(self.bot, row.chat_id, document)
                done += 1
        except RetryAfter as exc:
            wait = _retry_seconds(exc)
            self.pace.pause(min(wait, MAX_RETRY_WAIT))
            error = f"429 Too Many Requests: retry after {wait:g} s"
        except ChatMigrated as exc:
            await self._fail(row, token, f"group moved to chat {exc.new_chat_id}", report)
            return
        except (Forbidden, BadRequest) as exc:
            await self._fail(row, token, f"{type(exc).__name__}: {exc.message}"[:500], report)
            return
        except (TimedOut, NetworkError) as exc:
            tries = run.tries.get(row.id, 0)
            self.pace.pause(min(2.0**tries, 10.0))
            error = f"{type(exc).__name__}: {exc.message}"[:500]
        except TelegramError as exc:  # InvalidToken, Conflict…: not this row's fault
            await self._postpone(
                row, token, run, done, f"{type(exc).__name__}: {exc.message}"[:500]
            )
            return
        except Exception as exc:
            log.exception("outbox row %s: unexpected error", row.id)
            await self._postpone(row, token, run, done, f"{type(exc).__name__}: {exc}"[:500])
            return
        else:
            await self._finish(
                row,
                token,
                status=OutboxStatus.SENT,
                sent_at=self.clock.now(),
                message_id=message_id,
                error=None,
                attempted_at=None,
            )
            report.sent += 1
            report.sent_ids.append(row.id)
            self._count("outbox_sent")
            if row.kind.startswith("remind:"):
                self._count("reminders_sent")
            return
        # not delivered: back to pending at once (any worker, any instance may take it).
        # A 429 is Telegram's pace, not the row's fault: it is retried after the pause for
        # as long as the drain lasts (up to MAX_429 times); other errors back off sooner.
        tries = run.tries[row.id] = run.tries.get(row.id, 0) + 1
        if tries > (MAX_429 if error.startswith("429") else self.inline_retries):
            await self._postpone(row, token, run, done, error)
            return
        report.retried += 1
        self._count("outbox_retried")
        await self._finish(row, token, **self._release(row, done, error))

    def _release(self, row: OutboxMessage, done: int, error: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            "status": OutboxStatus.PENDING,
            "claim_token": None,
            "claimed_at": None,
            "attempted_at": None,
            "error": error or "retry later",
        }
        if done:
            values["params"] = {**(row.params or {}), PARTS_SENT: done}
        return values

    async def _postpone(
        self, row: OutboxMessage, token: str, run: _Run, done: int, error: str
    ) -> None:
        backoff = min(BACKOFF * (row.attempts or 1), MAX_BACKOFF)
        await self._finish(row, token, **self._release(row, done, error), due_at=run.now + backoff)
        run.report.postponed += 1

    async def _fail(self, row: OutboxMessage, token: str, error: str, report: DrainReport) -> None:
        log.warning("outbox row %s (%s → %s) failed: %s", row.id, row.kind, row.chat_id, error)
        await self._finish(row, token, status=OutboxStatus.FAILED, error=error, attempted_at=None)
        report.failed += 1
        self._count("outbox_failed")

    async def _finish(self, row: OutboxMessage, token: str, **values: Any) -> None:
        """Record a row's outcome; returns once it is committed.

        Group commit: outcomes that arrive while another is being written are
        written together in the next transaction, so marking keeps up with the
        sending rate (one commit per message would cap it on SQLite)."""
        self._marks.append((row.id, token, values))
        async with self._mark_lock:
            if not self._marks:
                return  # written by the caller before us, in a committed transaction
            batch, self._marks = self._marks, []
            async with self.db.session() as session:
                for row_id, row_token, row_values in batch:
                    await weekly_repo.finish(session, row_id, row_token, **row_values)

    def _count(self, name: str) -> None:
        counter = getattr(self.metrics, name, None) if self.metrics is not None else None
        if counter is not None:
            counter.inc()


class _Run:
    """One drain: its instant, its report, the sends in flight, the not-delivered count per row."""

    def __init__(self, now: datetime, report: DrainReport) -> None:
        self.now, self.report = now, report
        self.in_flight = 0
        self.tries: dict[int, int] = {}
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def changed(self) -> None:
        await self._event.wait()


@dataclass(frozen=True)
class _File:
    filename: str
    data: bytes
    caption: str | None  # HTML
    as_photo: bool  # a picture shown in the chat (the 红黑榜), not a file to open


def _document(row: OutboxMessage) -> _File | None:
    """The file the row carries, if any."""
    spec = (row.params or {}).get("_document")
    if not spec:
        return None
    data = base64.b64decode(spec["data"], validate=True)
    return _File(str(spec["filename"]), data, spec.get("caption"), spec.get("as") == "photo")


async def _send_file(bot: Bot, chat_id: int, file: _File) -> None:
    if file.as_photo:
        await bot.send_photo(chat_id, file.data, caption=file.caption, filename=file.filename)
    else:
        await bot.send_document(chat_id, file.data, filename=file.filename, caption=file.caption)


def _markup(rows: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    button["text"], callback_data=button.get("callback_data"), url=button.get("url")
                )
                for button in row
            ]
            for row in rows
        ]
    )


def _retry_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if isinstance(value, timedelta):
        return value.total_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = exc.retry_after
    return raw.total_seconds() if isinstance(raw, timedelta) else float(raw)
