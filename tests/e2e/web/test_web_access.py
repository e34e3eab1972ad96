"""The web app's doors: who gets in, who gets 401, and what each may read (issue: web forms)."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.e2e.web.conftest import WebHarness, report

LEADER, ZHANG, LI = 1001, 1101, 1102  # the leader; liaisons of 招商引资部 and 经济发展局
STRANGER = 4242


async def test_forged_init_data_is_refused_with_401(web: WebHarness) -> None:
    forged = web.init_data(ZHANG).replace("hash=", "hash=0")
    async with await web.client() as c:
        async with c.post("/app/api/session", json={"initData": forged}) as r:
            assert r.status == 401
        async with c.get("/app/api/leads") as r:
            assert r.status == 401
            assert "rows" not in await r.text()


async def test_init_data_older_than_the_limit_is_refused(web: WebHarness) -> None:
    old = web.init_data(ZHANG, age=web.h.settings.web_initdata_max_age + 60)
    async with await web.client() as c, c.post("/app/api/session", json={"initData": old}) as r:
        assert r.status == 401


async def test_a_stranger_with_valid_init_data_gets_401(web: WebHarness) -> None:
    async with await web.client() as c:
        async with c.post("/app/api/session", json={"initData": web.init_data(STRANGER)}) as r:
            assert r.status == 401
        async with c.get("/app/report") as r:
            assert r.status == 401
            body = await r.text()
            assert "请先登录" in body and "<form" not in body


async def test_pages_without_a_session_get_401_and_no_data(web: WebHarness) -> None:
    async with await web.client() as c:
        for path in ("/app/leads", "/app/dashboard", "/app/weekly", "/app/api/leads/L0001"):
            async with c.get(path) as r:
                assert r.status == 401, path
                assert "L0001" not in await r.text()


async def test_a_sign_in_link_works_once(web: WebHarness) -> None:
    replies = await web.h.send(ZHANG, "/web")
    url = next(word for word in replies.text.split() if "/app/login?t=" in word)
    path = url.split("127.0.0.1", 1)[1].split(":", 1)[1].split("/", 1)[1]
    async with await web.client() as c:
        async with c.get("/" + path, allow_redirects=False) as r:
            assert r.status == 303
        async with c.get("/app/leads") as r:
            assert r.status == 200
    async with await web.client() as other, other.get("/" + path, allow_redirects=False) as r:
        assert r.status == 401


async def test_a_sign_in_link_expires_after_ten_minutes(web: WebHarness) -> None:
    replies = await web.h.send(ZHANG, "/web")
    path = "/app/login?t=" + replies.text.split("/app/login?t=", 1)[1].split()[0]
    web.h.clock.advance(timedelta(minutes=11))
    async with await web.client() as c, c.get(path, allow_redirects=False) as r:
        assert r.status == 401


async def test_post_without_the_csrf_token_is_forbidden(web: WebHarness) -> None:
    async with await web.client(ZHANG) as c:
        async with c.post("/app/report", data={"project": "x"}) as r:
            assert r.status == 403
        async with c.post("/app/report", data={"project": "x", "csrf": "nope"}) as r:
            assert r.status == 403


async def test_a_post_from_another_origin_is_forbidden(web: WebHarness) -> None:
    async with await web.client(ZHANG) as c:
        async with c.get("/app/report") as r:
            csrf = _csrf(await r.text())
        headers = {"Origin": "https://evil.example"}
        async with c.post("/app/report", data={"csrf": csrf}, headers=headers) as r:
            assert r.status == 403


async def test_a_liaison_reads_only_the_outline_of_another_units_lead(web: WebHarness) -> None:
    await report(web.h, ZHANG, "宁波舟山港股份有限公司")
    await report(web.h, LI, "宁德时代新能源科技股份有限公司")
    async with await web.client(LI) as c:
        async with c.get("/app/api/leads") as r:
            rows = (await r.json())["rows"]
        foreign = [row for row in rows if row["unit_name"] != "经济发展局"]
        assert foreign, "the demo has leads of other units"
        assert all(row["company"] is None and row["industry"] is None for row in foreign)
        code = foreign[0]["code"]
        async with c.get(f"/app/api/leads/{code}") as r:
            lead = (await r.json())["lead"]
        assert set(lead) == {"code", "project", "unit_name", "stage", "full", "history"}
        assert lead["history"] == []
        async with c.get(f"/app/leads/{code}") as r:
            page = await r.text()
        assert "联系人" not in page and "投资方" not in page
        async with c.get("/app/api/leads", params={"q": "舟山港股份"}) as r:
            words = (await r.json())["rows"]
        assert words == [], "another unit's company name must not be searchable"
        async with c.get("/app/api/leads", params={"q": "宁德时代新能源科技"}) as r:
            assert [row["unit_name"] for row in (await r.json())["rows"]] == ["经济发展局"]


async def test_the_credit_code_is_on_the_full_card_only(web: WebHarness) -> None:
    credit = "91350100M000100Y43"
    code = await report(web.h, ZHANG, "北京云算科技有限公司", credit_code=credit)
    for who in (ZHANG, LEADER):
        async with await web.client(who) as c:
            async with c.get(f"/app/api/leads/{code}") as r:
                assert (await r.json())["lead"]["credit_code"] == credit
            async with c.get(f"/app/leads/{code}") as r:
                page = await r.text()
            assert f"<dt>统一社会信用代码</dt><dd>{credit}</dd>" in page
    async with await web.client(LI) as c:
        async with c.get(f"/app/api/leads/{code}") as r:
            assert "credit_code" not in (await r.json())["lead"]
        async with c.get(f"/app/leads/{code}") as r:
            page = await r.text()
        assert credit not in page and "统一社会信用代码" not in page


async def test_a_leader_sees_every_field(web: WebHarness) -> None:
    await report(web.h, ZHANG, "宁波舟山港股份有限公司")
    async with await web.client(LEADER) as c, c.get("/app/api/leads") as r:
        rows = (await r.json())["rows"]
    assert rows and all(row["full"] for row in rows)


async def test_the_dashboard_is_for_leaders_and_equals_rank(web: WebHarness) -> None:
    async with await web.client(ZHANG) as c, c.get("/app/api/dashboard") as r:
        assert r.status == 400
    for kind in ("week", "month", "quarter", "year"):
        replies = await web.h.send(LEADER, f"/rank {kind}")
        async with (
            await web.client(LEADER) as c,
            c.get("/app/api/dashboard", params={"kind": kind}) as r,
        ):
            rows = (await r.json())["rows"]
        for row in rows:
            assert f"{row['unit']}" in replies.text
            line = next(li for li in replies.text.splitlines() if row["unit"] in li)
            assert f"{row['points']}" in line, (kind, line, row)
        # issue 15 honest movement: the page's 新 / arrows / no arrows are /rank's words
        async with (
            await web.client(LEADER) as c,
            c.get("/app/dashboard", params={"kind": kind}) as r,
        ):
            page = await r.text()
        cells = re.findall(
            r'<a href="/app/dashboard/unit/\d+[^"]*">([^<]+)</a></td>'
            r'<td class="num points">[^<]*</td><td class="move">([^<]*)</td>',
            page,
        )
        assert len(cells) == len(rows), kind
        for name, move in cells:
            line = next(li for li in replies.text.splitlines() if name in li)
            assert move in line, (kind, name, move, line)
        assert ("没有单位得分" in page) == ("没有单位得分" in replies.text), kind


async def test_every_page_has_a_strict_content_security_policy(web: WebHarness) -> None:
    pages = {
        ZHANG: ("/app/report", "/app/leads", "/app/weekly"),
        LEADER: ("/app/dashboard", "/app/static/app.js"),
    }
    for user, paths in pages.items():
        async with await web.client(user) as c:
            for path in paths:
                async with c.get(path) as r:
                    assert r.status == 200, path
                    csp = r.headers["Content-Security-Policy"]
                    assert (
                        "default-src 'none'" in csp
                        and "http" not in csp.split("frame-ancestors")[0]
                    )
                    body = await r.read()
                    assert len(body) < 200_000
                    assert b"https://" not in body and b"//cdn" not in body


def _csrf(page: str) -> str:
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


async def test_report_in_private_chat_offers_the_web_form(web: WebHarness) -> None:
    replies = await web.h.send(ZHANG, "/report")
    button = next(b for r in replies.items for row in r.buttons for b in row if "web_app" in b)
    assert button["text"] == "在表单中填写"
    assert button["web_app"]["url"] == f"{web.base}/app/report"


async def test_members_get_a_menu_button_that_opens_the_app(web: WebHarness) -> None:
    button = web.h.api.menu_buttons[None]
    assert button["type"] == "web_app" and button["web_app"]["url"] == f"{web.base}/app/"


async def test_the_webhook_server_serves_the_web_app_on_its_port(
    sqlite_db: object, clock: object
) -> None:
    """``leadbot webhook``: Telegram's updates, /healthz and /app/ share one port."""
    import aiohttp

    from bot.assembly.app import build_application
    from bot.assembly.webhook import WebhookServer
    from bot.localapi import LocalBotAPI
    from tests.e2e.conftest import make_settings

    api = LocalBotAPI(now=lambda: clock.now().timestamp())  # type: ignore[attr-defined]
    await api.start()
    settings = make_settings(
        sqlite_db.url,
        webhook_url="https://bot.example.com",
        webhook_secret="s3cret",  # type: ignore[attr-defined]
        web_url="https://bot.example.com",
    )
    app = build_application(
        settings,
        sqlite_db,
        clock,
        token=api.token,
        base_url=api.base_url,  # type: ignore[arg-type]
        base_file_url=api.base_file_url,
        run_jobs=False,
    )
    server = WebhookServer.from_settings(app, settings)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession(server.base_url) as http:
            async with http.get("/app/report") as r:
                assert r.status == 401 and "请先登录" in await r.text()
            async with http.get("/app/static/app.css") as r:
                assert r.status == 200
            async with http.get("/healthz") as r:
                assert r.status in (200, 503)
    finally:
        await server.stop()
        await api.stop()


