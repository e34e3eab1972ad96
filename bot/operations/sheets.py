"""Reading a sheet of units (.xlsx or .csv) into rows with known keys.

Offices keep these lists in Excel with Chinese headers, sometimes saved as CSV in
GBK; we accept the common header spellings and report which column is missing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import zipfile
from collections.abc import Iterator
from typing import Any

HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "单位名称", "单位", "name", "unit", "unit name"),
    "short_name": ("简称", "单位简称", "short", "short name", "short_name"),
    "category": ("序列", "类别", "分类", "category", "series"),
}
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 10_000  # data rows; the reading stops at the first one over (bot/services/units.py)
MAX_COLUMNS = 64  # a unit sheet has three columns; the rest of a very wide row is not read
EMPTY_RUN = 1_000  # this many blank rows in a row end the sheet (formatting down to row 1 048 576)
READ_SECONDS = 20.0  # a sheet that takes longer to read is refused


class SheetError(ValueError):
    """The file cannot be read as a unit sheet; ``code`` picks the catalog text."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def read_unit_sheet(
    data: bytes, filename: str, *, max_rows: int = MAX_ROWS, seconds: float = READ_SECONDS
) -> list[dict[str, Any]]:
    """Bounded in rows, columns and time, so any file under :data:`MAX_BYTES` is read (or
    refused) in seconds and a few megabytes; run it in a worker thread
    (:func:`read_unit_sheet_off_loop`)."""
    if not data:
        raise SheetError("import.empty_file")
    if len(data) > MAX_BYTES:
        raise SheetError("import.file_too_large", limit_mb=MAX_BYTES // (1024 * 1024))
    lower = filename.lower()
    deadline = time.monotonic() + seconds
    if lower.endswith((".xlsx", ".xlsm")):
        table = _bounded(_xlsx_rows(data), max_rows, deadline, seconds)
    elif lower.endswith((".csv", ".txt")):
        table = _bounded(_csv_rows(data), max_rows, deadline, seconds)
    else:
        raise SheetError("import.unknown_format", filename=filename)
    return _to_records(table)


async def read_unit_sheet_off_loop(data: bytes, filename: str) -> list[dict[str, Any]]:
    """:func:`read_unit_sheet` in a worker thread: the bot answers others meanwhile."""
    return await asyncio.to_thread(read_unit_sheet, data, filename)


def _bounded(
    rows: Iterator[list[Any]], max_rows: int, deadline: float, seconds: float
) -> list[tuple[int, list[Any]]]:
    """Rows as they are read: blank runs of :data:`EMPTY_RUN` end the sheet, more than
    ``max_rows`` filled rows (after the header) or the deadline stop the reading."""
    try:
        return _take(rows, max_rows, deadline, seconds)
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # the workbook is closed at once, not when the generator is collected


def _take(
    rows: Iterator[list[Any]], max_rows: int, deadline: float, seconds: float
) -> list[tuple[int, list[Any]]]:
    table: list[tuple[int, list[Any]]] = []  # (sheet row number, cells), filled rows only
    filled = blank_run = 0
    for count, row in enumerate(rows):
        if count % 256 == 0 and time.monotonic() > deadline:
            raise SheetError("import.too_slow", seconds=int(seconds))
        if not any(_cell(c) for c in row):
            blank_run += 1
            if blank_run >= EMPTY_RUN:
                break
            continue
        blank_run = 0
        filled += 1
        if filled > max_rows + 1:  # the header and max_rows data rows
            raise SheetError("import.too_many_rows_read", limit=max_rows)
        table.append((count + 1, row))
    return table


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    """The first sheet's rows, streamed; openpyxl imported here, when a sheet arrives (the
    bot imports this module with its admin handlers and would otherwise hold its 6 MB idle)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError("import.unreadable", detail=type(exc).__name__) from None
    try:
        ws = wb.worksheets[0]
        # read-only mode streams the sheet's XML: nothing trusts ws.max_row (the "used
        # range" of a sheet formatted to the last row says 1 048 576)
        for row in ws.iter_rows(values_only=True, max_col=MAX_COLUMNS):
            yield list(row)
    except SheetError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError("import.unreadable", detail=type(exc).__name__) from None
    finally:
        wb.close()


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
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
    return (row[:MAX_COLUMNS] for row in csv.reader(io.StringIO(text), dialect))


def _to_records(table: list[tuple[int, list[Any]]]) -> list[dict[str, Any]]:
    if not table:
        raise SheetError("import.empty_file")
    header = [_cell(c).lower() for c in table[0][1]]
    columns = {key: _find(header, names) for key, names in HEADERS.items()}
    if columns["name"] is None:
        raise SheetError(
            "import.missing_column", column="名称", found="、".join(h for h in header if h) or "—"
        )
    records = []
    for offset, row in table[1:]:
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
