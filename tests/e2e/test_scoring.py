"""Journey 4: a leader checks the ranking, the score, and gets the 红黑榜 (jiaocheng preset)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, update

from bot.assembly.config import Settings
from bot.services import lead_updates, scoring
from bot.services.access import Actor, resolve_actor
from bot.services.leads import LeadDraft, report_lead
from bot.services.scoring import refresh_after
from scheduler.board import monthly_board
from storage import weekly_repo
from storage.models import LedgerEntry, Unit, UnitScore
from tests.e2e.harness import Harness

LEADER, LEADERS_GROUP = 1001, -1001000000999
ZHAOSHANG, JINGFA, GUIJIAN, CAIZHENG = 1101, 1102, 1103, 1104  # liaisons of the four demo units
T_OCT = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)


async def actor(h: Harness, tg: int) -> Actor:
    async with h.db.session() as s:
        return await resolve_actor(s, h.settings, tg, "x", None)


async def report(
    h: Harness,
    tg: int,
    company: str,
    *,
    amount: str = "12000",
    origin: str = "省外",
    stage: str = "在谈",
    tags: tuple[str, ...] = (),
) -> int:
    draft = LeadDraft(
        project=f"{company}项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(amount),
        origin=origin,
        stage=stage,
        tags=tags,
    )
    async with h.db.session() as s:
        return (await report_lead(s, h.clock.now(), await actor(h, tg), draft, h.settings)).lead_id


async def verify_and_sign(h: Harness, lead_id: int) -> None:
    leader = await actor(h, LEADER)
    async with h.db.session() as s:
        await lead_updates.verify_lead(
            s, h.clock.now(), leader, lead_id, setup=h.app.services.scoring
        )
    async with h.db.session() as s:
        await lead_updates.move_stage(s, h.clock.now(), leader, lead_id, "签约", None, h.settings)


async def build_november(h: Harness) -> None:
    """October: 招商引资部 reports two leads (+2, 基础分(1)). November: 经济发展局 signs a
    1.2亿 lead from outside the province (+5 +5), 规划建设局 reports one already signed
    (+5), 财政局 gets +5 by hand -> 10, 5, 5, 0.  The units exist since September (movement
    compares only with a period in which a unit existed)."""
    async with h.db.session() as s:
        await s.execute(update(Unit).values(created_at=datetime(2026, 9, 1, tzinfo=UTC)))
    h.clock.set(T_OCT)
    await report(h, ZHAOSHANG, "甲公司")
    await report(h, ZHAOSHANG, "乙公司")
    h.clock.set(datetime(2026, 11, 17, 2, 0, tzinfo=UTC))
    lead = await report(h, JINGFA, "宁德时代新能源科技股份有限公司")
    await verify_and_sign(h, lead)
    await report(h, GUIJIAN, "丙公司", amount="8000", stage="签约")


async def test_a_signed_lead_moves_rank_and_score(world_harness: Harness) -> None:
    h = world_harness
    h.settings.targets = [
        {"name": "签约亿元以上项目", "stage": "签约", "min_amount_wan": 10000, "count": 2}
    ]
    h.app.services.scoring = scoring.setup_for(h.settings)  # the runtime is built once
    await build_november(h)
    r = await h.send(LEADER, "/adjust 财政局 +5 协助市级重大项目考核")
    assert "已为「财政局」调整 +5 分" in r.text
    r = await h.send(LEADER, "/rank")
    assert "2026年11月排名" in r.text
    lines = [line for line in r.text.splitlines() if ". " in line and "分" in line]
    assert lines == [
        "1. 经济发展局　10 分　↑1",
        "2. 规划建设局　5 分　–",
        "2. 财政局　5 分　–",
        "4. 招商引资部　0 分　↓3",
    ]
    assert r.labels == ["本周", "• 本月", "本季", "本年"]
    # The quarter: 招商引资部's October points count too.
    r = await h.press(LEADER, "本季")
    assert r.items[-1].method == "editMessageText" and "2026年第4季度排名" in r.text
    assert "4. 招商引资部　2 分" in r.text
    r = await h.send(LEADER, "/score 经济发展局")
    text = r.text
    assert "经济发展局 · 2026年：10 分（第 1 名 / 共 4 个单位）" in text
    # issue 15: the rules in words (the preset's titles), not "基础分(6)"
    assert "签约省外项目：+5" in text and "签约亿元以上省外项目：+5" in text
    assert "基础分(6)" not in text
    assert "签约 L0003（省外）" in text  # the ledger note says why
    assert "签约亿元以上项目 1/2" in text
    assert "签约→开工 0%（1 个中 0 个；目标 ≥75%）" in text
    r = await h.send(JINGFA, "/score")
    assert "经济发展局 · 2026年：10 分" in r.text


async def test_ties_share_a_rank_and_arrows_show_movement(world_harness: Harness) -> None:
    h = world_harness
    await build_november(h)
    r = await h.send(LEADER, "/rank month 一序列")
    assert "2026年11月排名 · 一序列" in r.text
    assert "1. 经济发展局　10 分　↑1" in r.text and "2. 招商引资部　0 分　↓1" in r.text
    assert "规划建设局" not in r.text
    r = await h.send(LEADER, "/rank 2026-10")
    assert (
        "1. 招商引资部　2 分" in r.text
        and "2. 经济发展局　0 分" in r.text
        and "2. 财政局　0 分" in r.text
    )


async def test_rank_nonsense_gets_usage(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LEADER, "/rank nonsense")
    assert "用法：/rank" in r.text and "一序列、二序列" in r.text


async def test_a_liaison_cannot_see_another_units_score(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(ZHAOSHANG, "/score 经济发展局")
    assert "您只能查看本单位的得分" in r.text and "分（第" not in r.text
    r = await h.send(ZHAOSHANG, "/score 招商部")  # the short name of its own unit
    assert "招商引资部 · 2026年" in r.text


async def test_a_duplicate_lead_scores_nothing(world_harness: Harness) -> None:
    h = world_harness
    await report(h, JINGFA, "宁德时代新能源科技股份有限公司")
    await report(h, CAIZHENG, "丁公司")
    dup = await report(h, CAIZHENG, "宁德时代新能源科技")  # another unit was first: a duplicate
    async with h.db.session() as s:
        entries = (await s.scalars(select(LedgerEntry).where(LedgerEntry.unit_id == 4))).all()
    assert (
        entries == []
    )  # one real lead: no 2-leads-a-quarter points; the duplicate counts for nothing
    await verify_and_sign(h, dup)
    r = await h.send(LEADER, "/rank")
    assert "财政局　0 分" in r.text
    await report(h, CAIZHENG, "戊公司")  # a real second lead: now the quarter's two leads score
    r = await h.send(LEADER, "/rank")
    assert "财政局　2 分" in r.text


async def test_manual_adjustment_is_audited_and_kept_by_refresh(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(ZHAOSHANG, "/adjust 财政局 5 原因")
    assert "仅限领导" in r.text
    r = await h.send(LEADER, "/adjust 财政局 -2")
    assert "请写明调整原因" in r.text
    r = await h.send(LEADER, "/adjust 财政局 -2 周报数据不实")
    assert "已为「财政局」调整 -2 分" in r.text and "周报数据不实" in r.text
    await report(h, CAIZHENG, "己公司")  # a refresh of the unit: the manual line stays
    async with h.db.session() as s:
        [line] = (await s.scalars(select(LedgerEntry).where(LedgerEntry.unit_id == 4))).all()
        assert (
            line.manual
            and line.points == Decimal(-2)
            and line.created_by == LEADER
            and line.voided_at is None
        )
        score = await s.get(UnitScore, (4, "month", "2026-11"))
        assert score is not None and score.points == Decimal(-2)
    r = await h.send(LEADER, "/score 财政局")
    assert "人工调整：-2" in r.text and "周报数据不实" in r.text


async def test_board_text_and_picture(world_harness: Harness) -> None:
    h = world_harness
    await build_november(h)
    async with h.db.session() as s:  # 财政局 missed the weekly submission of 2026-W46
        sub = await weekly_repo.ensure_submission(s, 4, "2026-W46", h.clock.now())
        sub.outcome = "missing"
        await refresh_after(s, 4, h.clock.now(), h.settings)
    r = await h.send(LEADER, "/board 2026-11")
    photo = next(i for i in r.items if i.method == "sendPhoto")
    assert "2026年11月 红黑榜" in photo.text
    assert "🔴 红榜" in r.text and "1. 经济发展局　10 分" in r.text
    assert "⚫ 黑榜" in r.text and "财政局　-2 分" in r.text
    assert "周报漏报：" in r.text and "财政局　1 次" in r.text
    # The first working day of December, 09:30: the board goes to the leaders' group once.
    h.clock.set(datetime(2026, 12, 1, 1, 30, tzinfo=UTC))
    assert h.app is not None
    await monthly_board(h.app, h.clock.now())
    await h.app.weekly.outbox.drain(h.clock.now())
    sent = h.collect().to(LEADERS_GROUP)
    assert [i.method for i in sent.items] == ["sendMessage", "sendPhoto"]
    assert "2026年11月 招商引资红黑榜" in sent.text and "经济发展局" in sent.text
    assert "2026年11月 红黑榜" in sent.items[1].text  # the picture's caption
    await monthly_board(h.app, h.clock.now())
    await h.app.weekly.outbox.drain(h.clock.now())
    assert len(h.collect().to(LEADERS_GROUP)) == 0  # exactly once


async def test_the_board_picture_survives_a_restart_and_a_failed_send(
    world_harness: Harness,
) -> None:
    """Planned, then the bot stops before sending; after a restart the first try fails:
    the picture still arrives once, with its text, from the outbox."""
    h = world_harness
    await build_november(h)
    h.clock.set(datetime(2026, 12, 1, 1, 30, tzinfo=UTC))
    assert h.app is not None
    await monthly_board(h.app, h.clock.now())
    await h.restart()
    assert h.app is not None
    h.api.inject_error("sendPhoto", 409, retry_after=None)  # not the row's fault: retried later
    await h.app.weekly.outbox.drain(h.clock.now())
    await monthly_board(h.app, h.clock.now())
    await h.app.weekly.outbox.drain(h.clock.now() + timedelta(minutes=5))
    sent = h.collect().to(LEADERS_GROUP)
    assert [i.method for i in sent.items] == ["sendMessage", "sendPhoto"]


async def test_board_waits_for_the_first_working_day(world_harness: Harness) -> None:
    h = world_harness
    assert h.app is not None
    h.clock.set(datetime(2026, 10, 5, 2, 0, tzinfo=UTC))  # National Day holiday: not yet
    await monthly_board(h.app, h.clock.now())
    await h.app.weekly.outbox.drain(h.clock.now())
    assert len(h.collect().to(LEADERS_GROUP)) == 0
    h.clock.set(datetime(2026, 10, 9, 2, 0, tzinfo=UTC))  # the first working day of October 2026
    await monthly_board(h.app, h.clock.now())
    await h.app.weekly.outbox.drain(h.clock.now())
    assert "2026年9月 招商引资红黑榜" in h.collect().to(LEADERS_GROUP).text


def test_settings_defaults() -> None:
    s = Settings()
    assert s.rules_file == "jiaocheng" and s.rank_default_period == "month" and s.board_top_n == 5
