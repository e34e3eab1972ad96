"""In a real browser: the weekly page's per-lead row moves a lead's stage on submit."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Lead
from tests.e2e.web.conftest import WebHarness, report
from tests.e2e.web.test_web_browser import ZHANG, browser, open_as, shot

__all__ = ["browser"]  # the fixture, shared with the other browser tests


async def test_a_liaison_writes_progress_and_moves_the_stage_in_one_row(
    browser: object, web: WebHarness
) -> None:
    code = await report(web.h, ZHANG, "浙江华峰新材料有限公司")
    async with web.h.db.session() as s:
        lead = next(x for x in (await s.scalars(select(Lead))).all() if x.code == code)
    page = await open_as(browser, web, ZHANG, "/app/weekly")
    await page.fill(f"#p{lead.id}_text", "已签框架协议")  # type: ignore[attr-defined]
    await page.select_option(f"#p{lead.id}_stage", "签约")  # type: ignore[attr-defined]
    await page.get_by_label("工作信息").fill("走访企业3家")  # type: ignore[attr-defined]
    await shot(page, "weekly-rows")
    await page.get_by_role("button", name="提交周报").click()  # type: ignore[attr-defined]
    await page.wait_for_selector("#submitted")  # type: ignore[attr-defined]
    async with web.h.db.session() as s:
        assert (await s.get(Lead, lead.id)).stage == "签约"  # type: ignore[union-attr]
