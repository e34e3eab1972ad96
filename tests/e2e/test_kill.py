"""kill -9 at chosen instants: nothing acknowledged is lost, nothing is done twice.

The real commands (``leadbot run``, ``leadbot webhook``) run as subprocesses against
the Bot API stand-in served by this test process. The stand-in's observers see each
call as it is recorded -- before its answer leaves -- and SIGKILL the bot at the
instant under test: right after a batch of updates was fetched, right after a reply
reached the stand-in, in the middle of an outbox fan-out answered 429 half the time,
and with a webhook queue of accepted updates. The bot is started again and every
journey must complete: checked on the stand-in's recorded calls and on the database.
Nothing waits for a deadline: rows are due when planned, every wait polls to a bound.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.assembly.webhook import SECRET_HEADER
from bot.localapi import LocalBotAPI, RecordedCall
from storage import weekly_repo
from storage.db import Database
from storage.models import FormDraft, InboxUpdate, OutboxMessage, Unit
from tests.conftest import migrated_postgres, migrated_sqlite, pg_url, reset_postgres

# Several bot processes against the real clock, with bounds on a takeover: under xdist these
# modules share one worker (--dist loadgroup), so no two of them start processes at once.
pytestmark = pytest.mark.xdist_group("processes")

ROOT = Path(__file__).resolve().parents[2]
ADMIN = 1000
SECRET = "kill_secret-123"
BOUND = 90.0  # seconds any one wait may take (start-up of a loaded CI machine included)
T = TypeVar("T")


async def until(what: str, check: Callable[[], Awaitable[T | None] | T | None]) -> T:
    deadline = time.monotonic() + BOUND
    while True:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found  # type: ignore[return-value]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bot:
    """One bot process at a time (or two on PostgreSQL), started and killed by the test."""

    api: LocalBotAPI
    url: str
    tmp: Path
    command: str = "run"
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)

    def env(self, port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_")}
        env.update(
            DATABASE_URL=self.url,
            LEADBOT_TOKEN=self.api.token,
            LEADBOT_BOT_API_URL=self.api.base_url,
            LEADBOT_ADMINS=str(ADMIN),
            LEADBOT_WEBHOOK_URL="https://bot.example.com",
            LEADBOT_WEBHOOK_SECRET=SECRET,
            LEADBOT_WEBHOOK_LISTEN="127.0.0.1",
            LEADBOT_WEBHOOK_PORT=str(port),
            LEADBOT_LEADER_RETRY_SECONDS="0.5",
            LEADBOT_LEADER_TAKEOVER_SECONDS="2",
            LEADBOT_INBOX_LEASE_SECONDS="2",
            PYTHONPATH=str(ROOT),
        )
        env.pop("DATABASE_URL_TEST", None)
        return env

    async def start(self) -> asyncio.subprocess.Process:
        port = free_port()
        log = (self.tmp / f"bot-{len(self.procs)}.log").open("ab")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.assembly.cli",
            self.command,
            cwd=self.tmp,
            env=self.env(port),
            stdout=log,
            stderr=log,
        )
        self.procs.append(proc)
        self.ports.append(port)
        return proc

    def kill(self, proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)

    async def stop_all(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                self.kill(proc)
                await proc.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.tmp.glob("bot-*.log"))


@pytest.fixture
async def stand_in() -> AsyncIterator[LocalBotAPI]:
    api = LocalBotAPI()
    await api.start()
    api.add_user(ADMIN, "管理员")
    try:
        yield api
    finally:
        await api.stop()


async def schema(url: str) -> Database:
    """The bot's database at head: a copy of one migrated once in this test process."""
    if url.startswith("sqlite"):
        return await migrated_sqlite(Path(make_url(url).database or ""))
    return await migrated_postgres(url)


def replies_to(api: LocalBotAPI, chat: int, marker: str) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in api.calls_of("sendMessage")
        if c.ok and int(c.params.get("chat_id", 0)) == chat and marker in str(c.params.get("text"))
    ]


