"""Journey 2: a liaison reports a lead from a phone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from storage.models import Lead
from tests.e2e.harness import Harness, Replies

LIAISON, OTHER = 1101, 1102  # 招商引资部, 经济发展局


async def fill(
    h: Harness,
    user: int,
    company: str = "宁德时代新能源科技股份有限公司",
    *,
    optional: bool = False,
) -> Replies:
    """Answer every question; returns the summary card."""
    await h.send(user, "/report")
    await h.send(user, "动力电池项目")
    r = await h.send(user, company)
    if "是同一家吗" in r.text:
        r = await h.press(user, "不是，继续填写")
    await h.press(user, "新能源")
    await h.send(user, "一亿两千万")
    await h.press(user, "省外")
    await h.press(user, "在谈")
    if optional:
        await h.press(user, "上市公司")
        await h.press(user, "专精特新")
        await h.press(user, "完成")
        await h.send(user, "2万美元")
        await h.send(user, "陈经理")
        await h.send(user, "138 0013 8000")
        await h.press(user, "展会")
        await h.send(user, "第一行\n第二行")
        await h.upload(user, b"%PDF-1.4 plan", "项目投资计划书.pdf")
        return await h.press(user, "完成")
    for _ in range(7):
        r = await h.press(user, "跳过")
    return r


async def stored(h: Harness) -> list[Lead]:
    async with h.db.session() as s:
        stmt = select(Lead).options(selectinload(Lead.reporter)).order_by(Lead.id)
        return list((await s.scalars(stmt)).all())


async def test_a_full_report_is_saved(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LIAISON, "/report")
    assert "开始为「招商引资部」报送线索" in r.text and "项目名称" in r.text
    summary = await fill(h, LIAISON, optional=True)
    assert "请核对线索信息" in summary.text and "1.2亿元" in summary.text
    assert (
        "上市公司、专精特新" in summary.text
        and "20,000 美元" in summary.text
        and "1 个文件" in summary.text
    )
    assert summary.labels == ["✅ 保存", "✏️ 修改", "取消"]
    r = await h.press(LIAISON, "✅ 保存")
    assert "已登记 L0001。首报单位：招商引资部。" in r.text
    [lead] = await stored(h)
    assert lead.amount_wan == Decimal("12000") and lead.contact_phone == "13800138000"
    assert lead.tags == ["上市公司", "专精特新"] and lead.foreign_usd == Decimal("20000")
    assert lead.notes == "第一行\n第二行" and lead.attachments[0]["name"] == "项目投资计划书.pdf"
    assert lead.first_key is not None and lead.reporter.tg_user_id == LIAISON


@pytest.mark.parametrize("spelling", ["宁德时代新能源科技", "宁德时代新能源科技(股份)有限公司"])
async def test_the_second_unit_is_told_who_was_first(world_harness: Harness, spelling: str) -> None:
    h = world_harness
    await fill(h, LIAISON)
    await h.press(LIAISON, "✅ 保存")
    h.clock.advance(timedelta(days=6))
    await h.send(OTHER, "/report")
    await h.send(OTHER, "电池二期")
    r = await h.send(OTHER, spelling)
    assert "已由「招商引资部」于11月17日首报（L0001）" in r.text
    for label in ("新能源",):
        await h.press(OTHER, label)
    await h.send(OTHER, "8000万")
    await h.press(OTHER, "省外")
    await h.press(OTHER, "线索")
    for _ in range(7):
        await h.press(OTHER, "跳过")
    r = await h.press(OTHER, "✅ 保存")
    assert (
        "该企业已由「招商引资部」于11月17日首报（L0001），本条记为重复（L0002），不计分。" in r.text
    )
    assert (
        "陈经理" not in r.text and "1.2亿" not in r.text
    )  # never the first lead's contacts or amounts
    first, dup = await stored(h)
    assert dup.duplicate_of == first.id and dup.first_key is None


async def test_near_match_asks_and_both_answers_work(world_harness: Harness) -> None:
    h = world_harness
    await fill(h, LIAISON, "宁德时代新能源科技")
    await h.press(LIAISON, "✅ 保存")
    h.settings.near_match_threshold = 85
    # "same company": stored as a duplicate of L0001
    await h.send(OTHER, "/report")
    await h.send(OTHER, "项目A")
    r = await h.send(OTHER, "宁德时代新能源科技发展")
    assert (
        "是同一家吗" in r.text and "L0001 动力电池项目 — 宁德时代新能源科技（招商引资部）" in r.text
    )
    await h.press(OTHER, "是同一家（L0001）")
    await h.press(OTHER, "新能源")
    await h.send(OTHER, "5000")
    await h.press(OTHER, "本地")
    await h.press(OTHER, "线索")
    for _ in range(7):
        await h.press(OTHER, "跳过")
    assert "本条记为重复" in (await h.press(OTHER, "✅ 保存")).text
    # "different company": a first report of its own
    await fill(h, 1103, "宁德时代新能源科技发展")
    r = await h.press(1103, "✅ 保存")
    assert "已登记 L0003。首报单位：规划建设局。" in r.text
    leads = await stored(h)
    assert leads[1].duplicate_of == leads[0].id and leads[1].near_confirmed
    assert leads[2].duplicate_of is None and leads[2].first_key


async def test_the_form_survives_a_restart(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "光伏组件项目")
    await h.send(LIAISON, "隆基绿能科技股份有限公司")
    await h.restart()
    r = await h.press(LIAISON, "新材料")  # the button of the message sent before the restart
    assert "计划投资额" in r.text
    await h.restart()
    r = await h.send(LIAISON, "3亿元")
    assert "来源地" in r.text
    await h.press(LIAISON, "境外")
    await h.press(LIAISON, "签约")
    for _ in range(7):
        r = await h.press(LIAISON, "跳过")
    r = await h.press(LIAISON, "✅ 保存")
    assert "已登记 L0001" in r.text
    [lead] = await stored(h)
    assert (
        lead.project == "光伏组件项目"
        and lead.amount_wan == Decimal("30000")
        and lead.industry == "新材料"
    )


async def test_an_idle_form_expires(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "项目")
    h.clock.advance(timedelta(minutes=61))
    r = await h.send(LIAISON, "某公司")
    assert "已超时关闭" in r.text
    assert "没有正在填写的表单" in (await h.send(LIAISON, "还在吗")).text
    assert await stored(h) == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("很多", "没看懂这个金额"),
        ("1e30", "没看懂这个金额"),
        ("-5", "必须大于零"),
        ("abc万", "没看懂这个金额"),
        ("0", "必须大于零"),
        ("5000万美元", "币种不符"),
        ("9" * 5000, "没看懂这个金额"),
    ],
)
async def test_bad_amounts_are_explained_and_asked_again(
    world_harness: Harness, answer: str, expected: str
) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "项目")
    await h.send(LIAISON, "某某有限公司")
    await h.press(LIAISON, "新能源")
    r = await h.send(LIAISON, answer)
    assert expected in r.text and "计划投资额" in r.text
    r = await h.send(LIAISON, "5000万")
    assert "来源地" in r.text


async def test_bad_text_at_every_step(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    r = await h.send(LIAISON, "项" * 5000)
    assert "太长了（5000 字，最多 200 字）" in r.text and "项目名称" in r.text
    r = await h.send(LIAISON, "\u200b")  # invisible: empty after cleaning
    assert "项目名称" in r.text
    r = await h.photo(LIAISON, b"\x89PNG")
    assert "需要输入文字" in r.text
    r = await h.send(LIAISON, "<b>项目</b> 🚀")
    assert "投资方" in r.text
    r = await h.send(LIAISON, "<script>alert(1)</script>有限公司")
    assert "行业" in r.text
    r = await h.send(LIAISON, "乱写的行业")
    assert "请点击下面的按钮选择" in r.text
    r = await h.send(LIAISON, "新能源")  # typing an exact choice is forgiven
    assert "计划投资额" in r.text
    await h.send(LIAISON, "100万")
    await h.press(LIAISON, "本地")
    await h.press(LIAISON, "线索")
    await h.press(LIAISON, "完成")
    r = await h.send(LIAISON, "很多美元")
    assert "没看懂这个金额" in r.text
    await h.press(LIAISON, "跳过")
    await h.press(LIAISON, "跳过")
    r = await h.send(LIAISON, "12345")
    assert "电话格式不对" in r.text
    await h.press(LIAISON, "跳过")
    await h.press(LIAISON, "跳过")
    await h.press(LIAISON, "跳过")
    summary = await h.press(LIAISON, "跳过")
    html = summary.items[-1].html
    assert (
        "&lt;b&gt;项目&lt;/b&gt; 🚀" in html and "&lt;script&gt;" in html and "<script>" not in html
    )
    r = await h.press(LIAISON, "✅ 保存")
    assert "已登记" in r.text
    [lead] = await stored(h)
    assert lead.project == "<b>项目</b> 🚀"


async def test_stale_buttons_and_edits_from_the_summary(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "项目")
    r = await h.send(LIAISON, "某某科技有限公司")
    industry_msg = r.items[-1].message_id
    await h.press(LIAISON, "新能源")
    r = await h.press_data(
        LIAISON, industry_msg, "rp:industry:2"
    )  # the same old message, pressed again
    assert "已失效" in " ".join(r.popups)
    await h.send(LIAISON, "100万")
    await h.press(LIAISON, "本地")
    await h.press(LIAISON, "线索")
    for _ in range(7):
        r = await h.press(LIAISON, "跳过")
    await h.press(LIAISON, "✏️ 修改")
    r = await h.press(LIAISON, "计划投资额")
    assert "计划投资额" in r.text
    r = await h.send(LIAISON, "2亿")
    assert "请核对线索信息" in r.text and "2亿元" in r.text
    summary_id = r.items[-1].message_id
    assert summary_id is not None
    first = await h.press_data(LIAISON, summary_id, "rs:save")
    second = await h.press_data(LIAISON, summary_id, "rs:save")  # a double press
    assert "已登记 L0001" in first.text
    assert "已登记" not in second.text and "已失效" in " ".join(second.popups)
    assert len(await stored(h)) == 1


async def test_report_in_a_group_opens_the_private_chat(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LIAISON, "/report", chat_id=-1001000000001)
    assert "请在私聊中填写" in r.text
    url = r.items[0].buttons[0][0]["url"]
    assert url.endswith("?start=report")
    r = await h.send(LIAISON, "/start report")
    assert "项目名称" in r.text


async def test_cancel_leaves_and_strangers_cannot_report(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    assert "已取消" in (await h.send(LIAISON, "/cancel")).text
    h.user(4242, "路人")
    assert "仅供已登记的单位使用" in (await h.send(4242, "/report")).text
    assert "不属于任何单位" in (await h.send(1001, "/report")).text


async def test_the_sweep_tells_people_their_form_closed(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "项目")
    h.clock.advance(timedelta(minutes=30))
    assert h.app is not None
    await h.app.jobs.run_due()
    assert len(h.collect().to(LIAISON)) == 0  # not idle long enough
    h.clock.advance(timedelta(minutes=31))
    await h.restart()  # the decision comes from the database, not from memory
    await h.app.jobs.run_due()
    notices = h.collect().to(LIAISON)
    assert len(notices) == 1 and "已超时关闭" in notices.text
    r = await h.send(LIAISON, "某公司")
    assert "已超时关闭" in r.text or "没有正在填写的表单" in r.text
    assert "没有正在填写的表单" in (await h.send(LIAISON, "还在吗")).text


async def test_the_form_opened_last_gets_the_text(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON, "/report")
    await h.send(LIAISON, "项目甲")  # the lead form now waits for the company
    weekly = await h.send(LIAISON, "/weekly")
    assert weekly.text and "投资方" not in weekly.text
    r = await h.send(LIAISON, "无")
    assert "赴外路线" in r.text and "行业" not in r.text  # the weekly form took it
    r = await h.send(LIAISON, "/report")  # entering again takes the floor back
    assert "项目名称" in r.text
    r = await h.send(LIAISON, "项目乙")
    assert "投资方" in r.text
