"""The 台账 export: the workbook's shape and types, what each sheet holds, 10 000 leads, the CLI."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import insert

from bot.assembly.cli import main
from bot.assembly.config import Settings
from bot.domain.periods import Span
from bot.operations.demo import seed_demo
from bot.rendering.export import (
    ExportData,
    LeadLine,
    LedgerLine,
    RankLine,
    WeeklyLine,
    build_workbook,
    text_width,
)
from bot.services import ServiceError, export, lead_updates, ranking, scoring
from bot.services.access import Actor, resolve_actor
from bot.services.export import ExportQuery, parse_export_args, source_label
from bot.services.leads import LeadDraft, report_lead
from storage.db import Database
from storage.models import Lead, LeadEvent, WeeklySkip, WeeklySubmission, WeeklyVersion
from tests.conftest import T0

SETTINGS = Settings(admins=[1000])
LEADER, LIAISON1, LIAISON2, HEAD1 = 1001, 1101, 1102, 1201
LEAD_HEADERS = [
    "编号",
    "项目名称",
    "投资方",
    "行业",
    "计划投资额(万元)",
    "来源地",
    "阶段",
    "标签",
    "外资(美元)",
    "联系人",
    "电话",
    "渠道",
    "报送单位",
    "报送人",
    "报送时间",
    "审核状态",
    "重复（首报编号）",
    "阶段历程",
    "备注",
    "统一社会信用代码",  # appended last: the columns before it keep their positions
]


def open_book(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def header(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[object]:
    return [c.value for c in ws[1]]


def row_of(ws: openpyxl.worksheet.worksheet.Worksheet, first: object) -> dict[object, object]:
    """The first data row whose column A is ``first``, keyed by header."""
    names = header(ws)
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[0] == first:
            return dict(zip(names, row, strict=True))
    raise AssertionError(f"no row {first!r} in {ws.title}")


def month_span() -> Span:
    return scoring.setup_for(SETTINGS).periods.span_by_key("month", "2026-11")


# --------------------------------------------------------------------------- #
# The workbook from plain rows
# --------------------------------------------------------------------------- #


def small_export() -> ExportData:
    lead = LeadLine(
        "L0001",
        "年产10万吨新材料项目",
        "华鑫新材料有限公司",
        "新材料",
        Decimal("12000.5000"),
        "省外",
        "在谈",
        ("高新技术", "上市公司"),
        Decimal("2000000"),
        "陈经理",
        "13812345678",
        "展会",
        "招商引资部",
        "张三",
        datetime(2026, 11, 17, 10, 0),
        "verified",
        None,
        "线索→在谈 11-18 张三",
        "备注<b>",
        "91350100M000100Y43",
    )
    dup = LeadLine(
        "L0002",
        "同一家",
        "华鑫新材料",
        "新材料",
        Decimal("5000"),
        "省外",
        "线索",
        (),
        None,
        None,
        None,
        None,
        "经济发展局",
        "李四",
        datetime(2026, 11, 18, 9, 30),
        "pending",
        "L0001",
        "",
        None,
    )
    weekly = [
        WeeklyLine(
            "2026-W46",
            datetime(2026, 11, 12, 17, 0),
            "招商引资部",
            "on_time",
            datetime(2026, 11, 12, 9, 0),
            "赵主任",
            datetime(2026, 11, 12, 10, 0),
        ),
        WeeklyLine(
            "2026-W46", datetime(2026, 11, 12, 17, 0), "经济发展局", "missing", None, None, None
        ),
    ]
    ledger = [
        LedgerLine(
            date(2026, 11, 17),
            "招商引资部",
            "报送有效线索",
            "项目信息",
            Decimal("2.5000"),
            "L0001 报送",
            "",
        )
    ]
    ranking_rows = [
        RankLine(1, "招商引资部", "一序列", Decimal("2.5"), 2),
        RankLine(2, "经济发展局", "一序列", Decimal(0), -1),
    ]
    return ExportData(month_span(), [lead, dup], weekly, ledger, ranking_rows)


def test_workbook_has_four_sheets_with_frozen_bold_filtered_headers_and_typed_cells() -> None:
    book = open_book(build_workbook(small_export()))

    assert book.sheetnames == ["线索台账", "周报", "计分明细", "排名"]
    leads, weekly, ledger, rank = (book[n] for n in book.sheetnames)
    assert header(leads) == LEAD_HEADERS
    assert header(weekly) == ["周次", "截止时间", "单位", "状态", "提交时间", "确认人", "确认时间"]
    assert header(ledger) == ["日期", "单位", "规则", "模块", "分值", "来源", "说明"]
    assert header(rank) == ["名次", "单位", "序列", "得分", "变化"]
    for ws in book:
        assert ws.freeze_panes == "A2"
        assert all(c.font.bold for c in ws[1])
        assert ws.auto_filter.ref == f"A1:{ws[1][-1].column_letter}{ws.max_row}"

    first = row_of(leads, "L0001")
    assert first["计划投资额(万元)"] == 12000.5 and isinstance(first["计划投资额(万元)"], float)
    assert first["外资(美元)"] == 2000000 and isinstance(first["外资(美元)"], int)
    assert first["报送时间"] == datetime(2026, 11, 17, 10, 0)
    assert "yy" in leads["O2"].number_format  # a date format, not General
    assert first["标签"] == "高新技术、上市公司"
    assert first["审核状态"] == "有效信息"
    assert first["阶段历程"] == "线索→在谈 11-18 张三"
    assert first["备注"] == "备注<b>"  # text stays text: no HTML in a workbook
    assert row_of(leads, "L0002")["重复（首报编号）"] == "L0001"
    assert row_of(leads, "L0002")["外资(美元)"] is None
    assert first["统一社会信用代码"] == "91350100M000100Y43"  # the last column
    assert leads.cell(1, leads.max_column).value == "统一社会信用代码"
    assert row_of(leads, "L0002")["统一社会信用代码"] is None

    week = row_of(weekly, "2026-W46")
    assert week["状态"] == "按时" and week["确认人"] == "赵主任"
    assert week["截止时间"] == datetime(2026, 11, 12, 17, 0)
    assert [r[3] for r in weekly.iter_rows(min_row=2, values_only=True)] == ["按时", "缺报"]

    line = next(ledger.iter_rows(min_row=2, values_only=True))
    assert line[0] == datetime(2026, 11, 17) and line[4] == 2.5
    assert next(rank.iter_rows(min_row=2, values_only=True)) == (1, "招商引资部", "一序列", 2.5, 2)
    assert rank["E2"].number_format == '"↑"0;"↓"0;"–"'


def test_column_widths_follow_the_content_with_cjk_counted_double_and_a_cap() -> None:
    data = small_export()
    long_history = "；".join(["线索→在谈 11-18 张三"] * 20)
    data = ExportData(
        data.span, [LeadLine(*[*vars_of(data.leads[0])[:17], long_history, None])], [], [], []
    )
    ws = open_book(build_workbook(data))["线索台账"]
    widths = {c.value: ws.column_dimensions[c.column_letter].width for c in ws[1]}
    assert widths["编号"] == max(text_width("编号"), len("L0001")) + 2
    assert widths["投资方"] == text_width("华鑫新材料有限公司") + 2 == 20
    assert widths["阶段历程"] == 60  # capped
    assert text_width("ＡB中") == 5


def vars_of(line: LeadLine) -> list[object]:
    return [getattr(line, f) for f in LeadLine.__slots__]


def test_an_empty_jurisdiction_still_gets_every_sheet_with_its_headers() -> None:
    book = open_book(build_workbook(ExportData(month_span(), [], [], [], [])))
    assert book.sheetnames == ["线索台账", "周报", "计分明细", "排名"]
    assert all(ws.max_row == 1 and ws.freeze_panes == "A2" for ws in book)
    assert ExportData(month_span(), [], [], [], []).filename == "招商引资台账_2026-11.xlsx"


# --------------------------------------------------------------------------- #
# Arguments
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ExportQuery("month", None)),
        ("本季", ExportQuery("quarter", None)),
        ("year", ExportQuery("year", None)),
        ("week", ExportQuery("week", None)),
        ("2026-11", ExportQuery("month", "2026-11")),
        ("month 2026-10", ExportQuery("month", "2026-10")),
        ("2026-q3", ExportQuery("quarter", "2026-Q3")),
        ("2026", ExportQuery("year", "2026")),
        ("本周 2026-W45", ExportQuery("week", "2026-W45")),
    ],
)
def test_export_arguments_name_a_kind_and_optionally_a_period(
    text: str, expected: ExportQuery
) -> None:
    assert parse_export_args(text) == expected


@pytest.mark.parametrize(
    "text", ["nonsense", "month quarter", "本月 2026-Q3", "2026-11 2026-12", "month 一序列"]
)
def test_anything_else_is_a_usage_error(text: str) -> None:
    with pytest.raises(ServiceError) as err:
        parse_export_args(text)
    assert err.value.code == "export.usage"


def test_a_period_that_does_not_exist_is_named_back() -> None:
    setup = scoring.setup_for(SETTINGS)
    with pytest.raises(ServiceError) as err:
        export.span_for(setup, T0, "month", "2026-13")
    assert err.value.code == "export.bad_period" and err.value.params["key"] == "2026-13"
    assert export.span_for(setup, T0, "month", "2026-3").key == "2026-03"


def test_ledger_sources_read_as_lead_and_activity_codes() -> None:
    names = {1001: "王主任"}
    assert source_label("lead:12:reported", names) == "L0012 报送"
    assert source_label("lead:12:stage:签约", names) == "L0012 签约"
    assert source_label("activity:5", names) == "A0005"
    assert source_label("weekly:2026-W47", names) == "周报 2026-W47"
    assert source_label("manual:1001", names) == "人工调整 王主任"
    assert source_label("threshold:big:2026#1", names) == "threshold:big:2026#1"
    assert source_label("lead:x:reported", names) == "lead:x:reported"


# --------------------------------------------------------------------------- #
# From the database
# --------------------------------------------------------------------------- #


async def actor(db: Database, tg: int) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, SETTINGS, tg, "x", None)


def draft(
    company: str, amount: str = "12000", stage: str = "线索", credit: str | None = None
) -> LeadDraft:
    return LeadDraft(
        project=f"{company}项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(amount),
        origin="省外",
        stage=stage,
        tags=("高新技术",),
        contact_name="陈经理",
        contact_phone="13812345678",
        credit_code=credit,
    )


async def test_export_reads_leads_stage_history_weekly_outcomes_ledger_and_ranking(
    db: Database,
) -> None:
    setup = scoring.setup_for(SETTINGS)
    async with db.session() as s:
        await seed_demo(s, T0 - timedelta(days=60))  # the units exist for every week of November
    liaison, other, leader = (
        await actor(db, LIAISON1),
        await actor(db, LIAISON2),
        await actor(db, LEADER),
    )
    async with db.session() as s:
        first = (
            await report_lead(
                s, T0, liaison, draft("华鑫科技有限公司", credit="91350100M000100Y43"), SETTINGS
            )
        ).lead_id
    async with db.session() as s:
        dup = (
            await report_lead(
                s, T0 + timedelta(hours=1), other, draft("华鑫科技", "3000"), SETTINGS
            )
        ).lead_id
    async with db.session() as s:
        await lead_updates.move_stage(
            s, T0 + timedelta(days=1), liaison, first, "在谈", None, SETTINGS
        )
    async with db.session() as s:
        await lead_updates.verify_lead(
            s, T0 + timedelta(days=1, hours=1), leader, first, setup=setup
        )
    async with db.session() as s:
        await ranking.adjust(
            s, setup, T0 + timedelta(days=1), leader, "经济发展局", Decimal(-2), "周报质量差"
        )
    periods = setup.periods
    w46 = periods.by_key("2026-W46")
    async with db.session() as s:
        s.add(WeeklySkip(period_key="2026-W45", reason="测试", by_tg=1000, at=T0))
        sub = WeeklySubmission(
            unit_id=1,
            period_key="2026-W46",
            latest_number=1,
            latest_status="confirmed",
            outcome="on_time",
            done_at=w46.deadline - timedelta(hours=2),
            updated_at=T0,
        )
        s.add(sub)
        await s.flush()
        version = WeeklyVersion(
            submission_id=sub.id,
            number=1,
            content={},
            submitted_by_tg=LIAISON1,
            submitted_by_name="张三",
            submitted_at=w46.deadline - timedelta(hours=3),
            status="confirmed",
            decided_at=w46.deadline - timedelta(hours=2),
            decided_by_tg=HEAD1,
        )
        s.add(version)
        await s.flush()
        sub.accepted_version_id = version.id
        s.add(
            WeeklySubmission(
                unit_id=2, period_key="2026-W46", latest_number=0, outcome="late", updated_at=T0
            )
        )

    now = T0 + timedelta(days=2)  # Thursday 19 November, 10:00 in Shanghai: week 47 still open
    async with db.session() as s:
        data = await export.collect(s, setup, now, "month")
    assert data.filename == "招商引资台账_2026-11.xlsx"
    book = open_book(await asyncio.to_thread(build_workbook, data))

    leads = book["线索台账"]
    assert leads.max_row == 3
    row = row_of(leads, f"L{first:04d}")
    assert row["阶段历程"] == "线索→在谈 11-18 张三"
    assert row["报送时间"] == datetime(2026, 11, 17, 10, 0)  # Shanghai wall time
    assert row["计划投资额(万元)"] == 12000 and row["审核状态"] == "有效信息"
    assert (
        row["报送单位"] == "招商引资部" and row["报送人"] == "张三" and row["电话"] == "13812345678"
    )
    assert row_of(leads, f"L{dup:04d}")["重复（首报编号）"] == f"L{first:04d}"
    assert row["统一社会信用代码"] == "91350100M000100Y43"
    assert row_of(leads, f"L{dup:04d}")["统一社会信用代码"] is None

    weekly = {(r[0], r[2]): r for r in book["周报"].iter_rows(min_row=2, values_only=True)}
    assert sorted({k for k, _ in weekly}) == [
        "2026-W45",
        "2026-W46",
        "2026-W47",
    ]  # deadlines in November, begun
    assert len(weekly) == 12
    assert weekly[("2026-W45", "招商引资部")][3] == "已跳过"
    on_time = weekly[("2026-W46", "招商引资部")]
    assert on_time[3:] == (
        "按时",
        datetime(2026, 11, 12, 14, 0),
        "赵主任",
        datetime(2026, 11, 12, 15, 0),
    )
    assert on_time[1] == datetime(2026, 11, 12, 17, 0)
    assert weekly[("2026-W46", "经济发展局")][3] == "迟交"
    assert weekly[("2026-W46", "财政局")][3] == "缺报"
    assert weekly[("2026-W47", "财政局")][3] == "未截止"

    ledger = list(book["计分明细"].iter_rows(min_row=2, values_only=True))
    assert ledger, "the verified lead and the adjustment score"
    manual = next(r for r in ledger if r[2] == "人工调整")
    assert (
        manual[1] == "经济发展局"
        and manual[4] == -2
        and manual[5] == "人工调整 王主任"
        and manual[6] == "周报质量差"
    )
    assert all(isinstance(r[4], int | float) and isinstance(r[0], datetime) for r in ledger)
    assert not any(f"L{dup:04d}" in str(r[5]) for r in ledger)  # the duplicate scores nothing

    table = await _rank(db, setup, now)
    rank_rows = list(book["排名"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[3]) for r in rank_rows] == [
        (r.rank, r.unit_name, float(r.points) if r.points % 1 else int(r.points))
        for r in table.rows
    ]
    assert {r[1] for r in rank_rows} == {"招商引资部", "经济发展局", "规划建设局", "财政局"}
    assert rank_rows[-1][1] == "经济发展局" and rank_rows[-1][3] == -2


async def _rank(db: Database, setup: scoring.ScoringSetup, now: datetime) -> ranking.RankTable:
    async with db.session() as s:
        return await ranking.rank(s, setup, now, "month")


async def test_a_week_export_holds_that_week_and_its_ledger_lines_only(db: Database) -> None:
    setup = scoring.setup_for(SETTINGS)
    async with db.session() as s:
        await seed_demo(s, T0 - timedelta(days=60))
    leader = await actor(db, LEADER)
    async with db.session() as s:
        await ranking.adjust(s, setup, T0, leader, "财政局", Decimal(3), "本周")
        await ranking.adjust(
            s, setup, T0 - timedelta(days=14), leader, "财政局", Decimal(1), "两周前"
        )
    async with db.session() as s:
        data = await export.collect(s, setup, T0, "week")
    assert data.span.key == "2026-W47" and data.filename == "招商引资台账_2026-W47.xlsx"
    assert {w.period_key for w in data.weekly} == {"2026-W47"} and len(data.weekly) == 4
    assert [line.note for line in data.ledger] == ["本周"]


async def test_ten_thousand_leads_export_in_seconds(sqlite_db: Database) -> None:
    async with sqlite_db.session() as s:
        await seed_demo(s, T0 - timedelta(days=60))
    stages = SETTINGS.stages
    rows, events = [], []
    for i in range(1, 10_001):
        at = T0 - timedelta(minutes=i)
        rows.append(
            {
                "id": i,
                "unit_id": 1 + i % 4,
                "reporter_id": 3 + 2 * (i % 4),
                "reported_at": at,
                "updated_at": at,
                "project": f"项目{i}",
                "company": f"企业{i}有限公司",
                "company_key": f"企业{i}",
                "first_key": f"企业{i}",
                "industry": "新能源",
                "amount_wan": Decimal(1000 + i),
                "origin": "省外",
                "stage": stages[i % 3],
                "tags": ["高新技术"],
                "contact_name": "陈经理",
                "contact_phone": "13812345678",
                "channel": "展会",
                "attachments": [],
                "review": "pending",
                "near_confirmed": False,
            }
        )
        for step in range(i % 3):
            events.append(
                {
                    "lead_id": i,
                    "unit_id": 1 + i % 4,
                    "at": at + timedelta(days=step + 1),
                    "actor_tg_id": 1101,
                    "kind": "stage",
                    "from_value": stages[step],
                    "to_value": stages[step + 1],
                }
            )
    async with sqlite_db.session() as s:
        for i in range(0, len(rows), 2000):
            await s.execute(insert(Lead), rows[i : i + 2000])
        for i in range(0, len(events), 2000):
            await s.execute(insert(LeadEvent), events[i : i + 2000])

    started = time.perf_counter()
    async with sqlite_db.session() as s:
        data = await export.collect(s, scoring.setup_for(SETTINGS), T0, "month")
    content = build_workbook(data)
    elapsed = time.perf_counter() - started

    assert elapsed < 20, f"export of 10 000 leads took {elapsed:.1f} s"
    assert len(data.leads) == 10_000
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    table = list(book["线索台账"].iter_rows(values_only=True))
    book.close()
    assert len(table) == 10_001 and table[0][0] == "编号"
    assert table[-1][:5] == ("L10000", "项目10000", "企业10000有限公司", "新能源", 11000)
    assert table[-1][17] == "线索→在谈 11-11 张三"
    assert table[-3][17] == "线索→在谈 11-11 张三；在谈→签约 11-12 张三"  # L09998: two moves
    assert table[-2][17] is None  # L09999: none


# --------------------------------------------------------------------------- #
# leadbot export
# --------------------------------------------------------------------------- #


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADBOT_CONFIG", raising=False)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "leadbot"]:
        root.removeHandler(handler)


async def test_cli_writes_the_workbook_and_will_not_overwrite_without_force(
    sqlite_db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: None,
) -> None:
    async with sqlite_db.session() as s:
        await seed_demo(s, T0)
    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    target = tmp_path / "ledger.xlsx"
    assert (
        await asyncio.to_thread(
            main, ["export", str(target), "--period", "quarter", "--key", "2026-Q3"]
        )
        == 0
    )
    assert "2026年第3季度" in capsys.readouterr().out
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["线索台账", "周报", "计分明细", "排名"]
    assert book["排名"].max_row == 5

    assert await asyncio.to_thread(main, ["export", str(target)]) == 1
    assert "--force" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["export", str(tmp_path), "--key", "2026-10"]) == 0
    assert (tmp_path / "招商引资台账_2026-10.xlsx").is_file()
    assert (
        await asyncio.to_thread(main, ["export", str(tmp_path / "x.xlsx"), "--key", "2026-13"]) == 1
    )
    assert "2026-13" in capsys.readouterr().err
