"""Issue 15: an honest 红黑榜 (ties at the cut, the same units in text and picture, no future
month) and honest movement arrows (only against a period the unit existed in and somebody scored in)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.assembly.config import Settings
from bot.rendering.board import board_bars, board_picture, board_text
from bot.rendering.rank_text import move_text
from bot.services import ServiceError, ranking, scoring
from storage.db import Database
from storage.models import Unit, UnitScore

SETUP = scoring.setup_for(Settings(rules_file="jiaocheng"))
T_SEP = datetime(2026, 9, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)


async def units(
    db: Database, points: list[int], created: datetime = T_SEP, first: int = 1
) -> list[int]:
    """Units 单位01… created at ``created``; returns their ids."""
    async with db.session() as s:
        rows = [
            Unit(name=f"单位{first + i:02d}", category=None, active=True, created_at=created)
            for i in range(len(points))
        ]
        s.add_all(rows)
        await s.flush()
        return [u.id for u in rows]


async def scores(db: Database, kind: str, key: str, points: dict[int, int]) -> None:
    async with db.session() as s:
        s.add_all(
            UnitScore(unit_id=u, kind=kind, key=key, points=Decimal(p), updated_at=NOW)
            for u, p in points.items()
        )


async def thirty_five(db: Database) -> list[int]:
    """35 units in November: six score (12, 9, 7, 5, 3, -2), the other 29 tie at 0."""
    ids = await units(db, [0] * 35)
    await scores(db, "month", "2026-11", dict(zip(ids, [12, 9, 7, 5, 3, -2], strict=False)))
    return ids


async def test_board_with_35_units_and_29_tied_at_zero_summarises_the_tie(
    sqlite_db: Database,
) -> None:
    await thirty_five(sqlite_db)
    async with sqlite_db.session() as s:
        board = await ranking.board(s, SETUP, "2026-11", 5, NOW)
    assert [r.points for r in board.top] == [12, 9, 7, 5, 3]
    # The black list: the -2 named, the 29 at 0 summarised -- not five of them picked by id.
    assert [r.unit_name for r in board.bottom] == ["单位06"]
    assert board.bottom_tie == ranking.Tie(29, Decimal(0))
    text = board_text("zh_CN", board)
    assert "另有 29 个单位并列 0 分" in text
    named = [line for line in text.splitlines() if line.strip().endswith(" 分") and ". " in line]
    assert len(named) == 6  # five red, one black: every other unit is in the summary
    # The picture shows the same units as the text, in red and black, the tie as one bar.
    bars = board_bars("zh_CN", board)
    assert [b.label for b in bars] == [r.unit_name for r in board.top] + [
        "单位06",
        "另有 29 个单位并列",
    ]
    assert [b.colour for b in bars] == ["red"] * 5 + ["black"] * 2
    for r in (*board.top, *board.bottom):
        assert r.unit_name in text
    png = board_picture("zh_CN", board)
    assert png.startswith(b"\x89PNG")


async def test_board_lists_a_small_tie_at_the_cut_in_full(sqlite_db: Database) -> None:
    """Six units tied for fifth place with a top list of five: all named (10 names ≤ 2 × 5)."""
    ids = await units(sqlite_db, [0] * 12)
    await scores(
        sqlite_db,
        "month",
        "2026-11",
        dict(zip(ids, [9, 8, 7, 6, 4, 4, 4, 4, 4, 4, 1, 0], strict=True)),
    )
    async with sqlite_db.session() as s:
        board = await ranking.board(s, SETUP, "2026-11", 5, NOW)
    assert [r.points for r in board.top] == [9, 8, 7, 6, 4, 4, 4, 4, 4, 4] and board.top_tie is None
    assert [r.points for r in board.bottom] == [1, 0]


def test_cut_list_never_takes_an_arbitrary_part_of_a_tie() -> None:
    rows = [
        ranking.RankRow(i + 1, i, f"u{i}", None, Decimal(p), 0, 0)
        for i, p in enumerate([5] + [2] * 20)
    ]
    listed, tie = ranking.cut_list(rows, 3)
    assert [r.points for r in listed] == [5] and tie == ranking.Tie(20, Decimal(2))


async def test_board_of_a_future_month_is_refused(sqlite_db: Database) -> None:
    async with sqlite_db.session() as s:
        with pytest.raises(ServiceError) as err:
            await ranking.board(s, SETUP, "2027-01", 5, NOW)
    assert err.value.code == "board.future_month"


async def test_board_picture_is_readable_with_35_units(sqlite_db: Database, tmp_path: Path) -> None:
    """Every unit shown in the picture (kaihua-style streak lists can name them all): integer ticks, one row each."""
    ids = await units(sqlite_db, [0] * 36)
    await scores(sqlite_db, "month", "2026-11", {u: (i % 7) - 2 for i, u in enumerate(ids)})
    async with sqlite_db.session() as s:
        board = await ranking.board(s, SETUP, "2026-11", 18, NOW)
    png = board_picture("zh_CN", board)
    (tmp_path / "board.png").write_bytes(png)
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    assert image.width >= 900 and image.height >= 35 * 60  # ≥ 60 px a row at phone width
    assert len(board_bars("zh_CN", board)) == len(board.top) + len(board.bottom) + (
        board.bottom_tie is not None
    ) + (board.top_tie is not None)


# --- movement -------------------------------------------------------------------------------------


def moves(table: ranking.RankTable) -> dict[str, str]:
    return {r.unit_name: move_text("zh_CN", r.compare, r.move) for r in table.rows}


async def test_arrows_after_an_import_of_new_units(sqlite_db: Database) -> None:
    old = await units(sqlite_db, [0, 0, 0])
    new = await units(sqlite_db, [0, 0], created=datetime(2026, 11, 20, tzinfo=UTC), first=4)
    await scores(sqlite_db, "month", "2026-10", {old[0]: 5, old[1]: 3})
    await scores(sqlite_db, "month", "2026-11", {old[1]: 6, old[0]: 2, new[0]: 9})
    async with sqlite_db.session() as s:
        table = await ranking.rank(s, SETUP, NOW, "month", key="2026-11")
    # October among the units that existed then: 单位01 1st, 单位02 2nd, 单位03 3rd.
    assert moves(table) == {
        "单位04": "新",
        "单位02": "–",
        "单位01": "↓2",
        "单位03": "↓1",
        "单位05": "新",
    }


async def test_no_arrows_after_an_empty_month(sqlite_db: Database) -> None:
    ids = await units(sqlite_db, [0, 0, 0])
    await scores(sqlite_db, "month", "2026-11", {ids[0]: 4, ids[1]: 1})
    async with sqlite_db.session() as s:
        table = await ranking.rank(s, SETUP, NOW, "month", key="2026-11")
    assert set(moves(table).values()) == {""}  # nobody scored in October: nothing to compare
    assert {r.compare for r in table.rows} == {"none"}


async def test_year_over_an_empty_previous_year_has_no_arrows_and_quarter_compares(
    sqlite_db: Database,
) -> None:
    ids = await units(sqlite_db, [0, 0], created=datetime(2025, 6, 1, tzinfo=UTC))
    await scores(sqlite_db, "year", "2026", {ids[0]: 4, ids[1]: 8})
    await scores(sqlite_db, "quarter", "2026-Q3", {ids[0]: 4})
    await scores(sqlite_db, "quarter", "2026-Q4", {ids[1]: 8})
    async with sqlite_db.session() as s:
        year = await ranking.rank(s, SETUP, NOW, "year", key="2026")
        quarter = await ranking.rank(s, SETUP, NOW, "quarter", key="2026-Q4")
    assert set(moves(year).values()) == {""}
    assert moves(quarter) == {"单位02": "↑1", "单位01": "↓1"}


# --- the workbooks' movement columns say what the chat says ---------------------------------------


def rank_sheet(data: bytes) -> dict[str, object]:
    """The 台账 export's 排名 sheet: unit → its 变化 cell (the column stays where it was: E)."""
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data))["排名"]
    assert [c.value for c in sheet[1]] == ["名次", "单位", "序列", "得分", "变化"]
    return {r[1]: r[4] for r in sheet.iter_rows(min_row=2, values_only=True)}


