"""Benchmark: /rank over 300 units and 1 000 000 ledger entries (five years), and `leadbot rescore`.

    python bench/rank.py [--units 300] [--leads 100000] [--queries 300] [--no-pg] [--db PATH] [--cache DIR]
    python bench/rank.py --generated [--units 300] [--entries 1000000] [--queries 300] [--no-pg]

SQLite always (a temporary file); PostgreSQL too when LEADBOT_BENCH_PG_URL or
LEADBOT_TEST_PG_URL is set (its public schema is dropped and rebuilt: use a
database of its own). The data: a ``leadbot bench-data`` database (bench/benchdb.py: on
SQLite a copy of ``--db`` or of the one of that size, built on demand and cached;
100 000 leads give about 1 000 000 ledger lines; on PostgreSQL written into it), or with
``--generated`` the former rows: activities (training, packaging, events: one ledger line
each under the jiaocheng preset) written with bulk inserts, together with the ledger lines
the refresh would have written for them. The rescore then re-derives all of them (and must
find nothing to change) and rebuilds the per-period score table. Prints figures; asserts
nothing but that. Target: /rank p99 ≤ 50 ms on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot.assembly.config import Settings  # noqa: E402
from bot.rules import engine  # noqa: E402
from bot.services import ranking, scoring  # noqa: E402
from bot.services.scoring import activity_instant, to_entry  # noqa: E402
from storage import scoring_repo  # noqa: E402
from storage.db import Database  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))

import benchdb  # noqa: E402

NOW = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)
FIRST_DAY = date(2022, 1, 1)
KINDS = [("training", "base_training"), ("packaging", "base_packaging"), ("event", "base_event")]


def generate(
    units: int, entries: int, zone: object, rng: random.Random
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(units, activities, ledger lines) as plain tuples; activity i has ledger line i."""
    names = {
        k: scoring.setup_for(Settings(rules_file="jiaocheng")).rules.activities[k] for k, _ in KINDS
    }
    created = datetime(2021, 12, 1, tzinfo=UTC)
    unit_rows = [
        (u, f"单位{u:03d}", f"U{u:03d}", f"第{(u - 1) % 10 + 1}序列", True, created)
        for u in range(1, units + 1)
    ]
    days = (NOW.date() - FIRST_DAY).days
    acts, lines = [], []
    for i in range(1, entries + 1):
        unit = rng.randint(1, units)
        on = FIRST_DAY + timedelta(days=rng.randrange(days))
        kind, rule = KINDS[i % 3]
        at = activity_instant(on, zone).astimezone(UTC)  # type: ignore[arg-type]
        stamp = datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=10)
        acts.append(
            (
                i,
                unit,
                None,
                1000,
                None,
                kind,
                on,
                f"记录{i}",
                None,
                "[]",
                "pending",
                None,
                None,
                None,
                stamp,
                None,
            )
        )
        lines.append(
            (
                i,
                unit,
                rule,
                "base",
                Decimal(2),
                at,
                f"activity:{i}",
                names[kind],
                False,
                stamp,
                None,
                None,
                None,
            )
        )
    return unit_rows, acts, lines


ACT_COLS = [
    "id",
    "unit_id",
    "reporter_id",
    "created_by",
    "lead_id",
    "kind",
    "on_date",
    "text",
    "amount_usd",
    "attachments",
    "review",
    "review_note",
    "reviewed_by",
    "reviewed_at",
    "created_at",
    "origin_ref",
]
LEDGER_COLS = [
    "id",
    "unit_id",
    "rule_id",
    "module",
    "points",
    "at",
    "source",
    "note",
    "manual",
    "created_at",
    "created_by",
    "voided_at",
    "void_reason",
]
UNIT_COLS = ["id", "name", "short_name", "category", "active", "created_at"]


def _sqlite_value(v: object) -> object:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


def load_sqlite(path: Path, data: tuple[list[tuple], list[tuple], list[tuple]]) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    for table, cols, rows in (
        ("units", UNIT_COLS, data[0]),
        ("activities", ACT_COLS, data[1]),
        ("ledger", LEDGER_COLS, data[2]),
    ):
        marks = ",".join("?" * len(cols))
        con.executemany(
            f"INSERT INTO {table} ({','.join(cols)}) VALUES ({marks})",
            ([_sqlite_value(v) for v in row] for row in rows),
        )
    con.commit()
    con.close()


