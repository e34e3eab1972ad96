"""The web weekly page lists every lead of the unit, each with its progress and new stage."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Lead, WeeklyVersion
from tests.e2e.web.conftest import WebHarness, report

ZHANG, LI = 1101, 1102  # liaisons of 招商引资部 and 经济发展局


def _csrf(page: str) -> str:
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


async def _leads(web: WebHarness) -> dict[str, Lead]:
    async with web.h.db.session() as s:
        return {lead.code: lead for lead in (await s.scalars(select(Lead))).all()}


async def test_every_lead_of_the_unit_gets_a_row_with_its_stage_ahead(web: WebHarness) -> None:
    companies = [f"浙江华峰新材料{i}号有限公司" for i in range(5)]
    mine = [await report(web.h, ZHANG, c, project=f"项目{i}") for i, c in enumerate(companies)]
    other = await report(web.h, LI, "宁德时代新能源科技股份有限公司")
    leads = await _leads(web)
    async with await web.client(ZHANG) as c, c.get("/app/weekly") as r:
        page = await r.text()
    for code in mine:  # five leads: more than the three rows the page used to have
        lead = leads[code]
        assert f'name="p{lead.id}_text"' in page and f'name="p{lead.id}_stage"' in page
    select_html = page.split(f'name="p{leads[mine[0]].id}_stage"', 1)[1].split("</select>", 1)[0]
    assert "在谈（不变）" in select_html and "签约" in select_html
    assert ">线索<" not in select_html  # going back needs a leader, as in the chat
    assert f'name="p{leads[other].id}_text"' not in page  # another unit's lead: no row


async def test_progress_and_a_new_stage_per_row_are_saved_and_move_the_lead(
    web: WebHarness,
) -> None:
    first = await report(web.h, ZHANG, "浙江华峰新材料有限公司")
    second = await report(web.h, ZHANG, "杭州海康威视数字技术股份有限公司", project="视觉项目")
    third = await report(web.h, ZHANG, "比亚迪股份有限公司", project="电池项目")
    leads = await _leads(web)
    a, b, c3 = leads[first].id, leads[second].id, leads[third].id
    async with await web.client(ZHANG) as c:
        async with c.get("/app/weekly") as r:
            csrf = _csrf(await r.text())
        form = {
            "csrf": csrf,
            "trips": "",
            "work": "走访企业3家",
            f"p{a}_text": "已签框架协议",
            f"p{a}_stage": "签约",
            f"p{b}_text": "第二次洽谈",
            f"p{b}_stage": "",  # keeps its stage
            f"p{c3}_text": "",  # no progress this week: no entry
            f"p{c3}_stage": "",
        }
        async with c.post("/app/weekly", data=form) as r:
            assert r.status == 200, await r.text()
            assert 'id="submitted"' in await r.text()
    leads = await _leads(web)
    assert leads[first].stage == "签约" and leads[second].stage == "在谈"
    assert leads[third].stage == "在谈"
    async with web.h.db.session() as s:
        version = (await s.scalars(select(WeeklyVersion))).one()
    progress = version.content["progress"]
    assert sorted((p["lead"], p["text"], p["stage"]) for p in progress) == [
        (a, "已签框架协议", "签约"),
        (b, "第二次洽谈", None),
    ]


async def test_a_stage_change_without_progress_is_refused_and_nothing_is_submitted(
    web: WebHarness,
) -> None:
    code = await report(web.h, ZHANG, "浙江华峰新材料有限公司")
    lead = (await _leads(web))[code]
    async with await web.client(ZHANG) as c:
        async with c.get("/app/weekly") as r:
            csrf = _csrf(await r.text())
        form = {"csrf": csrf, "work": "无", f"p{lead.id}_text": "", f"p{lead.id}_stage": "签约"}
        async with c.post("/app/weekly", data=form) as r:
            assert r.status == 400
            assert f"{code}：要改阶段，请先写这条线索的进展。" in await r.text()
    assert (await _leads(web))[code].stage == "在谈"
    async with web.h.db.session() as s:
        assert (await s.scalars(select(WeeklyVersion))).first() is None


async def test_a_stage_behind_the_lead_is_refused_with_the_services_reason(
    web: WebHarness,
) -> None:
    code = await report(web.h, ZHANG, "浙江华峰新材料有限公司")
    lead = (await _leads(web))[code]
    async with await web.client(ZHANG) as c:
        async with c.get("/app/weekly") as r:
            csrf = _csrf(await r.text())
        form = {"csrf": csrf, "work": "无", f"p{lead.id}_text": "退回", f"p{lead.id}_stage": "线索"}
        async with c.post("/app/weekly", data=form) as r:
            assert r.status == 400
    assert (await _leads(web))[code].stage == "在谈"
