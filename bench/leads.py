"""Benchmark: first-report-wins against 100 000 active leads, and parse_wan speed.

    python bench/leads.py [--leads 100000] [--reports 300]

Prints figures; asserts nothing. Target: p99 ≤ 20 ms per dedup check on SQLite.
The leads are spread over 300 units and five years; the reporting unit is one of
the demo's four, so a save also refreshes that unit's points (the scoring hook).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert

from bot.assembly.config import Settings
from bot.domain.amounts import parse_wan
from bot.domain.dedup import company_key
from bot.operations.demo import seed_demo
from bot.services.access import resolve_actor
from bot.services.leads import CompanyDirectory, LeadDraft, check_company, report_lead
from storage.db import Database
from storage.models import Lead, Unit

SYLLABLES = [
    "华",
    "鑫",
    "泰",
    "宏",
    "盛",
    "达",
    "新",
    "通",
    "远",
    "恒",
    "源",
    "嘉",
    "瑞",
    "丰",
    "永",
    "信",
    "海",
    "天",
    "金",
    "银",
    "博",
    "创",
    "德",
    "隆",
]
WORDS = ["科技", "新能源", "材料", "装备", "医药", "化工", "电子", "物流", "食品", "智能"]
NOW = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)


def company(rng: random.Random) -> str:
    return "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) + rng.choice(WORDS) + "有限公司"


UNITS = 300
YEARS = 5


async def seed_units(db: Database) -> None:
    """300 more units besides the demo's four: a large county's departments, parks and towns."""
    async with db.session() as s:
        await s.execute(
            insert(Unit),
            [{"name": f"单位{i:03d}", "active": True, "created_at": NOW} for i in range(UNITS)],
        )


async def seed(db: Database, n: int, rng: random.Random) -> list[str]:
    """Leads spread over 300 units and five years, as a real ledger would be."""
    names: list[str] = []
    rows, seen = [], set()
    while len(rows) < n:
        name = company(rng)
        key = company_key(name)
        if key in seen:
            continue
        seen.add(key)
        names.append(name)
        at = NOW - timedelta(days=rng.randint(0, 365 * YEARS))
        rows.append(
            {
                "unit_id": 5 + len(rows) % UNITS,
                "reporter_id": 3,
                "reported_at": at,
                "updated_at": at,
                "project": "项目",
                "company": name,
                "company_key": key,
                "first_key": key,
                "industry": "新能源",
                "amount_wan": Decimal(1000),
                "origin": "省外",
                "stage": "线索",
                "tags": [],
                "attachments": [],
                "review": "pending",
                "near_confirmed": False,
            }
        )
    async with db.session() as s:
        for i in range(0, n, 5000):
            await s.execute(insert(Lead), rows[i : i + 5000])
    return names


async def main(leads: int, reports: int) -> None:
    rng = random.Random(7)
    settings = Settings(admins=[1000])
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await db.ensure_schema()
        async with db.session() as s:
            await seed_demo(s, NOW)
        await seed_units(db)
        started = time.perf_counter()
        names = await seed(db, leads, rng)
        print(f"seeded {leads} active leads in {time.perf_counter() - started:.1f} s")
        directory = CompanyDirectory()
        async with db.session() as s:
            started = time.perf_counter()
            await directory.sync(s)
        print(
            f"near-match index built in {(time.perf_counter() - started) * 1000:.0f} ms (once per process)"
        )
        async with db.session() as s:
            actor = await resolve_actor(s, settings, 1102, "x", None)
        checks, saves = [], []
        for i in range(reports):
            name = rng.choice(names) if i % 3 == 0 else company(rng) + str(i)
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
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--reports", type=int, default=300)
    args = ap.parse_args()
    asyncio.run(main(args.leads, args.reports))