async def units(db: Database) -> list[str]:
    async with db.session() as s:
        return list((await s.scalars(select(Unit.name))).all())


async def inbox_states(db: Database) -> dict[int, str]:
    async with db.session() as s:
        return {r.update_id: r.status for r in (await s.scalars(select(InboxUpdate))).all()}


NAMES = [f"第{i:02d}测试局" for i in range(1, 13)]


async def assert_every_unit_added_once(api: LocalBotAPI, db: Database) -> None:
    await until(
        "every /addunit answered", lambda: len(replies_to(api, ADMIN, "已新增单位")) >= len(NAMES)
    )
    states = await until(
        "every update done", lambda: _all_done(db)
    )  # the done mark may follow the reply
    assert sorted(await units(db)) == sorted(NAMES)  # nothing lost, nothing added twice
    added = replies_to(api, ADMIN, "已新增单位")
    assert sorted(added) == sorted(set(added)) and len(added) == len(NAMES)  # one reply each
    assert not replies_to(api, ADMIN, "已有名为")  # no update handled a second time
    assert set(states.values()) == {"done"}


async def _all_done(db: Database) -> dict[int, str] | None:
    states = await inbox_states(db)
    return states if states and set(states.values()) == {"done"} else None


async def journey_after_kill(
    api: LocalBotAPI, tmp_path: Path, trigger: Callable[[RecordedCall], bool], *, delay: float = 0.0
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    db = await schema(url)
    bot = Bot(api, url, tmp_path)
    try:
        first = await bot.start()
        killed = asyncio.Event()

        def watch(call: RecordedCall) -> None:
            if not killed.is_set() and trigger(call):
                killed.set()
                if delay:
                    asyncio.get_running_loop().call_later(delay, bot.kill, first)
                else:
                    bot.kill(first)  # before this call's answer leaves the stand-in

        api.observers.append(watch)
        await until("the bot polling", lambda: api.calls_of("getUpdates"))
        for name in NAMES:
            api.send_text(ADMIN, f"/addunit {name}")
        await until("the kill", killed.is_set)
        await first.wait()
        assert first.returncode == -signal.SIGKILL
        await bot.start()
        await assert_every_unit_added_once(api, db)
    except BaseException:
        print(bot.logs())
        raise
    finally:
        await bot.stop_all()
        await db.dispose()


def fetched_updates(call: RecordedCall) -> bool:
    return call.method == "getUpdates" and bool(call.response)


async def test_killed_right_after_updates_were_fetched(
    stand_in: LocalBotAPI, tmp_path: Path
) -> None:
    await journey_after_kill(stand_in, tmp_path, fetched_updates, delay=0.002)


async def test_killed_right_after_a_reply_reached_telegram(
    stand_in: LocalBotAPI, tmp_path: Path
) -> None:
    replies = 0

    def third_reply(call: RecordedCall) -> bool:
        nonlocal replies
        if call.method == "sendMessage" and "已新增单位" in str(call.params.get("text")):
            replies += 1
        return replies == 3

    await journey_after_kill(stand_in, tmp_path, third_reply)


async def test_killed_with_a_webhook_queue_of_accepted_updates(
    stand_in: LocalBotAPI, tmp_path: Path
) -> None:
    api = stand_in
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    db = await schema(url)
    bot = Bot(api, url, tmp_path, command="webhook")
    try:
        first = await bot.start()
        await until("the webhook registered", lambda: api.calls_of("setWebhook"))
        base = f"http://127.0.0.1:{bot.ports[0]}"
        async with aiohttp.ClientSession(base) as http:
            for number, name in enumerate(NAMES, start=1):
                body = _update(number, f"/addunit {name}")
                async with http.post(
                    "/telegram", json=body, headers={SECRET_HEADER: SECRET}
                ) as resp:
                    assert resp.status == 200  # accepted: it must not be lost
        bot.kill(first)  # with the queue accepted, most of it not handled yet
        await first.wait()
        await bot.start()
        await assert_every_unit_added_once(api, db)
    except BaseException:
        print(bot.logs())
        raise
    finally:
        await bot.stop_all()
        await db.dispose()


def _update(update_id: int, text: str) -> dict[str, Any]:
    user = {"id": ADMIN, "is_bot": False, "first_name": "管理员", "language_code": "zh-hans"}
    entities = [{"type": "bot_command", "offset": 0, "length": text.split()[0].__len__()}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "text": text,
            "entities": entities,
            "chat": {"id": ADMIN, "type": "private", "first_name": "管理员"},
            "from": user,
        },
    }


