"""Activities (工作记录): a liaison records, a leader verifies or rejects, points follow."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import Activity, LedgerEntry
from tests.e2e.harness import Harness

LEADER, CAIZHENG = 1001, 1104  # 财政局's liaison
OTHER_UNIT = 1101  # another unit's liaison


async def record(h: Harness, kind: str, text: str, *, date: str | None = None) -> str:
    await h.send(CAIZHENG, "/activity")
    await h.press(CAIZHENG, kind)
    r = await (h.send(CAIZHENG, date) if date else h.press(CAIZHENG, "今天"))
    r = await h.send(CAIZHENG, text)
    if "关联的线索编号" in r.text:
        r = await h.press(CAIZHENG, "跳过")
    if "可上传照片或材料" in r.text:
        r = await h.press(CAIZHENG, "跳过")
    assert "请核对工作记录" in r.text, r.text
    return (await h.press(CAIZHENG, "✅ 保存")).text


async def rank_line(h: Harness, unit: str = "财政局") -> str:
    r = await h.send(LEADER, "/rank")
    return next(line for line in r.text.splitlines() if unit in line)


async def test_an_activity_verified_scores(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(CAIZHENG, "/activity")
    assert "为「财政局」登记工作记录" in r.text
    assert r.labels == [
        "参加培训",
        "项目包装",
        "参加招商活动",
        "达成合作意向",
        "外出招商",
        "实际利用外资",
    ]
    await h.send(CAIZHENG, "/cancel")
    saved = await record(h, "达成合作意向", "与上海某新能源企业达成合作意向")
    assert "已登记 A0001（达成合作意向，财政局），待领导认定。" in saved
    assert "财政局　0 分" in await rank_line(h)  # 基础分(5) counts verified intents only
    r = await h.send(LEADER, "/activities")
    assert "待认定的工作记录（1 条）" in r.text and "A0001" in r.text
    r = await h.press(LEADER, "✅ 认定")
    assert "已认定 A0001（财政局）" in r.text
    assert "您单位的工作记录 A0001（达成合作意向）已认定" in r.to(CAIZHENG).text
    assert "1. 财政局　5 分" in await rank_line(h)


async def test_a_rejected_activity_loses_its_points_by_voiding(world_harness: Harness) -> None:
    h = world_harness
    h.clock.advance(timedelta(days=1))
    saved = await record(h, "参加培训", "参加省招商引资业务培训，学习记录见附件", date="11月17日")
    assert "A0001" in saved
    assert "财政局　2 分" in await rank_line(h)  # training scores without a review in jiaocheng
    await h.send(LEADER, "/activities")
    r = await h.press(LEADER, "❌ 驳回")
    assert "请发送驳回 A0001 的原因" in r.text
    r = await h.send(LEADER, "与 A0000 重复")
    assert "已驳回 A0001（财政局）。原因：与 A0000 重复" in r.text
    assert "被驳回。原因：与 A0000 重复" in r.to(CAIZHENG).text
    assert "财政局　0 分" in await rank_line(h)
    async with h.db.session() as s:
        [line] = (await s.scalars(select(LedgerEntry))).all()
    assert line.points == 2 and line.voided_at is not None and line.void_reason == "refresh"
    r = await h.send(LEADER, "/reject_activity A1 再次")
    assert "A0001 已经驳回过了" in r.text
    r = await h.send(LEADER, "/verify_activity A1")
    assert "已认定 A0001" in r.text and "财政局　2 分" in await rank_line(h)


async def test_a_trip_needs_its_report_and_dates_are_checked(world_harness: Harness) -> None:
    h = world_harness
    await h.send(CAIZHENG, "/activity")
    await h.press(CAIZHENG, "外出招商")
    r = await h.send(CAIZHENG, "明年")
    assert "没看懂这个日期" in r.text
    r = await h.send(CAIZHENG, "2026-12-01")
    assert "日期不能晚于今天" in r.text
    r = await h.press(CAIZHENG, "昨天")
    r = await h.send(CAIZHENG, "赴深圳拜访三家电池企业")
    assert "请上传外出报告单" in r.text and r.labels == []
    r = await h.upload(CAIZHENG, b"%PDF-1.4 report", "外出报告单.pdf")
    assert "共 1 个文件" in r.text
    r = await h.press(CAIZHENG, "完成")
    assert "2026-11-16" in r.text and "1 个文件" in r.text
    r = await h.press(CAIZHENG, "✅ 保存")
    assert "已登记 A0001（外出招商，财政局）" in r.text
    async with h.db.session() as s:
        [a] = (await s.scalars(select(Activity))).all()
    assert (
        a.kind == "trip"
        and a.attachments[0]["name"] == "外出报告单.pdf"
        and str(a.on_date) == "2026-11-16"
    )
    # The leader reads the trip report before 认定: the card's [📎] sends it again.
    r = await h.send(LEADER, "/activities")
    assert "附件：1 个" in r.text and "📎 查看附件（1）" in r.labels
    r = await h.press(LEADER, "📎 查看附件（1）")
    assert [i.method for i in r.items] == ["sendDocument"] and r.items[0].chat_id == LEADER
    [sent] = [m for m in h.api.messages(LEADER) if m.from_bot and m.document]
    assert sent.document["file_id"] == a.attachments[0]["file_id"]  # type: ignore[index]
    r = await h.send(OTHER_UNIT, "/activities")
    assert "📎 查看附件（1）" not in r.labels  # a member's list has no cards
    listed = r.items[-1].message_id
    assert listed is not None
    r = await h.press_data(OTHER_UNIT, listed, "af:1")  # a forged press of another unit's record
    assert r.popups == ["A0001 不是本单位的工作记录。"] and not r.items, r


async def test_foreign_capital_in_dollars_scores_per_step(world_harness: Harness) -> None:
    h = world_harness
    await h.send(CAIZHENG, "/activity")
    await h.press(CAIZHENG, "实际利用外资")
    await h.press(CAIZHENG, "今天")
    await h.send(CAIZHENG, "某外资项目第一笔到位")
    r = await h.send(CAIZHENG, "很多")
    assert "没看懂这个金额" in r.text
    r = await h.send(CAIZHENG, "4.5万美元")
    await h.press(CAIZHENG, "跳过")
    r = await h.press(CAIZHENG, "✅ 保存")
    assert "A0001" in r.text
    assert "财政局　10 分" in await rank_line(h)  # 基础分(8): 5 points per full US$20,000


async def test_leaders_record_for_a_unit_verified_at_once(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LEADER, "/activity")
    assert "财政局" in r.labels
    await h.press(LEADER, "财政局")
    await h.press(LEADER, "参加招商活动")
    await h.press(LEADER, "今天")
    await h.send(LEADER, "组织企业参加进博会")
    await h.press(LEADER, "跳过")
    r = await h.press(LEADER, "✅ 保存")
    assert "已登记并认定 A0001（参加招商活动，财政局）" in r.text
    assert "财政局　2 分" in await rank_line(h)
    r = await h.send(CAIZHENG, "/activities")
    assert "A0001" in r.text and "已认定" in r.text
    r = await h.send(CAIZHENG, "/verify_activity A1")
    assert "仅限领导" in r.text


async def test_activity_in_a_group_opens_the_private_chat(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(CAIZHENG, "/activity", chat_id=-1001000000004)
    assert "私聊" in r.text and r.items[-1].buttons[0][0]["url"].endswith("?start=activity")


async def test_a_planned_trip_becomes_a_trip_record_with_one_button(world_harness: Harness) -> None:
    from storage.models import WeeklySubmission, WeeklyVersion

    h = world_harness
    now = h.clock.now()
    async with h.db.session() as s:
        sub = WeeklySubmission(
            unit_id=4,
            period_key="2026-W46",
            latest_number=1,
            latest_status="confirmed",
            outcome="on_time",
            done_at=now,
            updated_at=now,
        )
        s.add(sub)
        await s.flush()
        version = WeeklyVersion(
            submission_id=sub.id,
            number=1,
            content={"trips": ["深圳，拜访三家电池企业"]},
            submitted_by_tg=CAIZHENG,
            submitted_by_name="刘六",
            submitted_at=now,
            status="confirmed",
        )
        s.add(version)
        await s.flush()
        sub.accepted_version_id = version.id
    r = await h.send(CAIZHENG, "/trips")
    assert "2026-W46 · 深圳，拜访三家电池企业" in r.text
    r = await h.press(CAIZHENG, "✈️ 转为外出记录")
    assert "外出记录：深圳" in r.text and "日期" in r.text
    await h.press(CAIZHENG, "今天")
    await h.upload(CAIZHENG, b"%PDF-1.4 report", "外出报告单.pdf")
    await h.press(CAIZHENG, "完成")
    r = await h.press(CAIZHENG, "✅ 保存")
    assert "已登记 A0001（外出招商，财政局）" in r.text
    r = await h.send(CAIZHENG, "/trips")
    assert "已登记为 A0001" in r.text and "✈️ 转为外出记录" not in r.labels
