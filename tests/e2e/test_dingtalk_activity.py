"""工作记录 on DingTalk: the same engine form as Telegram's /activity, through the real
dingtalk-stream SDK against the stand-in."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import Activity, OutboxMessage
from tests.e2e.test_dingtalk import ADMIN_STAFF, DingTalkWorld
from tests.e2e.test_dingtalk import world as world  # the fixture, shared


async def test_a_trip_with_its_report_is_recorded_from_dingtalk(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    first, more = await world.say("liaison1", "活动")  # a card holds five buttons
    assert "为「招商一局」登记工作记录" in first.text
    assert [label for m in (first, more) for label, _ in m.buttons] == [
        "参加培训",
        "项目包装",
        "参加招商活动",
        "达成合作意向",
        "外出招商",
        "实际利用外资",
    ]
    await world.press("liaison1", "外出招商")
    [date] = await world.say("liaison1", "明年")
    assert "没看懂这个日期" in date.text
    await world.press("liaison1", "今天")
    [ask] = await world.say("liaison1", "赴深圳拜访三家电池企业")
    assert "请上传外出报告单" in ask.text and not ask.buttons
    [added] = await world.send_file("liaison1", "外出报告单.pdf", b"%PDF-1.4 report")
    assert "共 1 个文件" in added.text and [t for t, _ in added.buttons] == ["完成"]
    [summary] = await world.press("liaison1", "完成")
    assert "请核对工作记录" in summary.text and "1 个文件" in summary.text
    assert [t for t, _ in summary.buttons] == ["✅ 保存", "✏️ 修改", "取消"]
    [saved] = await world.press("liaison1", "✅ 保存")
    assert "已登记 A0001（外出招商，招商一局），待领导认定" in saved.text
    async with world.db.session() as s:
        [a] = (await s.scalars(select(Activity))).all()
    assert a.kind == "trip" and a.attachments[0]["file_id"].startswith("web:")  # bytes kept
    assert a.attachments[0]["name"] == "外出报告单.pdf"
    # The leader reads the trip report before 认定 (a downloadCode would have lapsed by now).
    [_, card] = await world.say(ADMIN_STAFF, "/activities")
    assert "附件：1 个" in card.text
    assert [t for t, _ in card.buttons] == ["✅ 认定", "❌ 驳回", "📎 查看附件（1）"]
    head, report = await world.press(ADMIN_STAFF, "📎 查看附件（1）")
    assert "发送 1 个（共 1 个）" in head.text
    assert report.msg_key == "sampleFile" and report.to == ("user", ADMIN_STAFF)
    assert report.param["fileName"] == "外出报告单.pdf"
    assert world.standin.media(report).content == b"%PDF-1.4 report"


async def test_the_help_lists_activity_and_cancel_leaves_the_form(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    [help_text] = await world.say("liaison1", "帮助")
    assert "/activity（活动）" in help_text.text
    await world.say("liaison1", "/activity")
    [cancelled] = await world.say("liaison1", "取消")
    assert "已取消，未保存" in cancelled.text


async def _training(world: DingTalkWorld, text: str) -> None:
    await world.say("liaison1", "活动")
    await world.press("liaison1", "参加培训")
    await world.press("liaison1", "今天")
    await world.say("liaison1", text)
    [summary] = await world.press("liaison1", "跳过")
    assert "请核对工作记录" in summary.text
    [saved] = await world.press("liaison1", "✅ 保存")
    assert "待领导认定" in saved.text


async def test_a_leader_on_dingtalk_verifies_and_rejects_with_the_buttons(
    world: DingTalkWorld,
) -> None:
    await world.join("liaison1", "招商一局")
    await _training(world, "参加省商务厅招商培训")
    await _training(world, "参加市里的会")
    title, first, second = await world.say(ADMIN_STAFF, "/activities")
    assert "待认定的工作记录（2 条）" in title.text
    assert "A0002" in first.text and "A0001" in second.text  # the newest first
    assert [label for label, _ in first.buttons] == ["✅ 认定", "❌ 驳回"]
    [verified] = await world.press(ADMIN_STAFF, "✅ 认定")  # the latest card: A0001
    assert "已认定 A0001（招商一局）" in verified.text
    card = next(m for m in world.standin.messages() if "A0002" in m.text and m.buttons)
    msg_id = await asyncio.to_thread(world.standin.press, ADMIN_STAFF, card, "❌ 驳回")
    assert msg_id
    await asyncio.to_thread(world.standin.wait_acked, msg_id)
    [ask] = world.standin.messages(start=len(world.standin.messages()) - 1)
    assert "原因" in ask.text
    [rejected] = await world.say(ADMIN_STAFF, "不属于招商培训")
    assert "A0002" in rejected.text and "不属于招商培训" in rejected.text
    async with world.db.session() as s:
        rows = (await s.scalars(select(Activity).order_by(Activity.id))).all()
    assert [a.review for a in rows] == ["verified", "rejected"]
    [mine] = await world.say("liaison1", "/activities")
    assert "A0001" in mine.text and "A0002" in mine.text and not mine.buttons


async def test_a_leader_types_verify_activity_and_reject_activity(world: DingTalkWorld) -> None:
    """As on Telegram: /verify_activity A1, /reject_activity A2 原因; without the reason the
    next message is asked for it, as [❌ 驳回] does. The unit hears each verdict."""
    await world.join("liaison1", "招商一局")
    await _training(world, "参加省商务厅招商培训")
    await _training(world, "参加市里的会")
    await _training(world, "参加县里的会")
    [usage] = await world.say(ADMIN_STAFF, "/verify_activity")
    assert "用法：/verify\\_activity A12" in usage.text  # markdown-escaped
    [denied] = await world.say("liaison1", "/verify_activity A1")
    assert "仅限领导" in denied.text
    [verified] = await world.say(ADMIN_STAFF, "/verify_activity A1")
    assert "已认定 A0001（招商一局）" in verified.text
    [rejected] = await world.say(ADMIN_STAFF, "/reject_activity A2 与 A1 重复")
    assert "已驳回 A0002（招商一局）。原因：与 A1 重复" in rejected.text
    [again] = await world.say(ADMIN_STAFF, "/reject_activity A2")
    assert "A0002 已经驳回过了" in again.text
    [ask] = await world.say(ADMIN_STAFF, "/reject_activity A3")
    assert "请发送驳回 A0003 的原因" in ask.text
    [done] = await world.say(ADMIN_STAFF, "不属于招商培训")
    assert "已驳回 A0003" in done.text and "不属于招商培训" in done.text
    [missing] = await world.say(ADMIN_STAFF, "/verify_activity A99")
    assert "A0099" in missing.text
    async with world.db.session() as s:
        rows = (await s.scalars(select(Activity).order_by(Activity.id))).all()
        told = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [a.review for a in rows] == ["verified", "rejected", "rejected"]
    assert [t.template for t in told] == [  # the unit's liaison hears each, through the outbox
        "activity.notify_verified",
        "activity.notify_rejected",
        "activity.notify_rejected",
    ]
