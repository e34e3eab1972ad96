"""全流程倒排 (kaihua preset): a lead left in 在谈 past its 90 days costs its unit 2 points, with nobody acting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.assembly.clock import ManualClock
from bot.services import lead_updates
from bot.services.access import resolve_actor
from bot.services.leads import LeadDraft, report_lead
from storage.db import Database
from tests.e2e.conftest import make_settings
from tests.e2e.harness import Harness

LEADER, ZHAOSHANG, LEADERS_GROUP = 1001, 1101, -1001000000999
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


async def test_score_shows_the_overdue_deduction(kaihua: Harness) -> None:
    h = kaihua
    draft = LeadDraft(
        project="甲项目",
        company="甲公司",
        industry="新能源",
        amount_wan=Decimal(12000),
        origin="省外",
        stage="在谈",
        tags=(),
    )
    async with h.db.session() as s:
        liaison = await resolve_actor(s, h.settings, ZHAOSHANG, "x", None)
        lead_id = (await report_lead(s, h.clock.now(), liaison, draft, h.settings)).lead_id
    async with h.db.session() as s:
        leader = await resolve_actor(s, h.settings, LEADER, "x", None)
        await lead_updates.verify_lead(
            s, h.clock.now(), leader, lead_id, setup=h.app.services.scoring
        )
    assert h.app is not None
    await h.app.jobs.run_due()  # day 0: nothing is due
    r = await h.send(LEADER, "/score 招商引资部")
    assert "时序进度（未达到）" not in r.text
    h.clock.set(T + timedelta(days=91))
    ran = await h.app.jobs.run_due()
    assert ran.index("scoring-stage-nodes") < ran.index(
        "monthly-board"
    )  # refreshed before the board is cut
    await h.app.weekly.outbox.drain(h.clock.now())
    board = h.collect().to(LEADERS_GROUP).text
    # due 5月31日 10:00: May's board. issue 15: kaihua's 黑榜 is seed 004's -- two deductions in a
    # row -- so one missed node puts nobody on it.
    assert "2026年5月 招商引资红黑榜" in board and "⚫ 黑榜（连续两次扣分）：\n  （无）" in board
    r = await h.send(LEADER, "/score 招商引资部")
    assert "· 扣分项：-2 分" in r.text
    assert "· 时序进度（未达到）：-2" in r.text
    assert "· 5月31日 -2 时序进度（未达到）：签约节点未达到时序进度 L0001" in r.text
    h.clock.advance(timedelta(hours=2))
    await h.app.jobs.run_due()  # again: the deduction is not taken twice
    r = await h.send(LEADER, "/score 招商引资部")
    assert r.text.count("签约节点未达到时序进度") == 1 and "· 扣分项：-2 分" in r.text
