"""The web app in a real headless Chromium (Debian's, driven by Playwright), at a phone's size.

Opened the way Telegram opens a Mini App: the page's URL carries the signed launch data
in its fragment (``#tgWebAppData=…``), the page's own script signs in with it.
Screenshots of every page are written to ``test-artifacts/web/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from storage.models import Lead
from tests.e2e.web.conftest import WebHarness, report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"
PHONE = {"width": 390, "height": 844}
LEADER, ZHANG, LI = 1001, 1101, 1102

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(
            "CI must install Debian's chromium (.ci/run does: apt-get install chromium)"
        )
    pytest.skip("no Chromium: apt-get install chromium", allow_module_level=True)


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield b
        finally:
            await b.close()


async def open_as(browser: object, web: WebHarness, user: int, path: str) -> object:
    """A phone-sized page opened as Telegram opens the Mini App for ``user``."""
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2, locale="zh-CN")  # type: ignore[attr-defined]
    page = await context.new_page()
    await page.goto(
        f"{web.base}{path}#tgWebAppData={quote(web.init_data(user))}&tgWebAppVersion=8.0"
    )
    await page.wait_for_selector("nav.tabs")  # signed in: the frame with tabs is drawn
    return page


async def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))  # type: ignore[attr-defined]  # what the phone shows


async def test_a_liaison_fills_every_field_and_saves_with_the_next_code(
    browser: object, web: WebHarness
) -> None:
    await report(web.h, LI, "宁德时代新能源科技股份有限公司")  # L0001, another unit
    page = await open_as(browser, web, ZHANG, "/app/report")
    for label in (
        "项目名称",
        "投资方",
        "行业",
        "计划投资额",
        "来源地",
        "阶段",
        "标签",
        "外资",
        "联系人",
        "电话",
        "渠道",
        "备注",
    ):
        assert await page.locator("label", has_text=label).count() >= 1, label
    await page.get_by_label("项目名称").fill("年产5万吨新材料项目")
    await page.get_by_label("投资方").fill("浙江华峰新材料有限公司")
    await page.get_by_label("行业").select_option("新材料")
    await page.get_by_label("计划投资额").fill("一亿两千万")
    await page.wait_for_selector("#amount-hint.preview")
    assert "1.2亿元" in await page.inner_text("#amount-hint")
    await page.get_by_label("来源地").select_option("省外")
    await page.get_by_label("阶段").select_option("在谈")
    await page.locator(".chip", has_text="专精特新").click()
    await page.get_by_label("外资").fill("500万美元")
    await page.get_by_label("联系人").fill("陈经理")
    await page.get_by_label("电话").fill("13800138000")
    await page.get_by_label("渠道").select_option("展会")
    await page.get_by_label("备注").fill("<b>下周</b>到访 **考察**")
    await shot(page, "report-filled")
    await page.get_by_role("button", name="保存").click()
    await page.wait_for_load_state()
    if not await page.locator("#saved").count():
        print(await page.inner_text("main"))
    await page.wait_for_selector("#saved")
    assert "L0002" in await page.inner_text("#saved")
    assert "<b>下周</b>到访" in await page.inner_text("#lead-card")  # shown as text, not markup
    await shot(page, "lead-card")
    async with web.h.db.session() as s:
        lead = (await s.scalars(select(Lead).where(Lead.id == 2))).one()
    assert (lead.company, lead.industry, lead.amount_wan, lead.origin, lead.stage) == (
        "浙江华峰新材料有限公司",
        "新材料",
        12000,
        "省外",
        "在谈",
    )
    assert lead.tags == ["专精特新"] and lead.foreign_usd == 5_000_000 and lead.channel == "展会"
    assert lead.first_key is not None and lead.duplicate_of is None  # the first report


async def test_a_second_unit_sees_the_duplicate_before_saving(
    browser: object, web: WebHarness
) -> None:
    first = await report(web.h, ZHANG, "浙江华峰新材料有限公司")
    page = await open_as(browser, web, LI, "/app/report")
    await page.get_by_label("投资方").fill("浙江华峰新材料有限公司")
    warning = page.locator("#company-check[data-kind=duplicate]")
    await warning.wait_for()
    text = await warning.inner_text()
    assert first in text and "招商引资部" in text and "13800138000" not in text
    await shot(page, "report-duplicate")


async def test_the_leaders_dashboard_shows_every_units_rank_score(
    browser: object, web: WebHarness
) -> None:
    await report(web.h, ZHANG, "浙江华峰新材料有限公司", stage="签约")
    await report(web.h, LI, "宁德时代新能源科技股份有限公司")
    replies = await web.h.send(LEADER, "/rank month")
    page = await open_as(browser, web, LEADER, "/app/dashboard?kind=month")
    rows = await page.locator("#rank-table tbody tr").all()
    assert len(rows) == 4
    for row in rows:
        unit = await row.locator("td a").inner_text()
        points = await row.locator("td.points").inner_text()
        line = next(li for li in replies.text.splitlines() if unit in li)
        assert points in line, (unit, points, line)
    assert await page.locator("svg.bars rect").count() == 4
    await shot(page, "dashboard")
    await page.locator("#rank-table a").first.click()
    await page.wait_for_selector("#breakdown")
    await shot(page, "unit-breakdown")


async def test_leads_and_weekly_pages_at_phone_size(browser: object, web: WebHarness) -> None:
    await report(web.h, ZHANG, "浙江华峰新材料有限公司")
    await report(web.h, LI, "宁德时代新能源科技股份有限公司")
    page = await open_as(browser, web, ZHANG, "/app/leads")
    assert await page.locator("#lead-list li").count() == 2
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "no sideways scrolling on a phone"
    await shot(page, "leads")
    await page.goto(f"{web.base}/app/weekly")
    await page.wait_for_selector("#weekly-form")
    await shot(page, "weekly")
    await page.get_by_label("工作信息").fill("走访企业3家")
    await page.get_by_role("button", name="提交周报").click()
    await page.wait_for_selector("#submitted")
    assert "赵主任" in await page.inner_text("#submitted")  # the head is asked to confirm
