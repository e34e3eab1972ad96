"""The weekly close scores every missing unit at once (issue 16): the same ledger, totals and /rank
as each unit's full refresh from the deadline, which is what the close did before.

A seeded jurisdiction (``leadbot bench-data``, small) is closed both ways from one copy each:
``score_closed_periods`` (the weekly rules' lines of all missing units in one transaction, the
totals moved by the delta) and the old way, ``refresh_after(unit, since=deadline)`` per missing
unit (the statements the fast way runs do not grow with the units). Both run the hourly stage-nodes job first, as the scheduler does, so nothing but the missing
marks is new. Then the live and voided lines, every stored span and ``/rank`` of each period kind
must be equal, and a full rescore of the fast copy must find nothing to change.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from bot.assembly.config import Settings
from bot.operations import benchdata
from bot.rules import Entry
from bot.rules.schema import BlackList
from bot.services import ranking, reminders, scoring, stage_nodes
from bot.services.scoring import weekly_marks
from bot.services.weekly import WeeklyConfig
from storage import scoring_repo
from storage.db import Database
from storage.models import LedgerEntry, UnitScore
from tests.conftest import PG_SKIP_REASON, pg_url, reset_postgres
from tests.unit.test_scoring import assert_scores_match_full_recompute

# The seeded history is module-scoped (seconds to build): one worker runs the whole module,
# so under xdist it is built once, not once per worker.
pytestmark = pytest.mark.xdist_group("weekly_close")

CASES = {
    # jiaocheng: no caps; the week closing runs across the new year (2027-W01 began in 2026)
    "jiaocheng": datetime(2027, 1, 4, 2, 0, tzinfo=UTC),
    # kaihua: capped modules, stage deadlines, a 黑榜 streak of other deductions; mid-November
    "kaihua": benchdata.default_now(),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    rules = request.param
    settings = Settings(admins=[1000], rules_file=rules)
    path = tmp_path_factory.mktemp(f"close-{rules}") / "seed.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.ensure_schema()
        size = benchdata.BenchSize(units=14, leads=500, ledger=3000, years=2, seed=11)
        await benchdata.write(db, scoring.setup_for(settings), CASES[rules], size)
        await db.dispose()

    asyncio.run(build())
    return settings, CASES[rules], path


@pytest.fixture
async def two(
    seeded: Any, tmp_path: Path
) -> AsyncIterator[tuple[Any, datetime, Database, Database]]:
    settings, now, path = seeded
    dbs = []
    for name in ("fast", "full"):
        shutil.copyfile(path, tmp_path / f"{name}.db")
        dbs.append(Database(f"sqlite+aiosqlite:///{tmp_path / name}.db"))
    yield settings, now, dbs[0], dbs[1]
    for db in dbs:
        await db.dispose()


async def snapshot(db: Database, setup: scoring.ScoringSetup, now: datetime) -> dict[str, Any]:
    async with db.session() as s:
        lines = (await s.scalars(select(LedgerEntry))).all()
        scores = (await s.scalars(select(UnitScore))).all()
        ranks = {kind: await ranking.rank(s, setup, now, kind) for kind in scoring.RANK_KINDS}
    return {
        "live": sorted(
            (r.unit_id, r.rule_id, r.module or "", r.points, r.at, r.source, r.note or "", r.manual)
            for r in lines
            if r.voided_at is None
        ),
        "voided": sorted(
            (r.unit_id, r.rule_id, r.source, r.points, r.void_reason or "")
            for r in lines
            if r.voided_at is not None
        ),
        "scores": {(r.unit_id, r.kind, r.key): r.points for r in scores},
        "ranks": ranks,
    }


async def test_the_close_of_every_missing_unit_at_once_equals_each_units_full_refresh(
    two: tuple[Settings, datetime, Database, Database],
) -> None:
    settings, now, fast, full = two
    setup = scoring.setup_for(settings)
    cfg = WeeklyConfig.from_settings(settings, setup.periods)
    week = cfg.periods.week_of(now)
    closing = week.deadline + timedelta(minutes=1)
    for db in (fast, full):
        await stage_nodes.refresh_fallen_due(db, setup, closing)
        async with db.session() as s:
            await reminders.close_periods(s, closing, cfg, score=False)
    before = await snapshot(fast, setup, closing)
    statements: list[str] = []
    listen = event.listens_for(fast.engine.sync_engine, "before_cursor_execute")
    listen(lambda _c, _cur, sql, *_: statements.append(sql))
    assert await reminders.score_closed_periods(fast, closing, cfg) == 14
    # a few set-based statements for all 14 units, not a refresh's dozen per unit
    assert 0 < len(statements) <= 20, statements
    async with full.session() as s:
        missing = sorted({u for u, _ in await scoring_repo.missing_weekly(s, [week.key])})
        for unit_id in missing:
            await scoring.refresh_after(s, unit_id, closing, setup, since=week.deadline)
    got, want = await snapshot(fast, setup, closing), await snapshot(full, setup, closing)
    assert len(missing) == 14 and len(got["live"]) == len(before["live"]) + 14
    assert got["live"] == want["live"]
    assert got["voided"] == want["voided"]
    assert got["scores"] == want["scores"]
    assert got["ranks"] == want["ranks"]
    assert got["scores"] != before["scores"]  # the penalties moved the week, month, quarter, year
    diffs = await scoring.rescore_all(fast, setup, closing + timedelta(hours=1))
    assert not any(d.added or d.removed for d in diffs), [d for d in diffs if d.added or d.removed]
    await assert_scores_match_full_recompute(fast, setup)


async def test_a_unit_whose_line_must_be_voided_gets_its_full_refresh_and_the_rest_stay_fast(
    two: tuple[Settings, datetime, Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One unit carries a weekly line its outcomes no longer give (as if a refresh had been
    lost): it must be voided, which only the unit's full refresh does; the others stay fast."""
    settings, now, fast, full = two
    setup = scoring.setup_for(settings)
    cfg = WeeklyConfig.from_settings(settings, setup.periods)
    week = cfg.periods.week_of(now)
    closing = week.deadline + timedelta(minutes=1)
    rule = sorted(weekly_marks.weekly_rule_ids(setup))[0]
    unit_id = 5
    stale = Entry(unit_id, rule, "daily", Decimal(-1), week.deadline, f"weekly:{week.key}", "旧")
    for db in (fast, full):
        await stage_nodes.refresh_fallen_due(db, setup, closing)
        async with db.session() as s:
            await scoring_repo.append_entries(s, [scoring._row(stale, now)])
            await reminders.close_periods(s, closing, cfg, score=False)
    seen: list[weekly_marks.WeeklyRefresh] = []
    real = scoring.refresh_weekly

    async def recording(*args: Any) -> weekly_marks.WeeklyRefresh:
        seen.append(await real(*args))
        return seen[-1]

    monkeypatch.setattr(scoring, "refresh_weekly", recording)
    assert await reminders.score_closed_periods(fast, closing, cfg) == 14
    assert [(r.left, len(r.added)) for r in seen if r.left or r.added] == [([unit_id], 13)]
    async with full.session() as s:
        for unit in sorted({u for u, _ in await scoring_repo.missing_weekly(s, [week.key])}):
            await scoring.refresh_after(s, unit, closing, setup, since=week.deadline)
    got, want = await snapshot(fast, setup, closing), await snapshot(full, setup, closing)
    assert got == want
    assert any(v[0] == unit_id for v in got["voided"])
    await assert_scores_match_full_recompute(fast, setup)


