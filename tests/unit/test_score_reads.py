"""``/score`` from a few rows (issue 16) says what it said from the unit's whole history.

``/score`` reads the span's ledger lines summed in the database (one row per rule, module and
sign, a row per instant only where a cap reads it), its place by one query over the span's
``unit_scores`` rows, and the year's leads and their history as light rows. The reference
here is the way it read them before: every live line of the span one by one through the
engine, the place from ``/rank``'s table, the unit's whole history through ``collect_unit``
(its activities counted row by row). Views and texts must be equal, on seeded histories of
both presets (kaihua: shared yearly caps, stage deadlines) and on lines made to fill caps.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Mapper

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.operations import benchdata
from bot.rendering.rank_text import render_score
from bot.rules import engine
from bot.services import ranking, scoring
from bot.services.access import resolve_actor
from bot.services.scoring import RANK_KINDS, to_entry
from storage import scoring_repo
from storage.db import Database
from storage.models import Unit
from tests.unit.test_scoring import LEADER as DEMO_LEADER
from tests.unit.test_scoring import scenario

NOW = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)
ASKED = (NOW, datetime(2026, 8, 20, 2, 0, tzinfo=UTC), datetime(2026, 3, 31, 17, 0, tzinfo=UTC))
TARGETS = [
    {"name": "招商培训", "count": 3, "activity": "training"},
    {"name": "有效意向", "count": 2, "activity": "intent", "only_verified": True},
    {"name": "项目签约", "count": 2, "stage": "签约"},
    {"name": "认定签约", "count": 1, "stage": "签约", "only_verified": True},
    {"name": "亿元开工", "count": 1, "stage": "开工", "min_amount_wan": 10000},
]
PRESETS = {
    "jiaocheng": Settings(admins=[1000], rules_file="jiaocheng", targets=TARGETS),
    "kaihua": Settings(admins=[1000], rules_file="kaihua", targets=TARGETS),
}
LEADER = 900_000_001
BIG = ("ledger", "leads", "lead_events", "unit_scores", "activities", "tax_paid")
pytestmark = pytest.mark.xdist_group("score_reads")  # the seeded histories are built once


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import asyncio

    found = {}
    for preset, settings in PRESETS.items():
        path = tmp_path_factory.mktemp(f"score-{preset}") / "seed.db"

        async def build(path: Path = path, settings: Settings = settings) -> None:
            db = Database(f"sqlite+aiosqlite:///{path}")
            await db.ensure_schema()
            size = benchdata.BenchSize(units=5, leads=300, ledger=2000, years=2, seed=11)
            await benchdata.write(db, scoring.setup_for(settings), NOW, size)
            await db.dispose()

        asyncio.run(build())
        found[preset] = path
    return found


@pytest.fixture(params=sorted(PRESETS))
async def history(
    request: pytest.FixtureRequest, seeded: dict[str, Path]
) -> AsyncIterator[tuple[Database, scoring.ScoringSetup, Settings]]:
    settings = PRESETS[request.param]
    db = Database(f"sqlite+aiosqlite:///{seeded[request.param]}")
    yield db, scoring.setup_for(settings), settings
    await db.dispose()


async def reference_view(
    session: Any, setup: scoring.ScoringSetup, now: datetime, unit: Unit, kind: str
) -> ranking.ScoreView:
    """``/score`` as it was read before: every line, the rank table, the whole history."""
    span = setup.periods.span(kind, now)
    tick = timedelta(microseconds=1)
    since = engine.history_start(
        setup.rules, span.start + tick if kind == "week" else span.start, setup.periods
    )
    lines = await scoring_repo.live_entries_between(session, since, span.end + tick, [unit.id])
    result = engine.score_span(setup.rules, [to_entry(r) for r in lines], span, setup.periods).get(
        unit.id
    )
    table = await ranking.rank(session, setup, now, kind)
    place = next((r.rank for r in table.rows if r.unit_id == unit.id), len(table.rows))
    newest = sorted(await scoring_repo.live_entries(session, unit.id), key=lambda r: (r.at, r.id))
    year = setup.periods.span("year", now)
    whole = await scoring.collect_unit(session, unit.id, setup, events=False)  # activities too
    return ranking.ScoreView(
        unit.id,
        unit.name,
        kind,
        span,
        result.total,
        place,
        len(table.rows),
        tuple(ranking.ModuleLine(m.name, m.raw, m.capped) for m in result.modules.values()),
        tuple(
            sorted(
                (
                    ranking.RuleLine(rid, ranking.rule_name(setup, rid), pts)
                    for rid, pts in result.by_rule.items()
                    if pts
                ),
                key=lambda r: -r.points,
            )
        ),
        tuple(
            ranking.CapLine(h.label, h.cap, h.per, h.period_key, h.raw, h.capped)
            for h in result.caps_hit
        ),
        tuple(
            ranking.EntryLine(r.at, r.points, name, ranking.entry_note(name, r.note), r.manual)
            for r in reversed(newest[-ranking.RECENT :])
            for name in (ranking.rule_name(setup, r.rule_id),)
        ),
        ranking.targets_for(setup, unit, whole, year),
        ranking.funnel_for(setup, whole, year),
        int(year.key),
    )


async def test_score_from_its_rows_says_what_the_whole_history_says(
    history: tuple[Database, scoring.ScoringSetup, Settings],
) -> None:
    db, setup, settings = history
    zone = setup.zone
    seen = {"caps": False, "funnel": False, "targets": False}
    async with db.session() as s:
        leader = await resolve_actor(s, settings, LEADER, "县领导", "zh")
        units = [await ranking.find_unit(s, u.name) for u in await scoring_repo.units(s)]
        for now in ASKED:
            for kind in RANK_KINDS:
                for unit in units:
                    fast = await ranking.unit_score(s, setup, now, leader, unit.name, kind)
                    slow = await reference_view(s, setup, now, unit, kind)
                    assert fast == slow, (now, kind, unit.name)
                    for locale in ("zh", "en"):
                        assert render_score(locale, zone, fast) == render_score(locale, zone, slow)
                    seen["caps"] |= bool(fast.caps)
                    seen["funnel"] |= any(f.base for f in fast.funnel)
                    seen["targets"] |= all(t.done for t in fast.targets[:3])
    assert seen["funnel"] and seen["targets"]
    assert seen["caps"] == setup.capped  # kaihua's shared caps bite on this history


@pytest.mark.parametrize("preset", sorted(PRESETS))
async def test_score_of_a_years_work_says_the_same_on_each_backend(
    db: Database, clock: ManualClock, preset: str
) -> None:
    """A year of two units' work (a stage moved back, a rejected lead, a verified activity, an
    adjustment), every kind of span, at the end of it and halfway through."""
    settings = PRESETS[preset]
    setup = scoring.setup_for(settings)
    await scenario(db, clock, settings)
    async with db.session() as s:
        leader = await resolve_actor(s, settings, DEMO_LEADER, "县领导", "zh")
        units = [await ranking.find_unit(s, u.name) for u in await scoring_repo.units(s)]
        for now in (clock.now(), clock.now() - timedelta(days=60)):
            for kind in RANK_KINDS:
                for unit in units:
                    fast = await ranking.unit_score(s, setup, now, leader, unit.name, kind)
                    assert fast == await reference_view(s, setup, now, unit, kind)
        views = [await ranking.unit_score(s, setup, clock.now(), leader, u.name) for u in units]
    assert any(v.rules for v in views) and any(t.done for v in views for t in v.targets)


@contextmanager
def watched(db: Database) -> Iterator[dict[str, list[Any]]]:
    """The statements run and the ORM objects loaded meanwhile."""
    seen: dict[str, list[Any]] = {"statements": [], "loaded": []}

    def ran(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen["statements"].append((statement, params))

    def loaded(target: Any, _ctx: Any) -> None:
        seen["loaded"].append(type(target).__name__)

    event.listen(db.engine.sync_engine, "before_cursor_execute", ran)
    event.listen(Mapper, "load", loaded)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", ran)
        event.remove(Mapper, "load", loaded)


async def test_score_reads_a_few_rows_without_orm_objects_or_scans(
    history: tuple[Database, scoring.ScoringSetup, Settings],
) -> None:
    """No lead, event or ledger line is built as an ORM object; seven statements at most (the
    unit, the span's sums, the place, the latest lines, the leads, their history, the
    activities counted); none scans the ledger, the leads, their events or the scores."""
    db, setup, settings = history
    async with db.session() as s:
        leader = await resolve_actor(s, settings, LEADER, "县领导", "zh")
        name = (await scoring_repo.units(s))[0].name
    async with db.session() as s:
        with watched(db) as seen:
            view = await ranking.unit_score(s, setup, NOW, leader, name, "year")
    assert view.rules and view.recent
    assert seen["loaded"] == ["Unit"]
    assert len(seen["statements"]) <= 7, [q for q, _ in seen["statements"]]
    async with db.engine.connect() as conn:
        for statement, params in seen["statements"]:
            plan = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            scans = [
                row[-1] for row in plan.all() if row[-1].split()[:2] in (["SCAN", t] for t in BIG)
            ]
            assert not scans, (scans, statement)


# --------------------------------------------------------------------------- #
# The span's sums against the lines one by one, with caps made to bite
# --------------------------------------------------------------------------- #

MODULES = ("info", "activity", "daily", "bonus", "deduct", "progress", "performance")
LINE_MODULES = (*MODULES, "retired", None)  # a module no longer declared; a line without one
POINTS = ("-3", "-0.5", "0", "1", "2.5", "4", "7.25", "12")


def capped_setup() -> scoring.ScoringSetup:
    """kaihua's shared yearly caps, and own caps of several periods on three modules."""
    setup = scoring.setup_for(PRESETS["kaihua"])
    own = {"info": ("5", "month"), "progress": ("20", "quarter"), "deduct": ("6", "half")}
    modules = tuple(
        m.model_copy(update={"cap": Decimal(own[m.id][0]), "per": own[m.id][1]})
        if m.id in own
        else m
        for m in setup.rules.modules
    )
    return dataclasses.replace(setup, rules=setup.rules.model_copy(update={"modules": modules}))


