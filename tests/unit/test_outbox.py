"""The outbox sender: claim → send → mark, on SQLite and PostgreSQL, with a fake bot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.assembly.clock import ManualClock
from bot.services import reminders
from scheduler.outbox import Outbox
from storage import weekly_repo
from storage.db import Database
from storage.models import OutboxMessage

# PTB itself warns when it builds a RetryAfter (retry_after becomes a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


class FakeBot:
    """Records sends; ``errors`` maps a chat to exceptions raised on its next sends."""

    username = "leadbot_test_bot"

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[tuple[int, str]] = []
        self.errors: dict[int, list[Exception]] = {}
        self.delay = delay

    async def send_message(self, chat_id: int, text: str, reply_markup: Any = None) -> Any:
        await asyncio.sleep(self.delay)
        queue = self.errors.get(chat_id)
        if queue:
            raise queue.pop(0)
        self.sent.append((chat_id, text))
        return SimpleNamespace(message_id=len(self.sent))


def row(
    chat_id: int,
    *,
    kind: str = "remind:1440",
    key: str = "2026-W47",
    due: datetime = NOW,
    not_after: datetime | None = None,
    text: str = "hello {name}",
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An outbox row whose template is a catalog key that renders the params."""
    return {
        "kind": kind,
        "period_key": key,
        "chat_id": chat_id,
        "unit_id": None,
        "recipient": f"chat {chat_id}",
        "template": "weekly.view.indent",
        "params": {"text": text, **(params or {})},
        "locale": "zh_CN",
        "buttons": [],
        "due_at": due,
        "not_after": not_after or due + timedelta(hours=1),
        "status": "pending",
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": None,
        "reported": False,
        "created_at": due,
    }


async def plan(db: Database, rows: list[dict[str, Any]]) -> int:
    async with db.session() as s:
        return await weekly_repo.enqueue(s, rows)


async def rows_by_chat(db: Database) -> dict[int, OutboxMessage]:
    async with db.session() as s:
        return {r.chat_id: r for r in (await s.scalars(select(OutboxMessage))).all()}


def outbox(db: Database, bot: FakeBot, clock: ManualClock | None = None, **kw: Any) -> Outbox:
    return Outbox(db, clock or ManualClock(NOW), bot, reminders.render, **kw)  # type: ignore[arg-type]


async def test_planning_the_same_key_twice_inserts_it_once(db: Database) -> None:
    assert await plan(db, [row(1), row(2)]) == 2
    assert await plan(db, [row(1), row(2), row(3)]) == 1
    assert sorted(await rows_by_chat(db)) == [1, 2, 3]


async def test_due_rows_are_sent_once_and_marked(db: Database) -> None:
    await plan(db, [row(1, text="a"), row(2, text="b"), row(3, due=NOW + timedelta(minutes=5))])
    bot = FakeBot()
    report = await outbox(db, bot).drain(NOW)
    assert report.sent == 2 and sorted(bot.sent) == [(1, "  a"), (2, "  b")]
    again = await outbox(db, bot).drain(NOW + timedelta(minutes=1))  # a new process, say
    assert again.sent == 0 and len(bot.sent) == 2
    stored = await rows_by_chat(db)
    assert stored[1].status == "sent" and stored[1].message_id and stored[1].attempts == 1
    assert stored[3].status == "pending"


async def test_two_senders_never_send_one_row(db: Database) -> None:
    await plan(db, [row(chat) for chat in range(1, 201)])
    bot = FakeBot(delay=0.001)
    first, second = outbox(db, bot, batch=25), outbox(db, bot, batch=25)
    a, b = await asyncio.gather(first.drain(NOW), second.drain(NOW))
    chats = [chat for chat, _ in bot.sent]
    assert sorted(chats) == list(range(1, 201)) and a.sent + b.sent == 200


async def test_a_crash_between_send_and_mark_is_never_resent(db: Database) -> None:
    await plan(db, [row(1)])
    async with db.session() as s:  # a sender claims the row, sends, and dies before marking it
        [_claimed] = await weekly_repo.claim(s, NOW, "dead-sender", 10)
    bot = FakeBot()
    assert (await outbox(db, bot).drain(NOW + timedelta(minutes=1))).sent == 0
    assert (await rows_by_chat(db))[1].status == "sending"  # still leased to the dead sender
    report = await outbox(db, bot).drain(NOW + timedelta(minutes=11))
    assert report.unknown == 1 and bot.sent == []
    assert (await rows_by_chat(db))[1].status == "unknown"
    cfg = SimpleNamespace(admins=(1000,), locale="zh_CN")
    async with db.session() as s:
        assert await reminders.plan_failure_report(s, NOW + timedelta(minutes=11), cfg) == 1  # type: ignore[arg-type]
        assert await reminders.plan_failure_report(s, NOW + timedelta(minutes=12), cfg) == 0  # type: ignore[arg-type]


async def test_permanent_errors_are_recorded_and_not_retried(db: Database) -> None:
    await plan(db, [row(1), row(-2), row(3)])
    bot = FakeBot()
    bot.errors = {
        1: [Forbidden("Forbidden: bot was blocked by the user")],
        -2: [BadRequest("Chat not found")],
    }
    report = await outbox(db, bot).drain(NOW)
    assert report.failed == 2 and report.sent == 1
    await outbox(db, bot).drain(NOW + timedelta(minutes=1))
    stored = await rows_by_chat(db)
    assert (
        stored[1].status == "failed"
        and "blocked" in (stored[1].error or "")
        and stored[1].attempts == 1
    )
    assert stored[-2].status == "failed" and "Chat not found" in (stored[-2].error or "")
    assert bot.sent == [(3, "  hello {name}")]


