"""The outbox sender: planned messages leave exactly once, within Telegram's limits.

Rows are planned by :mod:`bot.services.reminders` into ``outbox_messages`` with a
unique ``(kind, period_key, chat_id)``; :meth:`Outbox.drain` delivers the due ones.

Protocol, per row: **claim → send → mark**, each step its own transaction.

1. *Claim* (``UPDATE … SET status='sending', claim_token=… WHERE status='pending'``,
   committed before any send). Only one sender can move a row out of ``pending``:
   on PostgreSQL a second instance racing for it blocks on the row lock and then
   finds it no longer pending. So two senders never send one row.
2. *Send* through the bot, i.e. through PTB's ``AIORateLimiter`` (≈30 messages/s
   overall, 20/min per group; ``max_retries`` makes it wait out a 429's
   ``retry_after`` and try again). If the limiter's retries run out we wait out
   ``retry_after`` ourselves and try again, a few times, within the same claim;
   a network error (nothing delivered) is retried the same way.
3. *Mark* ``sent`` (with the message id) as soon as Telegram answers: marks are
   group-committed (those that arrive while one transaction is being written go
   into the next), so a row is durably marked within one commit of its send.

Permanent errors (Forbidden: blocked / kicked; BadRequest: chat not found, bad
markup) mark the row ``failed`` with the error: never retried, shown by
``/health`` and reported to the admins once. A transient error that outlasts the
inline retries returns the row to ``pending`` with a back-off; once its
``not_after`` (grace) passes it becomes ``skipped`` and is reported.

**The crash window.** A crash between a successful send and its mark leaves the
row ``sending``. After the lease (10 minutes) such a row becomes ``unknown`` and is
reported, but it is *not* sent again: delivery is at-most-once per claim, and
Telegram offers no idempotency key that would let a resend be safe. The window is
narrow -- the messages in flight plus those answered during the one mark
transaction being written -- so after a restart nothing is sent twice and at
worst those few messages are flagged for a human. Retries inside a claim happen only after answers that say
the message was *not* delivered (429, 5xx, connection errors) — except a timeout
while reading the answer, which is ambiguous; we retry it (a lost reminder is
worse than a rare duplicate) and count it as ``outbox_retried``.

A message missed while the bot was down is sent on start if it is still within
its grace time (``not_after``), otherwise recorded as ``skipped``.

**Documents.** A row may carry a file in ``params["_document"]`` (``filename``,
``data`` in base64, an HTML ``caption``; ``"as": "photo"`` for a picture), built
when the row was planned (the leaders' reports: bot/services/digests.py; the
红黑榜 picture: bot/services/ranking.py). It is sent with sendDocument right
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

from bot.clock import Clock
from bot.text import split_html
from storage import weekly_repo
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

Renderer = Callable[[OutboxMessage, datetime, str | None], tuple[str, list[list[dict[str, str]]]]]
Gate = Callable[[OutboxMessage, datetime], tuple[Any, ...] | None]
BATCH = 100
LEASE = timedelta(minutes=10)
INLINE_RETRIES = 3
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


class Outbox:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        bot: Bot,
        render: Renderer,
        *,
        gate: Gate | None = None,
        batch: int = BATCH,
        lease: timedelta = LEASE,
        inline_retries: int = INLINE_RETRIES,
        metrics: Any = None,
    ) -> None:
        self.db, self.clock, self.bot, self.render, self.gate = db, clock, bot, render, gate
        self.batch, self.lease, self.inline_retries, self.metrics = (
            batch,
            lease,
            inline_retries,
            metrics,
        )
        self.last_drain: datetime | None = None
        self._mark_lock = asyncio.Lock()
        self._marks: list[tuple[int, str, dict[str, Any]]] = []
        self._drain_lock = asyncio.Lock()

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
                report.unknown += await weekly_repo.expire_stale_claims(session, now - self.lease)
            while True:
                token = uuid.uuid4().hex
                async with self.db.session() as session:
                    rows = await weekly_repo.claim(session, now, token, self.batch)
                if not rows:
                    break
                await asyncio.gather(
                    *(
                        self._deliver_in_order(chat_rows, token, now, report)
                        for chat_rows in _by_chat(rows)
                    )
                )
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

    # -- one row -----------------------------------------------------------------------------
    async def _deliver_in_order(
        self, rows: list[OutboxMessage], token: str, now: datetime, report: DrainReport
    ) -> None:
        for row in rows:  # one chat: in planning order (rows to different chats go in parallel)
            await self._deliver(row, token, now, report)

    async def _deliver(
        self, row: OutboxMessage, token: str, now: datetime, report: DrainReport
    ) -> None:
        decision = self.gate(row, now) if self.gate else None
        if decision is not None:
            if decision[0] == "defer":
                await self._finish(
                    row,
                    token,
                    status=OutboxStatus.PENDING,
                    due_at=decision[1],
                    not_after=decision[2],
                )
                report.deferred += 1
            else:
                await self._finish(row, token, status=OutboxStatus.SKIPPED, error=str(decision[1]))
                report.skipped += 1
            return
        try:
            text, buttons = self.render(row, now, self.bot.username)
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
        error = ""
        message_id = None
        for attempt in range(self.inline_retries + 1):
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
                await self._finish(
                    row,
                    token,
                    status=OutboxStatus.SENT,
                    sent_at=self.clock.now(),
                    message_id=message_id,
                    error=None,
                )
                report.sent += 1
                report.sent_ids.append(row.id)
                self._count("outbox_sent")
                if row.kind.startswith("remind:"):
                    self._count("reminders_sent")
                return
            except RetryAfter as exc:
                error = f"429 Too Many Requests: retry after {_retry_seconds(exc):g} s"
                wait = _retry_seconds(exc)
            except ChatMigrated as exc:
                await self._fail(row, token, f"group moved to chat {exc.new_chat_id}", report)
                return
            except (Forbidden, BadRequest) as exc:
                await self._fail(row, token, f"{type(exc).__name__}: {exc.message}"[:500], report)
                return
            except (TimedOut, NetworkError) as exc:
                error = f"{type(exc).__name__}: {exc.message}"[:500]
                wait = min(2.0**attempt, 10.0)
            except TelegramError as exc:  # InvalidToken, Conflict…: not this row's fault
                error = f"{type(exc).__name__}: {exc.message}"[:500]
                break
            except Exception as exc:
                log.exception("outbox row %s: unexpected error", row.id)
                error = f"{type(exc).__name__}: {exc}"[:500]
                break
            if attempt < self.inline_retries:
                report.retried += 1
                self._count("outbox_retried")
                await asyncio.sleep(min(wait, MAX_RETRY_WAIT))
        backoff = min(BACKOFF * (row.attempts or 1), MAX_BACKOFF)
        progress = {"params": {**(row.params or {}), PARTS_SENT: done}} if done else {}
        await self._finish(
            row,
            token,
            status=OutboxStatus.PENDING,
            due_at=now + backoff,
            error=error or "retry later",
            **progress,
        )
        report.postponed += 1

    async def _fail(self, row: OutboxMessage, token: str, error: str, report: DrainReport) -> None:
        log.warning("outbox row %s (%s → %s) failed: %s", row.id, row.kind, row.chat_id, error)
        await self._finish(row, token, status=OutboxStatus.FAILED, error=error)
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


def _by_chat(rows: list[OutboxMessage]) -> list[list[OutboxMessage]]:
    """The claimed rows grouped by chat, each group in claim order (due time, then id)."""
    groups: dict[int, list[OutboxMessage]] = {}
    for row in rows:
        groups.setdefault(row.chat_id, []).append(row)
    return list(groups.values())


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
