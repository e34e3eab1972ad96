"""Scale-out on real PostgreSQL: two `leadbot webhook` processes share one database.

The test process runs the Bot API stand-in and seeds the demo jurisdiction; two real
OS processes (``python -m bot.assembly.cli webhook``) join the scheduler election. The
weekly deadline is set a minute ahead on the real clock (Asia/Shanghai), with two
reminders a few seconds apart. When the first reminder has been delivered (and
marked sent) the leader is killed with SIGKILL; the other process takes the lead
and sends the second reminder and the leaders' list. Every reminder arrives exactly
once: checked on the stand-in's recorded calls, each one matched to its outbox row.

Nothing sleeps for a fixed time: every wait polls (the stand-in's calls, /healthz,
the outbox) up to a bound.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from bot.assembly.config import Settings
from bot.localapi import LocalBotAPI, RecordedCall
from bot.operations.demo import seed_demo
from bot.services.scoring import periods_for
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import PG_ENV, PG_SKIP_REASON, pg_url, reset_postgres

# Several bot processes against the real clock, with bounds on a takeover: under xdist these
# modules share one worker (--dist loadgroup), so no two of them start processes at once.
pytestmark = pytest.mark.xdist_group("processes")

ROOT = Path(__file__).resolve().parents[2]
SH = ZoneInfo("Asia/Shanghai")
SECRET = "scaleout_secret-123"
PUBLIC_URL = "https://bot.example.com"  # setWebhook wants https; nothing is posted to it

# Timeline (real clock): both processes are up and one leads within STARTUP; the
# first reminder is due then, the second GAP later, the deadline SECOND after that.
# STARTUP leaves room for two processes starting on a loaded machine (10 s did not: the
# first reminder came due before a leader was elected); the bounds that matter are below.
STARTUP = timedelta(seconds=30)
FIRST, SECOND = timedelta(seconds=40), timedelta(seconds=20)
RETRY, TAKEOVER = 0.5, 3.0  # LEADBOT_LEADER_RETRY_SECONDS / _TAKEOVER_SECONDS
POLL = 0.2
TICK = 5.0  # bot.assembly.app.JOB_TICK_SECONDS

ADMIN = 1000
LIAISONS = [1101, 1102, 1103, 1104]
GROUPS = [-1001000000000 - i for i in range(1, 5)]
LEADERS_GROUP = -1001000000999
KIND_1, KIND_2 = (
    "remind:40s",
    "remind:20s",
)  # scheduler names offsets that are not whole minutes in seconds
# The weekly cycle's reminder texts: private (liaison), unit group, leaders' group.
MARKERS = ("本周周报截止", "周报提醒", "周报进度")

T = TypeVar("T")


def _pg_or_skip() -> str:
    url = pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: PostgreSQL tests must run there")
        pytest.skip(f"the scale-out test needs PostgreSQL; {PG_SKIP_REASON}")
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def poll(
    what: str,
    check: Callable[[], Awaitable[T | None]],
    timeout: float,
    diag: Callable[[], str] = str,
) -> T:
    """``check()`` every POLL seconds until it returns something other than None/False."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{diag()}")
        await asyncio.sleep(POLL)


@dataclass
class Instance:
    name: str
    port: int
    log: Path
    proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} (port {self.port}) log tail ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )


@dataclass
class Cluster:
    api: LocalBotAPI
    db: Database
    http: aiohttp.ClientSession
    instances: list[Instance] = field(default_factory=list)

    def diag(self) -> str:
        return "\n".join(i.tail() for i in self.instances)

    async def health(self, inst: Instance) -> dict[str, Any] | None:
        """/healthz's body, or None while the process is not answering."""
        assert inst.proc is not None
        if inst.proc.returncode is not None:
            pytest.fail(f"{inst.name} exited with {inst.proc.returncode}\n{inst.tail()}")
        try:
            async with self.http.get(
                f"{inst.url}/healthz", timeout=aiohttp.ClientTimeout(total=4)
            ) as resp:
                return dict(await resp.json())
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def is_leader(self, inst: Instance) -> bool:
        body = await self.health(inst)
        return bool(body and body.get("scheduler", {}).get("leader", {}).get("is_leader"))

    async def last_run(self, inst: Instance) -> str | None:
        body = await self.health(inst)
        return body.get("scheduler", {}).get("last_run") if body else None

    async def reminders_sent(self, inst: Instance) -> float:
        async with self.http.get(f"{inst.url}/metrics") as resp:
            text = await resp.text()
        match = re.search(r"^leadbot_reminders_sent_total (\S+)$", text, re.M)
        return float(match.group(1)) if match else 0.0

    def reminder_calls(self) -> list[RecordedCall]:
        """Successful sendMessage calls carrying a weekly reminder text."""
        return [
            c
            for c in self.api.calls_of("sendMessage")
            if c.ok and any(m in str(c.params.get("text")) for m in MARKERS)
        ]

    async def outbox(self, *kinds: str) -> list[OutboxMessage]:
        async with self.db.session() as s:
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.kind.in_(kinds))
                .order_by(OutboxMessage.id)
            )
            return list((await s.scalars(stmt)).all())


