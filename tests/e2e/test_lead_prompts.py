"""The lead prompts on the form engine: the draft in the database, stale buttons, expiry
by the clock, and review notices through the notifier exactly once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from telegram import Update

from bot.services import lead_notices
from bot.services.lead_updates import Recipient, ReviewResult
from storage.models import FormDraft, OutboxMessage
from tests.e2e.harness import Harness
from tests.e2e.test_access_flow import raw_text_update
from tests.e2e.test_leads_browse import HEAD, LEADER, LIAISON, add_lead, data_of, events, lead


async def draft_of(h: Harness, tg: int) -> FormDraft | None:
    async with h.db.session() as s:
        return await s.get(FormDraft, f"tg:{tg}")


async def review_rows(h: Harness) -> list[OutboxMessage]:
    async with h.db.session() as s:
        kind = "notify:" + lead_notices.KIND
        return list(
            (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))).all()
        )


async def test_a_stage_note_typed_after_a_restart_lands(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    await h.send(LIAISON, f"/stage {code}")
    await h.press(LIAISON, "签约")
    stored = await draft_of(h, LIAISON)
    assert stored is not None and stored.form == "lead_stage"
    assert stored.data["scratch"]["to"] == "签约" and stored.data["step"] == "note"
    await h.restart()
    r = await h.send(LIAISON, "重启后补的备注")
    assert "线索 → 签约" in r.text and "备注：重启后补的备注" in r.text
    assert r.labels == ["查看线索"]  # as /stage L0001 签约 … answers
    assert (await lead(h, code)).stage == "签约" and await draft_of(h, LIAISON) is None
    [event] = await events(h, code, "stage")
    assert event.note == "重启后补的备注"


async def test_a_button_of_an_earlier_prompt_gets_the_stale_popup(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    await h.send(LIAISON, f"/stage {code}")
    r = await h.press(LIAISON, "在谈")
    old_id, old_skip = data_of(r, "跳过")
    await h.send(LIAISON, f"/stage {code}")
    await h.press(LIAISON, "签约")  # a new prompt: the first one's buttons mean nothing now
    r = await h.press_data(LIAISON, old_id, old_skip)
    assert r.popups == ["这个按钮已失效，请重新发起。"] and not r.items
    assert (await lead(h, code)).stage == "线索"
    r = await h.send(LIAISON, "第二个提示的备注")
    assert "线索 → 签约" in r.text


async def test_a_prompt_expires_by_the_clock(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    r = await h.send(LEADER, f"/reject {code}")
    assert "请输入退回原因" in r.text
    h.clock.advance(timedelta(minutes=h.settings.form_timeout_minutes - 1))
    assert (await draft_of(h, LEADER)) is not None  # not yet
    h.clock.advance(timedelta(minutes=2))
    r = await h.send(LEADER, "晚到的原因")
    assert "操作已超时" in r.text
    assert (await lead(h, code)).review != "rejected" and await draft_of(h, LEADER) is None
    assert await review_rows(h) == []


async def test_a_review_notice_is_planned_once_when_the_update_is_handled_twice(
    world_harness: Harness,
) -> None:
    h = world_harness
    code = await add_lead(h)
    update = raw_text_update(900_101, LEADER, f"/verify {code}")
    r = await h._act(h.api.enqueue_update(update))
    assert "已核实 L0001" in r.text and "已通知该单位 2 人" in r.text
    assert len(r.to(LIAISON)) == 1 and len(r.to(HEAD)) == 1
    assert [b["text"] for b in r.to(HEAD).items[0].buttons[0]] == ["查看线索"]
    assert h.app is not None
    await h.app.process_update(Update.de_json(update, h.app.bot))  # the same update again
    assert len(h.collect()) == 0
    rows = await review_rows(h)
    assert sorted(row.chat_id for row in rows) == sorted([LIAISON, HEAD])
    assert {row.status for row in rows} == {"sent"}


async def test_planning_the_same_verdict_twice_adds_no_notice(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    await h.send(LEADER, f"/verify {code}")
    [first, *_] = await review_rows(h)
    async with h.db.session() as s:
        result = ReviewResult(
            int(code[1:]),
            code,
            "动力电池项目",
            "招商引资部",
            "verified",
            None,
            False,
            None,
            (Recipient(LIAISON, None, "x"), Recipient(HEAD, None, "y")),
        )
        again = await lead_notices.plan_review(
            s, result, now=h.clock.now(), key=first.period_key, default_locale="zh_CN"
        )
    assert again == 0 and len(await review_rows(h)) == 2


async def test_a_reject_prompt_tells_the_unit_through_the_outbox(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    await h.send(LEADER, f"/lead {code}")
    await h.press(LEADER, "退回")
    r = await h.send(LEADER, "重复报送")
    assert "已退回 L0001" in r.text and "已通知该单位 2 人" in r.text
    assert "已被领导退回" in r.to(LIAISON).text and "重复报送" in r.to(HEAD).text
    rows = await review_rows(h)
    assert len(rows) == 2 and {row.template for row in rows} == {"leads.notify.rejected"}


async def test_another_command_leaves_the_prompt(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    await h.send(LIAISON, f"/stage {code}")
    await h.press(LIAISON, "在谈")
    r = await h.send(LIAISON, "/leads")
    assert "L0001" in r.text and await draft_of(h, LIAISON) is None
    r = await h.send(LIAISON, code)  # the card, not a stage note
    assert "动力电池项目" in r.text and "已更新" not in r.text
    assert (await lead(h, code)).stage == "线索"


async def test_tags_may_be_typed_as_well_as_ticked(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    await h.send(LIAISON, f"/edit {code}")
    r = await h.press(LIAISON, "标签")
    assert r.labels[-3:] == ["完成", "清空", "取消"]
    r = await h.send(LIAISON, "上市公司、不存在的标签")
    assert "不存在的标签" in r.text and "标签" in r.text  # the refusal, the question again
    r = await h.send(LIAISON, "上市公司 专精特新")
    assert "标签：— → 上市公司、专精特新" in r.text


async def test_an_activity_form_left_open_goes_on_after_a_prompt(world_harness: Harness) -> None:
    h = world_harness
    caizheng = 1104  # 财政局's liaison
    code = await add_lead(h, caizheng, "比亚迪股份有限公司")
    await h.send(caizheng, "/activity")
    await h.press(caizheng, "达成合作意向")
    await h.press(caizheng, "今天")
    await h.send(caizheng, f"/stage {code}")
    await h.press(caizheng, "在谈")
    r = await h.send(caizheng, "初步接洽")
    assert "线索 → 在谈" in r.text and "备注：初步接洽" in r.text
    r = await h.send(caizheng, "与上海某新能源企业达成合作意向")  # the activity form's answer
    assert "关联的线索编号" in r.text or "请核对工作记录" in r.text, r.text
