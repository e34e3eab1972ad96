"""The ``.xlsx`` of each leaders' report: a report dataclass in, workbook bytes out.

Pure: no database, no clock, no Telegram. The sheets have the 台账 export's look
(:mod:`bot.rendering.export`: bold frozen header, autofilter, widths from the content, real
numbers and dates), so both workbooks look alike; they are written by the fast writer
(:mod:`bot.rendering.xlsx_writer`: a 项目推进情况 sheet lists every project at 在谈 or later,
thousands of rows on a large jurisdiction, and openpyxl's cells cost ~40 µs each). Like the
台账, the workbook is the jurisdiction's paper form in electronic shape: Chinese
headers and values whatever language the reader chose. Times are local wall time.

Sheets per report:

* 信息汇总: 汇总 (per unit) and 有效信息 (the verified leads);
* 工作通报: 六项指标 (month and year to date), 项目推进情况 (every project at
  在谈 or later), 目标序时进度, 说明;
* 季度考评: 季度得分 (per category), 目标进度, 转化率;
* 年终考核: 年度得分, 全年指标, 目标完成, 转化率.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

# The export's sheet writer and number helper: one look for every workbook the bot sends.
from bot.rendering.export import (
    AMOUNT_FORMAT,
    DATETIME_FORMAT,
    MOVE_FORMAT,
    Column,
    excel_number,
    write_cells,
)
from bot.rendering.movement import move_cell
from bot.rendering.xlsx_writer import Book
from bot.services.digests import (
    CategoryBlock,
    Figures,
    HalfReport,
    MonthReport,
    QuarterReport,
    Report,
    StageNames,
    UnitReview,
    YearReport,
)

FILE_PREFIX = {
    "half": "招商引资信息汇总",
    "month": "招商引资工作通报",
    "quarter": "招商引资季度考评",
    "year": "招商引资年终考核",
}
REVIEW = {"pending": "待核实", "verified": "有效信息", "rejected": "已退回"}
SOURCE = {"weekly": "周报", "stage": "阶段备注"}
YES, NO = "是", "否"


def file_name(report: Report) -> str:
    return f"{FILE_PREFIX[report.kind]}_{report.span.key}.xlsx"


def build_workbook(report: Report, zone: ZoneInfo) -> bytes:
    wb = Book()
    if isinstance(report, HalfReport):
        _half(wb, report, zone)
    elif isinstance(report, MonthReport):
        _month(wb, report, zone)
    elif isinstance(report, QuarterReport):
        _quarter(wb, report)
    else:
        _year(wb, report)
    return wb.bytes()


_AMOUNT_UNITS = ("(万元)", "(美元)")  # money columns get a thousands separator


def _table(
    wb: Book, title: str, headers: Sequence[Column | str], rows: Sequence[tuple[Any, ...]]
) -> None:
    columns = [
        h
        if isinstance(h, Column)
        else Column(h, AMOUNT_FORMAT if h.endswith(_AMOUNT_UNITS) else None)
        for h in headers
    ]
    write_cells(wb, title, columns, rows)


def _local(t: datetime | None, zone: ZoneInfo) -> datetime | None:
    return None if t is None else t.astimezone(zone).replace(tzinfo=None)


def _count(value: int, stage: str | None) -> int | None:
    return value if stage is not None else None


# --- 信息汇总 ------------------------------------------------------------------------------


def _half(wb: Book, r: HalfReport, zone: ZoneInfo) -> None:
    rows = [
        (u.unit.name, u.unit.category, u.new, u.verified, u.pending, u.rejected, u.duplicates)
        for u in r.lines
    ]
    t = r.total
    rows.append(("合计", None, t.new, t.verified, t.pending, t.rejected, t.duplicates))
    _table(wb, "汇总", ("单位", "序列", "新报线索", "有效", "待核实", "退回", "重复（另计）"), rows)
    leads = [
        (
            lead.code,
            r.unit_names.get(lead.unit_id),
            lead.project,
            lead.company,
            lead.industry,
            excel_number(lead.amount_wan),
            lead.origin,
            lead.stage_now or lead.initial_stage,
            _local(lead.reported_at, zone),
        )
        for lead in r.verified
    ]
    _table(
        wb,
        "有效信息",
        (
            "编号",
            "单位",
            "项目名称",
            "投资方",
            "行业",
            "计划投资额(万元)",
            "来源地",
            "阶段",
            Column("报送时间", DATETIME_FORMAT, 17),
        ),
        leads,
    )


# --- 工作通报 ------------------------------------------------------------------------------

FIGURE_HEADERS = ("有效信息", "新签约", "新开工", "新入统", "到位资金(万元)", "新投产")


def _figures(f: Figures, stages: StageNames) -> tuple[Any, ...]:
    return (
        f.effective,
        _count(f.signed, stages.signed),
        _count(f.started, stages.started),
        _count(f.in_stats, stages.in_stats),
        excel_number(f.funds_wan),
        _count(f.production, stages.production),
    )


def _month(wb: Book, r: MonthReport, zone: ZoneInfo) -> None:
    headers = ["单位", "序列"]
    for name in FIGURE_HEADERS:
        headers += [f"{name}·本月", f"{name}·本年"]
    headers.append("低于序时进度")
    rows = []
    for u in r.lines:
        month, year = _figures(u.month, r.stages), _figures(u.year, r.stages)
        rows.append(
            (u.unit.name, u.unit.category, *_interleave(month, year), YES if u.below_pace else NO)
        )
    rows.append(
        (
            "合计",
            None,
            *_interleave(_figures(r.total_month, r.stages), _figures(r.total_year, r.stages)),
            None,
        )
    )
    _table(wb, "六项指标", headers, rows)
    progress = [
        (
            p.unit_name,
            p.lead.code,
            p.lead.project,
            p.lead.company,
            excel_number(p.lead.amount_wan),
            p.stage,
            "→".join(p.path) if p.changed else "无变化",
            YES if p.backward else NO,
            excel_number(p.funds_month_wan),
            excel_number(p.funds_year_wan),
            _local(p.note.at, zone) if p.note else None,
            p.note.text if p.note else None,
            SOURCE.get(p.note.source) if p.note else None,
            "；".join(p.problems) or None,
        )
        for p in r.progress
    ]
    _table(
        wb,
        "项目推进情况",
        (
            "单位",
            "编号",
            "项目名称",
            "投资方",
            "计划投资额(万元)",
            "月末阶段",
            "本月变化",
            "退回",
            "本月到位资金(万元)",
            "本年到位资金(万元)",
            Column("最新进展时间", DATETIME_FORMAT, 17),
            Column("最新进展", cap=60),
            "来源",
            Column("本月存在问题", cap=60),
        ),
        progress,
    )
    _pace_sheet(wb, "目标序时进度", [(u.unit.name, u.pace) for u in r.lines])
    notes = [
        (
            f"{r.span.label()}：{r.span.start.astimezone(zone):%Y-%m-%d} 至 {r.span.end.astimezone(zone):%Y-%m-%d}（不含）；本年累计自 1 月 1 日起。",
        ),
        (
            "口径：首报认定，不含重复及退回线索；有效信息按核实时间计，签约、开工、入统、投产按到达该阶段的时间计（跳过的阶段在跳过时计入，被领导退回的阶段不计）；到位资金按登记的月份计。",
        ),
        (
            f"序时进度：年度目标 × {excel_number((r.pace_share * 100).quantize(Decimal('0.1')))}%（截至本月末的时间进度），低于者标注。",
        ),
        (
            "存在问题：取自本月进展说明（周报“项目进展”、阶段变更说明）中“问题：”“困难：”“难点：”“堵点：”“需协调：”等标注后的文字。",
        ),
    ]
    _table(wb, "说明", (Column("说明", cap=100),), notes)


def _interleave(a: tuple[Any, ...], b: tuple[Any, ...]) -> list[Any]:
    return [v for pair in zip(a, b, strict=True) for v in pair]


def _pace_sheet(
    wb: Book, title: str, units: Sequence[tuple[Any, Any]], final: bool = False
) -> None:
    rows: list[tuple[Any, ...]] = []
    for name, pace in units:
        for p in pace:
            if final:
                rows.append((name, p.name, p.done, p.target, YES if p.met else NO))
            else:
                rows.append(
                    (
                        name,
                        p.name,
                        p.done,
                        p.target,
                        excel_number(p.expected),
                        YES if p.below else NO,
                    )
                )
    headers = (
        ("单位", "目标", "完成(个)", "全年目标(个)", "是否完成")
        if final
        else ("单位", "目标", "完成(个)", "全年目标(个)", "序时应达(个)", "低于序时")
    )
    _table(wb, title, headers, rows)


# --- 季度考评 / 年终考核 ---------------------------------------------------------------------


def _score_sheet(wb: Book, title: str, blocks: Sequence[CategoryBlock], previous: str) -> None:
    rows = [
        (
            b.category or "未分序列",
            s.rank,
            s.unit.name,
            excel_number(s.points),
            excel_number(s.previous_points),
            excel_number(s.delta),
            s.previous_rank if s.compare == "move" else None,  # no place then to name
            move_cell(s.compare, s.move),  # 新 / 无可比 as the chat's board says
            s.overall_rank,
        )
        for b in blocks
        for s in b.lines
    ]
    _table(
        wb,
        title,
        (
            "序列",
            "序列内名次",
            "单位",
            "得分",
            f"{previous}得分",
            "增减",
            f"{previous}名次",
            Column("名次变化", MOVE_FORMAT, 10),
            "总名次",
        ),
        rows,
    )


def _funnel_sheet(wb: Book, reviews: Sequence[UnitReview]) -> None:
    rows = [
        (
            rv.unit.name,
            f"{f.from_stage}→{f.to_stage}",
            f.base,
            f.reached,
            excel_number(f.rate),
            excel_number(f.benchmark),
            None if f.rate is None else (YES if f.rate >= f.benchmark else NO),
        )
        for rv in reviews
        for f in rv.funnel
    ]
    _table(
        wb,
        "转化率",
        ("单位", "转化", "基数（个）", "达到（个）", "转化率(%)", "目标(%)", "达标"),
        rows,
    )


def _quarter(wb: Book, r: QuarterReport) -> None:
    _score_sheet(wb, "季度得分", r.categories, "上季度")
    _pace_sheet(wb, "目标进度", [(rv.unit.name, rv.pace) for rv in r.reviews])
    _funnel_sheet(wb, r.reviews)


def _year(wb: Book, r: YearReport) -> None:
    _score_sheet(wb, "年度得分", r.categories, "上年")
    rows = [(u.name, u.category, *_figures(f, r.stages)) for u, f in r.figures]
    rows.append(("合计", None, *_figures(r.total, r.stages)))
    _table(wb, "全年指标", ("单位", "序列", *FIGURE_HEADERS), rows)
    _pace_sheet(wb, "目标完成", [(rv.unit.name, rv.pace) for rv in r.reviews], final=True)
    _funnel_sheet(wb, r.reviews)