def _chat(call: RecordedCall) -> int:
    return int(call.params["chat_id"])


def _deadline_env(now: datetime) -> tuple[datetime, dict[str, str]]:
    """A deadline STARTUP + FIRST from now, to the second, and the settings that make it so."""
    deadline = (now + STARTUP + FIRST).astimezone(SH).replace(microsecond=0) + timedelta(seconds=1)
    env = {
        "LEADBOT_TZ": "Asia/Shanghai",
        "LEADBOT_DEADLINE_WEEKDAY": str(deadline.weekday()),
        "LEADBOT_DEADLINE_TIME": deadline.strftime("%H:%M:%S"),
        # A public holiday today would move the deadline to an earlier working day: no shift here.
        "LEADBOT_HOLIDAY_SHIFT": "false",
        "LEADBOT_REMINDER_OFFSETS": f"{int(FIRST.total_seconds())}s,{int(SECOND.total_seconds())}s",
        "LEADBOT_LEADERS_MISSING_OFFSET": f"{int(SECOND.total_seconds())}s",  # with the second reminder
        "LEADBOT_QUIET_HOURS": "off",
    }
    return deadline, env


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    url = _pg_or_skip()
    api = LocalBotAPI()
    await api.start("127.0.0.1", 0)
    await reset_postgres(url)
    db = Database(url)
    http = aiohttp.ClientSession()
    c = Cluster(api, db, http)
    try:
        yield c
    finally:
        for inst in c.instances:  # never leave a process behind, whatever happened
            if inst.proc is not None and inst.proc.returncode is None:
                inst.proc.kill()
                await inst.proc.wait()
        await http.close()
        await db.dispose()
        await api.stop()


