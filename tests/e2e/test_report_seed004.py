"""Seed 004 二(四) in the /report form: the 县外投资比例 and (服务业) tax questions, asked only when
the active rules file reads them -- kaihua asks, jiaocheng's form stays the thirteen questions.

Chat here; DingTalk in tests/e2e/test_dingtalk.py and the web page in
tests/e2e/web/test_web_report_seed004.py render the same definition.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.assembly.clock import ManualClock
from storage.db import Database
from storage.models import LedgerEntry, TaxRecord
from tests.e2e.conftest import make_settings
from tests.e2e.harness import Harness, Replies
from tests.e2e.test_report import stored

LIAISON, LEADER = 1101, 1001
T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
async def kaihua(sqlite_db: Database) -> AsyncIterator[Harness]:
    h = Harness(sqlite_db, ManualClock(T), make_settings(sqlite_db.url, rules_file="kaihua"))
    await h.start()
    try:
        await h.seed()
        yield h
    finally:
        await h.close()


async def tax_of(db: Database, lead_id: int) -> list[tuple[str, Decimal]]:
    """The lead's live 税收 records (month, 万元): the form's answer is this month's record."""
    async with db.session() as s:
        rows = await s.scalars(
            select(TaxRecord).where(TaxRecord.lead_id == lead_id, TaxRecord.superseded_at.is_(None))
        )
        return [(r.month, Decimal(r.amount_wan)) for r in rows]


async def to_industry(h: Harness, company: str = "某某商贸有限公司") -> None:
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "区域总部项目")
    await h.send(LIAISON, company)


async def skip_rest(h: Harness) -> Replies:
    r = await h.press(LIAISON, "完成")  # tags
    for _ in range(6):  # foreign, contact, phone, channel, notes, files
        r = await h.press(LIAISON, "跳过")
    return r


async def test_seed004_4_1_service_project_is_asked_its_tax_and_share(kaihua: Harness) -> None:
    """服务业 (现代服务业): 15 questions -- the tax after the amount, the share after the origin."""
    h = kaihua
    await to_industry(h)
    r = await h.press(LIAISON, "现代服务业")
    assert "第 4/15 步" in r.text and "计划投资额" in r.text
    r = await h.send(LIAISON, "3000万")
    assert "第 5/15 步" in r.text and "税收" in r.text and "跳过" in r.labels
    r = await h.send(LIAISON, "很多")
    assert "没看懂" in r.text  # the amount parser's own words
    r = await h.send(LIAISON, "20万")
    assert "来源地" in r.text
    r = await h.press(LIAISON, "省外")
    assert "第 7/15 步" in r.text and "县外投资比例" in r.text
    r = await h.send(LIAISON, "120%")
    assert "0 到 100 之间的百分比" in r.text
    r = await h.send(LIAISON, "百分之40")
    assert "当前阶段" in r.text
    await h.press(LIAISON, "在谈")
    summary = await skip_rest(h)
    assert "已缴税收：20万元" in summary.text and "县外投资比例：40%" in summary.text
    r = await h.press(LIAISON, "✅ 保存")
    assert "已登记 L0001" in r.text
    [lead] = await stored(h)
    assert lead.outside_share == Decimal(40)
    assert await tax_of(h.db, lead.id) == [("2026-03", Decimal(20))]


async def test_seed004_4_1_an_industrial_project_is_not_asked_for_tax(kaihua: Harness) -> None:
    """新能源 (工业): the tax never decides it, so 14 questions; both new ones may be skipped."""
    h = kaihua
    await to_industry(h, "某某电池有限公司")
    await h.press(LIAISON, "新能源")
    r = await h.send(LIAISON, "3000万")
    assert "来源地" in r.text and "第 5/14 步" in r.text
    r = await h.press(LIAISON, "省外")
    assert "县外投资比例" in r.text
    r = await h.press(LIAISON, "跳过")
    assert "当前阶段" in r.text
    await h.press(LIAISON, "在谈")
    summary = await skip_rest(h)
    assert "已缴税收" not in summary.text and "县外投资比例：（无）" in summary.text
    await h.press(LIAISON, "✅ 保存")
    [lead] = await stored(h)
    assert lead.outside_share is None and await tax_of(h.db, lead.id) == []


