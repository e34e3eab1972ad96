"""Benchmark: what grows with the period, not with the history (issue 16).

    python bench/scale.py [--sizes 1000,10000,100000] [--units 300] [--pg-url URL] [--no-pg] [--no-sqlite]

For each size (leads; the ledger is ten lines a lead, five years) a database is
written with ``leadbot bench-data`` (kept under --cache, default
/tmp/leadbot-bench, and reused), then each operation runs in a fresh process so
its peak RSS is its own:

* ``/digest month``: collect, text and workbook (target ≤ 1 s, ≤ 200 MB peak);
* the weekly close of 300 missing units, /rank asked meanwhile (≤ 2 s, no lock errors);
* ``/score UNIT year`` p99 over 60 asks (≤ 50 ms);
* ``/export`` of a month (≤ 5 s) and of the whole library (≤ 250 MB peak);
* RSS after ``/board`` and ``/export`` (≤ 150 MB: the picture and the workbook render in a worker process).

``/digest``, ``/score`` and the close are measured with the start-up heap settled
(bot/operations/heap.py: frozen, the young generation allowed to grow), as the bot runs once
its near-match index is built; BENCH_THAWED_HEAP=1 measures without it.

PostgreSQL too with --pg-url or LEADBOT_TEST_PG_URL (its public schema is dropped
and rebuilt: use a database of its own). Prints figures and the growth factor
between sizes; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.assembly.config import Settings  # noqa: E402
from bot.operations import benchdata, heap  # noqa: E402
from bot.services import scoring  # noqa: E402
from storage.db import Database  # noqa: E402

NOW = benchdata.default_now()
TARGETS = {
    "digest_s": 1.0,
    "digest_mb": 200,
    "close_s": 2.0,
    "close_errors": 0,
    "score_p99_ms": 50,
    "export_s": 5.0,
    "export_all_mb": 250,
    "after_board_mb": 150,
    "after_export_mb": 150,
}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    """This process's peak RSS since its exec (VmHWM; ru_maxrss would carry the parent's)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings() -> Settings:
    return Settings.model_construct(**Settings().__dict__)


async def _leader(session: Any) -> Any:
    from bot.services.access import resolve_actor

    return await resolve_actor(session, settings(), 900_000_001, "县领导", "zh")


def as_the_bot_runs() -> None:
    """The heap after start-up settled, as the bot's process is once its near-match index is
    built (bot/services/leads.py → bot/operations/heap.py: frozen, so a full collection no
    longer walks every imported module, which otherwise puts 100+ ms pauses into a few of a
    hundred asks; young collections less often). BENCH_THAWED_HEAP=1 measures without it."""
    if not os.environ.get("BENCH_THAWED_HEAP"):
        heap.settle()


async def op_digest(db: Database) -> dict[str, float]:
    from bot.rendering import digest_text, digest_xlsx
    from bot.services import digests

    setup = scoring.setup_for(settings())
    async with db.session() as s:  # warm: the catalog, the calendar, the statement cache
        digest_text.digest_text("zh_CN", await digests.collect(s, setup, NOW, "half"), setup.zone)
    as_the_bot_runs()
    started, cpu = time.perf_counter(), time.process_time()
    async with db.session() as s:
        report = await digests.collect(s, setup, NOW, "month")
    text = digest_text.digest_text("zh_CN", report, setup.zone)
    digest_xlsx.build_workbook(report, setup.zone)
    return {
        "digest_s": time.perf_counter() - started,
        "digest_cpu_s": time.process_time() - cpu,
        "digest_mb": peak_mb(),
        "progress_lines": len(getattr(report, "progress", ())),
        "_text": len(text),
    }


