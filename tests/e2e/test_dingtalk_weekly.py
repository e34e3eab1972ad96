"""周报 on DingTalk: the same engine form as Telegram's /weekly, through the real
dingtalk-stream SDK against the stand-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.services import invites
from storage.models import PRINCIPAL_BASE, Lead, WeeklyVersion
from tests.e2e.test_dingtalk import DingTalkWorld, fill_report
from tests.e2e.test_dingtalk import world as world  # the fixtures, shared
from tests.e2e.test_dingtalk_reminders import DT_LIAISON, Mixed
from tests.e2e.test_dingtalk_reminders import mixed as mixed
from tests.e2e.test_weekly import ADMIN, HEAD, LIAISON, at, outbox, submit

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


def labels(*messages: object) -> list[str]:
    return [label for m in messages for label, _ in getattr(m, "buttons", ())]


async def test_a_liaison_drafts_and_submits_the_weekly_with_buttons(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    await fill_report(world, "liaison1", "宁德时代新能源科技股份有限公司")
    await world.press("liaison1", "✅ 保存")
    [first] = await world.say("liaison1", "周报")
    assert "招商一局 · 2026年第47周 周报" in first.text and "第 1/4 项" in first.text
    assert first.msg_key.startswith("sampleActionCard")
    assert "▫️ L0001 动力电池项目" in labels(first)
    [toggled] = await world.press("liaison1", "▫️ L0001 动力电池项目")
    assert "✅ L0001 动力电池项目" in labels(toggled)  # a card cannot be edited: a new one
    [trips] = await world.press("liaison1", "完成（已选 1 条）✓")
    assert "第 2/4 项 · 赴外路线" in trips.text
    [saved] = await world.say("liaison1", "深圳，11月25日—27日，拜访比亚迪")
    assert "已记录 1 条行程" in saved.text and labels(saved) == ["完成 ✓", "删除上一条"]
    [progress] = await world.press("liaison1", "完成 ✓")
    assert "第 3/4 项 · 项目进展" in progress.text
    [ask] = await world.press("liaison1", "L0001 动力电池项目")
    assert "请发送 L0001 动力电池项目 的进展情况" in ask.text
    stage, *more = await world.say("liaison1", "双方已就用地达成一致")  # >5: follow-up cards
    assert "阶段有变化吗？当前：在谈" in stage.text and "签约" in labels(stage, *more)
    assert "阶段不变" in labels(stage, *more) and "线索" not in labels(stage, *more)
    [again] = await world.press("liaison1", "签约")
    assert "已记录 1 条进展" in again.text and "在谈 → 签约" in again.text
    [work] = await world.press("liaison1", "完成 ✓")
    assert "第 4/4 项 · 工作信息" in work.text
    replies = await world.say("liaison1", "接待客商 3 批")
    assert "周报预览" in replies[0].text and "深圳，11月25日" in replies[0].text
    assert "✅ 提交" in labels(*replies) and "稍后再交" in labels(*replies)
    done = await world.press("liaison1", "✅ 提交")
    text = "\n".join(m.text for m in done)
    assert "已提交（第 1 版）" in text and "阶段已更新：L0001 在谈 → 签约" in text
    async with world.db.session() as s:
        [version] = (await s.scalars(select(WeeklyVersion))).all()
        [lead] = (await s.scalars(select(Lead))).all()
    assert version.number == 1 and lead.stage == "签约"
    [stale] = await world.press("liaison1", "✅ 提交")  # the preview's button, once more
    assert "这份周报已经提交过了" in stale.text


async def test_weekly_in_a_group_points_to_the_private_chat(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    [reply] = await world.say("liaison1", "周报", group="cidunit1")
    assert reply.to == ("group", "cidunit1") and "私聊" in reply.text


# --- mixed channels: the liaison on DingTalk, the head on Telegram -----------------------------


async def test_drafted_on_dingtalk_confirmed_by_the_head_on_telegram(mixed: Mixed) -> None:
    """One unit (招商引资部): its new liaison works in DingTalk, its head 赵主任 in Telegram.
    The head's request and the liaison's notice go through the notifier and the outbox."""
    h = mixed.h
    async with h.db.session() as s:
        [info] = await invites.create_invites(
            s,
            h.clock.now(),
            ADMIN,
            "招商引资部",
            [invites.InviteRequest(invites.Role.LIAISON, 1)],
            timedelta(days=1),
            False,
        )
    assert "欢迎" in await mixed.say(DT_LIAISON, info.token)
    h.clock.set(at(18, 9))
    await mixed.messages(DT_LIAISON, "周报")
    for _ in range(4):
        replies = await mixed.messages(DT_LIAISON, "无")
    assert "周报预览" in replies[0].text
    h.collect()
    [done] = await mixed.press(DT_LIAISON, "✅ 提交")
    assert done.to == ("user", DT_LIAISON)
    assert "已提交（第 1 版），已送负责人 赵主任 确认" in done.text
    card = h.collect().to(HEAD[1])  # sent through the outbox, on Telegram
    assert "请确认：招商引资部 · 2026年第47周 周报（第 1 版）" in card.text
    assert card.labels == ["✅ 确认", "↩️ 退回"]
    assert "提交人：钉钉联络员，11月18日（周三）09:00" in card.text  # local time
    assert not [
        c
        for c in h.api.calls
        if c.method == "sendMessage"
        and c.params.get("chat_id")
        and int(c.params["chat_id"]) <= -PRINCIPAL_BASE
    ]  # nothing for DingTalk went to Telegram

    start = len(mixed.standin.messages())
    r = await h.press(HEAD[1], "✅ 确认")
    assert "已确认" in r.text
    async with h.db.session() as s:
        [version] = (await s.scalars(select(WeeklyVersion))).all()
    assert version.status == "confirmed"
    [told] = mixed.standin.messages(("user", DT_LIAISON), start=start)
    assert "赵主任 已确认您提交的第 1 版周报（按时）" in told.text
    [row] = [
        o
        for o in await outbox(h)
        if o.kind == "notify:weekly.decision" and o.chat_id <= -PRINCIPAL_BASE
    ]
    assert row.status == "sent"


DT_HEAD = "dthead"


async def _dingtalk_head(mixed: Mixed) -> None:
    """A second head of 招商引资部, on DingTalk."""
    h = mixed.h
    mixed.standin.add_user(DT_HEAD, "钱主任")
    async with h.db.session() as s:
        [info] = await invites.create_invites(
            s,
            h.clock.now(),
            ADMIN,
            "招商引资部",
            [invites.InviteRequest(invites.Role.HEAD, 1)],
            timedelta(days=1),
            False,
        )
    assert "欢迎" in await mixed.say(DT_HEAD, info.token)


async def test_a_head_on_dingtalk_confirms_a_weekly_submitted_on_telegram(mixed: Mixed) -> None:
    h = mixed.h
    await _dingtalk_head(mixed)
    h.clock.set(at(18, 9))
    await submit(h, LIAISON[1])
    [card] = [m for m in mixed.standin.messages(("user", DT_HEAD)) if "请确认" in m.text]
    assert "招商引资部 · 2026年第47周 周报（第 1 版）" in card.text
    assert [label for label, _ in card.buttons] == ["✅ 确认", "↩️ 退回"]
    h.collect()
    [done] = await mixed.press(DT_HEAD, "✅ 确认")
    assert "已确认 招商引资部 周报第 1 版（按时）" in done.text
    assert "已确认您提交的第 1 版周报" in h.collect().to(LIAISON[1]).text  # told on Telegram
    [again] = await mixed.press(DT_HEAD, "✅ 确认")  # the card's button, once more
    assert "第 1 版已确认过了" in again.text
    async with h.db.session() as s:
        [version] = (await s.scalars(select(WeeklyVersion))).all()
    assert version.status == "confirmed"


async def test_a_head_on_dingtalk_returns_it_with_a_reason(mixed: Mixed) -> None:
    h = mixed.h
    await _dingtalk_head(mixed)
    h.clock.set(at(18, 9))
    await submit(h, LIAISON[1])
    [ask] = await mixed.press(DT_HEAD, "↩️ 退回")
    assert "请输入退回原因" in ask.text
    h.collect()
    [done] = await mixed.messages(DT_HEAD, "请补充接待情况")
    assert "已退回第 1 版" in done.text
    assert "请补充接待情况" in h.collect().to(LIAISON[1]).text
    [status] = await mixed.messages(DT_HEAD, "状态")
    assert "退回" in status.text


async def test_a_trip_planned_in_the_weekly_is_recorded_from_trips(world: DingTalkWorld) -> None:
    """The head on DingTalk finds the version in 状态 and confirms it; the liaison's planned
    trip is then offered by /trips and opens the activity form about it."""
    await world.join("liaison1", "招商一局")
    [joined] = await world.say("liaison2", await world.invite("招商一局", role="head"))
    assert "欢迎" in joined.text
    await world.say("liaison1", "周报")
    await world.press("liaison1", "无")
    await world.say("liaison1", "深圳，11月25日—27日，拜访比亚迪")
    await world.press("liaison1", "完成 ✓")
    await world.press("liaison1", "无")
    await world.say("liaison1", "无")
    [submitted] = await world.press("liaison1", "✅ 提交")
    assert "已送负责人 李联络 确认" in submitted.text
    [status] = await world.say("liaison2", "状态")
    assert "查看并确认" in labels(status)
    [card] = await world.press("liaison2", "查看并确认")
    assert "深圳，11月25日" in card.text and labels(card) == ["✅ 确认", "↩️ 退回"]
    [confirmed] = await world.press("liaison2", "✅ 确认")
    assert "已确认 招商一局 周报第 1 版" in confirmed.text
    title, trip = await world.say("liaison1", "/trips")
    assert "周报中的赴外计划（1 条）" in title.text
    assert "深圳" in trip.text and len(trip.buttons) == 1
    [form] = await world.press("liaison1", trip.buttons[0][0])
    assert "深圳" in form.text and "今天" in labels(form), form.text  # the date is asked next