def made_lines(rng: random.Random, n: int) -> list[dict[str, Any]]:
    first = datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
    lines = []
    for i in range(n):
        at = first + timedelta(days=rng.randint(0, 600), hours=rng.choice((0, 4, 15, 16, 23)))
        if rng.random() < 0.2 and lines:
            at = lines[-1]["at"]  # several lines at one instant
        lines.append(
            {
                "unit_id": 1,
                "rule_id": f"r{rng.randint(1, 4)}",
                "module": rng.choice(LINE_MODULES),
                "points": Decimal(rng.choice(POINTS)),
                "at": at,
                "source": f"test:{i}",
                "note": "",
                "manual": False,
                "created_at": at,
                "created_by": None,
                "voided_at": at if rng.random() < 0.1 else None,
                "void_reason": None,
            }
        )
    return lines


async def test_the_spans_sums_score_as_its_lines_one_by_one(db: Database) -> None:
    setup = capped_setup()
    timed = engine.timed_modules(setup.rules)
    assert {"info", "progress", "deduct", "performance"} <= timed and "retired" not in timed
    rng = random.Random(16)
    async with db.session() as s:
        s.add(Unit(id=1, name="测试局", short_name="测试", active=True, created_at=NOW))
        await s.flush()
        await scoring_repo.append_entries(s, made_lines(rng, 400))
    hits = 0
    async with db.session() as s:
        lines = [to_entry(r) for r in await scoring_repo.live_entries(s, 1)]
        for day in range(0, 540, 11):
            now = datetime(2025, 7, 1, 3, 0, tzinfo=UTC) + timedelta(days=day, hours=day % 24)
            for kind in (*RANK_KINDS, "half"):
                span = setup.periods.span(kind, now)
                fast = await ranking.span_score(s, setup, 1, span)
                slow = engine.score_span(setup.rules, lines, span, setup.periods).get(1)
                assert fast == slow, (now, kind)
                hits += bool(fast.caps_hit)
    assert hits  # the caps cut points in some spans


