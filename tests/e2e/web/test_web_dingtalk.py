"""The web app opened inside DingTalk (an H5 micro app of the 工作台): 免登.

The page asks DingTalk's JSAPI for a one-time auth code and posts it; the bot asks the
DingTalk OpenAPI (our stand-in, over real HTTP) whose code it is and signs that member in.
Over HTTP for the rules, and in a real headless Chromium whose DingTalk JSAPI script is
served by the test (as DingTalk's in-app browser would load it, without the network).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.assembly.clock import ManualClock
from bot.assembly.config import DINGTALK_JSAPI_URL
from bot.dingtalk_standin import DingTalkStandIn
from bot.services.identities import link_identity
from handlers.dingtalk.sdk import point_sdk_at
from handlers.web.auth import WebUser
from handlers.web_wiring import serve_web
from storage.db import Database
from tests.e2e.conftest import make_settings
from tests.e2e.harness import Harness
from tests.e2e.web.conftest import WebHarness, free_port

ZHANG = 1101  # the first liaison of the demo jurisdiction, on DingTalk as staff id "zhang"
CORP = "ding0corp0standin"
DINGTALK_UA = (
    "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/117.0 Mobile Safari/537.36 AliApp(DingTalk/7.6.0) com.alibaba.android.rimet"
)


@dataclass
class DingTalkWeb:
    web: WebHarness
    standin: DingTalkStandIn

    async def client(self) -> aiohttp.ClientSession:
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[self.web.base])
        return aiohttp.ClientSession(self.web.base, cookie_jar=jar)

    @property
    def name(self) -> str:
        """The display name of the demo member who is "zhang" on DingTalk."""
        return next(u.name for u in self.web.h.world.users if u.tg_id == ZHANG)

    async def code(self, staff_id: str) -> str:
        import asyncio

        return await asyncio.to_thread(self.standin.auth_code, staff_id)


@pytest.fixture
async def dtweb(sqlite_db: Database, clock: ManualClock) -> AsyncIterator[DingTalkWeb]:
    standin = DingTalkStandIn()
    saved = os.environ.get("DINGTALK_OPENAPI_ENDPOINT")
    point_sdk_at(standin.start())
    for staff, nick in (("zhang", "张联络"), ("stranger", "路人")):
        standin.add_user(staff, nick)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        sqlite_db.url,
        web_url=base,
        dingtalk_client_id=standin.client_id,
        dingtalk_client_secret=standin.client_secret,
        dingtalk_robot_code=standin.robot_code,
        dingtalk_corp_id=CORP,
    )
    h = Harness(sqlite_db, clock, settings)
    await h.start()
    await h.seed()
    async with h.db.session() as s:
        await link_identity(s, clock.now(), "dingtalk", "user", "zhang", ZHANG, "张联络")
    assert h.app is not None and h.app.web is not None and h.app.web.dingtalk is not None
    runner = await serve_web(h.app, "127.0.0.1", port)
    try:
        yield DingTalkWeb(WebHarness(h, base), standin)
    finally:
        await runner.cleanup()
        await h.close()
        standin.stop()
        if saved is None:
            os.environ.pop("DINGTALK_OPENAPI_ENDPOINT", None)
        else:
            point_sdk_at(saved)


async def sign_in(client: aiohttp.ClientSession, code: str, **headers: str) -> int:
    async with client.post(
        "/app/api/session/dingtalk", json={"authCode": code}, headers=headers
    ) as r:
        return r.status


async def test_a_member_opened_from_dingtalk_is_signed_in_by_the_auth_code(
    dtweb: DingTalkWeb,
) -> None:
    async with await dtweb.client() as client:
        assert await sign_in(client, await dtweb.code("zhang")) == 200
        async with client.get("/app/report") as r:
            assert r.status == 200
            page = await r.text()
    assert dtweb.name in page and "项目名称" in page
    [call] = dtweb.standin.recorder.calls_to("/topapi/v2/user/getuserinfo")
    assert call.status == 200 and call.response["result"]["userid"] == "zhang"


async def test_a_code_is_good_once_and_forged_or_stranger_codes_get_nothing(
    dtweb: DingTalkWeb,
) -> None:
    code = await dtweb.code("zhang")
    async with await dtweb.client() as first:
        assert await sign_in(first, code) == 200
    async with await dtweb.client() as client:
        assert await sign_in(client, code) == 401  # used: DingTalk no longer knows it
        assert await sign_in(client, "forged-code") == 401
        assert await sign_in(client, await dtweb.code("stranger")) == 401  # not a member
        assert await sign_in(client, "x" * 5000) == 401  # too long: DingTalk is not asked
        assert (
            await sign_in(client, await dtweb.code("zhang"), Origin="https://evil.example") == 403
        )
        async with client.post(
            "/app/api/session/dingtalk",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        ) as r:
            assert r.status == 401
        async with client.get("/app/api/leads", headers={"Accept": "application/json"}) as r:
            assert r.status == 401 and dtweb.name not in await r.text()
    calls = dtweb.standin.recorder.calls_to("/topapi/v2/user/getuserinfo")
    assert all("x" * 200 not in json.dumps(c.body) for c in calls)


async def test_the_sign_in_page_loads_dingtalks_jsapi_only_inside_dingtalk(
    dtweb: DingTalkWeb,
) -> None:
    async with await dtweb.client() as client:
        async with client.get("/app/", headers={"User-Agent": DINGTALK_UA}) as r:
            inside, csp = await r.text(), r.headers["Content-Security-Policy"]
        async with client.get("/app/", headers={"User-Agent": "Mozilla/5.0 Chrome/120"}) as r:
            outside = await r.text()
    assert r.status == 401
    assert DINGTALK_JSAPI_URL in inside and f'data-dd-corp="{CORP}"' in inside
    assert DINGTALK_JSAPI_URL not in outside
    assert "script-src 'self' https://g.alicdn.com;" in csp


async def test_a_dingtalk_member_can_use_the_one_time_browser_link(dtweb: DingTalkWeb) -> None:
    app = dtweb.web.h.app
    assert app is not None
    link = await app.web.create_signin_link(WebUser("dingtalk", "zhang", "张联络"))
    async with await dtweb.client() as client:
        async with client.get(link.replace(dtweb.web.base, ""), allow_redirects=False) as r:
            assert r.status == 303
        async with client.get("/app/report") as r:
            assert r.status == 200 and dtweb.name in await r.text()


# --- in a real browser ------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FAKE_JSAPI = """
window.dd = {
  ready: function (fn) { setTimeout(fn, 0); },
  runtime: { permission: { requestAuthCode: function (o) {
    if (o.corpId !== %(corp)s) { o.onFail({ errorMessage: "corp" }); return; }
    o.onSuccess({ code: %(code)s });
  } } }
};
"""


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="no Chromium")
async def test_opened_from_the_workbench_the_page_signs_in_by_itself(dtweb: DingTalkWeb) -> None:
    from playwright.async_api import async_playwright

    code = await dtweb.code("zhang")
    script = FAKE_JSAPI % {"corp": json.dumps(CORP), "code": json.dumps(code)}
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            context = await browser.new_context(
                viewport={"width": 390, "height": 844}, user_agent=DINGTALK_UA, locale="zh-CN"
            )
            await context.route(
                DINGTALK_JSAPI_URL,
                lambda route: route.fulfill(body=script, content_type="application/javascript"),
            )
            page = await context.new_page()
            await page.goto(f"{dtweb.web.base}/app/report")
            await page.wait_for_selector("nav.tabs")  # signed in: the frame with tabs
            assert dtweb.name in await page.content()
            assert await page.locator("#signin").count() == 0
        finally:
            await browser.close()
