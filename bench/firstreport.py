"""Benchmark: first report wins on real Chinese company names (issue 14).

    python bench/firstreport.py [--leads 100000] [--reports 300] [--inline] [--db PATH] [--cache DIR]

Prints figures against their targets; asserts nothing (the quality gate is
tests/unit/test_company_match.py):

* on the labelled corpus (tests/data/company_pairs.tsv): recall on same-company
  pairs (target ≥ 98 %) and the share of different-company pairs that get a
  question or a duplicate verdict (target ≤ 3 %), per category;
* the company step's check (exact key, credit code, near candidates) against the
  first reports of a ``leadbot bench-data`` database of ``--leads`` leads on SQLite
  (bench/benchdb.py: built on demand and cached, or ``--db``; read from a copy): p99
  (target ≤ 20 ms);
* the one-off index build after a restart, run in the background at start:
  how long it takes, and how long checks issued during it take (they do not wait:
  they read a bounded set of names from the database; the build is held until
  they have run).

The index lives in its own process, as in the bot (bot/operations/near_process.py), so a
check's figures include its round trips; ``--inline`` holds it in the bench's process.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb
from leads import first_reports

from bot.assembly.config import Settings
from bot.domain.company_match import NameIndex
from bot.domain.dedup import company_key
from bot.operations.benchdata import company_name as company
from bot.services.leads import CompanyDirectory, check_company
from storage.db import Database

CORPUS = Path(__file__).parent.parent / "tests" / "data" / "company_pairs.tsv"


def corpus() -> None:
    with CORPUS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    asked: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for r in rows:
        hit = company_key(r["name_a"]) == company_key(r["name_b"]) or bool(
            NameIndex([(r["name_a"], 1)]).candidates(r["name_b"])
        )
        label = ("same" if r["same"] == "1" else "different") + "/" + r["category"]
        total[label] += 1
        asked[label] += hit
    same = [k for k in total if k.startswith("same/")]
    diff = [k for k in total if k.startswith("different/")]
    recall = sum(asked[k] for k in same) / sum(total[k] for k in same)
    false = sum(asked[k] for k in diff) / sum(total[k] for k in diff)
    print(
        f"corpus: {len(rows)} pairs ({sum(total[k] for k in same)} same, {sum(total[k] for k in diff)} different)"
    )
    print(f"  recall on same-company pairs: {recall:.1%} (target ≥ 98 %)")
    print(f"  different-company pairs asked: {false:.1%} (target ≤ 3 %)")
    for k in sorted(total):
        if (k.startswith("same/") and asked[k] < total[k]) or (
            k.startswith("different/") and asked[k]
        ):
            print(f"    {k}: {asked[k]}/{total[k]} asked")


async def scale(args: argparse.Namespace) -> None:
    rng = random.Random(14)
    settings = Settings(admins=[1000])
    reports = args.reports
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(await benchdb.prepare(args, Path(tmp) / "bench.db"))
        names = await first_reports(db)
        leads = len(names)
        print(f"{leads:,} active leads (first reports)")
        # A restart: the build starts in the background. It is held here until the checks
        # below have run, so each of them is answered during the build (from the database).
        directory, hold = CompanyDirectory(), asyncio.Event()
        directory.start_warming(db, hold, separate=not args.inline)
        where = "in the bot's process" if args.inline else "in its own process"
        during: dict[str, list[float]] = {"exact": [], "typo": [], "new": []}
        found_typos, typos = 0, []
        for i in range(min(reports, 100)):
            typo = names[i + 1]
            typo = typo[:2] + rng.choice("华鑫泰宏盛达") + typo[3:]
            typos.append(typo)
            for kind, name in (("exact", names[i]), ("typo", typo), ("new", f"新名字{i}有限公司")):
                t0 = time.perf_counter()
                async with db.session() as s:
                    check = await check_company(s, directory, name, settings.near_match_threshold)
                during[kind].append((time.perf_counter() - t0) * 1000)
                found_typos += kind == "typo" and bool(check.near)
        assert directory.building, "the build ran before the checks"
        hold.set()
        await directory.ready()
        for kind, label in (
            ("exact", "an exact duplicate"),
            ("typo", "a changed character"),
            ("new", "a new name"),
        ):
            t = sorted(during[kind])
            print(
                f"during the build: {label} checked in median {statistics.median(t):.1f} ms, "
                f"p99 {t[max(0, int(len(t) * 0.99) - 1)]:.1f} ms over {len(t)} checks, no wait"
            )
        after = 0
        for typo in typos:
            async with db.session() as s:
                check = await check_company(s, directory, typo, settings.near_match_threshold)
            after += bool(check.near)
        print(
            f"  a changed character got a question {found_typos}/{len(typos)} times during "
            f"the build, {after}/{len(typos)} with the index (not every substitution is a "
            "plausible typo)"
        )
        print(
            f"index build in the background, {where}: {directory.build_ms:.0f} ms for "
            f"{leads:,} names (nobody waits for it)"
        )
        timings, cpu, asked = [], [], 0
        for i in range(reports):
            if i % 3 == 0:  # a one-character typo of an existing name
                name = rng.choice(names)
                at = rng.randrange(2)
                name = name[:at] + rng.choice("华鑫泰宏盛达") + name[at + 1 :]
            else:
                name = company(rng) + str(i)
            t0, c0 = time.perf_counter(), time.process_time()
            async with db.session() as s:
                check = await check_company(s, directory, name, settings.near_match_threshold)
            timings.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)  # all threads: aiosqlite's too
            asked += bool(check.near)
        await directory.stop_warming()
        await db.dispose()
    timings.sort()
    cpu.sort()
    p99 = timings[max(0, int(len(timings) * 0.99) - 1)]
    cpu99 = cpu[max(0, int(len(cpu) * 0.99) - 1)]
    print(
        f"check (credit code, key, near candidates) against {leads:,} leads: median "
        f"{statistics.median(timings):.2f} ms, p99 {p99:.2f} ms wall, p99 {cpu99:.2f} ms CPU "
        f"over {reports} checks (target ≤ 20 ms; on a loaded machine compare the CPU figure); "
        f"{asked} asked a question"
    )
    if not args.inline:
        print("  (CPU: the bot's process only; the index's process judges the names)")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser()
    benchdb.add_options(parser)
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument(
        "--inline", action="store_true", help="the index in the bench's process, not its own"
    )
    args = parser.parse_args()
    corpus()
    asyncio.run(scale(args))


if __name__ == "__main__":
    main()
