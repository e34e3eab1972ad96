"""Reading a sheet of units (.xlsx or .csv) into rows with known keys.

Offices keep these lists in Excel with Chinese headers, sometimes saved as CSV in
GBK; we accept the common header spellings and report which column is missing.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

from openpyxl import load_workbook

HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "单位名称", "单位", "name", "unit", "unit name"),
    "short_name": ("简称", "单位简称", "short", "short name", "short_name"),
    "category": ("序列", "类别", "分类", "category", "series"),
}
MAX_BYTES = 10 * 1024 * 1024


class SheetError(ValueError):
    """The file cannot be read as a unit sheet; ``code`` picks the catalog text."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def read_unit_sheet(data: bytes, filename: str) -> list[dict[str, Any]]:
    if not data:
        raise SheetError("import.empty_file")
    if len(data) > MAX_BYTES:
        raise SheetError("import.file_too_large", limit_mb=MAX_BYTES // (1024 * 1024))
    lower = filename.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        table = _xlsx_rows(data)
    elif lower.endswith((".csv", ".txt")):
        table = _csv_rows(data)
    else:
        raise SheetError("import.unknown_format", filename=filename)
    return _to_records(table)


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError("import.unreadable", detail=type(exc).__name__) from None
    try:
        ws = wb.worksheets[0]
        return [list(row) for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _csv_rows(data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise SheetError("import.unreadable", detail="encoding")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t，")
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))


def _to_records(table: list[list[Any]]) -> list[dict[str, Any]]:
    start = next((i for i, row in enumerate(table) if any(_cell(c) for c in row)), None)
    if start is None:
        raise SheetError("import.empty_file")
    header = [_cell(c).lower() for c in table[start]]
    columns = {key: _find(header, names) for key, names in HEADERS.items()}
    if columns["name"] is None:
        raise SheetError(
            "import.missing_column", column="名称", found="、".join(h for h in header if h) or "—"
        )
    records = []
    for offset, row in enumerate(table[start + 1 :], start=start + 2):
        if not any(_cell(c) for c in row):
            continue
        rec: dict[str, Any] = {"_row": offset}
        for key, col in columns.items():
            rec[key] = (_cell(row[col]) or None) if col is not None and col < len(row) else None
        records.append(rec)
    return records


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()
