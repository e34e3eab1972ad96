"""Benchmark: first-report-wins against 100 000 active leads, and parse_wan speed.

    python bench/leads.py [--leads 100000] [--units 300] [--years 5] [--db PATH] [--cache DIR]

Prints figures; asserts nothing. Target: p99 ≤ 20 ms per dedup check on SQLite.
The leads are a ``leadbot bench-data`` database's (bench/benchdb.py: built on demand and
cached, or ``--db``; the bench saves into a copy): over 300 units and five years, with
their events, weekly submissions, activities and ledger. The reporting liaison is unit 1's,
so a save also refreshes that unit's points (the scoring hook) over its years of ledger.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb

from bot.assembly.config import Settings
from bot.domain.amounts import parse_wan
from bot.operations.benchdata import company_name
from bot.services.access import resolve_actor
from bot.services.leads import CompanyDirectory, LeadDraft, check_company, report_lead
from storage.db import Database
from storage.models import Lead

LIAISON = 800_000_010  # unit 1's liaison in a bench-data database

NOW = benchdb.NOW


async def first_reports(db: Database) -> list[str]:
    """The first reports' company names (the ones a new report is checked against), by id."""
    async with db.session() as s:
        found = await s.scalars(
            select(Lead.company).where(Lead.first_key.is_not(None)).order_by(Lead.id)
        )
        return list(found)


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    settings = Settings(admins=[1000])
    reports = args.reports
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(await benchdb.prepare(args, Path(tmp) / "bench.db"))
        names = await first_reports(db)
        print(f"{len(names)} active leads (first reports) to check against")
        directory = CompanyDirectory()
        async with db.session() as s:
            started = time.perf_counter()
            await directory.sync(s)
        print(
            f"near-match index built in {(time.perf_counter() - started) * 1000:.0f} ms (once per process)"
        )
        async with db.session() as s:
            actor = await resolve_actor(s, settings, LIAISON, "x", None)
        checks, saves = [], []
        for i in range(reports):
            name = rng.choice(names) if i % 3 == 0 else company_name(rng) + str(i)
            t0 = time.perf_counter()
            async with db.session() as s:
                await check_company(s, directory, name, settings.near_match_threshold)
            t1 = time.perf_counter()
            async with db.session() as s:
                draft = LeadDraft("项目", name, "新能源", Decimal(100), "本地", "线索")
                await report_lead(s, NOW, actor, draft, settings)
            t2 = time.perf_counter()
            checks.append((t1 - t0) * 1000)
            saves.append((t2 - t1) * 1000)
        await db.dispose()
    for label, xs in (
        ("dedup check (exact + near)", checks),
        ("save with first-report-wins", saves),
    ):
        xs.sort()
        print(
            f"{label}: median {statistics.median(xs):.2f} ms, p99 {xs[int(len(xs) * 0.99) - 1]:.2f} ms over {len(xs)} reports"
        )
    corpus = [
        "5000万",
        "1.2亿",
        "一亿两千万",
        "3亿元",
        "８０００",
        "约0.5亿左右",
        "两千五百万",
        "5,000万元",
    ]
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < 1.0:
        for text in corpus:
            parse_wan(text)
        n += len(corpus)
    print(f"parse_wan: {n / (time.perf_counter() - started):,.0f} calls/s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    benchdb.add_options(ap)
    ap.add_argument("--reports", type=int, default=300)
    asyncio.run(main(ap.parse_args()))
