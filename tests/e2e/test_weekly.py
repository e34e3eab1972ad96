"""Journey 3: the weekly submission, from the liaison's draft to the leaders' summary.

The clock starts on Tuesday 17 November 2026, 10:00 in Shanghai; the period
2026-W47 ends on Thursday 19 November at 17:00. Time moves with
``harness.clock.set(...)`` and the scheduler runs with ``harness.app.jobs.run_due()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.assembly.clock import ManualClock
from bot.services.access import resolve_actor
from bot.services.leads import LeadDraft, report_lead
from storage.db import Database
from storage.models import Lead, LeadEvent, OutboxMessage, WeeklySubmission, WeeklyVersion
from tests.e2e.conftest import make_settings
from tests.e2e.harness import Harness, Replies

# PTB itself warns when it builds a RetryAfter (retry_after becomes a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

SH = ZoneInfo("Asia/Shanghai")
ADMIN, LEADER = 1000, 1001
LIAISON = {1: 1101, 2: 1102, 3: 1103, 4: 1104}  # 招商引资部, 经济发展局, 规划建设局, 财政局
HEAD = {1: 1201, 2: 1202, 3: 1203, 4: 1204}
GROUP = {i: -1001000000000 - i for i in range(1, 5)}
LEADERS_GROUP = -1001000000999


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


# What the weekly cycle sends on its own; other features' jobs (the monthly board …) may post too.
MARKERS = ("本周周报截止", "周报提醒", "周报进度", "周报汇总", "日历提醒", "未能送达")


async def tick(h: Harness, when: datetime) -> Replies:
    """Move the clock, run what is due, return the weekly cycle's messages sent meanwhile."""
    h.collect()
    h.clock.set(when)
    assert h.app is not None
    await h.app.jobs.run_due()
    everything = h.collect()
    return Replies(
        [r for r in everything.items if any(m in r.text for m in MARKERS)], everything.popups
    )


async def seed_lead(h: Harness, user: int, project: str, company: str, stage: str = "在谈") -> str:
    async with h.db.session() as s:
        actor = await resolve_actor(s, h.settings, user, "", None)
        draft = LeadDraft(project, company, "新能源", Decimal("5000"), "省外", stage)
        result = await report_lead(s, h.clock.now(), actor, draft, h.settings)
    return result.code


async def fill_all_none(h: Harness, user: int) -> Replies:
    """/weekly with 无 for every section: returns the preview."""
    await h.send(user, "/weekly")
    for _ in range(4):
        r = await h.send(user, "无")
    assert "周报预览" in r.text, r.text
    return r


async def submit(h: Harness, user: int) -> Replies:
    await fill_all_none(h, user)
    return await h.press(user, "✅ 提交")


async def submission(h: Harness, unit_id: int, key: str = "2026-W47") -> WeeklySubmission | None:
    async with h.db.session() as s:
        stmt = select(WeeklySubmission).where(
            WeeklySubmission.unit_id == unit_id, WeeklySubmission.period_key == key
        )
        return (await s.scalars(stmt)).first()


async def outbox(h: Harness) -> list[OutboxMessage]:
    async with h.db.session() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


def sent_to(h: Harness, chat_id: int, since: int = 0) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in h.api.calls[since:]
        if c.ok and c.method == "sendMessage" and int(c.params.get("chat_id", 0)) == chat_id
    ]


# --- the story -------------------------------------------------------------------------------


