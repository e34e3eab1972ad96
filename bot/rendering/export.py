"""The 招商引资台账 workbook: plain rows in, ``.xlsx`` bytes out.

Pure: no database, no clock, no Telegram. :mod:`bot.services.export` gathers the
rows; ``/export`` (handlers/export.py) and ``leadbot export`` call
:func:`build_workbook`.

Four sheets, each with a bold, frozen header row, an autofilter and column widths
measured from the content (CJK characters count double, capped):

* **线索台账** -- every lead, with its stage history as one line of text;
* **周报** -- one row per weekly period and unit;
* **计分明细** -- the live ledger lines (voided lines are left out: they no longer count);
* **排名** -- the ranking of the chosen period; 变化 is ↑2 / ↓1 / – as a number, or 新 / 无可比
  in the chat's words (:func:`bot.rendering.movement.move_cell`).

The workbook is the jurisdiction's paper ledger (台账) in electronic form, so its
headers and values are Chinese whatever language the reader chose with ``/lang``;
the vocabulary is kept here, in one place. Times are the jurisdiction's local wall
time (naive datetimes with a date format), amounts and points are numbers.

The fast writer (:mod:`bot.rendering.xlsx_writer`; it reads back as openpyxl's write-only
mode wrote it) streams the rows into the file, so the whole library's 100 000 leads stay
small in memory; a sheet takes its column widths before the first row, which is why widths
are measured from the rows first (two walks: :class:`Rows`).
:func:`write_sheet` is the openpyxl original, kept as the reference the fast writer is
tested against; it alone imports openpyxl, when called (the bot's process imports this module
for its rows and columns, and would hold openpyxl's 6 MB for nothing).
"""

from __future__ import annotations

import functools
import itertools
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from bot.domain.periods import Span
from bot.rendering.movement import move_cell
from bot.rendering.xlsx_writer import HEADER_FILL, Book, column_letter

if TYPE_CHECKING:
    from openpyxl import Workbook

SHEET_LEADS, SHEET_WEEKLY, SHEET_LEDGER, SHEET_RANK = "线索台账", "周报", "计分明细", "排名"
FILE_PREFIX = "招商引资台账"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
MOVE_FORMAT = '"↑"0;"↓"0;"–"'  # previous rank − rank: shows ↑2 / ↓1 / – and stays a number
AMOUNT_FORMAT = "#,##0.00"  # 12,345.00: a thousands separator, and the cell stays a number
MAX_WIDTH = 50
MIN_WIDTH = 6

WEEKLY_STATUS = {
    "on_time": "按时",
    "late": "迟交",
    "missing": "缺报",
    "skipped": "已跳过",
    "open": "未截止",
}
REVIEW_STATUS = {"pending": "待核实", "verified": "有效信息", "rejected": "已退回"}
SOURCE_WORDS = {"reported": "报送", "verified": "核实", "weekly": "周报", "manual": "人工调整"}


# --------------------------------------------------------------------------- #
# Rows
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, slots=True)
class LeadLine:
    code: str
    project: str
    company: str
    industry: str
    amount_wan: Decimal
    origin: str
    stage: str
    tags: tuple[str, ...]
    foreign_usd: Decimal | None
    contact_name: str | None
    contact_phone: str | None
    channel: str | None
    unit: str
    reporter: str
    reported_at: datetime  # local wall time, naive
    review: str  # pending / verified / rejected
    duplicate_of: str | None  # the first report's code
    history: str  # "线索→在谈 11-18 张三；…"
    notes: str | None
    credit_code: str | None = None  # 统一社会信用代码 (the last column)


@dataclass(frozen=True, slots=True)
class WeeklyLine:
    period_key: str
    deadline: datetime  # local, naive
    unit: str
    status: str  # on_time / late / missing / skipped / open
    submitted_at: datetime | None
    confirmed_by: str | None
    confirmed_at: datetime | None


@dataclass(frozen=True, slots=True)
class LedgerLine:
    on: date  # local date
    unit: str
    rule: str
    module: str | None
    points: Decimal
    source: str
    note: str


@dataclass(frozen=True, slots=True)
class RankLine:
    rank: int
    unit: str
    category: str | None
    points: Decimal
    move: int  # previous rank − rank: > 0 moved up
    # as RankRow.compare: "move", "new" (unit new since the previous period) or "none"
    # (nobody scored in it); the cell then says 新 / 无可比 like the chat's board
    compare: str = "move"


T_co = TypeVar("T_co", covariant=True)


class Rows(Protocol[T_co]):
    """What a sheet needs of its rows: their number (the autofilter's range) and two walks
    (widths, then cells). A list, or the whole library spilled to disk
    (:class:`bot.services.export.SpilledRows`)."""

    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[T_co]: ...