async def load_pg(url: str, data: tuple[list[tuple], list[tuple], list[tuple]]) -> None:
    import asyncpg

    con = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:

        def naive(row: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(
                v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
                for v in row
            )

        for table, cols, rows in (
            ("units", UNIT_COLS, data[0]),
            ("activities", ACT_COLS, data[1]),
            ("ledger", LEDGER_COLS, data[2]),
        ):
            await con.copy_records_to_table(table, records=[naive(r) for r in rows], columns=cols)
        for table in ("units", "activities", "ledger"):
            await con.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await con.execute("ANALYZE")
    finally:
        await con.close()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(name: str, db: Database, queries: int) -> dict[str, float]:
    setup = scoring.setup_for(Settings(rules_file="jiaocheng"))
    figures: dict[str, float] = {}
    started = time.perf_counter()
    diffs = await scoring.rescore_all(db, setup, NOW)
    figures["rescore_s"] = time.perf_counter() - started
    changed = sum(d.added + d.removed for d in diffs)
    async with db.session() as s:
        rows = await s.scalar(text("SELECT count(*) FROM unit_scores"))
        live, voided = await scoring_repo.count_entries(s)
    print(
        f"[{name}] leadbot rescore: {figures['rescore_s']:.1f} s for {len(diffs)} units, {live:,} live lines "
        f"({changed} changed, {voided} voided); unit_scores rows: {rows:,}"
    )
    assert changed == 0, "the bulk-written ledger should equal the derivation"
    for kind in ("month", "week", "quarter", "year"):
        times = []
        for i in range(queries):
            t0 = time.perf_counter()
            async with db.session() as s:
                table = await ranking.rank(s, setup, NOW - timedelta(days=i % 3), kind)
            times.append((time.perf_counter() - t0) * 1000)
        assert len(table.rows) > 0
        figures[f"rank_{kind}_p50"], figures[f"rank_{kind}_p99"] = (
            statistics.median(times),
            pct(times, 99),
        )
        print(
            f"[{name}] /rank {kind:<7} p50 {figures[f'rank_{kind}_p50']:.1f} ms  p99 {figures[f'rank_{kind}_p99']:.1f} ms  ({queries} queries)"
        )
    for kind in ("month", "year"):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            async with db.session() as s:
                span = setup.periods.span(kind, NOW)
                previous = setup.periods.previous_span(span)
                since = engine.history_start(setup.rules, previous.start, setup.periods)
                lines = await scoring_repo.live_entries_between(s, since, span.end)
                entries = [to_entry(r) for r in lines]
                now_scores = engine.score_span(setup.rules, entries, span, setup.periods)
                before = engine.score_span(setup.rules, entries, previous, setup.periods)
                units = await scoring_repo.units(s)
                ranking.ranked({u.id: now_scores.total(u.id) for u in units})
                ranking.ranked({u.id: before.total(u.id) for u in units})
            times.append((time.perf_counter() - t0) * 1000)
        naive = statistics.median(times)
        fast = figures[f"rank_{kind}_p50"]
        print(
            f"[{name}] naive {kind} rank from {len(entries):,} ledger lines: {naive:.0f} ms — {naive / fast:.0f}× the table's p50"
        )
        figures[f"naive_{kind}_ms"] = naive
    return figures


async def on_bench_data(args: argparse.Namespace) -> None:
    """The figures on a database written by ``leadbot bench-data`` (docs/benchmarks.md): on
    SQLite a copy of ``--db`` or of the cached one of the asked size (bench/benchdb.py; the
    rescore rewrites the score table, so never the cached file itself), then on PostgreSQL
    the same size written into it."""
    with tempfile.TemporaryDirectory(prefix="leadbot-bench-") as tmp:
        db = Database(await benchdb.prepare(args, Path(tmp) / "rank.db"))
        try:
            await run("sqlite (bench-data)", db, args.queries)
        finally:
            await db.dispose()
    url = os.environ.get("LEADBOT_BENCH_PG_URL") or os.environ.get("LEADBOT_TEST_PG_URL")
    if args.no_pg or not url or args.db is not None:
        why = (
            "--no-pg"
            if args.no_pg
            else "--db is a SQLite file"
            if url
            else "set LEADBOT_BENCH_PG_URL or LEADBOT_TEST_PG_URL"
        )
        print(f"[postgresql] skipped ({why})")
        return
    from tests.conftest import reset_postgres

    await reset_postgres(url)
    r = await benchdb.write(url, benchdb.size_of(args))
    print(
        f"[postgresql] bench-data written: {r.leads:,} leads, {r.ledger:,} ledger lines in {r.seconds:.0f} s"
    )
    db = Database(url)
    try:
        await run("postgresql (bench-data)", db, args.queries)
    finally:
        await db.dispose()


async def main(units: int, entries: int, queries: int, with_pg: bool) -> None:
    rng = random.Random(42)
    zone = Settings().zone
    t0 = time.perf_counter()
    data = generate(units, entries, zone, rng)
    print(
        f"generated {units} units, {entries:,} activities and ledger lines in {time.perf_counter() - t0:.1f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rank.db"
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.ensure_schema()
        await db.dispose()
        t0 = time.perf_counter()
        load_sqlite(path, data)
        print(f"[sqlite] bulk insert: {time.perf_counter() - t0:.1f} s")
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await run("sqlite", db, queries)
        finally:
            await db.dispose()
    url = os.environ.get("LEADBOT_BENCH_PG_URL") or os.environ.get("LEADBOT_TEST_PG_URL")
    if not with_pg or not url:
        print("[postgresql] skipped (set LEADBOT_BENCH_PG_URL or LEADBOT_TEST_PG_URL)")
        return
    from tests.conftest import reset_postgres

    await reset_postgres(url)
    db = Database(url)
    try:
        await db.upgrade()
        t0 = time.perf_counter()
        await load_pg(url, data)
        print(f"[postgresql] bulk insert (COPY): {time.perf_counter() - t0:.1f} s")
        await run("postgresql", db, queries)
    finally:
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchdb.add_options(parser)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument(
        "--generated",
        action="store_true",
        help="the former rows instead of bench-data: --entries activities, one ledger line each, bulk-loaded (COPY on PostgreSQL)",
    )
    parser.add_argument("--entries", type=int, default=1_000_000, help="with --generated")
    args = parser.parse_args()
    total = time.perf_counter()
    if args.generated:
        asyncio.run(main(args.units, args.entries, args.queries, not args.no_pg))
    else:
        asyncio.run(on_bench_data(args))
    print(f"total {time.perf_counter() - total:.0f} s")