async def test_draft_submit_confirm_is_on_time(world_harness: Harness) -> None:
    h = world_harness
    code = await seed_lead(h, LIAISON[1], "动力电池项目", "宁德时代新能源科技股份有限公司")
    h.clock.set(at(19, 10))
    r = await h.send(LIAISON[1], "/weekly")
    assert (
        "招商引资部 · 2026年第47周 周报" in r.text
        and "截止：11月19日（周四）17:00（还剩 7 小时）" in r.text
    )
    assert "第 1/4 项 · 新增线索" in r.text and "本期（11月12日 17:00 之后）" in r.text
    assert f"▫️ {code} 动力电池项目" in r.labels
    r = await h.press(LIAISON[1], f"{code} 动力电池项目")
    assert r.items[0].method == "editMessageReplyMarkup" and f"✅ {code} 动力电池项目" in r.labels
    r = await h.press(LIAISON[1], "完成（已选 1 条）✓")
    assert "第 2/4 项 · 赴外路线" in r.text
    r = await h.send(LIAISON[1], "深圳，11月25日—27日，对接新能源项目，拜访比亚迪")
    assert "已记录 1 条行程" in r.text
    r = await h.send(LIAISON[1], "上海，12月2日，参加进博会后续对接")
    assert "已记录 2 条行程" in r.text
    r = await h.press(LIAISON[1], "完成 ✓")
    assert "第 3/4 项 · 项目进展" in r.text
    r = await h.press(LIAISON[1], f"{code} 动力电池")
    assert f"请发送 {code} 动力电池项目 的进展情况" in r.text
    r = await h.send(LIAISON[1], "双方已就用地达成一致，下周签约")
    assert "阶段有变化吗？当前：在谈" in r.text and "签约" in r.labels and "线索" not in r.labels
    r = await h.press(LIAISON[1], "签约")
    assert "已记录 1 条进展" in r.text and "在谈 → 签约" in r.text
    r = await h.press(LIAISON[1], "完成 ✓")
    assert "第 4/4 项 · 工作信息" in r.text
    r = await h.send(LIAISON[1], "参加省招商推介会，接待客商 3 批")
    assert "周报预览" in r.text and "深圳，11月25日" in r.text and "双方已就用地达成一致" in r.text
    r = await h.press(LIAISON[1], "✅ 提交")
    assert "已提交（第 1 版），已送负责人 赵主任 确认" in r.text
    assert f"阶段已更新：{code} 在谈 → 签约" in r.text
    card = r.to(HEAD[1])
    assert "请确认：招商引资部 · 2026年第47周 周报（第 1 版）" in card.text and card.labels == [
        "✅ 确认",
        "↩️ 退回",
    ]
    assert (await submission(h, 1)).outcome is None  # type: ignore[union-attr]

    h.clock.set(at(19, 15, 10))
    r = await h.press(HEAD[1], "✅ 确认")
    assert "已确认 招商引资部 周报第 1 版（按时）" in r.text
    assert "赵主任 已确认您提交的第 1 版周报（按时）" in r.to(LIAISON[1]).text
    sub = await submission(h, 1)
    assert sub is not None and sub.outcome == "on_time" and sub.accepted_version_id is not None
    async with h.db.session() as s:
        lead = (await s.scalars(select(Lead))).one()
        events = (await s.scalars(select(LeadEvent).where(LeadEvent.kind == "stage"))).all()
    assert lead.stage == "签约" and [(e.from_value, e.to_value) for e in events] == [
        ("在谈", "签约")
    ]

    r = await h.send(LIAISON[1], "/status")
    assert "已完成（第 1 版，按时" in r.text


