"""Words where people read (issue 17): /health's message kinds, the export's sources and amounts."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import openpyxl

from bot.assembly.config import Settings
from bot.domain.periods import key_label
from bot.operations.demo import seed_demo
from bot.rendering.export import AMOUNT_FORMAT, build_workbook
from bot.rendering.outbox_words import message_words
from bot.services import export, lead_updates, scoring
from bot.services.access import resolve_actor
from bot.services.export import source_label
from bot.services.leads import LeadDraft, report_lead
from storage.db import Database
from storage.models import LedgerEntry
from tests.conftest import T0

SETTINGS = Settings(admins=[1000])


def test_outbox_kinds_read_as_words() -> None:
    assert message_words("remind:480", "2026-W48", "zh_CN") == "截止前 8 小时提醒 · 2026年第48周"
    assert message_words("remind:1440", "2026-W47", "en") == (
        "reminder 24 h before the deadline · 2026 week 47"
    )
    assert message_words("leaders:summary", "2026-W47", "zh_CN") == "领导群周报汇总 · 2026年第47周"
    assert message_words("digest:quarter", "2026-Q4", "zh_CN") == "季度考评 · 2026年第4季度"
    assert message_words("something:new", None, "zh_CN") == "something:new"


def test_period_keys_read_as_words() -> None:
    assert [key_label(k) for k in ("2026-W05", "2026-11", "2026-Q4", "2026", "2026-10-H2")] == [
        "2026年第5周",
        "2026年11月",
        "2026年第4季度",
        "2026年",
        "2026年10月下半月",
    ]
    assert key_label("#3-7") == "#3-7"


def test_threshold_sources_name_the_rule_and_the_period() -> None:
    def title(rule_id: str) -> str:
        return {"base_info_quarterly": "基础分(1)"}[rule_id]

    assert (
        source_label("threshold:base_info_quarterly:2026-Q4", {}, title)
        == "基础分(1) · 2026年第4季度"
    )
    assert source_label("threshold:base_info_quarterly:2026-Q4#2", {}, title) == (
        "基础分(1) · 2026年第4季度 · 第 2 次"
    )
    assert source_label("lead:12:overdue:签约", {}) == "L0012 签约节点超期"
    assert source_label("funds:12:2026-11", {}) == "L0012 到位资金 2026年11月"


async def test_the_export_shows_words_and_amounts_with_thousands_separators(
    sqlite_db: Database,
) -> None:
    setup = scoring.setup_for(SETTINGS)  # scoring follows each change, as in the bot
    async with sqlite_db.session() as s:
        await seed_demo(s, T0 - timedelta(days=60))
    async with sqlite_db.session() as s:
        liaison = await resolve_actor(s, SETTINGS, 1101, "", None)
        draft = LeadDraft(
            "年产10万吨新材料项目",
            "华鑫新材料有限公司",
            "新材料",
            Decimal("12345.5"),
            "省外",
            "在谈",
        )
        lead = (await report_lead(s, T0, liaison, draft, SETTINGS)).lead_id
    async with sqlite_db.session() as s:
        leader = await resolve_actor(s, SETTINGS, 1001, "", None)
        await lead_updates.verify_lead(s, T0, leader, lead, setup=setup)
        s.add(
            LedgerEntry(
                unit_id=1,
                rule_id="base_info_quarterly",
                module="base",
                points=Decimal(1),
                at=T0,
                source="threshold:base_info_quarterly:2026-Q4",
                note="",
                created_at=T0,
            )
        )
    async with sqlite_db.session() as s:
        data = await export.collect(s, setup, T0, "year", "2026")
    book = openpyxl.load_workbook(io.BytesIO(build_workbook(data)))
    sources = [row[5] for row in book["计分明细"].iter_rows(min_row=2, values_only=True)]
    assert sources == ["每季度报送线索满 2 条 · 2026年第4季度"]
    leads = book["线索台账"]
    assert leads["E1"].value == "计划投资额(万元)"
    amount = next(r[4] for r in leads.iter_rows(min_row=2) if r[1].value == "年产10万吨新材料项目")
    assert (
        amount.value == 12345.5 and amount.number_format == AMOUNT_FORMAT
    )  # a number, shown 12,345.50
    assert f"{12345.5:,.2f}" == "12,345.50"  # what AMOUNT_FORMAT shows, as Python says it
