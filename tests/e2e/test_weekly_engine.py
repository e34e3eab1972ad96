"""/weekly and the head's return reason on the form engine: what the move must keep.

The draft lives in the database (a restart in the middle of the progress loop loses
nothing), an older button is a popup and changes nothing, an open return reason
expires by the injected clock, and what the bot tells the head and the liaison is
planned once even when the same update is handled twice (a replay after a crash).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import OutboxMessage, WeeklyVersion
from tests.e2e.harness import Harness
from tests.e2e.test_weekly import HEAD, LIAISON, at, fill_all_none, seed_lead, submit

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

STALE = "这个按钮已失效，请重新发起。"


async def notices(h: Harness, kind: str, chat: int) -> list[OutboxMessage]:
    async with h.db.session() as s:
        rows = (await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    return [r for r in rows if r.kind == f"notify:{kind}" and r.chat_id == chat]


async def versions(h: Harness) -> list[tuple[int, str]]:
    async with h.db.session() as s:
        rows = (await s.scalars(select(WeeklyVersion).order_by(WeeklyVersion.number))).all()
    return [(v.number, v.status) for v in rows]


async def test_a_restart_in_the_middle_of_the_progress_loop_loses_nothing(
    world_harness: Harness,
) -> None:
    h = world_harness
    code = await seed_lead(h, LIAISON[1], "动力电池项目", "宁德时代新能源科技股份有限公司")
    await h.send(LIAISON[1], "/weekly")
    await h.send(LIAISON[1], "无")
    await h.send(LIAISON[1], "无")
    r = await h.press(LIAISON[1], f"{code} 动力电池")
    assert f"请发送 {code} 动力电池项目 的进展情况" in r.text
    await h.restart()
    r = await h.send(LIAISON[1], "已签框架协议")
    assert "阶段有变化吗？当前：在谈" in r.text
    await h.restart()
    r = await h.press(LIAISON[1], "阶段不变")
    assert "已记录 1 条进展" in r.text and "已签框架协议" in r.text


async def test_an_older_button_is_a_popup_and_the_form_stays_where_it_is(
    world_harness: Harness,
) -> None:
    h = world_harness
    await h.send(LIAISON[1], "/weekly")
    first = h.api.last_bot_message(LIAISON[1])
    assert first is not None and first.reply_markup is not None
    none = next(
        b["callback_data"]
        for row in first.reply_markup["inline_keyboard"]
        for b in row
        if b["text"] == "无"
    )
    r = await h.press(LIAISON[1], "无")
    assert "第 2/4 项 · 赴外路线" in r.text
    r = await h.press_data(LIAISON[1], first.message_id, none)  # the leads question's 无, again
    assert r.popups == [STALE] and not r.items
    r = await h.send(LIAISON[1], "深圳，11月25日")
    assert "已记录 1 条行程" in r.text


async def test_the_return_reason_expires_by_the_clock_and_the_version_still_waits(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.clock.set(at(18, 9))
    await submit(h, LIAISON[2])
    r = await h.press(HEAD[2], "↩️ 退回")
    assert "请输入退回原因" in r.text
    h.clock.advance(timedelta(minutes=61))
    r = await h.send(HEAD[2], "太简略")
    assert "退回操作已超时" in r.text
    assert await versions(h) == [(1, "submitted")]
    assert not await notices(h, "weekly.decision", LIAISON[2])
    r = await h.press(HEAD[2], "✅ 确认")  # the card's buttons still work
    assert "已确认" in r.text


async def test_a_request_to_the_head_and_a_return_notice_are_planned_once_per_update(
    world_harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same update handled twice (the inbox's replay after a crash) files one version,
    plans one request to the head and one notice to the liaison."""
    h = world_harness
    assert h.app is not None
    seen: list[Any] = []
    original = type(h.app).process_update

    async def recording(self: Any, update: object) -> None:
        seen.append(update)
        await original(self, update)

    monkeypatch.setattr(type(h.app), "process_update", recording)
    h.clock.set(at(18, 9))
    await fill_all_none(h, LIAISON[1])
    r = await h.press(LIAISON[1], "✅ 提交")
    assert "已提交（第 1 版）" in r.text and len(r.to(HEAD[1]).items) == 1
    await original(h.app, seen[-1])  # the submit press, handled again
    again = h.collect()
    assert not again.to(HEAD[1]).items and "已提交" not in again.text
    assert await versions(h) == [(1, "submitted")]
    assert len(await notices(h, "weekly.head_card", HEAD[1])) == 1

    await h.press(HEAD[1], "↩️ 退回")
    r = await h.send(HEAD[1], "请补充接待情况")
    assert "已退回第 1 版" in r.text and "请补充接待情况" in r.to(LIAISON[1]).text
    await original(h.app, seen[-1])  # the reason, handled again
    again = h.collect()
    assert not again.to(LIAISON[1]).items
    assert await versions(h) == [(1, "returned")]
    [notice] = await notices(h, "weekly.decision", LIAISON[1])
    assert notice.status == "sent" and notice.params["reason"] == "请补充接待情况"


async def test_the_heads_card_is_in_the_heads_language_and_sent_through_the_outbox(
    world_harness: Harness,
) -> None:
    h = world_harness
    await h.send(HEAD[1], "/lang")
    await h.press(HEAD[1], "English")
    h.clock.set(at(18, 9))
    r = await submit(h, LIAISON[1])
    card = r.to(HEAD[1])
    assert "To confirm: 招商引资部" in card.text and card.labels == ["✅ Confirm", "↩️ Return"]
    [row] = await notices(h, "weekly.head_card", HEAD[1])
    assert row.status == "sent" and row.locale == "en"


async def test_a_head_may_cancel_the_return_reason_and_confirm_instead(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.clock.set(at(18, 9))
    await submit(h, LIAISON[3])
    await h.press(HEAD[3], "↩️ 退回")
    r = await h.send(HEAD[3], "/cancel")
    assert "已取消退回" in r.text
    r = await h.send(HEAD[3], "这句不是原因")
    assert "已退回" not in r.text and await versions(h) == [(1, "submitted")]
    r = await h.press(HEAD[3], "✅ 确认")
    assert "已确认" in r.text and await versions(h) == [(1, "confirmed")]


async def test_a_button_of_the_old_conversation_form_is_a_popup_after_the_upgrade(
    world_harness: Harness,
) -> None:
    """Messages sent before the move still carry ``wk:`` buttons: they expire politely."""
    h = world_harness
    await h.send(LIAISON[1], "/weekly")
    message = h.api.last_bot_message(LIAISON[1])
    assert message is not None
    for data in ("wk:later", "wk:none:trips", "wk:submit:1:3"):
        r = await h.press_data(LIAISON[1], message.message_id, data)
        assert r.popups == [STALE] and not r.items
    r = await h.send(LIAISON[1], "无")  # the engine's form is where it was
    assert "第 2/4 项 · 赴外路线" in r.text