async def test_a_unit_with_lines_only_before_the_span_scores_nothing(db: Database) -> None:
    """Lines that only fill a cap before the span give no score in it, as with the engine."""
    setup = capped_setup()
    at = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)
    line = made_lines(random.Random(1), 1)[0] | {"module": "info", "points": Decimal(9), "at": at}
    async with db.session() as s:
        s.add(Unit(id=1, name="测试局", short_name="测试", active=True, created_at=NOW))
        await s.flush()
        await scoring_repo.append_entries(s, [line | {"voided_at": None}])
    async with db.session() as s:
        span = setup.periods.span("week", at + timedelta(days=9))
        assert await ranking.span_score(s, setup, 1, span) == engine.UnitScores(
            span.start, span.end, {}
        ).get(1)
        month = setup.periods.span("month", at)
        assert (await ranking.span_score(s, setup, 1, month)).caps_hit[0].capped == 5


async def test_the_place_is_the_units_rank_on_each_backend(db: Database) -> None:
    """A tie shares a place, a unit without a row scores 0 (above a negative one), an inactive
    unit is not counted and is placed last."""
    setup = capped_setup()
    stored = {1: Decimal(5), 2: Decimal(5), 3: None, 4: Decimal(-2), 5: Decimal(9)}
    async with db.session() as s:
        for unit_id in stored:
            s.add(
                Unit(
                    id=unit_id,
                    name=f"单位{unit_id}",
                    short_name=f"单{unit_id}",
                    active=unit_id != 5,
                    created_at=NOW,
                )
            )
        await s.flush()
        key = setup.periods.span("year", NOW).key
        for unit_id, points in stored.items():
            await scoring_repo.replace_unit_scores(s, unit_id, {("year", key): points}, NOW)
    async with db.session() as s:
        table = await ranking.rank(s, setup, NOW, "year")
        assert [(r.unit_id, r.rank) for r in table.rows] == [(1, 1), (2, 1), (3, 3), (4, 4)]
        for row in table.rows:
            assert await ranking.position(s, setup, NOW, "year", row.unit_id) == (row.rank, 4)
        assert await ranking.position(s, setup, NOW, "year", 5) == (4, 4)
        assert await ranking.position(s, setup, NOW, "month", 1) == (1, 4)  # nobody scored
