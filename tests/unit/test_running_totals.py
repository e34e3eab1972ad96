"""Every span's score from one sweep over a unit's entries (``engine.running_totals``) equals the
per-span score (``span_total``: ``engine.score_span`` over the span's caps' history), which is
how each stored span was computed before.

Seeded jurisdictions (``leadbot bench-data``, small) under jiaocheng (no caps), kaihua (two cap
groups a year, stage deadlines, a 黑榜 streak) and kaihua with its modules capped per
half-month, month and quarter inside the yearly groups: every ``unit_scores`` row bench-data
stored equals the per-span reference, every span with entries has its row, and a full rescore
finds nothing to change. Then random entries under random caps, span by span.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.assembly.config import Settings
from bot.operations import benchdata
from bot.rules import Entry, engine
from bot.rules.schema import CapGroup, Module
from bot.services import scoring
from bot.services.scoring import RANK_KINDS
from storage import scoring_repo
from storage.db import Database
from storage.models import UnitScore

NOW = benchdata.default_now()
SPAN_KINDS = (*RANK_KINDS, "half")


def capped_kaihua() -> scoring.ScoringSetup:
    """kaihua, its modules also capped on their own, per half-month, month and quarter."""
    base = scoring.setup_for(Settings(admins=[1000], rules_file="kaihua"))
    own = {"info": ("3", "month"), "activity": ("4", "quarter"), "daily": ("1.5", "half")}
    modules = tuple(
        m.model_copy(update={"cap": Decimal(own[m.id][0]), "per": own[m.id][1]})
        if m.id in own
        else m
        for m in base.rules.modules
    )
    rules = base.rules.model_copy(update={"modules": modules})
    return replace(base, rules=rules, fingerprint="capped-kaihua")


def setups() -> dict[str, scoring.ScoringSetup]:
    return {
        "jiaocheng": scoring.setup_for(Settings(admins=[1000], rules_file="jiaocheng")),
        "kaihua": scoring.setup_for(Settings(admins=[1000], rules_file="kaihua")),
        "capped": capped_kaihua(),
    }


@pytest.fixture(scope="module", params=["jiaocheng", "kaihua", "capped"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    setup = setups()[request.param]
    path = tmp_path_factory.mktemp(f"sweep-{request.param}") / "seed.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.ensure_schema()
        size = benchdata.BenchSize(units=8, leads=600, ledger=4000, years=2, seed=5)
        await benchdata.write(db, setup, NOW, size)
        await db.dispose()

    asyncio.run(build())
    return setup, path


async def reference(db: Database, setup: scoring.ScoringSetup) -> dict[tuple[int, str, str], Any]:
    """Every span with entries of every unit, scored one span at a time (the old way)."""
    found: dict[tuple[int, str, str], Any] = {}
    async with db.session() as s:
        for unit_id in await scoring_repo.unit_ids(s):
            rows = await scoring_repo.live_entries(s, unit_id)
            entries = sorted((scoring.to_entry(r) for r in rows), key=lambda e: e.at)
            ats = [e.at.astimezone(UTC) for e in entries]
            for kind in RANK_KINDS:
                for span in scoring.spans_with_entries(setup, ats, kind):
                    total = scoring.span_total(setup, unit_id, entries, ats, span)
                    found[unit_id, kind, span.key] = total
    return found


async def stored(db: Database) -> dict[tuple[int, str, str], Any]:
    async with db.session() as s:
        rows = (await s.scalars(select(UnitScore))).all()
    return {(r.unit_id, r.kind, r.key): r.points for r in rows}


async def test_every_stored_span_equals_its_per_span_score_and_a_rescore_changes_nothing(
    seeded: Any,
) -> None:
    setup, path = seeded
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        expected = await reference(db, setup)
        rows = await stored(db)
        assert rows == expected  # same spans, same points, none missing and none extra
        capped = [k for k, v in expected.items() if v is not None and v > 0]
        assert len(capped) > 100 and len({k[0] for k in capped}) == 8  # a real history
        diffs = await scoring.rescore_all(db, setup, NOW + timedelta(hours=1))
        assert [(d.added, d.removed) for d in diffs] == [(0, 0)] * 8
        assert await stored(db) == rows
    finally:
        await db.dispose()


async def test_the_capped_variant_really_caps_some_spans(seeded: Any) -> None:
    """The capped setup must cut points, or the test above proves nothing about caps; without
    caps (jiaocheng) the year is the plain sum of its lines."""
    setup, path = seeded
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.session() as s:
            rows = await scoring_repo.live_entries(s, 1)
        entries = sorted((scoring.to_entry(r) for r in rows), key=lambda e: e.at)
        raw = sum((e.points for e in entries if e.at.year == 2026), Decimal(0))
        year = setup.periods.span_by_key("year", "2026")
        ats = [e.at.astimezone(UTC) for e in entries]
        total = scoring.span_total(setup, 1, entries, ats, year)
        assert total < raw if setup.capped else total == raw
    finally:
        await db.dispose()


# --- random entries under random caps ----------------------------------------------------

BASE = scoring.setup_for(Settings(admins=[1000], rules_file="kaihua"))
START = datetime(2025, 1, 1, tzinfo=UTC)
# Instants on the boundaries the spans and caps meet at: local midnights of month starts and the
# 16th, weekly deadlines (Friday 17:00 in Shanghai by default), a microsecond either side.
EDGES = [
    t + d
    for key in ("2025-01", "2025-04", "2025-07", "2025-10", "2026-01", "2026-02")
    for t in (BASE.periods.span_by_key("month", key).start,)
    for d in (timedelta(0), timedelta(microseconds=-1), timedelta(days=15))
] + [
    BASE.periods.span_by_key("week", key).end + d
    for key in ("2025-W01", "2025-W14", "2025-W52", "2026-W01")
    for d in (timedelta(0), timedelta(microseconds=1))
]
PERS = st.sampled_from(["half", "month", "quarter", "year"])
CAP = st.one_of(st.none(), st.sampled_from(["0", "1", "2.5", "4", "10"]).map(Decimal))


@st.composite
def rule_shapes(draw: st.DrawFn) -> scoring.ScoringSetup:
    """Four modules, each capped or not, per any calendar period, and up to two cap groups."""
    ids = ["m1", "m2", "m3", "m4"]
    modules = tuple(Module(id=i, name=i, cap=draw(CAP), per=draw(PERS)) for i in ids)
    owners = draw(st.lists(st.sampled_from([None, 0, 1]), min_size=4, max_size=4))
    caps = tuple(
        CapGroup(
            modules=members,
            cap=draw(st.sampled_from(["1", "3", "7.5", "20"]).map(Decimal)),
            per=draw(PERS),
        )
        for g in (0, 1)
        for members in (tuple(i for i, o in zip(ids, owners, strict=True) if o == g),)
        if members
    )
    rules = BASE.rules.model_copy(update={"modules": modules, "caps": caps})
    return replace(BASE, rules=rules, fingerprint="random")


INSTANT = st.one_of(
    st.sampled_from(EDGES),
    st.integers(0, 420 * 24 * 60).map(lambda m: START + timedelta(minutes=m * 1.5)),
)
ENTRY = st.tuples(
    st.sampled_from(["m1", "m2", "m3", "m4", "other", None]),
    st.sampled_from(["-2", "-0.5", "0", "0.25", "1", "1.5", "3", "6"]).map(Decimal),
    INSTANT,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(setup=rule_shapes(), raw=st.lists(ENTRY, max_size=40))
def test_the_sweep_equals_the_per_span_score_of_every_span(
    setup: scoring.ScoringSetup, raw: list[tuple[str | None, Decimal, datetime]]
) -> None:
    entries = sorted(
        (
            Entry(1, "r", module, points, at, f"s{i}", "")
            for i, (module, points, at) in enumerate(raw)
        ),
        key=lambda e: e.at,
    )
    ats = [e.at for e in entries]
    spans = [span for kind in SPAN_KINDS for span in scoring.spans_with_entries(setup, ats, kind)]
    # and spans without entries: their score is None both ways
    spans += [
        setup.periods.span_by_key("month", "2024-03"),
        setup.periods.span_by_key("week", "2027-W02"),
    ]
    swept = scoring.span_totals(setup, entries, ats, spans)
    for span in spans:
        assert swept[span.kind, span.key] == scoring.span_total(setup, 1, entries, ats, span), span


def test_running_totals_read_before_each_instant() -> None:
    """``T(t)`` counts the entries strictly before ``t``; a year's cap holds across its months."""
    rules = BASE.rules.model_copy(
        update={
            "modules": (Module(id="m", name="m"),),
            "caps": (CapGroup(modules=("m",), cap=Decimal(5)),),
        }
    )
    jan, feb = datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 2, 10, tzinfo=UTC)
    entries = [
        Entry(1, "r", "m", Decimal(4), jan, "a", ""),
        Entry(1, "r", "m", Decimal(4), feb, "b", ""),
    ]
    totals = engine.running_totals(
        rules, entries, [jan, jan + timedelta(microseconds=1), feb, NOW], BASE.periods
    )
    assert totals == [Decimal(0), Decimal(4), Decimal(4), Decimal(5)]