async def spawn(c: Cluster, name: str, env: dict[str, str], tmp_path: Path) -> Instance:
    inst = Instance(name, _free_port(), tmp_path / f"{name}.log")
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_") and k != "DATABASE_URL"
    }
    full = {
        **base,
        **env,
        "LEADBOT_WEBHOOK_PORT": str(inst.port),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    with inst.log.open("wb") as log:
        inst.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.assembly.cli",
            "webhook",
            cwd=tmp_path,
            env=full,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    c.instances.append(inst)
    return inst


async def test_killing_the_leader_between_two_reminders_sends_each_reminder_exactly_once(
    cluster: Cluster, tmp_path: Path
) -> None:
    c = cluster
    started = time.monotonic()
    url = _pg_or_skip()

    # The database and the demo jurisdiction (4 units, their liaisons, heads and groups).
    await c.db.upgrade()
    async with c.db.session() as s:
        world = await seed_demo(s, datetime.now(UTC))
    for user in world.users:
        c.api.add_user(user.tg_id, user.name)
    for group in world.groups:
        c.api.add_group(group.tg_chat_id, group.title)

    # A deadline about a minute ahead; the period ending then must be the current one.
    deadline, timing = _deadline_env(datetime.now(UTC))
    env = {
        **timing,
        "DATABASE_URL": url,
        "LEADBOT_TOKEN": c.api.token,
        "LEADBOT_BOT_API_URL": c.api.base_url,
        "LEADBOT_WEBHOOK_URL": PUBLIC_URL,
        "LEADBOT_WEBHOOK_SECRET": SECRET,
        "LEADBOT_WEBHOOK_LISTEN": "127.0.0.1",
        "LEADBOT_LEADER_RETRY_SECONDS": str(RETRY),
        "LEADBOT_LEADER_TAKEOVER_SECONDS": str(TAKEOVER),
        "LEADBOT_ADMINS": str(ADMIN),
        "LEADBOT_LOG_LEVEL": "INFO",
    }
    period = periods_for(
        Settings(**{k.removeprefix("LEADBOT_").lower(): v for k, v in timing.items()})
    ).week_of(datetime.now(UTC))
    assert period.deadline == deadline, f"the current period ends {period.deadline}, not {deadline}"
    first_at, second_at = deadline - FIRST, deadline - SECOND

    # Two real processes on one database; exactly one of them leads.
    a = await spawn(c, "a", env, tmp_path)
    b = await spawn(c, "b", env, tmp_path)
    for inst in (a, b):
        await poll(
            f"{inst.name} to answer /healthz",
            lambda inst=inst: c.health(inst),
            STARTUP.total_seconds(),
            c.diag,
        )

    async def one_leader() -> Instance | None:
        leading = [i for i in (a, b) if await c.is_leader(i)]
        return leading[0] if len(leading) == 1 else None

    leader = await poll("exactly one scheduler leader", one_leader, 10 + TAKEOVER, c.diag)
    survivor = b if leader is a else a
    assert c.api.webhook is not None and c.api.webhook["url"] == f"{PUBLIC_URL}/telegram"
    assert not c.reminder_calls(), "a reminder went out before its time"

    # Reminder 1: the leader sends it to the four liaisons and the four unit groups.
    first_chats = set(LIAISONS) | set(GROUPS)
    wait_first = (first_at - datetime.now(UTC)).total_seconds() + 2 * TICK + 10

    async def first_delivered() -> bool:
        return first_chats <= {_chat(call) for call in c.reminder_calls()}

    await poll("the first reminder", first_delivered, wait_first, c.diag)

    async def first_marked() -> bool:  # so the kill does not fall between a send and its mark
        rows = await c.outbox(KIND_1)
        return len(rows) == len(first_chats) and all(r.status == "sent" for r in rows)

    await poll("the first reminder's rows to be marked sent", first_marked, 10, c.diag)
    assert (
        await c.reminders_sent(leader) == len(first_chats) and await c.reminders_sent(survivor) == 0
    )

    # kill -9 the leader between the two reminder times.
    now = datetime.now(UTC)
    assert now < second_at - timedelta(seconds=1), (
        f"too slow: the first reminder was done only {(second_at - now).total_seconds():.1f} s before the second"
    )
    assert leader.proc is not None
    leader.proc.kill()
    killed_at = time.monotonic()
    await leader.proc.wait()

    await poll("the survivor to take the lead", lambda: c.is_leader(survivor), TAKEOVER + 5, c.diag)
    took = time.monotonic() - killed_at
    assert took <= TAKEOVER, f"takeover took {took:.1f} s"

    # Reminder 2 and the leaders' list: sent by the survivor.
    second_chats = first_chats | {LEADERS_GROUP}
    wait_second = (second_at - datetime.now(UTC)).total_seconds() + 2 * TICK + 10

    async def second_delivered() -> bool:
        after = {_chat(call) for call in c.reminder_calls() if call.at > killed_at}
        return second_chats <= after

    await poll("the second reminder from the survivor", second_delivered, wait_second, c.diag)

    async def all_marked() -> bool:
        rows = await c.outbox(KIND_1, KIND_2, "leaders:missing")
        return len(rows) == 2 * len(first_chats) + 1 and all(r.status == "sent" for r in rows)

    await poll("every reminder row to be marked sent", all_marked, 10, c.diag)
    # One more tick of the survivor's scheduler: a late duplicate would show up now.
    mark = await c.last_run(survivor)
    await poll(
        "one more scheduler tick",
        lambda: _changed(c.last_run(survivor), mark),
        2 * TICK + 5,
        c.diag,
    )

    # Exactly once, on the stand-in's record: two reminders per liaison and unit group, one
    # leaders' list, nobody else (heads, admin, leader) …
    per_chat: dict[int, int] = {}
    for call in c.reminder_calls():
        per_chat[_chat(call)] = per_chat.get(_chat(call), 0) + 1
    assert per_chat == {**dict.fromkeys(first_chats, 2), LEADERS_GROUP: 1}
    # … and each of those calls is the one send of one outbox row: (kind, chat) exactly once.
    rows = await c.outbox(KIND_1, KIND_2, "leaders:missing")
    by_message = {(r.chat_id, r.message_id): r for r in rows}
    sent: dict[tuple[str, int], list[RecordedCall]] = {}
    for call in c.reminder_calls():
        row = by_message.get((_chat(call), int(call.response["message_id"])))
        assert row is not None, (
            f"a reminder no outbox row accounts for (sent twice?): {call.params}"
        )
        sent.setdefault((row.kind, row.chat_id), []).append(call)
    expected = {(KIND_1, chat) for chat in first_chats} | {(KIND_2, chat) for chat in first_chats}
    expected.add(("leaders:missing", LEADERS_GROUP))
    assert set(sent) == expected
    twice = {key: len(calls) for key, calls in sent.items() if len(calls) != 1}
    assert not twice, f"sent more than once: {twice}"
    assert all(call.at < killed_at for (kind, _), [call] in sent.items() if kind == KIND_1)
    assert all(call.at > killed_at for (kind, _), [call] in sent.items() if kind != KIND_1)
    assert "尚未提交" in str(sent[("leaders:missing", LEADERS_GROUP)][0].params["text"])
    assert await c.reminders_sent(survivor) == len(first_chats)  # its own: the second reminder only

    elapsed = time.monotonic() - started
    print(
        f"scale-out: leader {leader.name} killed, {survivor.name} took over in {took:.2f} s; test {elapsed:.0f} s"
    )


async def _changed(value: Awaitable[str | None], before: str | None) -> bool:
    now = await value
    return now is not None and now != before