def _sent_to(web: WebHarness, chat_id: int) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in web.h.api.calls_of("sendMessage")
        if c.ok and c.params.get("chat_id") == chat_id
    ]


async def test_a_weekly_submitted_on_the_web_asks_the_head_who_confirms_on_the_web(
    web: WebHarness,
) -> None:
    head = 1201  # 赵主任, head of 招商引资部
    async with await web.client(ZHANG) as c:
        async with c.get("/app/weekly") as r:
            csrf = _csrf(await r.text())
        form = {"csrf": csrf, "trips": "", "work": "走访企业3家"}
        async with c.post("/app/weekly", data=form) as r:
            assert r.status == 200 and "已请 赵主任 确认" in await r.text()
    asked = _sent_to(web, head)
    assert len(asked) == 1 and "等待您确认" in asked[0]
    async with await web.client(head) as c:
        async with c.get("/app/weekly") as r:
            page = await r.text()
            assert 'id="review"' in page and "走访企业3家" in page
            version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
            csrf = _csrf(page)
        data = {"csrf": csrf, "version": version, "action": "confirm"}
        async with c.post("/app/weekly/decide", data=data) as r:
            assert r.status == 200 and "已确认" in await r.text()
        async with c.post("/app/weekly/decide", data=data) as r:  # pressed twice: refused
            assert r.status == 400
    told = _sent_to(web, ZHANG)
    assert len(told) == 1 and "赵主任" in told[0]