async def op_close(db: Database) -> dict[str, float]:
    from bot.services import ranking, reminders
    from bot.services.weekly import WeeklyConfig

    s0 = settings()
    setup = scoring.setup_for(s0)
    cfg = WeeklyConfig.from_settings(s0, setup.periods)
    period = cfg.periods.week_of(NOW)
    now = period.deadline + timedelta(minutes=1)
    errors, ranks = 0, []
    done = asyncio.Event()

    async def rank_meanwhile() -> None:
        nonlocal errors
        while not done.is_set():
            t = time.perf_counter()
            try:
                async with db.session() as s:
                    await ranking.rank(s, setup, now, "month")
            except Exception:
                errors += 1
            ranks.append(time.perf_counter() - t)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(rank_meanwhile())
    started, cpu = time.perf_counter(), time.process_time()
    try:  # as the scheduler's weekly-close job does it
        async with db.session() as s:
            await reminders.close_periods(s, now, cfg, score=False)
        await reminders.score_closed_periods(db, now, cfg)
    except Exception as exc:
        errors += 1
        print(f"close failed: {exc!r}", file=sys.stderr)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    done.set()
    await task
    async with db.session() as s:
        missing = len(
            await __import__("storage.scoring_repo").scoring_repo.missing_weekly(s, [period.key])
        )
    return {
        "close_s": elapsed,
        "close_cpu_s": cpu,
        "close_errors": errors,
        "close_missing": missing,
        "rank_max_ms": max(ranks, default=0) * 1000,
    }


async def op_score(db: Database) -> dict[str, float]:
    from bot.services import ranking
    from storage import scoring_repo

    setup = scoring.setup_for(settings())
    rng = random.Random(3)
    async with db.session() as s:
        leader = await _leader(s)
        names = [u.name for u in await scoring_repo.units(s)]
        await ranking.unit_score(s, setup, NOW, leader, names[0], "year")  # warm, as the bot is
    as_the_bot_runs()
    samples, cpus = [], []
    for _ in range(100):
        name = rng.choice(names)
        t, c = time.perf_counter(), time.process_time()
        async with db.session() as s:
            await ranking.unit_score(s, setup, NOW, leader, name, "year")
        samples.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    samples.sort()
    cpus.sort()
    return {
        "score_p99_ms": samples[98] * 1000,
        "score_p50_ms": statistics.median(samples) * 1000,
        "score_cpu_p99_ms": cpus[98] * 1000,
    }


async def op_export(db: Database, whole: bool = False) -> dict[str, float]:
    from bot.operations import isolated

    workers = isolated.Workers()
    from bot.rendering.export import build_workbook
    from bot.services import export

    setup = scoring.setup_for(settings())
    await workers.warm()  # the bot starts its worker at start-up (bot/assembly/app.py)
    started = time.perf_counter()
    worker_mb = 0.0
    if whole:
        made = await isolated.export_file(workers, db.url, setup, NOW, "month", None, whole=True)
        content, worker_mb = made.content, made.peak_mb
    else:
        async with db.session() as s:
            data = await export.collect(s, setup, NOW, "month")
        content = await workers.run(build_workbook, data)
    key = "export_all" if whole else "export"
    return {
        f"{key}_s": time.perf_counter() - started,
        f"{key}_mb": max(peak_mb(), worker_mb),
        f"after_{key}_mb": rss_mb(),
        f"{key}_bytes": len(content),
    }


async def op_board(db: Database) -> dict[str, float]:
    from bot.operations import isolated

    workers = isolated.Workers()
    from bot.rendering.board import board_picture
    from bot.services import ranking

    setup = scoring.setup_for(settings())
    await workers.warm()
    started = time.perf_counter()
    async with db.session() as s:
        found = await ranking.board(s, setup, ranking.previous_month_key(setup, NOW), 5)
    png = await workers.run(board_picture, "zh_CN", found)
    return {
        "board_s": time.perf_counter() - started,
        "after_board_mb": rss_mb(),
        "board_bytes": len(png),
    }


OPS = {
    "digest": op_digest,
    "close": op_close,
    "score": op_score,
    "export": op_export,
    "export_all": lambda db: op_export(db, whole=True),
    "board": op_board,
}


def measure(op: str, url: str) -> dict[str, float]:
    async def go() -> dict[str, float]:
        db = Database(url)
        try:
            return await OPS[op](db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def in_child(op: str, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", op, "--url", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        print(out.stderr[-2000:], file=sys.stderr)
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _reset_pg(url: str) -> None:
    from sqlalchemy import text

    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))  # asyncpg: one command a statement
        await conn.execute(text("CREATE SCHEMA public"))
    await db.dispose()