async def test_seed004_4_1_tax_from_the_form_decides_a_service_project(kaihua: Harness) -> None:
    """By hand: a 现代服务业 project reported with tax 15万 (含) is a 新引进项目 -- 决策咨询 +2 once
    confirmed; with 14.9万 it scores no 项目推进 (二(四)1② "服务业项目税收15万元(含)以上")."""
    h = kaihua
    for company, tax in (("甲商贸有限公司", "15万"), ("乙商贸有限公司", "14.9万")):
        await to_industry(h, company)
        await h.press(LIAISON, "现代服务业")
        await h.send(LIAISON, "3000万")
        await h.send(LIAISON, tax)
        await h.press(LIAISON, "省外")
        await h.send(LIAISON, "100%")
        await h.press(LIAISON, "在谈")
        await skip_rest(h)
        await h.press(LIAISON, "✅ 保存")
    for code in ("L0001", "L0002"):
        await h.send(LEADER, f"/verify {code}")
        await h.send(LEADER, f"/confirm {code} 在谈")
    async with h.db.session() as s:
        rows = (
            await s.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.rule_id.like("prog_%"), LedgerEntry.voided_at.is_(None)
                )
            )
        ).all()
    assert [(r.rule_id, r.points, r.source) for r in rows] == [
        ("prog_decided", Decimal(2), "lead:1:stage:在谈")
    ]


async def test_changing_the_industry_away_from_services_drops_the_tax(kaihua: Harness) -> None:
    """The summary's edit: a tax typed for 现代服务业 is not kept once the industry is 新能源."""
    h = kaihua
    await to_industry(h)
    await h.press(LIAISON, "现代服务业")
    await h.send(LIAISON, "3000万")
    await h.send(LIAISON, "20万")
    await h.press(LIAISON, "省外")
    await h.press(LIAISON, "跳过")
    await h.press(LIAISON, "在谈")
    await skip_rest(h)
    await h.press(LIAISON, "✏️ 修改")
    await h.press(LIAISON, "行业")
    summary = await h.press(LIAISON, "新能源")
    assert "已缴税收" not in summary.text
    await h.press(LIAISON, "✅ 保存")
    [lead] = await stored(h)
    assert lead.industry == "新能源" and await tax_of(h.db, lead.id) == []


async def test_jiaocheng_asks_neither(world_harness: Harness) -> None:
    """Jiaocheng's rules read neither fact: its thirteen questions, the amount then the origin."""
    h = world_harness
    await to_industry(h)
    r = await h.press(LIAISON, "现代服务业")
    assert "第 4/13 步" in r.text
    r = await h.send(LIAISON, "3000万")
    assert "来源地" in r.text
    r = await h.press(LIAISON, "省外")
    assert "当前阶段" in r.text and "县外投资比例" not in r.text


async def test_seed004_4_1_tax_recorded_month_by_month_with_tax_decides_later_nodes(
    kaihua: Harness,
) -> None:
    """By hand: a 现代服务业 project decided on 2 March. /tax 10万 in March: at 签约 (10 March) only
    10万 -- no 项目推进; /tax 6万 in April makes 16万 ≥ 15万: 落地 (10 April) scores 4 + 时序 3."""
    from datetime import timedelta

    from tests.e2e.test_rules_setup import move_to

    h = kaihua
    await to_industry(h, "丙商贸有限公司")
    await h.press(LIAISON, "现代服务业")
    await h.send(LIAISON, "3000万")
    await h.press(LIAISON, "跳过")  # no tax yet
    await h.press(LIAISON, "省外")
    await h.press(LIAISON, "跳过")
    await h.press(LIAISON, "在谈")
    await skip_rest(h)
    await h.press(LIAISON, "✅ 保存")
    [lead] = await stored(h)
    await h.send(LEADER, "/verify L0001")
    await h.send(LEADER, "/confirm L0001 在谈")
    r = await h.send(LIAISON, "/tax L0001 10万")
    assert "已登记 L0001" in r.text and "已缴税收 10万元" in r.text
    h.clock.set(T + timedelta(days=8))
    await move_to(h, lead.id, "签约")
    await h.send(LEADER, "/confirm L0001 签约")
    h.clock.set(datetime(2026, 4, 3, 2, 0, tzinfo=UTC))
    r = await h.send(LIAISON, "/tax L0001 6万")
    assert "本年已缴税收合计：16万元" in r.text
    h.clock.set(datetime(2026, 4, 10, 2, 0, tzinfo=UTC))
    await move_to(h, lead.id, "落地")
    await h.send(LEADER, "/confirm L0001 落地")
    async with h.db.session() as s:
        rows = (
            await s.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.rule_id.like("prog_%") | LedgerEntry.rule_id.like("sched_%"),
                    LedgerEntry.voided_at.is_(None),
                )
            )
        ).all()
    assert sorted((r.rule_id, r.points) for r in rows) == [
        ("prog_land", Decimal(4)),
        ("sched_land", Decimal(3)),
    ]
    r = await h.send(LIAISON, "/tax L0001")
    assert "已缴税收" in r.text and "合计：16万元" in r.text
