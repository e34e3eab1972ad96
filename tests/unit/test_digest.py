"""The leaders' reports built from plain rows: a hand-built jurisdiction, checked figure by figure.

Four units: 甲局 and 乙局 in 一序列, 丙局 and 丁局 (no leads at all) in 二序列. October 2026:

* L1 甲局: reported in March at 在谈, verified in March; 签约 10-08, 开工 10-20; funds 1000 (Sep), 2500 (Oct), 700 (Nov).
* L2 甲局: reported 10-05 at 线索, verified 10-06, 在谈 10-10.
* L3 甲局: a duplicate of L1 reported 10-07, verified, reached 签约; funds 9999 (Oct): counts for nothing.
* L4 乙局: reported in February already signed, verified; 开工 in May, 入统 10-15, 投产 10-25; funds 500 (Oct).
* L5 乙局: reported in September at 在谈, 签约 10-03, moved back to 在谈 by a leader on 10-12.
* L6 丙局: rejected (不予认定), reported 10-02; funds 100 (Oct): counts for nothing.
* L7 丙局: reported 10-28 at 线索, pending.
* L8 丙局: reported 11-03, after the month.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.domain.periods import Periods, Span, WeeklySchedule
from bot.rendering import digest_xlsx
from bot.rendering.digest_text import digest_text
from bot.services import ServiceError, digests
from bot.services.digests import (
    Figures,
    FundsFigure,
    LeadInfo,
    Note,
    StageMove,
    StageNames,
    UnitInfo,
    build_half,
    build_month,
    build_quarter,
    build_year,
)
from bot.services.ranking import FunnelLine, RankRow, RankTable, TargetLine, ranked

SH = ZoneInfo("Asia/Shanghai")
PERIODS = Periods(WeeklySchedule())
STAGES = StageNames(("线索", "在谈", "签约", "落地", "开工", "入统", "投产"))
A, B, C, D = (
    UnitInfo(1, "甲局", "甲", "一序列"),
    UnitInfo(2, "乙局", "乙", "一序列"),
    UnitInfo(3, "丙局", None, "二序列"),
    UnitInfo(4, "丁局", None, "二序列"),
)
UNITS = [A, B, C, D]
AS_OF = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def reached(*pairs: tuple[str, datetime]) -> dict[str, datetime]:
    return dict(pairs)


L1 = LeadInfo(
    1,
    A.id,
    "轴承项目",
    "洛阳精工",
    Decimal(12000),
    at(3, 10),
    "在谈",
    review="verified",
    industry="装备制造",
    origin="省外",
    stage_now="开工",
    verified_at=at(3, 12),
    moves=(StageMove(at(10, 8), "在谈", "签约"), StageMove(at(10, 20), "签约", "开工")),
    reached=reached(
        ("线索", at(3, 10)),
        ("在谈", at(3, 10)),
        ("签约", at(10, 8)),
        ("落地", at(10, 20)),
        ("开工", at(10, 20)),
    ),
)
L2 = LeadInfo(
    2,
    A.id,
    "正极材料",
    "湖南新材",
    Decimal(30000),
    at(10, 5),
    "线索",
    review="verified",
    industry="新材料",
    origin="省外",
    stage_now="在谈",
    verified_at=at(10, 6),
    moves=(StageMove(at(10, 10), "线索", "在谈"),),
    reached=reached(("线索", at(10, 5)), ("在谈", at(10, 10))),
)
L3 = LeadInfo(
    3,
    A.id,
    "轴承配套",
    "洛阳精工",
    Decimal(2000),
    at(10, 7),
    "签约",
    review="verified",
    duplicate_of=1,
    stage_now="签约",
    verified_at=at(10, 9),
    reached=reached(("线索", at(10, 7)), ("在谈", at(10, 7)), ("签约", at(10, 7))),
)
L4 = LeadInfo(
    4,
    B.id,
    "数据中心",
    "北京云算",
    Decimal(50000),
    at(2, 1),
    "签约",
    review="verified",
    stage_now="投产",
    verified_at=at(2, 3),
    moves=(
        StageMove(at(5, 1), "签约", "开工"),
        StageMove(at(10, 15), "开工", "入统"),
        StageMove(at(10, 25), "入统", "投产"),
    ),
    reached=reached(
        ("线索", at(2, 1)),
        ("在谈", at(2, 1)),
        ("签约", at(2, 1)),
        ("落地", at(5, 1)),
        ("开工", at(5, 1)),
        ("入统", at(10, 15)),
        ("投产", at(10, 25)),
    ),
)
L5 = LeadInfo(
    5,
    B.id,
    "冷链物流",
    "本地冷链",
    Decimal(3000),
    at(9, 1),
    "在谈",
    stage_now="在谈",
    moves=(StageMove(at(10, 3), "在谈", "签约"), StageMove(at(10, 12), "签约", "在谈")),
    reached=reached(("线索", at(9, 1)), ("在谈", at(9, 1))),
)  # 签约 taken back, as scoring sees it
L6 = LeadInfo(
    6,
    C.id,
    "化工项目",
    "某化工",
    Decimal(6000),
    at(10, 2),
    "在谈",
    review="rejected",
    stage_now="签约",
    moves=(StageMove(at(10, 4), "在谈", "签约"),),
    reached=reached(("在谈", at(10, 2)), ("签约", at(10, 4))),
)
L7 = LeadInfo(
    7,
    C.id,
    "文旅综合体",
    "山西文旅",
    Decimal(20000),
    at(10, 28),
    "线索",
    stage_now="线索",
    reached=reached(("线索", at(10, 28))),
)
L8 = LeadInfo(
    8,
    C.id,
    "光伏组件",
    "浙江阳光",
    Decimal(8000),
    at(11, 3),
    "签约",
    stage_now="签约",
    reached=reached(("线索", at(11, 3)), ("在谈", at(11, 3)), ("签约", at(11, 3))),
)
LEADS = [L1, L2, L3, L4, L5, L6, L7, L8]
FUNDS = [
    FundsFigure(1, "2026-09", Decimal(1000)),
    FundsFigure(1, "2026-10", Decimal(2500)),
    FundsFigure(1, "2026-11", Decimal(700)),
    FundsFigure(3, "2026-10", Decimal(9999)),
    FundsFigure(4, "2026-10", Decimal(500)),
    FundsFigure(6, "2026-10", Decimal(100)),
]
NOTES = [
    Note(1, at(10, 8), "举行签约仪式", "stage"),
    Note(1, at(10, 15), "厂房开工准备就绪", "weekly"),
    Note(1, at(11, 2), "十一月的进展不属于十月；问题：十一月的问题也不属于十月", "weekly"),
    Note(5, at(10, 12), "签约信息有误，退回在谈；难点：冷库用地指标未落实", "stage"),
    Note(5, at(10, 22), "继续洽谈。问题：冷库用地指标未落实；需协调：电力增容", "weekly"),
    Note(2, at(10, 20), "对接顺利，问题：无", "weekly"),
]
TARGETS = {
    A.id: [TargetLine("签约亿元以上项目", 1, 2)],
    B.id: [TargetLine("签约亿元以上项目", 1, 1)],
    C.id: [TargetLine("签约亿元以上项目", 0, 1)],
}


def span(kind: str, key: str) -> Span:
    return PERIODS.span_by_key(kind, key)


def year_to(end: Span) -> Span:
    year = PERIODS.span("year", end.start)
    return Span("year", year.key, year.start, end.end)


def october() -> digests.MonthReport:
    month = span("month", "2026-10")
    return build_month(month, year_to(month), UNITS, LEADS, FUNDS, NOTES, TARGETS, STAGES, AS_OF)


# --- the monthly notice ----------------------------------------------------------------------------


def test_month_six_figures_for_the_month_and_the_year_to_date() -> None:
    report = october()
    lines = {line.unit.name: line for line in report.lines}
    assert lines["甲局"].month == Figures(
        effective=1, signed=1, started=1, in_stats=0, funds_wan=Decimal(2500), production=0
    )
    assert lines["甲局"].year == Figures(
        effective=2, signed=1, started=1, in_stats=0, funds_wan=Decimal(3500), production=0
    )
    assert lines["乙局"].month == Figures(
        effective=0, signed=0, started=0, in_stats=1, funds_wan=Decimal(500), production=1
    )
    assert lines["乙局"].year == Figures(
        effective=1, signed=1, started=1, in_stats=1, funds_wan=Decimal(500), production=1
    )
    assert (
        lines["丙局"].month == Figures() and lines["丙局"].year == Figures()
    )  # rejected and pending leads count nothing
    assert report.total_month == Figures(1, 1, 1, 1, Decimal(3000), 1)
    assert report.total_year == Figures(3, 2, 2, 1, Decimal(4000), 1)


def test_a_unit_with_no_leads_has_a_line_of_zeros() -> None:
    lines = {line.unit.name: line for line in october().lines}
    assert [u.unit.name for u in october().lines] == ["甲局", "乙局", "丙局", "丁局"]
    assert (
        lines["丁局"].month == Figures()
        and lines["丁局"].year == Figures()
        and lines["丁局"].pace == ()
    )
    assert not lines["丁局"].below_pace


def test_a_stage_taken_back_is_not_a_new_signing_but_shows_in_the_progress_table() -> None:
    report = october()
    lines = {line.unit.name: line for line in report.lines}
    assert lines["乙局"].month.signed == 0
    l5 = next(p for p in report.progress if p.lead.id == 5)
    assert l5.stage == "在谈" and l5.path == ("在谈", "签约", "在谈") and l5.backward and l5.changed
    assert l5.note is not None and l5.note.text.startswith("继续洽谈")


def test_month_progress_lists_projects_at_zaitan_or_later_by_unit_furthest_first() -> None:
    report = october()
    assert [(p.unit_name, p.lead.code, p.stage) for p in report.progress] == [
        ("甲局", "L0001", "开工"),
        ("甲局", "L0002", "在谈"),
        ("乙局", "L0004", "投产"),
        ("乙局", "L0005", "在谈"),
    ]  # duplicates, rejected, 线索 and later leads are left out
    l1, l2, l4 = report.progress[0], report.progress[1], report.progress[2]
    assert l1.path == ("在谈", "签约", "开工") and not l1.backward
    assert (l1.funds_month_wan, l1.funds_year_wan) == (Decimal(2500), Decimal(3500))
    assert l1.note is not None and (l1.note.text, l1.note.source) == (
        "厂房开工准备就绪",
        "weekly",
    )  # not November's
    assert l2.path == ("线索", "在谈")  # reported this month
    assert l4.path == ("开工", "入统", "投产") and l4.note is None


def test_problems_written_in_the_months_notes_are_listed_once_per_project() -> None:
    problems = {p.lead.id: p.problems for p in october().progress}
    assert problems[5] == ("冷库用地指标未落实", "电力增容")  # oldest first, a repeat kept once
    assert problems[1] == ()  # November's problem is not October's
    assert problems[2] == ()  # "问题：无" is no problem
    text = digest_text("zh_CN", october(), SH)
    assert "⚠️ 存在问题：冷库用地指标未落实\n    ⚠️ 存在问题：电力增容" in text
    assert "本月有 1 个项目报告了存在问题" in text


def test_units_behind_their_target_pace_are_marked() -> None:
    report = october()
    assert report.pace_share == Decimal(10) / 12
    lines = {line.unit.name: line for line in report.lines}
    [a] = lines["甲局"].pace
    assert (a.done, a.target, a.expected, a.below) == (1, 2, Decimal("1.7"), True)
    assert not lines["乙局"].below_pace  # 1 done, 0.8 due by October
    assert lines["丙局"].below_pace


def test_an_empty_month_reports_zeros_and_says_so() -> None:
    month = span("month", "2026-07")
    report = build_month(month, year_to(month), UNITS, [], [], [], {}, STAGES, AS_OF)
    assert all(line.month == Figures() and line.year == Figures() for line in report.lines)
    assert report.progress == () and report.total_month == Figures()
    text = digest_text("zh_CN", report, SH)
    assert (
        "📋 2026年7月 招商引资工作通报" in text
        and "暂无在谈及以上的项目。" in text
        and "未设年度目标。" in text
    )
    assert "本月各项目未报告存在问题（在进展说明中写“问题：……”即可列入）" in text


def test_month_text_reads_figure_by_figure() -> None:
    text = digest_text("zh_CN", october(), SH)
    assert (
        "甲局 ⚠️低于序时进度\n  有效信息 1/2 · 新签约 1/1 · 新开工 1/1 · 新入统 0/0 · 到位资金 2,500万元/3,500万元 · 新投产 0/0"
        in text
    )
    assert (
        "乙局\n  有效信息 0/1 · 新签约 0/1 · 新开工 0/1 · 新入统 1/1 · 到位资金 500万元/500万元 · 新投产 1/1"
        in text
    )
    assert (
        "合计\n  有效信息 1/3 · 新签约 1/2 · 新开工 1/2 · 新入统 1/1 · 到位资金 3,000万元/4,000万元 · 新投产 1/1"
        in text
    )
    assert "二、项目推进情况（在谈及以上，4 个）" in text
    assert "L0001 轴承项目 · 开工（本月 在谈→签约→开工）" in text
    assert "到位资金：本月 2,500万元，本年 3,500万元" in text
    assert "最新进展 10月15日：厂房开工准备就绪（周报）" in text
    assert "L0005 冷链物流 · 在谈（本月 在谈→签约→在谈，有退回）" in text
    assert "甲局：签约亿元以上项目 1/2（序时应达 1.7 个） ⚠️"  # issue 17: with its unit in text
    assert "（本期尚未结束" not in text  # sent after the month ended


# --- the half-monthly roll-up -------------------------------------------------------------------------


def test_half_month_counts_new_leads_by_unit_with_duplicates_apart() -> None:
    report = build_half(span("half", "2026-10-H1"), UNITS, LEADS, AS_OF)
    lines = {
        line.unit.name: (line.new, line.verified, line.pending, line.rejected, line.duplicates)
        for line in report.lines
    }
    assert lines == {
        "甲局": (1, 1, 0, 0, 1),
        "乙局": (0, 0, 0, 0, 0),
        "丙局": (1, 0, 0, 1, 0),
        "丁局": (0, 0, 0, 0, 0),
    }
    t = report.total
    assert (t.new, t.verified, t.pending, t.rejected, t.duplicates) == (2, 1, 0, 1, 1)
    assert [lead.code for lead in report.verified] == [
        "L0002"
    ]  # the duplicate L0003 is verified too, but not listed
    second = build_half(span("half", "2026-10-H2"), UNITS, LEADS, AS_OF)
    assert {line.unit.name: line.pending for line in second.lines}[
        "丙局"
    ] == 1 and second.verified == ()
    text = digest_text("zh_CN", report, SH)
    assert "📰 2026年10月上半月 招商引资信息汇总" in text
    assert "甲局：新报 1 条（有效 1，待核实 0，退回 0），重复 1 条" in text
    assert "合计：新报 2 条（有效 1，待核实 0，退回 1），重复 1 条" in text
    assert "L0002 正极材料 · 甲局 · 新材料 · 3亿元 · 省外 · 在谈" in text


def test_an_empty_half_month() -> None:
    report = build_half(span("half", "2026-07-H2"), UNITS, LEADS, AS_OF)
    assert report.total.new == 0 and report.verified == ()
    assert "本期暂无核实为有效的新线索。" in digest_text("zh_CN", report, SH)


# --- the quarterly evaluation and the annual assessment ----------------------------------------------------


def table(kind: str, key: str, points: dict[int, int]) -> RankTable:
    s = span(kind, key)
    pts = {u: Decimal(p) for u, p in points.items()}
    ranks = ranked(pts)
    rows = tuple(
        sorted(
            (
                RankRow(ranks[u.id], u.id, u.name, u.category, pts[u.id], ranks[u.id], 0)
                for u in UNITS
            ),
            key=lambda r: (r.rank, r.unit_id),
        )
    )
    return RankTable(kind, key, s, PERIODS.previous_span(s), None, rows)


FUNNELS = {
    A.id: [
        FunnelLine("签约", "开工", 2, 1, Decimal(50), Decimal(75)),
        FunnelLine("开工", "入统", 1, 1, Decimal(100), Decimal(80)),
    ]
}


def test_quarter_ranks_within_each_category_against_the_previous_quarter() -> None:
    q3 = table("quarter", "2026-Q3", {1: 10, 2: 10, 3: 4, 4: 0})
    q2 = table("quarter", "2026-Q2", {1: 5, 2: 12, 3: 0, 4: 4})
    report = build_quarter(q3.span, UNITS, q3, q2, TARGETS, FUNNELS, AS_OF)
    got = {
        block.category: [
            (
                s.unit.name,
                s.points,
                s.rank,
                s.previous_points,
                s.previous_rank,
                s.move,
                s.overall_rank,
            )
            for s in block.lines
        ]
        for block in report.categories
    }
    assert got == {
        "一序列": [
            ("甲局", 10, 1, 5, 2, 1, 1),
            ("乙局", 10, 1, 12, 1, 0, 1),
        ],  # equal points share a place
        "二序列": [("丙局", 4, 1, 0, 2, 1, 3), ("丁局", 0, 2, 4, 1, -1, 4)],
    }
    assert report.pace_share == Decimal("0.75")
    reviews = {rv.unit.name: rv for rv in report.reviews}
    assert reviews["甲局"].below_benchmark and not reviews["乙局"].below_benchmark
    assert reviews["甲局"].pace[0].expected == Decimal("1.5") and reviews["甲局"].below_pace
    text = digest_text("zh_CN", report, SH)
    assert "🏆 2026年第3季度 招商引资季度考评" in text
    assert (
        "【一序列】\n1. 甲局　10 分（上季度 5 分，+5；名次 ↑1）\n1. 乙局　10 分（上季度 12 分，-2；名次 –）"
        in text
    )
    assert "2. 丁局　0 分（上季度 4 分，-4；名次 ↓1）" in text
    assert "甲局：签约→开工 50%（2 个中 1 个） ⚠️；开工→入统 100%（1 个中 1 个）" in text
    assert "年度目标进度（截至本季度末，时间进度 75%）" in text


def test_year_totals_ranking_targets_met() -> None:
    y = table("year", "2026", {1: 40, 2: 55, 3: 55, 4: 0})
    y0 = table("year", "2025", {1: 0, 2: 0, 3: 0, 4: 0})
    year = span("year", "2026")
    report = build_year(year, UNITS, y, y0, LEADS, FUNDS, TARGETS, FUNNELS, STAGES, AS_OF)
    assert [[(s.unit.name, s.rank) for s in b.lines] for b in report.categories] == [
        [("乙局", 1), ("甲局", 2)],
        [("丙局", 1), ("丁局", 2)],
    ]
    figures = {u.name: f for u, f in report.figures}
    assert figures["甲局"] == Figures(
        2, 1, 1, 0, Decimal(4200), 0
    )  # November's 700 counts for the year
    assert figures["丙局"] == Figures(0, 1, 0, 0, Decimal(0), 0)  # L8, signed in November
    assert report.total == Figures(3, 3, 2, 1, Decimal(4700), 1)
    reviews = {rv.unit.name: rv for rv in report.reviews}
    assert reviews["乙局"].pace[0].met and not reviews["甲局"].pace[0].met
    text = digest_text("zh_CN", report, SH)
    assert "甲局：签约亿元以上项目 1/2 ❌" in text and "乙局：签约亿元以上项目 1/1 ✅" in text
    assert (
        "合计：有效信息 3 · 新签约 3 · 新开工 2 · 新入统 1 · 到位资金 4,700万元 · 新投产 1" in text
    )


# --- workbooks -----------------------------------------------------------------------------------------


def rows(data: bytes, sheet: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in load_workbook(io.BytesIO(data))[sheet].iter_rows(values_only=True)]


def test_month_workbook_has_the_same_figures() -> None:
    report = october()
    data = digest_xlsx.build_workbook(report, SH)
    assert digest_xlsx.file_name(report) == "招商引资工作通报_2026-10.xlsx"
    figures = rows(data, "六项指标")
    assert figures[0][:4] == ("单位", "序列", "有效信息·本月", "有效信息·本年")
    assert figures[1] == ("甲局", "一序列", 1, 2, 1, 1, 1, 1, 0, 0, 2500, 3500, 0, 0, "是")
    assert figures[-1][0] == "合计" and figures[-1][10:12] == (3000, 4000)
    progress = rows(data, "项目推进情况")
    assert [r[1] for r in progress[1:]] == ["L0001", "L0002", "L0004", "L0005"]
    assert progress[4][6:8] == ("在谈→签约→在谈", "是")
    assert progress[1][10] == datetime(2026, 10, 15, 10, 0) and progress[1][12] == "周报"
    assert rows(data, "目标序时进度")[1] == ("甲局", "签约亿元以上项目", 1, 2, 1.7, "是")


def test_half_quarter_and_year_workbooks() -> None:
    half = build_half(span("half", "2026-10-H1"), UNITS, LEADS, AS_OF)
    data = digest_xlsx.build_workbook(half, SH)
    assert rows(data, "汇总")[-1] == ("合计", None, 2, 1, 0, 1, 1)
    assert rows(data, "有效信息")[1][:3] == ("L0002", "甲局", "正极材料")
    q3, q2 = (
        table("quarter", "2026-Q3", {1: 10, 2: 10, 3: 4, 4: 0}),
        table("quarter", "2026-Q2", {1: 5, 2: 12, 3: 0, 4: 4}),
    )
    data = digest_xlsx.build_workbook(
        build_quarter(q3.span, UNITS, q3, q2, TARGETS, FUNNELS, AS_OF), SH
    )
    assert rows(data, "季度得分")[1] == ("一序列", 1, "甲局", 10, 5, 5, 2, 1, 1)
    assert rows(data, "转化率")[1] == ("甲局", "签约→开工", 2, 1, 50, 75, "否")
    y, y0 = (
        table("year", "2026", {1: 40, 2: 55, 3: 55, 4: 0}),
        table("year", "2025", {1: 0, 2: 0, 3: 0, 4: 0}),
    )
    data = digest_xlsx.build_workbook(
        build_year(y.span, UNITS, y, y0, LEADS, FUNDS, TARGETS, FUNNELS, STAGES, AS_OF), SH
    )
    assert rows(data, "全年指标")[-1] == ("合计", None, 3, 3, 2, 1, 4700, 1)
    assert rows(data, "目标完成")[1] == ("甲局", "签约亿元以上项目", 1, 2, "否")


# --- which period, and when ---------------------------------------------------------------------------


class _Setup:
    """Enough of ScoringSetup for the period helpers."""

    periods = PERIODS
    zone = SH


def test_digest_arguments() -> None:
    assert digests.parse_args("month 2026-10") == digests.DigestQuery("month", "2026-10")
    assert digests.parse_args("2026-Q3") == digests.DigestQuery("quarter", "2026-Q3")
    assert digests.parse_args("半月 2026-10-H1") == digests.DigestQuery("half", "2026-10-H1")
    assert digests.parse_args("年") == digests.DigestQuery("year", None)
    for bad in ("", "nonsense", "month 2026-10 2026-11"):
        with pytest.raises(ServiceError) as err:
            digests.parse_args(bad)
        assert err.value.code == "digest.usage"
    with pytest.raises(ServiceError) as err:
        digests.parse_args("quarter 2026-10")
    assert err.value.code == "digest.bad_period"


@pytest.mark.parametrize(
    "kind, key",
    [("month", "2026-13"), ("month", "2026-00"), ("quarter", "2026-Q5"), ("half", "2026-10-H3")],
)
def test_bad_periods_are_refused(kind: str, key: str) -> None:
    with pytest.raises(ServiceError) as err:
        digests.resolve(_Setup(), kind, key, AS_OF)  # type: ignore[arg-type]
    assert err.value.code == "digest.bad_period" and err.value.params["key"] == key


def test_default_is_the_last_complete_period_and_future_ones_are_refused() -> None:
    now = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)
    assert [digests.resolve(_Setup(), k, None, now).key for k in digests.KINDS] == [
        "2026-11-H1",
        "2026-10",
        "2026-Q3",
        "2025",
    ]
    assert digests.resolve(_Setup(), "month", "2026-1", now).key == "2026-01"  # type: ignore[arg-type]
    with pytest.raises(ServiceError) as err:
        digests.resolve(_Setup(), "month", "2026-12", now)  # type: ignore[arg-type]
    assert err.value.code == "digest.future"


def test_when_each_report_is_due() -> None:
    def due(kind: str, when: datetime) -> tuple[str, datetime]:
        s, moment = digests.due(_Setup(), kind, when, 9)  # type: ignore[arg-type]
        return s.key, moment

    nine = time(9)
    assert due("half", at(11, 17)) == ("2026-11-H1", datetime.combine(date(2026, 11, 16), nine, SH))
    assert due("month", at(10, 20)) == (
        "2026-09",
        datetime.combine(date(2026, 10, 8), nine, SH),
    )  # after National Day
    assert due("quarter", at(10, 20)) == ("2026-Q3", datetime.combine(date(2026, 10, 8), nine, SH))
    assert due("year", at(3, 1)) == (
        "2025",
        datetime.combine(date(2026, 1, 4), nine, SH),
    )  # 1 Jan is a holiday
    assert due("month", at(12, 1)) == ("2026-11", datetime.combine(date(2026, 12, 1), nine, SH))
    assert timedelta(days=3) == digests.GRACE


# --- leadbot digest -------------------------------------------------------------------------------------


async def test_cli_prints_the_report_and_writes_its_workbook(
    sqlite_db: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.assembly.cli import main
    from bot.assembly.config import Settings
    from bot.operations.demo import seed_demo
    from bot.services import funds, scoring
    from bot.services.access import resolve_actor
    from bot.services.leads import LeadDraft, report_lead

    settings = Settings(admins=[1000], database_url=sqlite_db.url)
    october = datetime(2026, 10, 20, 2, 0, tzinfo=UTC)
    async with sqlite_db.session() as s:
        await seed_demo(s, october)
    async with sqlite_db.session() as s:
        liaison = await resolve_actor(s, settings, 1101, "x", None)
        draft = LeadDraft(
            "动力电池项目",
            "宁德时代新能源科技股份有限公司",
            "新能源",
            Decimal(12000),
            "省外",
            "签约",
        )
        lead = await report_lead(s, october, liaison, draft, settings)
    async with sqlite_db.session() as s:
        await funds.record(
            s, scoring.setup_for(settings), october, liaison, lead.lead_id, "3000万", None
        )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADBOT_CONFIG", raising=False)
    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    try:
        assert (
            await asyncio.to_thread(main, ["digest", "month", "2026-10", "--xlsx", str(tmp_path)])
            == 0
        )
        out = capsys.readouterr()
        assert (
            "📋 2026年10月 招商引资工作通报" in out.out
            and "到位资金 3,000万元/3,000万元" in out.out
        )
        book = load_workbook(tmp_path / "招商引资工作通报_2026-10.xlsx")
        assert [c.value for c in book["六项指标"][2]][:4] == ["招商引资部", "一序列", 0, 0]
        assert await asyncio.to_thread(main, ["digest", "month", "2026-13"]) == 1
        assert "“2026-13”不是有效的时段" in capsys.readouterr().err
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.get_name() == "leadbot"]:
            root.removeHandler(handler)
