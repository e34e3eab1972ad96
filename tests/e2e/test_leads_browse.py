"""Leads after the report: browsing, the card by role, stages, review and edits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.domain.credit_code import check_character
from bot.services.access import resolve_actor
from bot.services.leads import LeadDraft, report_lead
from storage import lead_repo
from storage.models import Lead, LeadEvent
from tests.e2e.harness import Harness, Replies

ADMIN, LEADER = 1000, 1001
LIAISON, HEAD, OTHER = 1101, 1201, 1102  # 招商引资部 ×2, 经济发展局
STRANGER = 777
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")


async def add_lead(
    h: Harness, tg: int = LIAISON, company: str = "宁德时代新能源科技股份有限公司", **kw: Any
) -> str:
    """Leads are made by the reporting service directly (the /report form is tested elsewhere)."""
    fields: dict[str, Any] = {
        "project": "动力电池项目",
        "company": company,
        "industry": "新能源",
        "amount_wan": Decimal("12000"),
        "origin": "省外",
        "stage": "线索",
    }
    fields.update(kw)
    async with h.db.session() as s:
        actor = await resolve_actor(s, h.settings, tg, "x", None)
        result = await report_lead(s, h.clock.now(), actor, LeadDraft(**fields), h.settings)
    return result.code


async def lead(h: Harness, code: str) -> Lead:
    async with h.db.session() as s:
        found = await lead_repo.lead_by_id(s, int(code[1:]))
        assert found is not None
        return found


async def events(h: Harness, code: str, kind: str) -> list[LeadEvent]:
    async with h.db.session() as s:
        return [e for e in await lead_repo.lead_history(s, int(code[1:])) if e.kind == kind]


def data_of(r: Replies, label: str) -> tuple[int, str]:
    """(message id, callback data) of a button, to press it again later (a stale button)."""
    for item in r.items:
        for row in item.buttons:
            for b in row:
                if b.get("text") == label:
                    assert item.message_id is not None
                    return item.message_id, b["callback_data"]
    raise AssertionError(f"no button {label!r} in {r.labels}")


# --- /leads ------------------------------------------------------------------------------------------


async def test_leads_pages_and_filters_in_the_same_message(world_harness: Harness) -> None:
    h = world_harness
    for i in range(27):
        h.clock.advance(timedelta(minutes=1))
        await add_lead(
            h,
            LIAISON,
            f"本单位企业{i}有限公司",
            project=f"项目{i + 1:02d}",
            stage="在谈" if i % 4 == 0 else "线索",
        )
    for i in range(3):
        await add_lead(h, OTHER, f"外单位企业{i}有限公司", project=f"外单位项目{i}")
    first = await h.send(LIAISON, "/leads")
    assert "招商引资部的线索" in first.text and "共 27 条，第 1/3 页" in first.text
    assert (
        "L0027 项目27 · 线索" in first.text and "L0018" in first.text and "L0017" not in first.text
    )
    assert (
        "外单位" not in first.text and "下一页 ›" in first.labels and "‹ 上一页" not in first.labels
    )
    message_id = first.items[0].message_id
    r = await h.press(LIAISON, "下一页 ›")
    assert r.items[0].method == "editMessageText" and r.items[0].message_id == message_id
    assert (
        "第 2/3 页" in r.text and "L0017" in r.text and "L0008" in r.text and "L0018" not in r.text
    )
    r = await h.press(LIAISON, "下一页 ›")
    assert "第 3/3 页" in r.text and "L0001" in r.text and "下一页 ›" not in r.labels
    r = await h.press(LIAISON, "‹ 上一页")
    assert "第 2/3 页" in r.text
    r = await h.press(LIAISON, "在谈")
    assert (
        r.items[0].message_id == message_id
        and "阶段：在谈" in r.text
        and "共 7 条，第 1/1 页" in r.text
    )
    assert "✓ 在谈" in r.labels and " · 线索" not in r.text
    r = await h.press(LIAISON, "签约")
    assert "共 0 条" in r.text and "暂无线索" in r.text
    r = await h.press(LIAISON, "全部")
    assert "共 27 条" in r.text
    r = await h.press(LIAISON, "L0027")  # a lead's button opens its card
    assert "投资方：本单位企业26有限公司" in r.text
    # Leaders see every unit, with the unit on each line.
    r = await h.send(LEADER, "/leads")
    assert (
        "全部单位的线索" in r.text
        and "共 30 条" in r.text
        and "L0030 外单位项目2 · 线索 · 经济发展局" in r.text
    )
    # A filter typed with the command; a stage that does not exist.
    assert "共 7 条" in (await h.send(LIAISON, "/leads 在谈")).text
    assert "没有“上市”这个阶段" in (await h.send(LIAISON, "/leads 上市")).text


# --- /lead -------------------------------------------------------------------------------------------------


async def test_the_card_shows_each_role_what_it_may_see(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(
        h, contact_name="陈经理", contact_phone="13800138000", tags=("上市公司",), channel="展会"
    )
    dup = await add_lead(h, OTHER, "宁德时代新能源科技")
    for who in (LIAISON, HEAD):
        r = await h.send(who, "/lead L0001")
        assert "L0001 动力电池项目" in r.text and "13800138000" in r.text and "陈经理" in r.text
        assert (
            "投资方：宁德时代新能源科技股份有限公司" in r.text and "计划投资额：1.2亿元" in r.text
        )
        assert (
            "标签：上市公司" in r.text
            and "渠道：展会" in r.text
            and "审核：待核实" in r.text
            and "报送：张三" in r.text
        )
        assert r.labels == ["推进阶段", "修改"]
    r = await h.send(OTHER, "/lead 1")
    assert "L0001 动力电池项目" in r.text and "招商引资部" in r.text and "阶段：线索" in r.text
    assert (
        "宁德" not in r.text
        and "1.2亿" not in r.text
        and "13800138000" not in r.text
        and "陈经理" not in r.text
    )
    assert r.labels == [] and "只显示概要" in r.text
    assert "13800138000" in (await h.send(LIAISON, "l1")).text  # a bare number opens the card too
    r = await h.send(LEADER, f"/lead {code.lower()}")
    assert "13800138000" in r.text and "宁德时代" in r.text
    assert r.labels == ["推进阶段", "核实有效", "退回"]
    r = await h.send(OTHER, f"/lead {dup}")
    assert "重复，首报 L0001" in r.text
    h.user(STRANGER, "路人")
    r = await h.send(STRANGER, "/lead L0001")
    assert "仅供已登记的单位使用" in r.text and "动力电池" not in r.text
    assert "没有找到线索 L99999" in (await h.send(LIAISON, "/lead L99999")).text
    assert "“abc”不是线索编号" in (await h.send(LIAISON, "/lead abc")).text
    assert "用法：/lead L0007" in (await h.send(LIAISON, "/lead")).text
    r = await h.send(LIAISON, "/lead L0001", chat_id=-1001000000001)
    assert "请在与机器人的私聊中使用" in r.text and "13800138000" not in r.text


async def test_attachments_can_be_received_again(world_harness: Harness) -> None:
    h = world_harness
    await h.upload(LIAISON, b"%PDF-1.4 plan", "项目投资计划书.pdf")
    await h.photo(LIAISON, PNG)
    sent = [m for m in h.api.messages(LIAISON) if not m.from_bot]
    doc, photo = sent[0].document["file_id"], sent[1].photo  # type: ignore[index]
    files = (
        {"file_id": doc, "kind": "document", "name": "项目投资计划书.pdf"},
        {"file_id": photo, "kind": "photo", "name": ""},
    )
    await add_lead(h, attachments=files)
    await h.send(LIAISON, "/lead L0001")
    r = await h.press(LIAISON, "重新接收附件（2）")
    assert [i.method for i in r.items] == ["sendDocument", "sendPhoto"]
    await h.send(OTHER, "/lead L0001")
    assert "附件" not in " ".join((await h.send(OTHER, "/lead L0001")).labels)
    await add_lead(
        h, company="另一家企业", attachments=({"file_id": "gone", "kind": "document", "name": "x"},)
    )
    await h.send(LIAISON, "/lead L0002")
    r = await h.press(LIAISON, "重新接收附件（1）")
    assert "有 1 个附件（共 1 个）无法重新发送" in r.text


# --- /stage --------------------------------------------------------------------------------------------------


async def test_stage_with_a_note_and_with_skip(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    r = await h.send(LIAISON, f"/stage {code}")
    assert "当前阶段：线索" in r.text and r.labels == [
        "在谈",
        "签约",
        "落地",
        "开工",
        "入统",
        "投产",
    ]
    r = await h.press(LIAISON, "签约")
    assert (
        r.items[0].method == "editMessageText"
        and "线索 → 签约" in r.text
        and r.labels == ["跳过", "取消"]
    )
    r = await h.send(LIAISON, "对方已确认签约意向 🎉")
    assert "已更新 L0001 动力电池项目：线索 → 签约" in r.text and "跳过了：在谈" in r.text
    assert "备注：对方已确认签约意向 🎉" in r.text
    stored = await lead(h, code)
    assert stored.stage == "签约" and stored.updated_at == h.clock.now()
    [event] = await events(h, code, "stage")
    assert (event.from_value, event.to_value, event.actor_tg_id, event.note) == (
        "线索",
        "签约",
        LIAISON,
        "对方已确认签约意向 🎉",
    )
    await h.send(LIAISON, f"/stage {code}")
    await h.press(LIAISON, "落地")
    r = await h.press(LIAISON, "跳过")
    assert "签约 → 落地" in r.text and "备注" not in r.text
    r = await h.send(LIAISON, f"/stage {code} 开工 现场勘查完成\n下周进场")
    assert "落地 → 开工" in r.text and "现场勘查完成\n下周进场" in r.text
    assert [e.note for e in await events(h, code, "stage")] == [
        "对方已确认签约意向 🎉",
        None,
        "现场勘查完成\n下周进场",
    ]
    assert "只有报送单位的成员和领导" in (await h.send(OTHER, f"/stage {code} 入统")).text
    assert "已处于「开工」阶段" in (await h.send(LIAISON, f"/stage {code} 开工")).text


async def test_going_back_is_refused_for_a_liaison_and_allowed_for_a_leader(
    world_harness: Harness,
) -> None:
    h = world_harness
    code = await add_lead(h, stage="签约")
    r = await h.send(LIAISON, f"/stage {code}")
    assert "在谈" not in r.labels and "需由领导操作" in r.text
    menu_id = r.items[0].message_id
    r = await h.send(LIAISON, f"/stage {code} 在谈 写错了")
    assert "L0001 当前为「签约」，退回到「在谈」需由领导操作" in r.text
    # The same refusal for a forged button (在谈 is stage #1), and nothing is asked.
    assert menu_id is not None
    r = await h.press_data(LIAISON, menu_id, "lb:sg:1:1")
    assert "需由领导操作" in r.text and "请输入备注" not in r.text
    assert (await lead(h, code)).stage == "签约"
    r = await h.send(LEADER, f"/stage {code}")
    assert "在谈" in r.labels and "线索" in r.labels
    await h.press(LEADER, "在谈")
    r = await h.send(LEADER, "企业尚未签字")
    assert "签约 → 在谈" in r.text and "阶段已退回" in r.text
    [event] = await events(h, code, "stage")
    assert (event.from_value, event.to_value, event.actor_tg_id) == ("签约", "在谈", LEADER)


# --- review ---------------------------------------------------------------------------------------------------


async def test_verify_and_reject_tell_the_units_members(world_harness: Harness) -> None:
    h = world_harness
    first = await add_lead(h)
    other = await add_lead(h, company="比亚迪股份有限公司", project="储能项目")
    assert "仅限领导" in (await h.send(LIAISON, f"/verify {first}")).text
    r = await h.send(LEADER, f"/verify {first}")
    assert (
        "已核实 L0001 动力电池项目（招商引资部）为有效信息" in r.text
        and "已通知该单位 2 人" in r.text
    )
    for member in (LIAISON, HEAD):
        assert "L0001 动力电池项目 已核实为有效信息" in r.to(member).text
    assert "已经核实" in (await h.send(LEADER, f"/verify {first}")).text
    # Reject from the card: the reason is asked for; one member has blocked the bot.
    await h.send(LEADER, f"/lead {first}")
    r = await h.press(LEADER, "退回")
    assert "请输入退回原因" in r.text
    h.api.block_chat(HEAD)
    r = await h.send(LEADER, "企业否认有<b>投资</b>意向")
    assert "已退回 L0001" in r.text and "原因：企业否认有<b>投资</b>意向" in r.text
    assert "&lt;b&gt;" in r.to(LEADER).items[0].html
    assert "首报资格已释放" in r.text and "已通知该单位 1 人；1 人未能送达" in r.text
    assert (
        "已被领导退回" in r.to(LIAISON).text and "企业否认有<b>投资</b>意向" in r.to(LIAISON).text
    )
    stored = await lead(h, first)
    assert stored.first_key is None and stored.review == "rejected"
    [event] = await events(h, first, "reject")
    assert event.note == "企业否认有<b>投资</b>意向" and event.actor_tg_id == LEADER
    h.api.unblock_chat(HEAD)
    # The direct form, and a later report of the freed company is first again.
    r = await h.send(ADMIN, f"/reject {other} 信息不实")
    assert "已退回 L0002" in r.text and "信息不实" in r.to(HEAD).text
    later = await add_lead(h, OTHER, "宁德时代新能源科技")
    assert (await lead(h, later)).duplicate_of is None
    r = await h.send(OTHER, f"/lead {later}")
    assert "重复" not in r.text


# --- /edit ------------------------------------------------------------------------------------------------------


async def test_an_edit_survives_a_restart_midway(world_harness: Harness) -> None:
    h = world_harness
    code = await add_lead(h)
    r = await h.send(LIAISON, f"/edit {code}")
    assert (
        r.labels[:5] == ["项目名称", "投资方", "行业", "计划投资额", "来源地"]
        and "电话" in r.labels
    )
    r = await h.press(LIAISON, "计划投资额")
    assert "当前：1.2亿元" in r.text and "如 5000万" in r.text
    await h.restart()
    r = await h.send(LIAISON, "8000万")
    assert "已修改 L0001 的计划投资额：1.2亿元 → 8,000万元" in r.text
    assert (await lead(h, code)).amount_wan == Decimal("8000")
    [event] = await events(h, code, "edit")
    assert (event.field, event.from_value, event.to_value, event.actor_tg_id) == (
        "amount_wan",
        "1.2亿",
        "8000万",
        LIAISON,
    )
    # Choices are buttons; tags toggle and then "完成".
    await h.send(HEAD, f"/edit {code}")
    await h.press(HEAD, "行业")
    r = await h.press(HEAD, "生物医药")
    assert "行业：新能源 → 生物医药" in r.text
    await h.send(LIAISON, f"/edit {code}")
    await h.press(LIAISON, "标签")
    await h.press(LIAISON, "专精特新")
    await h.restart()
    r = await h.press(LIAISON, "上市公司")
    assert "✅ 上市公司" in r.labels and "✅ 专精特新" in r.labels
    r = await h.press(LIAISON, "完成")
    assert "标签：— → 上市公司、专精特新" in r.text
    assert "只有报送单位的成员可以修改" in (await h.send(OTHER, f"/edit {code}")).text
    assert "只有报送单位的成员可以修改" in (await h.send(LEADER, f"/edit {code}")).text


async def test_a_company_edit_that_collides_is_refused(world_harness: Harness) -> None:
    h = world_harness
    await add_lead(h, OTHER)
    code = await add_lead(h, LIAISON, "比亚迪股份有限公司")
    await h.send(LIAISON, f"/edit {code}")
    await h.press(LIAISON, "投资方")
    r = await h.send(LIAISON, "宁德时代新能源科技有限公司")
    assert "该企业已由「经济发展局」首报（L0001）" in r.text and "请输入其他名称" in r.text
    r = await h.send(LIAISON, "比亚迪汽车工业有限公司")
    assert "比亚迪股份有限公司 → 比亚迪汽车工业有限公司" in r.text


async def test_bad_input_gets_a_specific_reply_and_the_question_again(
    world_harness: Harness,
) -> None:
    h = world_harness
    code = await add_lead(h)
    await h.send(LIAISON, f"/edit {code}")
    await h.press(LIAISON, "计划投资额")
    for text, expected in (
        ("abc万", "没看懂这个金额"),
        ("1e30", "没看懂这个金额"),
        ("-5", "金额必须大于零"),
        ("5000美元", "币种不符"),
        ("\u200b", "没看懂这个金额"),
    ):
        r = await h.send(LIAISON, text)
        assert expected in r.text and "当前：1.2亿元" in r.text, text
    r = await h.photo(LIAISON, PNG)
    assert "这里需要文字回复" in r.text and "当前：1.2亿元" in r.text
    r = await h.send(LIAISON, "1.2亿")
    assert "与原来的内容相同" in r.text
    assert "1.2亿元 → 5,000万元" in (await h.send(LIAISON, "5000万")).text
    # Text fields: empty, too long, HTML and emoji.
    await h.send(LIAISON, f"/edit {code}")
    r = await h.press(LIAISON, "项目名称")
    cancel_id, cancel_data = data_of(r, "取消")
    assert "内容不能为空" in (await h.send(LIAISON, "\u200b\u200b")).text
    r = await h.send(LIAISON, "项" * 5000)
    assert "内容太长（5000 字，最多 200 字）" in r.text
    r = await h.send(LIAISON, "<script>alert(1)</script> 🚀 二期")
    assert "&lt;script&gt;" in r.items[0].html and "<script>" in r.text
    assert (await lead(h, code)).project == "<script>alert(1)</script> 🚀 二期"
    # A button from the finished prompt is stale.
    r = await h.press_data(LIAISON, cancel_id, cancel_data)
    assert r.popups == ["这个按钮已失效，请重新发起。"]
    # Phone, then /cancel leaves, and the next message is not taken as an answer.
    await h.send(LIAISON, f"/edit {code}")
    await h.press(LIAISON, "电话")
    assert "没看懂这个电话号码" in (await h.send(LIAISON, "12345")).text
    assert "已取消" in (await h.send(LIAISON, "/cancel")).text
    assert "没有正在填写的表单" in (await h.send(LIAISON, "13800138000")).text
    assert (await lead(h, code)).contact_phone is None
    # A stage note that is too long keeps the question; an idle prompt expires.
    await h.send(LIAISON, f"/stage {code}")
    await h.press(LIAISON, "在谈")
    r = await h.send(LIAISON, "备" * 5000)
    assert "内容太长" in r.text and "请输入备注" in r.text
    h.clock.advance(timedelta(hours=2))
    assert "操作已超时" in (await h.send(LIAISON, "迟到的备注")).text
    assert (await lead(h, code)).stage == "线索"
    # Garbage and stale buttons.
    menu = h.api.bot_messages(LIAISON)[-1]
    for data in ("lb:sg:1:99", "lb:ef:x:1", "lb:ls:9:0", "lb:ev:deadbeef:1", "lb:sk:deadbeef"):
        r = await h.press_data(LIAISON, menu.message_id, data)
        assert r.popups == ["这个按钮已失效，请重新发起。"], data
    async with h.db.session() as s:
        assert (await s.scalars(select(LeadEvent.kind).where(LeadEvent.lead_id == 1))).all() == [
            "report",
            "edit",
            "edit",
        ]


async def test_a_prompt_and_the_report_form_do_not_take_each_others_answers(
    world_harness: Harness,
) -> None:
    h = world_harness
    code = await add_lead(h)
    assert "项目名称" in (await h.send(LIAISON, "/report")).text
    await h.send(LIAISON, f"/edit {code}")
    await h.press(LIAISON, "项目名称")
    r = await h.send(LIAISON, "动力电池项目（一期）")
    assert "已修改 L0001 的项目名称" in r.text
    r = await h.send(LIAISON, "储能电站项目")  # the form is where it was
    assert "投资方（企业全称）" in r.text
    await h.send(LIAISON, f"/stage {code}")
    await h.press(LIAISON, "在谈")
    await h.send(LIAISON, "/report")  # another command leaves the prompt
    r = await h.send(LIAISON, "新项目")
    assert "投资方（企业全称）" in r.text and "已更新" not in r.text
    assert (await lead(h, code)).stage == "线索" and (
        await lead(h, code)
    ).project == "动力电池项目（一期）"


def credit(n: int) -> str:
    """A valid credit code (its check character computed) numbered ``n``."""
    first17 = f"9135010000000{n:04d}"
    return first17 + check_character(first17)


async def test_the_credit_code_is_on_the_card_and_edited_with_its_checks(
    world_harness: Harness,
) -> None:
    h = world_harness
    code = await add_lead(h, credit_code=credit(1))
    other = await add_lead(h, OTHER, "比亚迪股份有限公司", credit_code=credit(2))
    assert f"统一社会信用代码：{credit(1)}" in (await h.send(LIAISON, f"/lead {code}")).text
    r = await h.send(OTHER, f"/lead {code}")
    assert credit(1) not in r.text and "统一社会信用代码" not in r.text  # the outline only
    assert f"统一社会信用代码：{credit(2)}" in (await h.send(OTHER, f"/lead {other}")).text
    r = await h.send(LIAISON, f"/edit {code}")
    assert r.labels[-1] == "统一社会信用代码"
    r = await h.press(LIAISON, "统一社会信用代码")
    assert f"当前：{credit(1)}" in r.text and "18 位统一社会信用代码" in r.text
    wrong = credit(3)[:-1] + ("0" if credit(3)[-1] != "0" else "1")
    r = await h.send(LIAISON, wrong)
    assert "校验位不对" in r.text and f"当前：{credit(1)}" in r.text
    r = await h.send(LIAISON, credit(2))
    assert f"该统一社会信用代码已由「经济发展局」首报（{other}）" in r.text
    r = await h.send(LIAISON, credit(3).lower())
    assert f"统一社会信用代码：{credit(1)} → {credit(3)}" in r.text
    stored = await lead(h, code)
    assert stored.credit_code == stored.first_credit == credit(3)