async def test_a_head_returns_with_a_reason_and_the_new_version_replaces_the_old(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.clock.set(at(18, 9))
    await submit(h, LIAISON[2])
    r = await h.press(HEAD[2], "↩️ 退回")
    assert "请输入退回原因" in r.text
    r = await h.send(HEAD[2], "工作信息太简略，请补充本周接待情况")
    assert "已退回第 1 版，已通知 李四" in r.text
    notice = r.to(LIAISON[2])
    assert "退回了您的第 1 版周报" in notice.text and "工作信息太简略" in notice.text
    r = await h.send(LIAISON[2], "/status")
    assert "第 1 版被退回：工作信息太简略" in r.text
    r = await h.send(LIAISON[2], "/weekly")
    assert (
        "已提交第 1 版（已退回）" in r.text and "周报预览" in r.text
    )  # the draft starts from the last version
    r = await h.press(LIAISON[2], "改工作信息")
    r = await h.send(LIAISON[2], "接待客商 2 批，走访企业 5 家")
    assert "提交后将替换已提交的第 1 版" in r.text
    r = await h.press(LIAISON[2], "✅ 提交")
    assert "第 2 版" in r.text
    await h.press(HEAD[2], "✅ 确认")
    async with h.db.session() as s:
        versions = (await s.scalars(select(WeeklyVersion).order_by(WeeklyVersion.number))).all()
    assert [(v.number, v.status) for v in versions] == [(1, "returned"), (2, "confirmed")]
    assert versions[1].content["work"] == "接待客商 2 批，走访企业 5 家"


async def test_submitting_after_the_deadline_is_late(world_harness: Harness) -> None:
    h = world_harness
    await tick(h, at(19, 17, 1))  # the deadline passes: every unit is missing
    assert (await submission(h, 3)).outcome == "missing"  # type: ignore[union-attr]
    r = await h.send(LIAISON[3], "/weekly")
    assert "上周未提交的周报" in r.text and "记为迟交" in r.text and "2026年第47周" in r.text
    for _ in range(4):
        r = await h.send(LIAISON[3], "无")
    assert "已过截止时间，提交将记为迟交" in r.text
    await h.press(LIAISON[3], "✅ 提交")
    r = await h.press(HEAD[3], "✅ 确认")
    assert "（迟交）" in r.text
    sub = await submission(h, 3)
    assert sub is not None and sub.outcome == "late"
    r = await h.send(LIAISON[3], "/weekly")  # the overdue one is done: now this week's
    assert "2026年第48周" in r.text and "上周未提交" not in r.text


async def test_the_leaders_summary_counts_on_time_late_and_missing(world_harness: Harness) -> None:
    h = world_harness
    h.clock.set(at(19, 9))
    await submit(h, LIAISON[1])
    await h.press(HEAD[1], "✅ 确认")
    await submit(h, LIAISON[2])  # submitted, never confirmed
    r = await tick(h, at(19, 17))
    [summary] = r.to(LEADERS_GROUP).items
    assert "2026年第47周周报汇总（截止 11月19日（周四）17:00）" in summary.text
    assert "按时 1 · 迟交 0 · 缺报 3" in summary.text
    assert "缺报：经济发展局、规划建设局、财政局" in summary.text
    assert "已提交但负责人未确认：经济发展局" in summary.text
    r = await tick(h, at(19, 18))
    assert not r.to(LEADERS_GROUP).items  # once


async def test_reminders_go_only_to_units_not_done_and_say_the_deadline(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.clock.set(at(18, 9))
    await submit(h, LIAISON[1])
    await h.press(HEAD[1], "✅ 确认")  # 招商引资部: done
    await submit(h, LIAISON[2])  # 经济发展局: waiting for its head
    r = await tick(h, at(18, 17))  # 24 hours before
    people = {r_.chat_id for r_ in r.items if r_.chat_id and r_.chat_id > 0 and r_.chat_id != ADMIN}
    assert people == {HEAD[2], LIAISON[3], LIAISON[4]}
    [text] = [x.text for x in r.to(LIAISON[3]).items]
    assert (
        "本周周报截止：11月19日（周四）17:00（还剩 24 小时）" in text
        and "规划建设局的2026年第47周周报尚未提交" in text
    )
    assert r.to(LIAISON[3]).labels == ["开始填写"]
    assert r.to(LIAISON[3]).items[0].buttons[0][0]["url"].endswith("?start=weekly")
    assert "等待您确认" in r.to(HEAD[2]).text and r.to(HEAD[2]).labels == ["查看并确认"]
    assert {c for c in (x.chat_id for x in r.items) if c and c < 0} == {
        GROUP[2],
        GROUP[3],
        GROUP[4],
    }
    assert "待负责人确认" in r.to(GROUP[2]).text and "尚未提交" in r.to(GROUP[3]).text
    assert not r.to(LEADERS_GROUP).items

    r = await tick(h, at(19, 15))  # 2 hours before: the leaders' list too
    [missing] = r.to(LEADERS_GROUP).items
    assert (
        "尚未提交：规划建设局、财政局（2 个单位）" in missing.text
        and "待负责人确认：经济发展局（1 个单位）" in missing.text
    )
    assert "还剩 2 小时" in r.to(LIAISON[4]).text

    r = await h.press(HEAD[2], "查看并确认")  # from the reminder's button
    assert "请确认：经济发展局" in r.text
    await h.press(HEAD[2], "✅ 确认")
    r = await tick(h, at(19, 16, 30))
    assert not r.to(HEAD[2]).items and not r.to(GROUP[2]).items
    assert "还剩 30 分钟" in r.to(LIAISON[3]).text


@pytest.fixture
async def quiet_harness(sqlite_db: Database, clock: ManualClock) -> AsyncIterator[Harness]:
    """Reminders 18 h (Wednesday 23:00, in the quiet hours) and 8 h before the deadline."""
    h = Harness(sqlite_db, clock, make_settings(sqlite_db.url, reminder_offsets="18h,8h"))
    await h.start()
    await h.seed()
    try:
        yield h
    finally:
        await h.close()


def private_reminders(h: Harness) -> list[tuple[int, datetime]]:
    """(chat, local time by the bot's clock) of every private reminder the bot sent."""
    return [
        (int(c.params["chat_id"]), datetime.fromtimestamp(c.response["date"], SH))
        for c in h.api.calls_of("sendMessage")
        if c.ok and int(c.params["chat_id"]) > 0 and "本周周报截止" in str(c.params.get("text"))
    ]


async def test_private_reminders_wait_for_the_end_of_quiet_hours(quiet_harness: Harness) -> None:
    h = quiet_harness
    r = await tick(h, at(18, 23))
    assert not [x for x in r.items if x.chat_id and x.chat_id > 0 and x.chat_id != ADMIN]
    assert "还剩 18 小时" in r.to(GROUP[3]).text  # groups are not quiet
    r = await tick(h, at(19, 7, 59))
    assert not r.to(LIAISON[3]).items
    r = await tick(h, at(19, 8))
    assert len(r.to(LIAISON[3]).items) == 1 and "还剩 9 小时" in r.to(LIAISON[3]).text
    r = await tick(h, at(19, 9))  # the 8-hour reminder is a second one, not a repeat
    assert len(r.to(LIAISON[3]).items) == 1 and "还剩 8 小时" in r.to(LIAISON[3]).text
    reminders = private_reminders(h)
    assert len(reminders) == 2 * 4  # four liaisons, two reminders each
    assert all(8 <= when.hour < 22 for _, when in reminders)


# --- exactly once ------------------------------------------------------------------------------


def reminder_counts(h: Harness, marker: str) -> dict[int, int]:
    """chat → how many successful messages containing ``marker`` it received."""
    counts: dict[int, int] = {}
    for call in h.api.calls_of("sendMessage"):
        if call.ok and marker in str(call.params.get("text")):
            chat = int(call.params["chat_id"])
            counts[chat] = counts.get(chat, 0) + 1
    return counts


EVERYONE_LATE = {LIAISON[i] for i in range(1, 5)} | {GROUP[i] for i in range(1, 5)}


async def test_a_restart_between_reminders_sends_each_exactly_once(world_harness: Harness) -> None:
    h = world_harness
    await tick(h, at(18, 17))
    await h.restart()
    await tick(h, at(18, 17, 1))  # the new process runs every job at once
    await h.restart()
    await tick(h, at(19, 9))
    await tick(h, at(19, 9, 5))
    assert reminder_counts(h, "还剩 24 小时") == dict.fromkeys(EVERYONE_LATE, 1)
    assert reminder_counts(h, "还剩 8 小时") == dict.fromkeys(EVERYONE_LATE, 1)
    await h.restart()
    await tick(h, at(19, 17, 5))
    await h.restart()
    await tick(h, at(19, 17, 6))
    assert reminder_counts(h, "周报汇总") == {LEADERS_GROUP: 1}
    assert reminder_counts(h, "日历提醒") == {
        ADMIN: 1
    }  # 2027 is not in the calendar package: warned once


async def test_a_reminder_missed_while_down_goes_out_within_its_grace_time_else_is_skipped(
    world_harness: Harness,
) -> None:
    h = world_harness
    await tick(h, at(18, 16))
    await h.stop_app()
    h.clock.set(at(18, 17, 40))  # down at 17:00, up 40 minutes later: within the 60-minute grace
    await h.start_app()
    r = await tick(h, at(18, 17, 40))
    assert "还剩 23 小时 20 分钟" in r.to(LIAISON[3]).text
    await h.stop_app()
    h.clock.set(at(19, 10, 30))  # the 09:00 reminder's grace ended at 10:00
    await h.start_app()
    r = await tick(h, at(19, 10, 30))
    assert not r.to(LIAISON[3]).items
    assert "未能送达" in r.to(ADMIN).text and "错过发送时间" in r.to(ADMIN).text
    skipped = [row for row in await outbox(h) if row.kind == "remind:480"]
    assert skipped and all(row.status == "skipped" for row in skipped)
    r = await tick(h, at(19, 11))
    assert not r.to(ADMIN).items  # reported once


async def test_every_reminder_arrives_once_when_telegram_answers_429_half_the_time(
    world_harness: Harness,
) -> None:
    h = world_harness
    await tick(h, at(18, 16))
    h.api.fail_randomly("sendMessage", 0.5, 429, retry_after=1)
    await tick(h, at(18, 17))
    h.api.fail_randomly("sendMessage", 0)
    refused = [c for c in h.api.calls_of("sendMessage") if not c.ok]
    assert refused and all(c.response["error_code"] == 429 for c in refused)
    assert reminder_counts(h, "还剩 24 小时") == dict.fromkeys(EVERYONE_LATE, 1)
    assert all(row.status == "sent" for row in await outbox(h) if row.kind == "remind:1440")


# --- bad input ---------------------------------------------------------------------------------


async def test_twenty_thousand_characters_are_refused_and_the_form_stays(
    world_harness: Harness,
) -> None:
    h = world_harness
    await h.send(LIAISON[1], "/weekly")
    for _ in range(3):
        await h.send(LIAISON[1], "无")
    r = await h.send(LIAISON[1], "招" * 20_000)
    assert (
        "内容太长（20000 字），请控制在 2000 字以内" in r.text and "第 4/4 项 · 工作信息" in r.text
    )
    r = await h.send(LIAISON[1], "走访企业 3 家")
    assert "周报预览" in r.text


async def test_html_in_answers_is_shown_as_typed(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON[1], "/weekly")
    await h.send(LIAISON[1], "无")
    await h.send(LIAISON[1], '<b>深圳</b> & <a href="http://x">link</a>')
    await h.press(LIAISON[1], "完成 ✓")
    await h.send(LIAISON[1], "无")
    r = await h.send(LIAISON[1], "<script>alert(1)</script>")
    preview = r.items[-1]
    assert '&lt;b&gt;深圳&lt;/b&gt; &amp; &lt;a href="http://x"&gt;' in preview.html
    assert (
        '<b>深圳</b> & <a href="http://x">link</a>' in preview.text
        and "<script>alert(1)</script>" in preview.text
    )
    r = await h.press(LIAISON[1], "✅ 提交")
    assert "<script>alert(1)</script>" in r.to(HEAD[1]).text


async def test_only_the_units_head_can_confirm(world_harness: Harness) -> None:
    h = world_harness
    r = await submit(h, LIAISON[1])
    data = r.to(HEAD[1]).items[-1].buttons[0][0]["callback_data"]
    mine = h.api.last_bot_message(LIAISON[1]).message_id
    r = await h.press_data(LIAISON[1], mine, data)
    assert r.popups == ["只有本单位负责人可以确认或退回周报。"]
    other = h.api.last_bot_message(HEAD[2]) or None
    if other is None:
        await h.send(HEAD[2], "/status")
        other = h.api.last_bot_message(HEAD[2])
    r = await h.press_data(HEAD[2], other.message_id, data)
    assert r.popups == ["只有本单位负责人可以确认或退回周报。"]
    r = await h.press_data(HEAD[2], other.message_id, data.replace(":ok", ":ret"))
    assert r.popups == ["只有本单位负责人可以确认或退回周报。"]
    assert (await submission(h, 1)).accepted_version_id is None  # type: ignore[union-attr]
    await h.press(HEAD[1], "✅ 确认")
    r = await h.press_data(
        HEAD[1], h.api.last_bot_message(HEAD[1]).message_id, data
    )  # pressed again
    assert r.popups == ["第 1 版已确认过了。"]


async def test_a_double_pressed_submit_files_one_version(world_harness: Harness) -> None:
    h = world_harness
    await fill_all_none(h, LIAISON[1])
    preview = h.api.last_bot_message(LIAISON[1])
    data = next(
        b["callback_data"]
        for row in preview.reply_markup["inline_keyboard"]
        for b in row
        if b["text"] == "✅ 提交"
    )
    first = await h.press_data(LIAISON[1], preview.message_id, data)
    second = await h.press_data(LIAISON[1], preview.message_id, data)
    assert "已提交（第 1 版）" in first.text
    assert (
        second.popups == ["这份周报已经提交过了，无需重复提交。"] and not second.to(HEAD[1]).items
    )
    async with h.db.session() as s:
        assert len((await s.scalars(select(WeeklyVersion))).all()) == 1


async def test_an_old_preview_cannot_submit_a_changed_draft(world_harness: Harness) -> None:
    h = world_harness
    await fill_all_none(h, LIAISON[1])
    old = h.api.last_bot_message(LIAISON[1])
    data = next(
        b["callback_data"]
        for row in old.reply_markup["inline_keyboard"]
        for b in row
        if b["text"] == "✅ 提交"
    )
    await h.press(LIAISON[1], "改工作信息")
    await h.send(LIAISON[1], "新的工作信息")
    r = await h.press_data(LIAISON[1], old.message_id, data)
    assert "预览后又改过了" in r.text and "新的工作信息" in r.text
    r = await h.press(LIAISON[1], "✅ 提交")
    assert "已提交（第 1 版）" in r.text


async def test_a_form_typed_in_a_group_opens_the_private_chat(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LIAISON[1], "/weekly", chat_id=GROUP[1])
    assert "私聊中填写" in r.text and r.items[0].buttons[0][0]["url"].endswith("?start=weekly")
    r = await h.send(LIAISON[1], "/start weekly")
    assert "第 1/4 项 · 新增线索" in r.text


async def test_an_idle_form_times_out_but_keeps_the_draft(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON[1], "/weekly")
    await h.send(LIAISON[1], "无")
    await h.send(LIAISON[1], "杭州，12月1日，对接数字经济项目")
    h.clock.advance(timedelta(hours=2))
    r = await h.send(LIAISON[1], "宁波，12月3日")
    assert "填写已超时，草稿已保存" in r.text
    r = await h.send(LIAISON[1], "/weekly")
    assert "已恢复您保存的草稿" in r.text and "杭州，12月1日" in r.text and "宁波" not in r.text


async def test_the_draft_survives_a_restart(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON[1], "/weekly")
    await h.send(LIAISON[1], "无")
    await h.restart()
    r = await h.send(LIAISON[1], "杭州，12月1日，对接数字经济项目")
    assert "已记录 1 条行程" in r.text


# --- people away, weeks off, holidays, failures -------------------------------------------------


async def test_leave_sends_the_reminders_to_a_colleague(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LIAISON[3], "/leave until 12月3日")
    assert "已登记休假至 12月3日（含当天）" in r.text and "孙局长" in r.text
    r = await tick(h, at(18, 17))
    assert not r.to(LIAISON[3]).items
    assert (
        "王五（至 12月3日）休假，本提醒转给您" in r.to(HEAD[3]).text
        and "规划建设局" in r.to(HEAD[3]).text
    )
    r = await h.send(LIAISON[3], "/leave off")
    assert "已结束休假" in r.text
    r = await tick(h, at(19, 9))
    assert "还剩 8 小时" in r.to(LIAISON[3]).text and not r.to(HEAD[3]).items
    r = await h.send(LIAISON[3], "/leave 明天")  # issue 17: the forms' day words work here too
    assert "已登记休假至 11月20日" in r.text
    r = await h.send(LIAISON[3], "/leave 下礼拜八")
    assert "用法" in r.text


async def test_a_skipped_week_has_no_reminders_and_no_missing_marks(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(ADMIN, "/skipweek 2026-W47 全区集中学习")
    assert "已设置 2026年第47周（2026-W47，原截止 11月19日（周四）17:00）免报" in r.text
    r = await h.send(LIAISON[1], "/skipweek 2026-W48")
    assert "仅" in r.text or "管理员" in r.text
    r = await tick(h, at(18, 17))
    assert not [x for x in r.items if x.chat_id != ADMIN]
    r = await tick(h, at(19, 17, 1))
    assert not [x for x in r.items if x.chat_id != ADMIN]
    assert await submission(h, 1) is None
    r = await h.send(LIAISON[1], "/status")
    assert "2026年第48周" in r.text
    r = await h.send(ADMIN, "/skipweek")
    assert "用法" in r.text


async def test_a_skip_taken_back_resumes_the_reminders_without_sending_stale_ones(
    world_harness: Harness,
) -> None:
    h = world_harness
    await h.send(ADMIN, "/skipweek 2026-W47 全区集中学习")
    r = await tick(h, at(18, 17))
    assert not [x for x in r.items if x.chat_id != ADMIN]
    h.clock.set(at(19, 8))
    r = await h.send(ADMIN, "/skipweek 2026-W47 取消")
    assert "已取消 2026年第47周（2026-W47）的免报，之后的提醒照常发送" in r.text
    r = await tick(h, at(19, 9))
    assert "还剩 8 小时" in r.to(LIAISON[1]).text  # the 8-hour reminder, on time …
    assert (
        len(r.to(LIAISON[1]).items) == 1 and not r.to(ADMIN).items
    )  # … the stale 24-hour one neither sent nor reported
    r = await h.send(LIAISON[1], "/status")
    assert "免报" not in r.text


async def test_a_skip_taken_back_after_the_deadline_marks_the_week_missing(
    world_harness: Harness,
) -> None:
    h = world_harness
    await h.send(ADMIN, "/skipweek 2026-W47")
    await tick(h, at(19, 18))
    h.clock.set(at(20, 9))
    r = await h.send(ADMIN, "/skipweek 2026-W47 off")
    assert "截止时间已过" in r.text and "11月26日（周四）17:00 前补报" in r.text
    await tick(h, at(20, 9, 1))
    assert (await submission(h, 1)).outcome == "missing"


async def test_a_blocked_liaison_is_reported_to_admins_once_and_shown_in_health(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.api.block_chat(LIAISON[4])
    r = await tick(h, at(18, 17))
    report = r.to(ADMIN).text
    assert "未能送达" in report and "刘六（财政局）" in report and "对方已屏蔽机器人" in report
    r = await tick(h, at(19, 9))
    assert "刘六（财政局） — 周报提醒" in r.to(ADMIN).text  # the 8-hour one is a new failure
    r = await tick(h, at(19, 9, 1))
    assert not r.to(ADMIN).items
    r = await h.send(ADMIN, "/health")
    assert "调度器上次运行：2026-11-19 09:01:00" in r.text and "发送失败（不再重试）2 条" in r.text
    assert "刘六（财政局） · 截止前 24 小时提醒 · 2026年第47周 · 失败" in r.text  # issue 17: words
    failed = [row for row in await outbox(h) if row.status == "failed"]
    assert len(failed) == 2 and all(
        "blocked" in (row.error or "") and row.attempts == 1 for row in failed
    )


@pytest.fixture
async def national_day(sqlite_db: Database) -> AsyncIterator[Harness]:
    """The demo jurisdiction on Monday 28 September 2026: Thursday is 1 October."""
    h = Harness(sqlite_db, ManualClock(at(28, 10, month=9)), make_settings(sqlite_db.url))
    await h.start()
    await h.seed()
    try:
        yield h
    finally:
        await h.close()


async def test_a_deadline_moved_for_national_day_is_said_everywhere(national_day: Harness) -> None:
    h = national_day
    r = await h.send(LIAISON[1], "/weekly")
    assert (
        "截止：9月30日（周三）17:00" in r.text
        and "截止时间因国庆节调整为 9月30日（周三）17:00" in r.text
    )
    r = await tick(h, at(29, 17, month=9))
    assert "9月30日（周三）17:00（还剩 24 小时）" in r.to(LIAISON[2]).text
    assert "截止时间因国庆节调整为 9月30日（周三）17:00" in r.to(LIAISON[2]).text
    assert "截止时间因国庆节调整" in r.to(GROUP[2]).text
    r = await tick(h, at(30, 15, month=9))
    assert "截止时间因国庆节调整" in r.to(LEADERS_GROUP).text
    r = await h.send(LEADER, "/status")
    assert "截止时间因国庆节调整为 9月30日（周三）17:00" in r.text


async def test_the_outbox_has_a_health_probe(world_harness: Harness) -> None:
    h = world_harness
    assert h.app is not None and "outbox" in h.app.health.names
    await tick(h, at(18, 17))
    report = await h.app.health.run()
    assert report.body["outbox"]["backlog"] == 0 and report.body["outbox"]["failed"] == 0
    assert report.body["outbox"]["last_drain"].startswith("2026-11-18T09:00")


async def test_a_unit_owing_last_week_may_fill_in_this_week_instead(world_harness: Harness) -> None:
    h = world_harness
    await tick(h, at(19, 18))
    r = await h.send(LIAISON[2], "/weekly")
    assert "2026年第47周" in r.text and "改填本周周报" in r.labels
    intro = next(x for x in r.items if "改填本周周报" in x.labels)
    r = await h.press_data(LIAISON[2], intro.message_id, intro.buttons[0][0]["callback_data"])  # type: ignore[arg-type]
    assert "经济发展局 · 2026年第48周 周报" in r.text and "第 1/4 项 · 新增线索" in r.text
    r = await h.send(LIAISON[2], "/status")
    assert "2026年第47周 周报尚未完成，可补交至 11月26日（周四）17:00" in r.text
