"""The fast ``.xlsx`` writer (bot/rendering/xlsx_writer.py) against openpyxl's write-only sheet
writer it replaces for the digests: read back with openpyxl, every sheet has the same values,
number formats, header look, freeze pane, autofilter and widths."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from bot.rendering.export import (
    AMOUNT_FORMAT,
    DATE_FORMAT,
    DATETIME_FORMAT,
    MOVE_FORMAT,
    Column,
    _column_widths,
    _widths,
    write_sheet,
    write_table,
)
from bot.rendering.xlsx_writer import (
    _ILLEGAL,
    MAX_TEXT,
    Book,
    _text_tail,
    column_letter,
    excel_day,
)

COLUMNS = (
    Column("单位"),
    Column("计划投资额(万元)", AMOUNT_FORMAT),
    Column("报送时间", DATETIME_FORMAT, 17),
    Column("日期", DATE_FORMAT),
    Column("名次变化", MOVE_FORMAT, 10),
    Column("说明", cap=20),
    Column("无格式时间"),
    Column("是否"),
)
ROWS: list[tuple[Any, ...]] = [
    (
        "经济发展局",
        12345.5,
        datetime(2026, 10, 31, 23, 59),
        date(2026, 1, 1),
        2,
        "A&B <c> “引号”",
        datetime(2026, 3, 1, 8, 5, 7),
        True,
    ),
    ("乡镇'一'", 0, None, None, -1, "  两端空格\n换行  ", None, False),
    ("第三行", Decimal("3.25"), datetime(2026, 1, 1), date(2025, 12, 31), 0, "", None, None),
    ("=SUM(A1)", None, None, None, None, "x" * 80, date(2026, 5, 4), None),
]


def _both() -> tuple[Any, Any]:
    old = Workbook(write_only=True)
    new = Book()
    for title, rows in (("六项指标", ROWS), ("空表", [])):
        write_sheet(old, title, COLUMNS, rows, lambda row: row)
        write_table(new, title, COLUMNS, rows, lambda row: row)
    buffer = io.BytesIO()
    old.save(buffer)
    return load_workbook(io.BytesIO(buffer.getvalue())), load_workbook(io.BytesIO(new.bytes()))


def test_the_fast_writer_reads_back_as_openpyxl_wrote_it() -> None:
    old, new = _both()
    assert new.sheetnames == old.sheetnames == ["六项指标", "空表"]
    for title in old.sheetnames:
        a, b = old[title], new[title]
        assert b.freeze_panes == a.freeze_panes == "A2"
        assert b.auto_filter.ref == a.auto_filter.ref
        assert b.max_row == a.max_row and b.max_column == a.max_column
        for i in range(1, len(COLUMNS) + 1):
            letter = a.cell(1, i).column_letter
            assert b.column_dimensions[letter].width == a.column_dimensions[letter].width
        for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=True):
            for x, y in zip(row_a, row_b, strict=True):
                assert y.value == x.value, (title, x.coordinate)
                if x.value is not None:
                    assert y.number_format == x.number_format, (title, x.coordinate)
        for x, y in zip(a[1], b[1], strict=True):
            assert y.font.bold and x.font.bold
            assert y.fill.fgColor.rgb == x.fill.fgColor.rgb
            assert y.alignment.vertical == x.alignment.vertical == "center"


def test_a_control_character_is_dropped_not_fatal() -> None:
    """openpyxl refuses such a string (IllegalCharacterError); the fast writer drops the
    characters XML cannot hold, and cuts a text at Excel's 32 767 characters as openpyxl does."""
    book = Book()
    book.sheet("表", (Column("文字"),), [10.0], [("甲\x01乙\x1f",), ("长" * 40000,)], 2)
    sheet = load_workbook(io.BytesIO(book.bytes()))["表"]
    assert sheet["A2"].value == "甲乙"
    assert sheet["A3"].value == "长" * 32767


def test_every_part_is_named_in_the_content_types() -> None:
    book = Book()
    write_table(book, "一", COLUMNS, ROWS, lambda row: row)
    write_table(book, "二", COLUMNS, ROWS, lambda row: row)
    with zipfile.ZipFile(io.BytesIO(book.bytes())) as z:
        types = z.read("[Content_Types].xml").decode()
        for name in z.namelist():
            if name.startswith("xl/worksheets/") or name in ("xl/workbook.xml", "xl/styles.xml"):
                assert f'PartName="/{name}"' in types


_CELL = st.one_of(
    st.none(),
    st.text(alphabet="ab 经济发展局\n（）é—", max_size=30),
    st.integers(-(10**9), 10**9),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, max_value=10**8, min_value=-(10**8)
    ),
)
_MEASURED = (
    Column("单位"),
    Column("计划投资额(万元)", AMOUNT_FORMAT),
    Column("说明", cap=12),
    Column("是否"),
    Column("报送时间", DATETIME_FORMAT, 17),
)


@given(st.lists(st.lists(_CELL, max_size=len(_MEASURED)).map(tuple), max_size=30))
def test_widths_measured_a_column_at_a_time_equal_those_measured_a_row_at_a_time(
    table: list[tuple[Any, ...]],
) -> None:
    """Short rows included (a row may leave its last cells out)."""
    assert _column_widths(_MEASURED, table) == _widths(_MEASURED, iter(table))


def _text_tail_every_step(value: str, style: int) -> str:
    """The text cell as written before the usual text's short cut: every step for every text."""
    text = _ILLEGAL.sub("", value)[:MAX_TEXT]
    space = ' xml:space="preserve"' if text != text.strip() else ""
    s = f' s="{style}"' if style else ""
    return f'{s} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
    | st.text(alphabet=" \t\n\x0b\x1c\u3000\xa0&<>项目a\x01", max_size=12),
    st.sampled_from([0, 2]),
)
def test_a_text_cell_is_written_as_every_step_would_write_it(value: str, style: int) -> None:
    assert _text_tail(value, style) == _text_tail_every_step(value, style)


def test_a_text_longer_than_excel_allows_is_cut_there() -> None:
    assert _text_tail("项" * (MAX_TEXT + 5), 0) == _text_tail_every_step("项" * (MAX_TEXT + 5), 0)


def test_column_letters_are_openpyxls() -> None:
    assert [column_letter(i) for i in range(1, 18279)] == [
        get_column_letter(i) for i in range(1, 18279)
    ]


@given(
    st.one_of(
        st.dates(),
        st.datetimes(),
        st.sampled_from([date(1900, 2, 28), date(1900, 3, 1), datetime(1900, 2, 28, 23, 59)]),
    )
)
def test_excel_days_are_openpyxls(value: date) -> None:
    """The day number the cell holds, as openpyxl writes it (its text, to the digit)."""
    assert str(excel_day(value)) == str(to_excel(value))
