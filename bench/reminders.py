"""Thursday rush: N reminders due at once, through the real sender and rate limiter.

    python -m bench.reminders                 # 3 000 recipients, ~4 minutes (+ the first build)
    python -m bench.reminders --recipients 300 [--leads 10000] [--years 5] [--db PATH] [--cache DIR]

For each scenario (no faults; 10 % of sendMessage answered 429 retry_after=1) it
takes a copy of a ``leadbot bench-data`` database of N/3 units with three liaisons
each (``BenchSize.liaisons``; no groups, no leaves; bench/benchdb.py builds it on demand
and caches it, or ``--db`` names one), with its years of leads, activities, weekly
submissions and ledger, moves the clock to the Wednesday 17:00 before that week's
deadline (24 hours before) and runs ``app.jobs.run_due()`` once: planning,
then the outbox drain through PTB's ``AIORateLimiter(max_retries=5)`` against the
Bot API stand-in (``bot/localapi/``) over real HTTP. Prints the wall time (and
how it splits into planning and sending) next to the floor Telegram's limit
implies (N / 30 messages per second; the limiter's initial burst of 30 can put a
small run just under it), the 429 answers, and the lost and doubled messages
(each recipient must get exactly one). No assertions.

Every earlier week is closed in bench-data (its ``close:`` marks are written), so there is
no earlier period to close (closing marks units missing and refreshes their scores -- a
separate cost, bench/scale.py's); nobody has submitted this week, so every liaison is due
and nobody else is (heads are reminded only of a submission waiting for them).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb

from bot.assembly.app import build_application
from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import Member, OutboxMessage

SH = ZoneInfo("Asia/Shanghai")
DEADLINE = datetime(2026, 11, 19, 17, 0, tzinfo=SH)
RATE = 30.0  # Telegram: about 30 messages per second in all
PER_UNIT = 3  # liaisons a unit


async def liaisons(db: Database) -> list[int]:
    """The Telegram ids the 24-hour reminder goes to: every active liaison (nobody has
    submitted this week in bench-data)."""
    async with db.session() as s:
        found = await s.scalars(
            select(Member.tg_user_id).where(Member.role == "liaison", Member.active.is_(True))
        )
        return sorted(found)


async def scenario(args: argparse.Namespace, fault: float, folder: Path) -> dict[str, float]:
    units = (args.recipients + PER_UNIT - 1) // PER_UNIT
    url = await benchdb.prepare(args, folder / f"bench-{fault}.db", units=units, liaisons=PER_UNIT)
    now = DEADLINE - timedelta(hours=24)
    clock = ManualClock(now)
    settings = Settings(
        database_url=url, admins=[], reminder_offsets="24h", leaders_missing_offset="1h"
    )
    db = Database(url)
    recipients = await liaisons(db)
    n = len(recipients)
    api = LocalBotAPI(now=lambda: clock.now().timestamp())
    await api.start()
    for tg in recipients:
        api.add_user(tg, f"专干{tg}")
    app = build_application(
        settings,
        db,
        clock,
        token=api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        set_menus=False,
        run_jobs=False,
    )
    await app.initialize()
    spent = _time_jobs(app, ("weekly-plan", "outbox-drain"))
    if fault:
        api.fail_randomly("sendMessage", fault, 429, retry_after=1, seed=7)
    started = time.perf_counter()
    await app.jobs.run_due()
    wall = time.perf_counter() - started
    calls = api.calls_of("sendMessage")
    delivered = Counter(int(c.params["chat_id"]) for c in calls if c.ok)
    refused = sum(1 for c in calls if not c.ok)
    async with db.session() as s:
        rows = Counter((await s.scalars(select(OutboxMessage.status))).all())
    await app.shutdown()
    await api.stop()
    await db.dispose()
    return {
        "plan": spent.get("weekly-plan", 0.0),
        "drain": spent.get("outbox-drain", 0.0),
        "rows_sent": rows.get("sent", 0),
        "rows_other": sum(v for k, v in rows.items() if k != "sent"),
        "recipients": n,
        "sent": sum(delivered.values()),
        "wall": wall,
        "floor": n / RATE,
        "refused_429": refused,
        "lost": sum(1 for tg in recipients if delivered[tg] == 0),
        "doubled": sum(1 for tg in recipients if delivered[tg] > 1),
    }


def _time_jobs(app: object, names: tuple[str, ...]) -> dict[str, float]:
    """Wrap the named JobRunner entries to record how long each took."""
    spent: dict[str, float] = {}
    for entry in app.jobs.entries:  # type: ignore[attr-defined]
        if entry.name in names:

            async def timed(now: datetime, job=entry.job, name=entry.name) -> None:  # type: ignore[no-untyped-def]
                started = time.perf_counter()
                await job(now)
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

            entry.job = timed
    return spent


def show(label: str, r: dict[str, float]) -> None:
    rate = r["sent"] / r["drain"] if r["drain"] else 0.0
    print(
        f"{label:<22} recipients {int(r['recipients']):>5}  sent {int(r['sent']):>5}  wall {r['wall']:7.1f} s "
        f"(plan {r['plan']:.1f} s, send {r['drain']:.1f} s)  "
        f"floor {r['floor']:6.1f} s  ×{r['wall'] / r['floor']:.2f}  {rate:5.1f} msg/s  "
        f"429s {int(r['refused_429']):>4}  lost {int(r['lost'])}  doubled {int(r['doubled'])}  "
        f"outbox rows sent {int(r['rows_sent'])}, not sent {int(r['rows_other'])}"
    )


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="leadbot-bench-") as tmp:
        for label, fault in (("no faults", 0.0), ("10 % answered 429", 0.1)):
            show(label, await scenario(args, fault, Path(tmp)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--recipients",
        type=int,
        default=3000,
        help="liaisons (three a unit: N/3 units, rounded up)",
    )
    benchdb.add_options(parser, units=None, leads=10_000)
    asyncio.run(main(parser.parse_args()))