async def _upgrade(url: str) -> None:
    db = Database(url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()


async def build(url: str, units: int, leads: int) -> benchdata.BenchReport:
    setup = scoring.setup_for(settings())
    db = Database(url)
    try:
        await db.upgrade()
        size = benchdata.BenchSize(units, leads, leads * 10, 5)
        return await benchdata.write(db, setup, NOW, size)
    finally:
        await db.dispose()


def run_size(
    name: str, leads: int, units: int, cache: Path, pg_url: str | None
) -> dict[str, float]:
    if pg_url is None:
        master = cache / f"scale-{units}-{leads}.db"
        if not master.exists():
            tmp = master.with_suffix(".tmp")
            tmp.unlink(missing_ok=True)
            r = asyncio.run(build(f"sqlite+aiosqlite:///{tmp}", units, leads))
            tmp.rename(master)
            print(
                f"  built {master.name}: {r.leads} leads, {r.ledger} ledger lines in {r.seconds:.0f} s"
            )
        work = cache / f"work-{units}-{leads}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(master, work)
        url = f"sqlite+aiosqlite:///{work}"
        asyncio.run(_upgrade(url))  # a cached database from before the latest migrations
    else:
        asyncio.run(_reset_pg(pg_url))
        r = asyncio.run(build(pg_url, units, leads))
        print(
            f"  built on PostgreSQL: {r.leads} leads, {r.ledger} ledger lines in {r.seconds:.0f} s"
        )
        url = pg_url
    found: dict[str, float] = {}
    for op in ("digest", "score", "export", "export_all", "board", "close"):
        found.update(in_child(op, url))
    return found


def show(db_name: str, sizes: list[int], results: dict[int, dict[str, float]]) -> None:
    keys = [
        "digest_s",
        "digest_cpu_s",
        "digest_mb",
        "progress_lines",
        "close_s",
        "close_cpu_s",
        "close_errors",
        "close_missing",
        "rank_max_ms",
        "score_p99_ms",
        "score_cpu_p99_ms",
        "export_s",
        "export_all_s",
        "export_all_mb",
        "after_export_mb",
        "after_board_mb",
    ]
    print(f"\n{db_name}: " + "  ".join(f"{n:>10,} leads" for n in sizes) + "   growth   target")
    for k in keys:
        vals = [results[n].get(k) for n in sizes]
        cells = "  ".join(f"{v:>16.2f}" if v is not None else f"{'-':>16}" for v in vals)
        growth = ""
        if len(vals) > 1 and vals[0] and vals[-1]:
            growth = " ".join(f"×{b / a:.1f}" for a, b in itertools.pairwise(vals) if a and b)
        target = TARGETS.get(k)
        verdict = ""
        if target is not None and vals[-1] is not None:
            verdict = f"≤ {target}  {'met' if vals[-1] <= target else 'NOT met'}"
        print(f"  {k:<16}{cells}   {growth:<12} {verdict}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--units", type=int, default=300)
    p.add_argument("--cache", type=Path, default=Path("/tmp/leadbot-bench"))
    p.add_argument("--pg-url", default=os.environ.get("LEADBOT_TEST_PG_URL"))
    p.add_argument("--no-pg", action="store_true")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--measure")
    p.add_argument("--url")
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.url)))
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    targets: list[tuple[str, str | None]] = [] if args.no_sqlite else [("SQLite", None)]
    if args.pg_url and not args.no_pg:
        targets.append(("PostgreSQL", args.pg_url))
    for db_name, url in targets:
        results = {}
        for n in sizes:
            print(f"{db_name}, {n:,} leads, {args.units} units …", flush=True)
            results[n] = run_size(db_name, n, args.units, args.cache, url)
            print(f"  {json.dumps({k: round(v, 3) for k, v in results[n].items()})}", flush=True)
        show(db_name, sizes, results)


if __name__ == "__main__":
    main()