async def test_a_streak_counting_weekly_lines_leaves_every_unit_to_its_full_refresh(
    two: tuple[Settings, datetime, Database, Database],
) -> None:
    settings, now, fast, _ = two
    base = scoring.setup_for(settings)
    weekly = sorted(weekly_marks.weekly_rule_ids(base))
    streak = BlackList(mode="streak", count=2, deductions=weekly[:1], breaks=())
    setup = replace(base, rules=base.rules.model_copy(update={"black_list": streak}))
    assert weekly_marks.applies(base) and not weekly_marks.applies(setup)
    deadline = setup.periods.week_of(now).deadline
    async with fast.session() as s:
        result = await scoring.refresh_weekly(s, setup, [3, 1, 2], deadline, deadline)
        assert result.left == [1, 2, 3] and not result.added
        assert not (await s.scalars(select(LedgerEntry).where(LedgerEntry.at == deadline))).all()


def test_only_a_negative_line_or_one_no_cap_covers_moves_the_totals_by_its_points() -> None:
    at = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
    kaihua = scoring.setup_for(Settings(admins=[1], rules_file="kaihua"))
    jiaocheng = scoring.setup_for(Settings(admins=[1], rules_file="jiaocheng"))

    def line(module: str | None, points: str) -> Entry:
        return Entry(1, "r", module, Decimal(points), at, "weekly:2026-W47", "")

    assert weekly_marks.adds_linearly(kaihua, line("daily", "-1"))  # a penalty: never capped
    assert not weekly_marks.adds_linearly(kaihua, line("daily", "0.2"))  # 30-point group cap
    assert weekly_marks.adds_linearly(kaihua, line("deduct", "2"))  # in no cap group
    assert weekly_marks.adds_linearly(kaihua, line(None, "2"))  # no module: uncapped
    assert weekly_marks.adds_linearly(jiaocheng, line("daily", "0.2"))  # no caps at all


async def test_on_postgresql_the_close_leaves_what_each_full_refresh_leaves_on_sqlite(
    two: tuple[Settings, datetime, Database, Database],
) -> None:
    """The same seeded jurisdiction on PostgreSQL (row locks, the bulk score update), closed the
    fast way, ends as the SQLite copy closed unit by unit with full refreshes."""
    url = pg_url()
    if not url:
        pytest.skip(PG_SKIP_REASON)
    settings, now, _, full = two
    await reset_postgres(url)
    setup = scoring.setup_for(settings)
    pg = Database(url)
    try:
        await pg.upgrade()
        size = benchdata.BenchSize(units=14, leads=500, ledger=3000, years=2, seed=11)
        await benchdata.write(pg, setup, now, size)
        cfg = WeeklyConfig.from_settings(settings, setup.periods)
        week = cfg.periods.week_of(now)
        closing = week.deadline + timedelta(minutes=1)
        for db in (pg, full):
            await stage_nodes.refresh_fallen_due(db, setup, closing)
            async with db.session() as s:
                await reminders.close_periods(s, closing, cfg, score=False)
        assert await reminders.score_closed_periods(pg, closing, cfg) == 14
        async with full.session() as s:
            for unit_id in sorted({u for u, _ in await scoring_repo.missing_weekly(s, [week.key])}):
                await scoring.refresh_after(s, unit_id, closing, setup, since=week.deadline)
        assert await snapshot(pg, setup, closing) == await snapshot(full, setup, closing)
        async with pg.session() as s:  # /score's one-query place, on PostgreSQL's numeric
            for kind in scoring.RANK_KINDS:
                for row in (await ranking.rank(s, setup, closing, kind)).rows:
                    place = await ranking.position(s, setup, closing, kind, row.unit_id)
                    assert place == (row.rank, 14), (kind, row)
    finally:
        await pg.dispose()