def shown(cell: object) -> str:
    """A 变化 cell as Excel shows it: a number through the ↑ / ↓ / – format, words as they are."""
    if isinstance(cell, int):
        return "–" if cell == 0 else (f"↑{cell}" if cell > 0 else f"↓{-cell}")
    return str(cell)


async def test_export_movement_column_says_new_after_an_import_of_new_units(
    sqlite_db: Database,
) -> None:
    """Issue 15 "honest movement", 台账 export: 单位04/05 created in November show 新, the
    others their arrows -- the same words as /rank's board (move_text), the arrows still numbers."""
    from bot.rendering.export import build_workbook
    from bot.services import export

    old = await units(sqlite_db, [0, 0, 0])
    new = await units(sqlite_db, [0, 0], created=datetime(2026, 11, 20, tzinfo=UTC), first=4)
    await scores(sqlite_db, "month", "2026-10", {old[0]: 5, old[1]: 3})
    await scores(sqlite_db, "month", "2026-11", {old[1]: 6, old[0]: 2, new[0]: 9})
    async with sqlite_db.session() as s:
        table = await ranking.rank(s, SETUP, NOW, "month", key="2026-11")
        data = await export.collect(s, SETUP, NOW, "month", "2026-11")
    cells = rank_sheet(build_workbook(data))
    assert cells == {"单位04": "新", "单位02": 0, "单位01": -2, "单位03": -1, "单位05": "新"}
    assert {u: shown(c) for u, c in cells.items()} == moves(table)


