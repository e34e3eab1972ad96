"""``leadbot run`` with DingTalk and no Telegram token: a whole bot, not only a chat.

The process is started the way an operator starts it (``python -m bot.assembly.cli run``,
settings in the environment, the OpenAPI base URL pointing at our DingTalk stand-in) and
must: answer DingTalk messages, run the schedule whose outbox sends a planned notice to a
DingTalk member through DingTalk (no Telegram anywhere), serve the web app, and stop
cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.dingtalk_standin import DingTalkStandIn
from bot.notifier import Recipient, notify
from bot.services.identities import principal_of
from storage.db import Database
from tests.e2e.web.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BOUND = 90.0  # any one wait, start-up of a loaded CI machine included


async def until(what: str, check: object) -> object:
    deadline = time.monotonic() + BOUND
    while True:
        found = check() if callable(check) else None
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)  # polling for the process to act, not waiting for a deadline


@pytest.fixture
async def standin() -> AsyncIterator[DingTalkStandIn]:
    s = DingTalkStandIn()
    s.start()
    s.add_user("admin1", "管理员")
    s.add_user("liaison1", "王联络")
    try:
        yield s
    finally:
        s.stop()


async def test_dingtalk_alone_answers_schedules_sends_and_serves_the_web_app(
    standin: DingTalkStandIn, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'dt.db'}"
    web_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEADBOT_", "DINGTALK_"))}
    env.update(
        DATABASE_URL=url,
        DINGTALK_OPENAPI_ENDPOINT=standin.base_url,
        LEADBOT_DINGTALK_CLIENT_ID=standin.client_id,
        LEADBOT_DINGTALK_CLIENT_SECRET=standin.client_secret,
        LEADBOT_DINGTALK_ROBOT_CODE=standin.robot_code,
        LEADBOT_DINGTALK_ADMINS="admin1",
        LEADBOT_WEB_URL=f"http://127.0.0.1:{web_port}",
        LEADBOT_WEB_SECRET="dingtalk-only-web-secret-0123",
        LEADBOT_WEB_PORT=str(web_port),
        LEADBOT_WEBHOOK_LISTEN="127.0.0.1",
        LEADBOT_LEADER_RETRY_SECONDS="0.5",
        PYTHONPATH=str(ROOT),
    )
    env.pop("LEADBOT_TOKEN", None)
    log = (tmp_path / "bot.log").open("ab")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.assembly.cli",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        await asyncio.to_thread(standin.wait_connected, BOUND)
        # It answers DingTalk: the admin's help.
        msg = await asyncio.to_thread(standin.send_text, "admin1", "帮助")
        assert msg is not None
        await asyncio.to_thread(standin.wait_acked, msg, BOUND)
        assert any(m.to == ("user", "admin1") for m in standin.messages())
        # The schedule runs and its outbox sends through DingTalk: a notice planned for a
        # DingTalk principal (as a service plans one) reaches the stand-in by itself.
        db = Database(url)
        try:
            async with db.session() as s:
                from datetime import UTC, datetime

                now = datetime.now(UTC)
                principal = await principal_of(s, now, "dingtalk", "user", "liaison1", "王联络")
                await notify(
                    s,
                    Recipient.telegram(principal, "王联络", "zh_CN"),
                    "test.hello",
                    {},
                    now=now,
                    key="dingtalk-only",
                    template="web.signin.title",
                )
        finally:
            await db.dispose()
        sent = await until(
            "the scheduled outbox to send through DingTalk",
            lambda: [m for m in standin.messages(("user", "liaison1")) if "招商线索报送" in m.text],
        )
        assert len(sent) == 1  # type: ignore[arg-type]
        # The web app is served (its sign-in page: no session here).
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{web_port}/app/") as r,
        ):
            assert r.status == 401 and "招商线索报送" in await r.text()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), BOUND) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        logs = (tmp_path / "bot.log").read_text(errors="replace")
        assert "Traceback" not in logs, logs[-3000:]
