"""Uploads cannot stall the bot: rows streamed, limits enforced while reading, seconds at most."""

from __future__ import annotations

import time

import pytest

from bot.operations.sheets import SheetError, read_unit_sheet
from tests.sheetbombs import formatted_to_the_last_row, millions_of_rows


def test_three_million_rows_are_refused_within_seconds() -> None:
    data = millions_of_rows()
    assert len(data) < 10 * 1024 * 1024  # under the size cap: only reading can refuse it
    started = time.monotonic()
    with pytest.raises(SheetError) as exc:
        read_unit_sheet(data, "bomb.xlsx")
    assert exc.value.code == "import.too_many_rows_read" and exc.value.params["limit"] == 10_000
    assert time.monotonic() - started < 5


def test_a_sheet_formatted_to_row_1048576_is_read_within_seconds() -> None:
    data = formatted_to_the_last_row(["招商局", "财政局"])
    started = time.monotonic()
    rows = read_unit_sheet(data, "formatted.xlsx")
    assert [r["name"] for r in rows] == ["招商局", "财政局"]
    assert time.monotonic() - started < 5


def test_a_sheet_that_reads_too_slowly_is_refused() -> None:
    data = formatted_to_the_last_row(["招商局"], last_row=50_000)
    with pytest.raises(SheetError) as exc:
        read_unit_sheet(data, "slow.xlsx", seconds=0)  # the deadline has passed at once
    assert exc.value.code == "import.too_slow"


def test_csv_rows_are_limited_while_reading() -> None:
    data = ("名称\n" + "局\n" * 20_000).encode()
    with pytest.raises(SheetError) as exc:
        read_unit_sheet(data, "u.csv", max_rows=100)
    assert exc.value.code == "import.too_many_rows_read"