# --- the outbox: a fan-out killed half-way, Telegram answering 429 half the time --------------

PEOPLE = list(range(5001, 5061))


def planned(chat_id: int, now: datetime) -> dict[str, Any]:
    return {
        "kind": "remind:kill",
        "period_key": "2026-W47",
        "chat_id": chat_id,
        "unit_id": None,
        "recipient": f"chat {chat_id}",
        "template": "weekly.view.indent",
        "params": {"text": f"提醒 {chat_id}"},
        "locale": "zh_CN",
        "buttons": [],
        "due_at": now,
        "not_after": now + timedelta(hours=2),
        "status": "pending",
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": None,
        "reported": False,
        "created_at": now,
    }


async def leader_of(bot: Bot) -> int | None:
    """The index of the instance that runs the schedule, from its /healthz."""
    for index, port in enumerate(bot.ports):
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=4)
                ) as resp,
            ):
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError):
            continue
        if body.get("scheduler", {}).get("leader", {}).get("is_leader"):
            return index
    return None


async def fan_out_after_kill(api: LocalBotAPI, bot: Bot, db: Database, instances: int) -> None:
    for person in PEOPLE:
        api.add_user(person, f"联络员{person}")
    api.fail_randomly("sendMessage", 0.5, 429, retry_after=1, seed=7)
    delivered: dict[int, int] = {}
    victims: list[asyncio.subprocess.Process] = []
    leader = 0

    def watch(call: RecordedCall) -> None:
        if call.method == "sendMessage" and call.ok and "提醒" in str(call.params.get("text")):
            chat = int(call.params["chat_id"])
            delivered[chat] = delivered.get(chat, 0) + 1
            if sum(delivered.values()) == 15 and not victims:
                victim = bot.procs[leader]  # the one sending
                victims.append(victim)
                bot.kill(victim)  # mid fan-out, before this send's answer reaches it

    api.observers.append(watch)
    for _ in range(instances):
        await bot.start()
    if bot.command == "webhook":
        found = await until("a leader", lambda: _leader_plus_one(bot))
        leader = found - 1
    async with db.session() as s:  # planned once the sender is up: due at once
        await weekly_repo.enqueue(s, [planned(p, datetime.now(UTC)) for p in PEOPLE])
    await until("the kill", lambda: victims)
    await victims[0].wait()
    if instances == 1:
        await bot.start()

    async def settled() -> list[OutboxMessage] | None:
        async with db.session() as s:
            rows = list(
                (
                    await s.scalars(
                        select(OutboxMessage).where(OutboxMessage.kind == "remind:kill")
                    )
                ).all()
            )
        return rows if all(r.status in ("sent", "sending") for r in rows) else None

    rows = await until("every reminder sent", settled)
    api.fail_randomly("sendMessage", 0)
    assert max(delivered.values()) == 1  # nothing sent twice
    in_flight = [r for r in rows if r.status == "sending"]
    # only rows whose send was under way at the kill may be left unknown (one per send worker)
    assert len(in_flight) <= 8 and all(r.attempted_at is not None for r in in_flight)
    assert {r.chat_id for r in rows if r.status == "sent"} | {r.chat_id for r in in_flight} == set(
        PEOPLE
    )
    assert all(delivered.get(r.chat_id) == 1 for r in rows if r.status == "sent")  # sent = arrived
    lost = [p for p in PEOPLE if p not in delivered and p not in {r.chat_id for r in in_flight}]
    assert lost == []