@dataclass(frozen=True)
class ExportData:
    span: Span  # the chosen period: names the file (招商引资台账_2026-11.xlsx), picks weeks, ledger lines, ranking
    leads: Rows[LeadLine]
    weekly: Sequence[WeeklyLine]
    ledger: Sequence[LedgerLine]
    ranking: Sequence[RankLine]

    @property
    def filename(self) -> str:
        return file_name(self.span.key)


def file_name(period_key: str) -> str:
    return f"{FILE_PREFIX}_{period_key}.xlsx"


# --------------------------------------------------------------------------- #
# Sheets
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Column:
    header: str
    fmt: str | None = None  # number format; None = General
    width: int | None = None  # fixed width (dates), else measured
    cap: int = MAX_WIDTH


def excel_number(value: Decimal | None) -> int | float | None:
    """Decimals as plain numbers: integers stay integers, the rest become floats."""
    if value is None:
        return None
    if not value:  # most amounts of a report are nothing (funds of a month)
        return 0
    return int(value) if value == value.to_integral_value() else float(value)


LEAD_COLUMNS = (
    Column("编号"),
    Column("项目名称", cap=40),
    Column("投资方", cap=40),
    Column("行业"),
    Column("计划投资额(万元)", AMOUNT_FORMAT),
    Column("来源地"),
    Column("阶段"),
    Column("标签", cap=30),
    Column("外资(美元)", AMOUNT_FORMAT),
    Column("联系人"),
    Column("电话"),
    Column("渠道"),
    Column("报送单位"),
    Column("报送人"),
    Column("报送时间", DATETIME_FORMAT, 17),
    Column("审核状态"),
    Column("重复（首报编号）"),
    Column("阶段历程", cap=60),
    Column("备注", cap=40),
    Column("统一社会信用代码"),  # last: readers of the sheet index columns by position
)


def _lead_cells(r: LeadLine) -> tuple[Any, ...]:
    return (
        r.code,
        r.project,
        r.company,
        r.industry,
        excel_number(r.amount_wan),
        r.origin,
        r.stage,
        "、".join(r.tags),
        excel_number(r.foreign_usd),
        r.contact_name,
        r.contact_phone,
        r.channel,
        r.unit,
        r.reporter,
        r.reported_at,
        REVIEW_STATUS.get(r.review, r.review),
        r.duplicate_of,
        r.history,
        r.notes,
        r.credit_code,
    )


WEEKLY_COLUMNS = (
    Column("周次"),
    Column("截止时间", DATETIME_FORMAT, 17),
    Column("单位"),
    Column("状态"),
    Column("提交时间", DATETIME_FORMAT, 17),
    Column("确认人"),
    Column("确认时间", DATETIME_FORMAT, 17),
)


def _weekly_cells(r: WeeklyLine) -> tuple[Any, ...]:
    status = WEEKLY_STATUS.get(r.status, r.status)
    return (
        r.period_key,
        r.deadline,
        r.unit,
        status,
        r.submitted_at,
        r.confirmed_by,
        r.confirmed_at,
    )


LEDGER_COLUMNS = (
    Column("日期", DATE_FORMAT, 12),
    Column("单位"),
    Column("规则", cap=30),
    Column("模块"),
    Column("分值"),
    Column("来源", cap=30),
    Column("说明", cap=50),
)


def _ledger_cells(r: LedgerLine) -> tuple[Any, ...]:
    return (r.on, r.unit, r.rule, r.module, excel_number(r.points), r.source, r.note)


RANK_COLUMNS = (
    Column("名次"),
    Column("单位"),
    Column("序列"),
    Column("得分"),
    Column("变化", MOVE_FORMAT, 8),
)


def _rank_cells(r: RankLine) -> tuple[Any, ...]:
    return (r.rank, r.unit, r.category, excel_number(r.points), move_cell(r.compare, r.move))


def build_workbook(data: ExportData) -> bytes:
    """The whole workbook as ``.xlsx`` bytes, by the fast writer (bot/rendering/xlsx_writer.py):
    the whole library's 100 000 leads are some 2 000 000 cells, a minute through openpyxl."""
    book = Book()
    write_table(book, SHEET_LEADS, LEAD_COLUMNS, data.leads, _lead_cells)
    write_table(book, SHEET_WEEKLY, WEEKLY_COLUMNS, data.weekly, _weekly_cells)
    write_table(book, SHEET_LEDGER, LEDGER_COLUMNS, data.ledger, _ledger_cells)
    write_table(book, SHEET_RANK, RANK_COLUMNS, data.ranking, _rank_cells)
    return book.bytes()


