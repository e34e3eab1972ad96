"""`leadbot webhook`: Telegram posts updates, operators probe /healthz and /metrics.

The real WebhookServer and Application against the Bot API stand-in; the test plays
Telegram's side of the webhook by POSTing updates as Telegram would.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.assembly.app import LeadbotApplication, build_application
from bot.assembly.clock import ManualClock
from bot.assembly.webhook import MAX_BODY_BYTES, SECRET_HEADER, WebhookServer
from bot.localapi import LocalBotAPI
from storage.db import Database
from tests.e2e.conftest import make_settings

SECRET = "s3cret_for-tests"
PUBLIC_URL = "https://bot.example.com"
STRANGER = 4242
TIMEOUT = 15.0
STARTUP = 90.0  # a `leadbot` process starting up on a loaded CI machine (as the kill suite)
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Hook:
    api: LocalBotAPI
    app: LeadbotApplication
    server: WebhookServer
    http: aiohttp.ClientSession
    clock: ManualClock
    handled: list[int] = field(default_factory=list)
    _events: dict[int, asyncio.Event] = field(default_factory=dict)

    def on_update(self, update: Any, outcome: str, elapsed: float) -> None:
        self.handled.append(update.update_id)
        self._events.setdefault(update.update_id, asyncio.Event()).set()

    async def handled_update(self, update_id: int) -> None:
        await asyncio.wait_for(self._events.setdefault(update_id, asyncio.Event()).wait(), TIMEOUT)

    def update(
        self, update_id: int, user_id: int = STRANGER, text: str = "/start"
    ) -> dict[str, Any]:
        """What Telegram would post for a private text message."""
        user = {"id": user_id, "is_bot": False, "first_name": "路人", "language_code": "zh-hans"}
        message: dict[str, Any] = {
            "message_id": update_id,
            "date": int(self.clock.now().timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": "路人"},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return {"update_id": update_id, "message": message}

    async def post(
        self, body: Any, secret: str | None = SECRET, **kwargs: Any
    ) -> aiohttp.ClientResponse:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if isinstance(body, (bytes, bytearray)) or hasattr(body, "__aiter__"):
            kwargs["data"] = body
            headers["Content-Type"] = "application/json"
        else:
            kwargs["json"] = body
        async with self.http.post("/telegram", headers=headers, **kwargs) as resp:
            await resp.read()
            return resp

    async def get_json(self, path: str) -> tuple[int, dict[str, Any]]:
        async with self.http.get(path) as resp:
            return resp.status, await resp.json()

    async def metrics(self) -> str:
        async with self.http.get("/metrics") as resp:
            assert resp.status == 200 and resp.content_type == "text/plain"
            return await resp.text()

    def replies_to(self, chat_id: int) -> list[str]:
        return [
            str(c.params.get("text"))
            for c in self.api.calls_of("sendMessage")
            if c.ok and c.params.get("chat_id") == chat_id
        ]


@pytest.fixture
async def hook(sqlite_db: Database, clock: ManualClock) -> AsyncIterator[Hook]:
    api = LocalBotAPI(now=lambda: clock.now().timestamp())
    await api.start()
    api.add_user(STRANGER, "路人")
    settings = make_settings(sqlite_db.url, webhook_url=PUBLIC_URL, webhook_secret=SECRET)
    app = build_application(
        settings,
        sqlite_db,
        clock,
        token=api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        run_jobs=False,
    )
    server = WebhookServer.from_settings(app, settings)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(server.base_url) as http:
            h = Hook(api, app, server, http, clock)
            app.update_listeners.append(h.on_update)
            yield h
    finally:
        await server.stop()
        await api.stop()


async def test_start_registers_the_webhook_with_its_secret(hook: Hook) -> None:
    assert hook.api.webhook is not None
    assert hook.api.webhook["url"] == f"{PUBLIC_URL}/telegram"
    assert hook.api.webhook["secret_token"] == SECRET
    assert set(hook.api.webhook["allowed_updates"]) == {
        "message",
        "callback_query",
        "my_chat_member",
    }
    assert not hook.api.calls_of("getUpdates"), "a webhook instance must not poll"


async def test_stranger_start_posted_by_telegram_is_answered(hook: Hook) -> None:
    resp = await hook.post(hook.update(1))
    assert resp.status == 200
    await hook.handled_update(1)
    assert any("本机器人仅供已登记的单位使用" in text for text in hook.replies_to(STRANGER))


@pytest.mark.parametrize("secret", ["wrong-secret", "", None, SECRET + "x", SECRET[:-1]])
async def test_wrong_or_missing_secret_is_refused_and_nothing_is_handled(
    hook: Hook, secret: str | None
) -> None:
    resp = await hook.post(hook.update(1), secret=secret)
    assert resp.status == 403
    # The queue is first in, first out: had update 1 been queued, it would be handled before 2.
    assert (await hook.post(hook.update(2))).status == 200
    await hook.handled_update(2)
    assert hook.handled == [2]
    assert len(hook.replies_to(STRANGER)) == 1


async def test_oversized_body_is_refused_with_413(hook: Hook) -> None:
    big = b'{"update_id": 5, "padding": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert (await hook.post(big)).status == 413

    async def chunks() -> AsyncIterator[
        bytes
    ]:  # no Content-Length: aiohttp stops reading at the limit
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    assert (await hook.post(chunks())).status == 413
    assert (await hook.post(b"not json")).status == 400
    assert (await hook.post(hook.update(6))).status == 200
    await hook.handled_update(6)
    assert hook.handled == [6]


async def test_healthz_reports_the_database_going_down_and_coming_back(
    hook: Hook, sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    status, body = await hook.get_json("/healthz")
    assert status == 200, body
    assert body["status"] == "ok" and body["database"] is True
    assert body["scheduler"]["last_run"] is None and body["scheduler"]["running"] is False
    assert body["scheduler"]["leader"]["is_leader"] is False  # run_jobs=False: never elected

    unreachable = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'missing.db'}")
    monkeypatch.setattr(sqlite_db, "engine", unreachable)
    status, body = await hook.get_json("/healthz")
    assert status == 503
    assert body["status"] == "fail" and body["database"] is False
    assert body["reason"] == "database: not reachable"

    monkeypatch.undo()
    await unreachable.dispose()
    status, body = await hook.get_json("/healthz")
    assert status == 200 and body["database"] is True


async def test_a_registered_probe_joins_healthz(hook: Hook) -> None:
    backlog = {"backlog": 3, "failed": 0}

    async def outbox() -> tuple[bool, dict[str, Any]]:
        return backlog["failed"] == 0, dict(backlog)

    hook.app.health.register("outbox", outbox)
    status, body = await hook.get_json("/healthz")
    assert status == 200 and body["outbox"] == {"backlog": 3, "failed": 0}
    backlog["failed"] = 2
    status, body = await hook.get_json("/healthz")
    assert status == 503 and body["outbox"]["failed"] == 2 and body["reason"] == "outbox: failed"


async def test_metrics_count_updates_by_type_and_outcome(hook: Hook) -> None:
    before = await hook.metrics()
    assert 'leadbot_updates_total{outcome="ok",type="message"} 0.0' in before
    assert (
        "leadbot_outbox_sent_total 0.0" in before and "leadbot_reminders_sent_total 0.0" in before
    )
    assert "leadbot_db_pool_in_use" in before and "leadbot_scheduler_leader 0.0" in before

    await hook.post(hook.update(1))
    await hook.post(hook.update(2, text="随便说点什么"))
    await hook.handled_update(2)
    after = await hook.metrics()
    assert 'leadbot_updates_total{outcome="ok",type="message"} 2.0' in after
    assert "leadbot_update_seconds_count 2.0" in after


async def test_leads_by_stage_are_read_at_scrape_time(hook: Hook) -> None:
    async def stages() -> dict[str, int]:
        return {"线索": 4, "签约": 1}

    hook.app.metrics.set_leads_by_stage(stages)
    text = await hook.metrics()
    assert 'leadbot_leads_by_stage{stage="线索"} 4.0' in text
    assert 'leadbot_leads_by_stage{stage="签约"} 1.0' in text


async def test_stop_finishes_the_updates_already_accepted(hook: Hook) -> None:
    for update_id in (1, 2, 3):
        assert (await hook.post(hook.update(update_id, text=f"消息{update_id}"))).status == 200
    await hook.server.stop()  # no waiting for the handlers first
    assert hook.handled == [1, 2, 3]
    assert not hook.app.running


async def test_a_failing_handler_counts_as_an_error(hook: Hook) -> None:
    async def boom(update: Update, context: object) -> None:
        raise RuntimeError("boom")

    hook.app.add_handler(MessageHandler(filters.Regex("^boom$"), boom), group=-200)
    await hook.post(hook.update(1, text="boom"))
    await hook.handled_update(1)
    text = await hook.metrics()
    assert 'leadbot_updates_total{outcome="error",type="message"} 1.0' in text
    assert 'leadbot_updates_total{outcome="ok",type="message"} 0.0' in text


async def test_leadbot_webhook_process_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """The real command: JSON logs, token never logged, SIGTERM ends it with status 0."""
    api = LocalBotAPI()
    await api.start()
    api.add_user(STRANGER, "路人")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LEADBOT_") and k != "DATABASE_URL"
    }
    env.update(
        LEADBOT_TOKEN=api.token,
        LEADBOT_BOT_API_URL=api.base_url,
        LEADBOT_WEBHOOK_URL=PUBLIC_URL,
        LEADBOT_WEBHOOK_SECRET=SECRET,
        LEADBOT_WEBHOOK_LISTEN="127.0.0.1",
        LEADBOT_WEBHOOK_PORT=str(port),
        LEADBOT_LOG_JSON="true",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        LEADBOT_ADMINS="1000",  # issue 17: serving without an admin is refused
        PYTHONPATH=str(ROOT),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.assembly.cli",
        "webhook",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_for(lambda c: c.method == "setWebhook", timeout=STARTUP)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            async with http.get("/healthz") as resp:
                assert resp.status == 200
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "text": "/start",
                    "chat": {"id": STRANGER, "type": "private", "first_name": "路人"},
                    "from": {"id": STRANGER, "is_bot": False, "first_name": "路人"},
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                },
            }
            async with http.post("/telegram", json=update, headers={SECRET_HEADER: SECRET}) as resp:
                assert resp.status == 200
        reply = await api.wait_for(
            lambda c: c.method == "sendMessage" and c.params.get("chat_id") == STRANGER, TIMEOUT
        )
        assert "本机器人仅供已登记的单位使用" in str(reply.params["text"])
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
        assert proc.returncode == 0, err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await api.stop()
    records = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert records and all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
    assert any(r["message"] == "stopping: finishing the updates in hand" for r in records)
    assert any(r["message"] == f"webhook registered at {PUBLIC_URL}/telegram" for r in records)
    assert api.token.split(":")[1] not in err.decode() and SECRET not in err.decode()