async def _leader_plus_one(bot: Bot) -> int | None:
    index = await leader_of(bot)
    return None if index is None else index + 1


async def test_killed_in_the_middle_of_a_fan_out_answered_429_half_the_time(
    stand_in: LocalBotAPI, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    db = await schema(url)
    bot = Bot(stand_in, url, tmp_path)
    try:
        await fan_out_after_kill(stand_in, bot, db, instances=1)
    except BaseException:
        print(bot.logs())
        raise
    finally:
        await bot.stop_all()
        await db.dispose()


async def test_two_instances_on_postgresql_the_leader_killed_mid_fan_out_and_mid_queue(
    stand_in: LocalBotAPI, tmp_path: Path
) -> None:
    url = pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail("LEADBOT_TEST_PG_URL is not set in CI")
        pytest.skip("LEADBOT_TEST_PG_URL not set")
    await reset_postgres(url)
    db = await schema(url)
    bot = Bot(stand_in, url, tmp_path, command="webhook")
    try:
        await fan_out_after_kill(stand_in, bot, db, instances=2)
        # updates accepted by an instance that is killed are handled by the other one
        alive = [i for i, p in enumerate(bot.procs) if p.returncode is None]
        assert len(alive) == 1
        base = f"http://127.0.0.1:{bot.ports[alive[0]]}"
        survivor = bot.procs[alive[0]]
        assert survivor.returncode is None
        async with aiohttp.ClientSession(base) as http:
            for number, name in enumerate(NAMES, start=1):
                body = _update(number, f"/addunit {name}")
                async with http.post(
                    "/telegram", json=body, headers={SECRET_HEADER: SECRET}
                ) as resp:
                    assert resp.status == 200
        await assert_every_unit_added_once(stand_in, db)
    except BaseException:
        print(bot.logs())
        raise
    finally:
        await bot.stop_all()
        await db.dispose()


async def test_two_instances_on_postgresql_the_one_handling_accepted_updates_killed(
    stand_in: LocalBotAPI, tmp_path: Path
) -> None:
    """The instance in the middle of the queue (it holds an update's lease, the rest are
    accepted and waiting) dies; the other, running all along, takes the leases over when
    they lapse and handles every update once."""
    url = pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail("LEADBOT_TEST_PG_URL is not set in CI")
        pytest.skip("LEADBOT_TEST_PG_URL not set")
    await reset_postgres(url)
    db = await schema(url)
    api = stand_in
    bot = Bot(api, url, tmp_path, command="webhook")
    victims: list[int] = []
    replies = 0

    def watch(call: RecordedCall) -> None:
        nonlocal replies
        if call.method == "sendMessage" and "已新增单位" in str(call.params.get("text")):
            replies += 1
            if replies == 3 and call.peer is not None:
                pids = [p.pid for p in bot.procs]
                owner = owner_of_port(call.peer[1], pids)
                if owner is not None:
                    victims.append(pids.index(owner))
                    os.kill(owner, signal.SIGKILL)  # before this reply's answer reaches it

    try:
        for _ in range(2):
            await bot.start()
        await until("both instances up", lambda: _all_healthy(bot))
        api.observers.append(watch)
        async with aiohttp.ClientSession() as http:
            for number, name in enumerate(NAMES, start=1):
                body = _update(number, f"/addunit {name}")
                port = bot.ports[number % 2]  # accepted by both instances
                async with http.post(
                    f"http://127.0.0.1:{port}/telegram", json=body, headers={SECRET_HEADER: SECRET}
                ) as resp:
                    assert resp.status == 200
        await until("the kill", lambda: victims)
        victim = bot.procs[victims[0]]
        await victim.wait()
        assert victim.returncode == -signal.SIGKILL
        survivor = bot.procs[1 - victims[0]]
        await assert_every_unit_added_once(api, db)
        assert survivor.returncode is None  # the other instance did it, no restart
    except BaseException:
        print(bot.logs())
        raise
    finally:
        await bot.stop_all()
        await db.dispose()


async def _all_healthy(bot: Bot) -> bool:
    for port in bot.ports:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(
                    f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=4)
                ) as resp,
            ):
                if resp.status != 200:
                    return False
        except (aiohttp.ClientError, TimeoutError):
            return False
    return True