def write_sheet(
    wb: Workbook,
    title: str,
    columns: Sequence[Column],
    rows: Rows[Any],
    cells: Callable[[Any], tuple[Any, ...]],
) -> None:
    """The sheet through openpyxl's write-only mode: the reference :func:`write_table` is
    tested against (tests/unit/test_xlsx_writer.py)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(title)
    for i, width in enumerate(_widths(columns, (cells(r) for r in rows)), start=1):
        ws.column_dimensions[column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{column_letter(len(columns))}{len(rows) + 1}"
    font, fill = Font(bold=True), PatternFill("solid", fgColor=HEADER_FILL)
    align = Alignment(vertical="center")
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font, cell.fill, cell.alignment = font, fill, align
        header.append(cell)
    ws.append(header)
    formatted = [(i, c.fmt) for i, c in enumerate(columns) if c.fmt]
    for row in rows:  # the cells again rather than a second copy of every row in memory
        values: Any = cells(row)
        if formatted:
            values = list(values)
            for i, fmt in formatted:
                if values[i] is not None:
                    cell = WriteOnlyCell(ws, value=values[i])
                    cell.number_format = fmt
                    values[i] = cell
        ws.append(values)


def write_table(
    book: Book,
    title: str,
    columns: Sequence[Column],
    rows: Rows[Any],
    cells: Callable[[Any], tuple[Any, ...]],
) -> None:
    """:func:`write_sheet`'s sheet, written by the fast writer (bot/rendering/xlsx_writer.py):
    the same look, a fraction of the time a cell."""
    widths = _widths(columns, (cells(r) for r in rows))
    book.sheet(title, columns, widths, (cells(r) for r in rows), len(rows))


def write_cells(
    book: Book, title: str, columns: Sequence[Column], table: Sequence[Sequence[Any]]
) -> None:
    """:func:`write_table` of rows that are their cells already (a report's tables, in
    memory): the widths are measured a column at a time."""
    book.sheet(title, columns, _column_widths(columns, table), table, len(table))


def _widths(columns: Sequence[Column], table: Iterable[tuple[Any, ...]]) -> list[float]:
    widest = [text_width(c.header) for c in columns]
    amounts = {i for i, c in enumerate(columns) if c.fmt == AMOUNT_FORMAT}
    measured = [i for i, c in enumerate(columns) if c.width is None]
    for values in table:
        for i in measured:
            value = values[i] if i < len(values) else None
            if value is None:
                continue
            if type(value) is str:
                text = value
                if 2 * len(text) <= widest[i]:
                    continue  # even all wide characters would not widen the column
            else:
                text = _shown(value, i in amounts)
            w = _lines_width(text)
            if w > widest[i]:
                widest[i] = w
                if w >= columns[i].cap - 2:  # at its cap: nothing more to measure
                    measured = [j for j in measured if j != i]
    return _final_widths(columns, widest)


def _column_widths(columns: Sequence[Column], table: Sequence[Sequence[Any]]) -> list[float]:
    """:func:`_widths` of a table in memory, equal to it: a column's distinct texts, longest
    first, are measured only while one could still widen the column (a text of n characters
    is at most 2n wide), so a column of thousands of names measures a few of them."""
    widest = [text_width(c.header) for c in columns]
    amounts = {i for i, c in enumerate(columns) if c.fmt == AMOUNT_FORMAT}
    by_column = list(itertools.zip_longest(*table)) if table else []
    for i, column in enumerate(columns):
        if column.width is not None or i >= len(by_column):
            continue
        values = by_column[i]
        texts = {v for v in values if type(v) is str}
        others = {(type(v), v) for v in values if v is not None and type(v) is not str}
        shown = {_shown(v, i in amounts) for _, v in others}  # True and 1 kept apart
        for text in sorted(texts | shown, key=len, reverse=True):
            if 2 * len(text) <= widest[i] or widest[i] >= column.cap - 2:
                break  # no shorter text can widen it, or it is at its cap
            widest[i] = max(widest[i], _lines_width(text))
    return _final_widths(columns, widest)


def _shown(value: Any, amount: bool) -> str:
    """A value other than text as the sheet shows it: 12,345.00 is wider than 12345."""
    return f"{value:,.2f}" if amount else str(value)


def _lines_width(text: str) -> int:
    return max(map(text_width, text.split("\n"))) if "\n" in text else text_width(text)


def _final_widths(columns: Sequence[Column], widest: Sequence[int]) -> list[float]:
    """Each column's width: fixed, or its widest content and a margin, within its bounds."""
    return [
        float(c.width if c.width is not None else max(MIN_WIDTH, min(c.cap, w + 2)))
        for c, w in zip(columns, widest, strict=True)
    ]


@functools.lru_cache(maxsize=8192)  # a table repeats its units', stages' and yes/no words
def text_width(text: str) -> int:
    """Display width: East Asian wide and full-width characters count double."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
