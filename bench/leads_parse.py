"""Throughput of the lead-intake hot paths: amount parsing and duplicate lookup.

Run from the repository root:  python bench/leads_parse.py [--companies N]

Prints figures only; it asserts nothing, so it can run on any machine.  The
near-lookup figure is the one that matters: it runs on every new lead against
all active leads, inside the Telegram update handler.

No database, so no bench-data (bench/benchdb.py): it times the pure functions on keys it
makes in memory; the same lookup through the database, against a bench-data database's
leads, is bench/leads.py's and bench/firstreport.py's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from bot.domain.amounts import AmountError, parse_wan
from bot.domain.dedup import company_key
from bot.domain.key_index import CompanyIndex

AMOUNT_CORPUS = [
    "5000",
    "5000万",
    "5,000万元",
    "5，000万元",
    "1.2亿",
    "3亿元",
    "一亿两千万",
    "两千五百万",
    "壹亿",
    "壹仟万元",
    "１２００万",
    "0.5亿",
    "1亿2000万",
    "1亿零500万",
    "十万",
    "8000万元人民币",
    "RMB 5000万",
    "¥5000万",
    " 约5000余万元 ",
    "12345元",
    # rejections cost time too
    "1e30",
    "abc万",
    "很多",
    "-5",
    "0",
    "5000万美元",
    "",
    "5000万以上",
    "0.00001",
]

REGIONS = ["", "", "北京", "上海", "深圳市", "山东", "江苏", "浙江", "广州", "成都", "武汉", "苏州"]
BRAND_CHARS = (
    "华中国天新东方海金宏安泰瑞鑫博恒远通达信诚德美嘉和盛昌兴隆丰汇源"
    "龙凤鹏飞腾云星辰光明阳宇宙晨曦锦绣江河山川林森睿智慧联创维科航"
)
INDUSTRIES = [
    "科技",
    "新能源",
    "生物医药",
    "智能制造",
    "电子",
    "新材料",
    "汽车零部件",
    "半导体",
    "物流",
    "食品",
    "化工",
    "环保",
    "信息技术",
    "精密机械",
    "光电",
    "医疗器械",
    "建设",
    "投资",
    "纺织",
    "能源",
    "软件",
    "网络",
    "数据",
    "农业发展",
]
SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "(中国)有限公司", ""]


def company_name(rng: random.Random) -> str:
    brand = "".join(rng.choice(BRAND_CHARS) for _ in range(rng.randint(2, 4)))
    return rng.choice(REGIONS) + brand + rng.choice(INDUSTRIES) + rng.choice(SUFFIXES)


def typo(key: str, rng: random.Random) -> str:
    """What a second reporter plausibly types: one character off, or an
    extra word such as 发展."""
    if rng.random() < 0.5:
        pos = rng.randrange(len(key))
        return key[:pos] + rng.choice(BRAND_CHARS) + key[pos + 1 :]
    return key + rng.choice(["发展", "集团", "科技", "实业"])


def per_second(fn: Callable[[], object], seconds: float = 1.0) -> float:
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        calls += 1
    return calls / elapsed


def bench_amounts() -> None:
    corpus = AMOUNT_CORPUS

    def run_corpus() -> None:
        for text in corpus:
            with contextlib.suppress(AmountError):
                parse_wan(text)

    rate = per_second(run_corpus, 2.0) * len(corpus)
    print(f"parse_wan: {rate:,.0f} calls/s over a {len(corpus)}-item mixed corpus")


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_index(companies: int, lookups: int, seed: int) -> None:
    rng = random.Random(seed)
    start = time.perf_counter()
    keys = [company_key(company_name(rng)) for _ in range(companies)]
    key_seconds = time.perf_counter() - start
    start = time.perf_counter()
    index = CompanyIndex((key, n) for n, key in enumerate(keys))
    build_seconds = time.perf_counter() - start
    print(
        f"company_key: {companies / key_seconds:,.0f} names/s; "
        f"index of {len(index):,} entries ({len(set(keys)):,} distinct keys) "
        f"built in {build_seconds * 1000:.0f} ms"
    )
    queries = [
        typo(rng.choice(keys), rng) if rng.random() < 0.7 else company_key(company_name(rng))
        for _ in range(lookups)
    ]
    timings, hits = [], 0
    for query in queries:
        start = time.perf_counter()
        hits += bool(index.near(query))
        timings.append((time.perf_counter() - start) * 1000)
    print(
        f"CompanyIndex.near over {lookups:,} lookups: median {statistics.median(timings):.2f} ms, "
        f"p99 {percentile(timings, 0.99):.2f} ms, max {max(timings):.2f} ms; "
        f"{hits / lookups:.0%} found a near match >= 90"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    bench_amounts()
    bench_index(args.companies, args.lookups, args.seed)


if __name__ == "__main__":
    main()