def owner_of_port(port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` owns the TCP socket bound to local ``port`` (Linux ``/proc``): the
    stand-in knows a call's peer address, this says which bot process made the call."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{cols[9]}]")
    for pid in pids:
        try:
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except OSError:
            continue
        if links & inodes:
            return pid
    return None


# --- a form: the answer is kept when the bot dies as its next question reaches Telegram -------

ZHANG = 1101  # the demo's liaison of 招商引资部


def asked(api: LocalBotAPI, chat: int, marker: str) -> list[RecordedCall]:
    return [
        c
        for c in api.calls
        if c.ok
        and c.method in ("sendMessage", "editMessageText")
        and int(c.params.get("chat_id", 0)) == chat
        and marker in str(c.params.get("text"))
    ]


async def test_killed_as_the_next_form_question_reached_telegram_keeps_the_answer(
    stand_in: LocalBotAPI, tmp_path: Path
) -> None:
    """The original loss: a typed answer, then a button answer, each followed by a kill -9
    the instant the next question arrives. The draft was committed before that question was
    sent, so after each restart the form goes on from the next step, and no question is
    asked twice (the answer's update is not handled again)."""
    from bot.operations.demo import seed_demo

    api = stand_in
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    db = await schema(url)
    async with db.session() as s:
        world = await seed_demo(s, datetime.now(UTC))
    for user in world.users:
        api.add_user(user.tg_id, user.name)
    bot = Bot(api, url, tmp_path)
    kill_on: list[str] = []

    def watch(call: RecordedCall) -> None:
        question = call.method in ("sendMessage", "editMessageText")
        if question and kill_on and kill_on[0] in str(call.params.get("text")):
            kill_on.clear()
            bot.kill(bot.procs[-1])  # before the question's answer leaves the stand-in

    async def killed_then_restarted() -> None:
        await until("the kill", lambda: not kill_on)
        await bot.procs[-1].wait()
        assert bot.procs[-1].returncode == -signal.SIGKILL
        await bot.start()

    api.observers.append(watch)
    try:
        await bot.start()
        await until("the bot polling", lambda: api.calls_of("getUpdates"))
        api.send_text(ZHANG, "/report")
        await until("the first question", lambda: asked(api, ZHANG, "项目名称"))
        kill_on.append("投资方（企业全称）")
        api.send_text(ZHANG, "年产5万吨新材料项目")  # typed: kept across the kill
        await killed_then_restarted()
        api.send_text(ZHANG, "浙江华峰新材料有限公司")
        await until("the industry question", lambda: asked(api, ZHANG, "请选择<b>行业</b>"))
        kill_on.append("计划投资额")
        api.press(ZHANG, ZHANG, "新材料")  # a button: kept across the kill
        await killed_then_restarted()
        api.send_text(ZHANG, "1.2亿")
        await until("the origin question", lambda: asked(api, ZHANG, "来源地"))
        assert len(asked(api, ZHANG, "投资方（企业全称）")) == 1  # nothing handled twice
        assert len(asked(api, ZHANG, "计划投资额")) == 1
        assert len(asked(api, ZHANG, "请选择<b>行业</b>")) == 1
        async with db.session() as s:
            draft = (await s.scalars(select(FormDraft))).one()
        values = draft.data["values"]
        assert values["project"] == "年产5万吨新材料项目"
        assert values["company"] == "浙江华峰新材料有限公司"
        assert values["industry"] == "新材料" and str(values["amount"]) == "12000"
    except BaseException:
        print(bot.logs())
        raise
    finally:
        await bot.stop_all()
        await db.dispose()
