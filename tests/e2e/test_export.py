"""A leader asks for the 台账 in Excel and gets the file; others are refused."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import openpyxl

from bot.services.access import resolve_actor
from bot.services.leads import LeadDraft, report_lead
from tests.e2e.harness import Harness

ADMIN, LEADER, LIAISON, HEAD = 1000, 1001, 1101, 1201
UNIT_GROUP, LEADERS_GROUP = -1001000000001, -1001000000999


async def report(h: Harness, tg: int, company: str, amount: str) -> None:
    draft = LeadDraft(
        project=f"{company}项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(amount),
        origin="省外",
        stage="在谈",
        contact_name="陈经理",
        contact_phone="13812345678",
    )
    async with h.db.session() as s:
        actor = await resolve_actor(s, h.settings, tg, "x", None)
        await report_lead(s, h.clock.now(), actor, draft, h.settings)


def workbook_sent_to(h: Harness, chat_id: int) -> tuple[str, openpyxl.Workbook]:
    message = h.api.last_bot_message(chat_id)
    assert message is not None and message.document is not None
    content = h.api.file_bytes(message.document["file_id"])
    return message.document["file_name"], openpyxl.load_workbook(io.BytesIO(content))


async def test_a_leader_gets_the_month_as_an_xlsx(world_harness: Harness) -> None:
    h = world_harness
    await report(h, LIAISON, "华鑫科技有限公司", "12000")
    await report(h, 1102, "宁德时代新能源科技股份有限公司", "50000")

    r = await h.send(LEADER, "/export month")

    assert [i.method for i in r.items] == ["sendDocument"]
    assert (
        "招商引资台账 · 2026年11月" in r.text
        and "线索 2 条" in r.text
        and "排名 4 个单位" in r.text
    )
    name, book = workbook_sent_to(h, LEADER)
    assert name == "招商引资台账_2026-11.xlsx"
    assert book.sheetnames == ["线索台账", "周报", "计分明细", "排名"]
    leads = book["线索台账"]
    assert leads.freeze_panes == "A2" and leads["A1"].font.bold
    assert [c.value for c in leads[2]][:5] == [
        "L0001",
        "华鑫科技有限公司项目",
        "华鑫科技有限公司",
        "新能源",
        12000,
    ]
    assert leads["O2"].value == datetime(2026, 11, 17, 10, 0)  # Tuesday 10:00 in Shanghai
    assert book["排名"].max_row == 5


async def test_an_admin_may_export_a_named_quarter(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(ADMIN, "/export 2026-Q3")
    assert [i.method for i in r.items] == ["sendDocument"] and "2026年第3季度" in r.text
    name, _book = workbook_sent_to(h, ADMIN)
    assert name == "招商引资台账_2026-Q3.xlsx"


async def test_a_liaison_or_head_is_refused_and_gets_no_file(world_harness: Harness) -> None:
    h = world_harness
    for who in (LIAISON, HEAD):
        r = await h.send(who, "/export month")
        assert "此操作仅限领导和管理员" in r.text
        assert "sendDocument" not in [i.method for i in r.items]


async def test_a_stranger_sees_only_the_greeting(world_harness: Harness) -> None:
    h = world_harness
    h.user(4242)
    r = await h.send(4242, "/export")
    assert "仅供已登记的单位使用" in r.text and "sendDocument" not in [i.method for i in r.items]


async def test_nonsense_gets_the_usage_and_a_wrong_period_is_named(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LEADER, "/export nonsense")
    assert "用法：/export" in r.text and [i.method for i in r.items] == ["sendMessage"]
    r = await h.send(LEADER, "/export 2026-13")
    assert "没有这个时段：2026-13" in r.text and [i.method for i in r.items] == ["sendMessage"]


async def test_in_a_group_the_leader_is_sent_to_the_private_chat(world_harness: Harness) -> None:
    """The file holds every lead's contact and phone: never into a group."""
    h = world_harness
    for group in (LEADERS_GROUP, UNIT_GROUP):
        r = await h.send(LEADER, "/export", chat_id=group)
        assert "私聊" in r.text and "sendDocument" not in [i.method for i in r.items]


async def test_the_english_caption_follows_the_readers_language(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LEADER, "/lang")
    await h.press(LEADER, "English")
    r = await h.send(LEADER, "/export year")
    assert "Investment ledger · 2026" in r.text
    name, book = workbook_sent_to(h, LEADER)
    assert (
        name == "招商引资台账_2026.xlsx" and book.sheetnames[0] == "线索台账"
    )  # the 台账 itself stays Chinese