async def test_export_movement_column_says_no_comparison_after_an_empty_month(
    sqlite_db: Database,
) -> None:
    """Nobody scored in October: the chat shows no arrows (its footer says why); a cell says 无可比."""
    from bot.rendering.export import build_workbook
    from bot.services import export

    ids = await units(sqlite_db, [0, 0, 0])
    await scores(sqlite_db, "month", "2026-11", {ids[0]: 4, ids[1]: 1})
    async with sqlite_db.session() as s:
        table = await ranking.rank(s, SETUP, NOW, "month", key="2026-11")
        data = await export.collect(s, SETUP, NOW, "month", "2026-11")
    cells = rank_sheet(build_workbook(data))
    assert set(cells.values()) == {"无可比"}
    said = {r.unit_name: move_text("zh_CN", r.compare, r.move, say_none=True) for r in table.rows}
    assert said == cells


async def test_quarter_and_year_workbooks_say_new_and_no_comparison_as_their_text(
    sqlite_db: Database,
) -> None:
    """The 季度考评 / 年终考核 workbooks' 名次变化: 新 for a unit created in the quarter, 无可比 over an
    empty previous year, as the report's own text says; no previous place for either."""
    from openpyxl import load_workbook

    from bot.rendering import digest_xlsx
    from bot.rendering.digest_text import digest_text
    from bot.services.digests import StageNames, UnitInfo, build_quarter, build_year

    old = await units(sqlite_db, [0], created=datetime(2025, 6, 1, tzinfo=UTC))
    new = await units(sqlite_db, [0], created=datetime(2026, 11, 1, tzinfo=UTC), first=2)
    await scores(sqlite_db, "quarter", "2026-Q3", {old[0]: 4})
    await scores(sqlite_db, "quarter", "2026-Q4", {old[0]: 3, new[0]: 8})
    await scores(sqlite_db, "year", "2026", {old[0]: 7, new[0]: 8})
    infos = [UnitInfo(old[0], "单位01", None, None), UnitInfo(new[0], "单位02", None, None)]
    async with sqlite_db.session() as s:
        q4 = await ranking.rank(s, SETUP, NOW, "quarter", key="2026-Q4")
        q3 = await ranking.rank(s, SETUP, NOW, "quarter", key="2026-Q3")
        y = await ranking.rank(s, SETUP, NOW, "year", key="2026")
        y0 = await ranking.rank(s, SETUP, NOW, "year", key="2025")
    quarter = build_quarter(q4.span, infos, q4, q3, {}, {}, NOW)

    def sheet(data: bytes, name: str) -> dict[str, tuple[object, object]]:
        rows = load_workbook(io.BytesIO(data))[name].iter_rows(min_row=2, values_only=True)
        return {r[2]: (r[6], r[7]) for r in rows}  # unit → (previous place, 名次变化)

    got = sheet(digest_xlsx.build_workbook(quarter, SETUP.zone), "季度得分")
    assert got == {"单位02": (None, "新"), "单位01": (1, -1)}  # 1st of one, now 2nd
    text = digest_text("zh_CN", quarter, SETUP.zone)
    assert "单位02　8 分（上季度 0 分，+8；名次 新）" in text
    year = build_year(y.span, infos, y, y0, [], [], {}, {}, StageNames(SETUP.rules.stages), NOW)
    got = sheet(digest_xlsx.build_workbook(year, SETUP.zone), "年度得分")
    assert got == {"单位02": (None, "无可比"), "单位01": (None, "无可比")}
    assert "名次 无可比" in digest_text("zh_CN", year, SETUP.zone)
