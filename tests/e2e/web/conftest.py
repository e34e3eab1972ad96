"""A bot with its web app on a free localhost port, the demo jurisdiction, and helpers that
open the app as a given Telegram user (signed launch data, as Telegram signs it)."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import aiohttp
import pytest

from bot.assembly.clock import ManualClock
from bot.services.access import resolve_actor
from bot.services.leads import LeadDraft, report_lead
from handlers.web.auth import sign_init_data
from handlers.web_wiring import serve_web
from storage.db import Database
from tests.e2e.conftest import make_settings
from tests.e2e.harness import Harness


async def report(
    h: Harness,
    tg: int,
    company: str,
    *,
    stage: str = "在谈",
    amount: str = "12000",
    project: str = "",
    credit_code: str | None = None,
) -> str:
    """A lead reported through the service, as the chat form does; returns its code."""
    async with h.db.session() as s:
        actor = await resolve_actor(s, h.settings, tg, "x", None)
    draft = LeadDraft(
        project=project or "智能制造产业园项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(amount),
        origin="省外",
        stage=stage,
        contact_name="陈经理",
        contact_phone="13800138000",
        credit_code=credit_code,
    )
    async with h.db.session() as s:
        return (await report_lead(s, h.clock.now(), actor, draft, h.settings)).code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WebHarness:
    h: Harness
    base: str

    @property
    def token(self) -> str:
        return self.h.api.token

    def init_data(self, user_id: int, *, age: int = 0, name: str = "测试") -> str:
        now = int(self.h.clock.now().timestamp()) - age
        user = json.dumps({"id": user_id, "first_name": name, "language_code": "zh-hans"})
        return sign_init_data({"auth_date": str(now), "query_id": "AAH", "user": user}, self.token)

    async def client(self, user_id: int | None = None) -> aiohttp.ClientSession:
        """A browser-like client; signed in as ``user_id`` through the Mini App launch data."""
        # Browsers treat http://127.0.0.1 as a secure origin (Secure cookies are sent).
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[self.base])
        client = aiohttp.ClientSession(self.base, cookie_jar=jar)
        if user_id is not None:
            async with client.post(
                "/app/api/session", json={"initData": self.init_data(user_id)}
            ) as r:
                assert r.status == 200, await r.text()
        return client


@pytest.fixture
async def web(sqlite_db: Database, clock: ManualClock) -> AsyncIterator[WebHarness]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    h = Harness(sqlite_db, clock, make_settings(sqlite_db.url, web_url=base))
    await h.start()
    await h.seed()
    assert h.app is not None and h.app.web is not None
    runner = await serve_web(h.app, "127.0.0.1", port)
    try:
        yield WebHarness(h, base)
    finally:
        await runner.cleanup()
        await h.close()
