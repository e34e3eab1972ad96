"""/status, /leads, /lead and /funds on DingTalk, with the lead card's buttons: the same
services and words as Telegram (bot/rendering), through the real SDK against the stand-in."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Lead
from tests.e2e.test_dingtalk import ADMIN_STAFF, DingTalkWorld, fill_report
from tests.e2e.test_dingtalk import world as world  # the fixtures, shared
from tests.e2e.test_dingtalk_reminders import DT_ADMIN, Mixed
from tests.e2e.test_dingtalk_reminders import mixed as mixed
from tests.e2e.test_weekly import HEAD, LIAISON, seed_lead

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


def labels(*messages: object) -> list[str]:
    return [label for m in messages for label, _ in getattr(m, "buttons", ())]


async def reported(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    await fill_report(world, "liaison1", "宁德时代新能源科技股份有限公司")
    [saved] = await world.press("liaison1", "✅ 保存")
    assert "已登记 L0001" in saved.text


async def test_the_list_the_card_and_a_stage_move_through_its_prompt(world: DingTalkWorld) -> None:
    await reported(world)
    first, more = await world.say("liaison1", "线索")  # the stage filters fill a second card
    assert "招商一局的线索" in first.text and "L0001 动力电池项目 · 在谈" in first.text
    assert labels(first, more)[:3] == ["L0001", "✓ 全部", "线索"] and "投产" in labels(more)
    page, _ = await world.press("liaison1", "签约")  # the filter: no lead at 签约 yet
    assert "阶段：签约" in page.text and "L0001" not in labels(page)
    [card] = await world.press("liaison1", "L0001")  # on the first list's card
    assert "投资方：宁德时代新能源科技股份有限公司" in card.text and "1\\.2亿元" in card.text
    assert labels(card) == ["推进阶段", "修改"]
    [menu] = await world.press("liaison1", "推进阶段")
    assert "当前阶段：在谈" in menu.text and "签约" in labels(menu)
    [ask] = await world.press("liaison1", "签约")  # the engine's stage-note prompt
    assert "阶段：在谈 → 签约" in ask.text and labels(ask) == ["跳过", "取消"]
    [done] = await world.say("liaison1", "已签框架协议")
    assert "在谈 → 签约" in done.text and "备注：已签框架协议" in done.text
    assert labels(done) == ["查看线索"]  # the form's link: the card again
    async with world.db.session() as s:
        [lead] = (await s.scalars(select(Lead))).all()
    assert lead.stage == "签约"
    [again] = await world.press("liaison1", "查看线索")
    assert "阶段：签约" in again.text
    [stale] = await world.press("liaison1", "跳过")  # the prompt is closed
    assert "这个按钮已失效" in stale.text


async def test_a_bare_code_and_lead_open_the_card_in_private_only(world: DingTalkWorld) -> None:
    await reported(world)
    [bare] = await world.say("liaison1", "L0001")
    [command] = await world.say("liaison1", "/lead L0001")
    assert "**L0001** 动力电池项目" in bare.text and bare.text == command.text
    [usage] = await world.say("liaison1", "/lead")
    assert "L0001" not in usage.text
    [group] = await world.say("liaison1", "线索", group="cidunit1")
    assert group.to == ("group", "cidunit1") and "请在与机器人的私聊中使用此命令" in group.text


async def test_funds_are_recorded_and_shown(world: DingTalkWorld) -> None:
    await reported(world)
    [recorded] = await world.say("liaison1", "/funds L0001 3000万")
    assert "已登记 L0001 动力电池项目 2026年11月到位资金 3,000万元" in recorded.text
    [history] = await world.say("liaison1", "资金 L0001")
    assert "2026年11月：3,000万元（11月17日 登记）" in history.text
    [bad] = await world.say("liaison1", "/funds X9")
    assert "X9" in bad.text


async def test_status_for_a_member_in_private_and_in_the_group(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    [mine] = await world.say("liaison1", "状态")
    assert "招商一局 · 2026年第47周 周报" in mine.text and "尚未提交" in mine.text
    assert labels(mine) == ["开始填写"]
    [first] = await world.press("liaison1", "开始填写")
    assert "第 1/4 项 · 新增线索" in first.text
    [group] = await world.say("liaison1", "/status", group="cidunit1")
    assert group.to == ("group", "cidunit1") and "尚未提交" in group.text


async def test_a_lead_button_while_a_form_is_open_is_not_taken_as_an_answer(
    world: DingTalkWorld,
) -> None:
    await reported(world)
    await world.say("liaison1", "线索")
    [ask] = await world.say("liaison1", "报送线索")
    assert "项目名称" in ask.text
    [card] = await world.press("liaison1", "L0001")
    assert "**L0001** 动力电池项目" in card.text
    [next_question] = await world.say("liaison1", "储能电站项目")
    assert "第 2/13 步" in next_question.text and "投资方" in next_question.text


async def test_a_leader_verifies_and_a_second_lead_is_returned_with_a_reason(
    world: DingTalkWorld,
) -> None:
    await reported(world)
    [card] = await world.say(ADMIN_STAFF, "L0001")
    assert labels(card) == ["推进阶段", "核实有效", "退回"]
    [verified] = await world.press(ADMIN_STAFF, "核实有效")
    assert "已核实 **L0001** 动力电池项目（招商一局）为有效信息" in verified.text
    await world.join("liaison2", "招商二局")
    await fill_report(world, "liaison2", "比亚迪股份有限公司")
    await world.press("liaison2", "✅ 保存")
    await world.say(ADMIN_STAFF, "L0002")
    [ask] = await world.press(ADMIN_STAFF, "退回")
    assert "请输入退回原因" in ask.text and labels(ask) == ["取消"]
    [returned] = await world.say(ADMIN_STAFF, "信息不实")
    assert "已退回 **L0002** 动力电池项目" in returned.text and "原因：信息不实" in returned.text
    assert labels(returned) == ["查看线索"]
    async with world.db.session() as s:
        leads = (await s.scalars(select(Lead).order_by(Lead.id))).all()
    assert [lead.review for lead in leads] == ["verified", "rejected"]


async def test_the_typed_lead_commands_do_what_their_buttons_do(world: DingTalkWorld) -> None:
    await reported(world)
    [moved] = await world.say("liaison1", "/stage L0001 签约 已签框架协议")
    assert "在谈 → 签约" in moved.text and "备注：已签框架协议" in moved.text
    [menu] = await world.say("liaison1", "/stage L0001")
    assert "当前阶段：签约" in menu.text and "落地" in labels(menu)
    edit, *more = await world.say("liaison1", "/edit L0001")  # a field each: several cards
    assert "L0001" in edit.text and "投资方" in labels(edit, *more)
    [ask] = await world.press("liaison1", "备注")  # the engine's new-value prompt
    assert "备注" in ask.text
    [edited] = await world.say("liaison1", "已完成土地预审")
    assert "已完成土地预审" in edited.text
    [usage] = await world.say("liaison1", "/stage")
    assert "/stage" in usage.text
    [refused] = await world.say("liaison1", "/verify L0001")
    assert "已核实" not in refused.text
    [rejected] = await world.say(ADMIN_STAFF, "/reject L0001 重复报送")
    assert "已退回 **L0001**" in rejected.text and "原因：重复报送" in rejected.text
    [verified] = await world.say(ADMIN_STAFF, "/verify L0001")
    assert "已核实 **L0001**" in verified.text
    [group] = await world.say("liaison1", "/stage L0001", group="cidunit1")
    assert "请在与机器人的私聊中使用此命令" in group.text
    async with world.db.session() as s:
        [lead] = (await s.scalars(select(Lead))).all()
    assert lead.stage == "签约" and lead.review == "verified"


async def test_a_member_switches_to_english_on_dingtalk(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    [choose] = await world.say("liaison1", "/lang")
    assert labels(choose) == ["中文", "English"]
    [done] = await world.press("liaison1", "English")
    assert "Language set to English" in done.text
    [status] = await world.say("liaison1", "状态")  # the aliases stay Chinese
    assert "Status: not submitted yet" in status.text


async def test_a_verdict_on_dingtalk_reaches_the_telegram_unit_and_says_how_many(
    mixed: Mixed,
) -> None:
    h = mixed.h
    code = await seed_lead(h, LIAISON[1], "动力电池项目", "宁德时代新能源科技股份有限公司")
    h.collect()
    [verified] = await mixed.messages(DT_ADMIN, f"/verify {code}")
    assert f"已核实 **{code}** 动力电池项目" in verified.text
    told = h.collect()
    assert "已核实" in told.to(LIAISON[1]).text and told.to(HEAD[1]).items
    sent = len({r.chat_id for r in told.items})
    assert f"已通知该单位 {sent} 人" in verified.text, verified.text
    [returned] = await mixed.messages(DT_ADMIN, f"/reject {code} 信息不实")
    assert "原因：信息不实" in returned.text and f"已通知该单位 {sent} 人" in returned.text


async def test_a_liaison_takes_leave_and_ends_it(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    await world.join("liaison2", "招商一局")
    [usage] = await world.say("liaison1", "/leave")
    assert "用法：/leave 12月3日" in usage.text
    [on_leave] = await world.say("liaison1", "/leave 12月3日")
    assert "已登记休假至 12月3日" in on_leave.text and "李联络" in on_leave.text
    [back] = await world.say("liaison1", "/leave off")
    assert "已结束休假" in back.text


async def test_tax_is_recorded_and_shown_as_funds_are(world: DingTalkWorld) -> None:
    await reported(world)
    [recorded] = await world.say("liaison1", "/tax L0001 8万")
    assert "已登记 L0001 动力电池项目 2026年11月已缴税收 8万元" in recorded.text
    [history] = await world.say("liaison1", "税收 L0001")
    assert "已缴税收" in history.text and "8万元" in history.text


async def test_web_gives_the_one_time_link_in_private_and_health_is_for_admins(
    world: DingTalkWorld,
) -> None:
    from handlers.web.auth import WebUser

    await world.join("liaison1", "招商一局")
    [off] = await world.say("liaison1", "/web")
    assert "网页版未开启" in off.text
    asked: list[WebUser] = []

    async def link(user: WebUser) -> str:
        asked.append(user)
        return "https://bot.example.com/app/login?t=" + "x" * 43

    world.adapter.web_link = link
    [reply] = await world.say("liaison1", "/web")
    url = "https://bot.example.com/app/login?t=" + "x" * 43
    assert f"]({url})" in reply.text  # a markdown link: the address itself unescaped
    assert asked == [WebUser("dingtalk", "liaison1", asked[0].name)]
    [group] = await world.say("liaison1", "/web", group="cidunit1")
    assert "app/login" not in group.text and "私聊" in group.text
    [refused] = await world.say("liaison1", "/health")
    assert "仅限管理员" in refused.text and "运行状态" not in refused.text
    [health] = await world.say(ADMIN_STAFF, "/health")
    assert "运行状态" in health.text
