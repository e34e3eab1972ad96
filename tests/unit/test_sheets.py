from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from bot.operations.sheets import SheetError, read_unit_sheet


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_with_chinese_headers() -> None:
    rows = read_unit_sheet(
        xlsx(
            [
                ["名称", "简称", "序列"],
                ["招商引资部", "招商部", "一序列"],
                [None, None, None],
                ["财政局", None, 2],
            ]
        ),
        "units.xlsx",
    )
    assert rows == [
        {"_row": 2, "name": "招商引资部", "short_name": "招商部", "category": "一序列"},
        {"_row": 4, "name": "财政局", "short_name": None, "category": "2"},
    ]


def test_csv_in_gbk_and_english_headers() -> None:
    data = "name,short,category\n经济发展局,经发局,一序列\n".encode("gbk")
    assert read_unit_sheet(data, "u.csv")[0]["name"] == "经济发展局"


def test_csv_with_bom_and_semicolons() -> None:
    data = "\ufeff名称;简称\n规划建设局;规建局\n".encode()
    assert read_unit_sheet(data, "u.CSV")[0]["short_name"] == "规建局"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "u.csv", "import.empty_file"),
        (b"\n\n", "u.csv", "import.empty_file"),
        ("简称,序列\n招商部,一\n".encode(), "u.csv", "import.missing_column"),
        (b"not a zip", "u.xlsx", "import.unreadable"),
        (b"x", "u.pdf", "import.unknown_format"),
    ],
)
def test_bad_sheets_say_why(data: bytes, name: str, code: str) -> None:
    with pytest.raises(SheetError) as exc:
        read_unit_sheet(data, name)
    assert exc.value.code == code