async def test_429_is_waited_out_and_the_message_still_goes_once(db: Database) -> None:
    await plan(db, [row(1)])
    bot = FakeBot()
    bot.errors = {
        1: [RetryAfter(0), RetryAfter(0)]
    }  # what the rate limiter lets through after its own retries
    report = await outbox(db, bot).drain(NOW)
    assert report.sent == 1 and report.retried == 2 and bot.sent == [(1, "  hello {name}")]


async def test_a_network_outage_backs_off_then_skips_past_the_grace_time(db: Database) -> None:
    await plan(db, [row(1, not_after=NOW + timedelta(minutes=30))])
    bot = FakeBot()
    bot.errors = {1: [NetworkError("connection refused")] * 3}
    report = await outbox(db, bot, inline_retries=0).drain(NOW)
    assert report.postponed == 1
    stored = (await rows_by_chat(db))[1]
    assert (
        stored.status == "pending"
        and stored.due_at == NOW + timedelta(seconds=30)
        and "connection refused" in (stored.error or "")
    )
    assert (
        await outbox(db, bot, inline_retries=0).drain(NOW + timedelta(seconds=10))
    ).touched == 0  # backing off
    report = await outbox(db, bot, inline_retries=0).drain(NOW + timedelta(minutes=31))
    stored = (await rows_by_chat(db))[1]
    assert (
        report.skipped == 1
        and stored.status == "skipped"
        and "missed" in (stored.error or "")
        and bot.sent == []
    )


async def test_a_row_missed_while_down_is_sent_within_grace_else_skipped(db: Database) -> None:
    await plan(
        db,
        [
            row(1, due=NOW, not_after=NOW + timedelta(hours=1)),
            row(2, due=NOW, not_after=NOW + timedelta(minutes=10)),
        ],
    )
    bot = FakeBot()
    report = await outbox(db, bot).drain(NOW + timedelta(minutes=30))
    assert report.sent == 1 and report.skipped == 1 and [c for c, _ in bot.sent] == [1]
    assert (await rows_by_chat(db))[2].status == "skipped"


async def test_the_quiet_gate_defers_or_skips_private_reminders(db: Database) -> None:
    from bot.domain.periods import Periods, WeeklySchedule
    from bot.services.weekly import WeeklyConfig

    cfg = WeeklyConfig(Periods(WeeklySchedule()))
    deadline = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)  # Thursday 17:00 in Shanghai
    night = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)  # Wednesday 23:00
    quiet = {"_quiet": True, "deadline_at": deadline.isoformat()}
    await plan(
        db,
        [
            row(1, due=night, params=quiet),
            row(-5, due=night),
            row(
                2,
                due=night,
                params={**quiet, "deadline_at": (night + timedelta(hours=2)).isoformat()},
            ),
        ],
    )
    bot = FakeBot()
    report = await outbox(db, bot, gate=reminders.quiet_gate(cfg)).drain(night)
    assert (
        report.sent == 1
        and report.deferred == 1
        and report.skipped == 1
        and [c for c, _ in bot.sent] == [-5]
    )
    stored = await rows_by_chat(db)
    assert stored[1].status == "pending" and stored[1].due_at == datetime(
        2026, 11, 19, 0, 0, tzinfo=UTC
    )  # 08:00
    assert stored[2].status == "skipped" and "quiet" in (stored[2].error or "")
    report = await outbox(db, bot, gate=reminders.quiet_gate(cfg)).drain(
        datetime(2026, 11, 19, 0, 0, tzinfo=UTC)
    )
    assert report.sent == 1 and [c for c, _ in bot.sent] == [-5, 1]


async def test_a_long_message_goes_out_in_parts(db: Database) -> None:
    await plan(db, [row(1, text="\n".join(["线" * 100] * 60))])
    bot = FakeBot()
    await outbox(db, bot).drain(NOW)
    assert len(bot.sent) == 2 and all(len(text) <= 4096 for _, text in bot.sent)
    assert (await rows_by_chat(db))[1].status == "sent"


@pytest.mark.parametrize(
    "raw", ["Forbidden: bot was blocked by the user", "Bad Request: chat not found"]
)
def test_errors_are_explained_to_admins(raw: str) -> None:
    text = reminders.error_text(raw, "zh_CN")
    assert raw in text and text != raw


async def test_metrics_count_what_was_sent_retried_and_given_up(db: Database) -> None:
    from bot.operations.metrics import Metrics

    await plan(db, [row(1), row(2), row(3, kind="leaders:summary")])
    bot = FakeBot()
    bot.errors = {1: [RetryAfter(0)], 2: [Forbidden("Forbidden: bot was blocked by the user")]}
    metrics = Metrics()
    await outbox(db, bot, metrics=metrics).drain(NOW)

    def value(name: str) -> float:
        return metrics.registry.get_sample_value(f"{name}_total") or 0.0

    assert value("leadbot_outbox_sent") == 2 and value("leadbot_reminders_sent") == 1
    assert value("leadbot_outbox_retried") == 1 and value("leadbot_outbox_failed") == 1
