"""Updates per second through the whole stack, next to a bare python-telegram-bot echo bot.

Run from the repository root:
    python bench/throughput.py [--updates N] [--no-rss | --rss-only] [--units 300] [--leads 100000] [--db PATH] [--cache DIR]

Both bots run in this process against the same Bot API stand-in (``bot/localapi/``),
first by long polling, then through ``bot.assembly.webhook.WebhookServer`` (Telegram's side
of the webhook is played by an HTTP client posting updates, 16 at a time). Leadbot
handles ``/help`` from a registered liaison: the redelivery check (a write), the
member lookup, the catalog, the reply and the persistence flush, on a SQLite copy of a
``leadbot bench-data`` database (bench/benchdb.py: built on demand and cached, or
``--db``), once its near-match index is built (the start-up build is not measured). The
echo bot sends the text back. Both run without a rate limiter: AIORateLimiter holds a
bot to Telegram's 30 messages/s, which would measure the limiter, not the code. The
target is Leadbot ≥ 50 % of the echo bot on each path.

Then the resident memory of an idle Leadbot (a fresh interpreter on that database: by
default 300 units with two members each and their years of leads, activities, weekly
submissions and ledger; long polling, the schedule on, its clock moved to the database's
today so that it has nothing to catch up on; read once the near-match index of the leads is
built), target ≤ 150 MB; and again once an admin has asked it for /board, /export and
/export all (they render in worker processes: the bot's own memory must come back under the
target). The index lives in a process of its own (bot/operations/near_process.py): its
memory is printed beside the bot's, not in it.

Prints figures only; asserts nothing. Finishes well under two minutes once its database is
cached (the first run at 100 000 leads writes it: about 9 minutes, docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.assembly.app import build_application  # noqa: E402
from bot.assembly.config import Settings  # noqa: E402
from bot.assembly.webhook import SECRET_HEADER, WebhookServer  # noqa: E402
from bot.localapi import LocalBotAPI  # noqa: E402
from storage.db import Database  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb  # noqa: E402

SECRET = "bench-secret"
WARMUP = 30
CONCURRENCY = 16
TIMEOUT = 60.0
LIAISON = (800_000_010, "联络员")  # unit 1's liaison in a bench-data database
ADMIN = 1000  # the idle bot's admin (Settings.admins): may ask for /board and /export
# What the idle bot is asked to render before it is measured again (issue 16: RSS back under
# 150 MB after /board and /export), and the Bot API method its answer arrives by.
RENDERS = (("/board", "sendPhoto"), ("/export", "sendDocument"), ("/export all", "sendDocument"))


class Counter:
    """Counts handled updates; ``wait(n)`` returns when n have been seen."""

    def __init__(self) -> None:
        self.count = 0
        self._target = 0
        self._done = asyncio.Event()

    def hit(self, *_: Any) -> None:
        self.count += 1
        if self.count >= self._target:
            self._done.set()

    async def wait(self, n: int) -> None:
        self._target = n
        if self.count >= n:
            return
        self._done.clear()
        await asyncio.wait_for(self._done.wait(), TIMEOUT)


# -- the two bots -------------------------------------------------------------------


def echo_bot(api: LocalBotAPI, counter: Counter) -> Application[Any, Any, Any, Any, Any, Any]:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.message is not None
        await context.bot.send_message(update.effective_chat.id, update.message.text or "")
        counter.hit()

    app = (
        Application.builder()
        .token(api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


async def leadbot(api: LocalBotAPI, db: Database, counter: Counter) -> Any:
    settings = Settings(admins=[1000], database_url=db.url, webhook_secret=SECRET)
    app = build_application(
        settings,
        db,
        bench_clock(),
        token=api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        rate_limiter=False,
        run_jobs=False,
    )
    app.update_listeners.append(counter.hit)
    return app


def bench_clock() -> Any:
    """Real time moved to the bench database's today (benchdata.default_now): its weeks are
    closed up to there, so the schedule finds nothing to catch up on, as on a live database."""
    from bot.assembly.clock import ShiftedClock

    clock = ShiftedClock()
    clock.set(benchdb.NOW)
    return clock


async def settled(app: Any) -> None:
    """Leadbot: wait for the near-match index its start-up builds in the background, so the
    build's CPU is not in the figure (the echo bot has none)."""
    services = getattr(app, "services", None)
    if services is not None:
        await services.directory.ready()


# -- the two paths --------------------------------------------------------------------


async def by_polling(
    app: Any, api: LocalBotAPI, counter: Counter, user: int, text: str, n: int
) -> float:
    await app.initialize()
    await app.start()
    await settled(app)
    inbox = getattr(app, "inbox", None)  # Leadbot polls through its durable inbox
    if inbox is not None:
        inbox.start_polling(timeout=1)
    else:
        await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        for _ in range(WARMUP):
            api.send_text(user, text)
        await counter.wait(WARMUP)
        start = time.perf_counter()
        for _ in range(n):
            api.send_text(user, text)
        await counter.wait(WARMUP + n)
        return n / (time.perf_counter() - start)
    finally:
        if inbox is None:
            await app.updater.stop()
        await app.stop()
        await app.shutdown()


def message_update(update_id: int, user: int, text: str) -> dict[str, Any]:
    entities = (
        [{"type": "bot_command", "offset": 0, "length": len(text)}] if text.startswith("/") else []
    )
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "text": text,
            "entities": entities,
            "chat": {"id": user, "type": "private", "first_name": "bench"},
            "from": {"id": user, "is_bot": False, "first_name": "bench"},
        },
    }


async def by_webhook(
    app: Any, counter: Counter, user: int, text: str, n: int, first_id: int
) -> float:
    server = WebhookServer(
        app, secret=SECRET
    )  # no public_url: setWebhook is not part of the figure
    await server.start("127.0.0.1", 0)
    await settled(app)
    ids = iter(range(first_id, first_id + WARMUP + n))

    async def post_all(http: aiohttp.ClientSession, count: int) -> None:
        async def worker(share: int) -> None:
            for _ in range(share):
                body = message_update(next(ids), user, text)
                async with http.post(
                    "/telegram", json=body, headers={SECRET_HEADER: SECRET}
                ) as resp:
                    assert resp.status == 200, resp.status

        shares = [
            count // CONCURRENCY + (1 if i < count % CONCURRENCY else 0) for i in range(CONCURRENCY)
        ]
        await asyncio.gather(*(worker(s) for s in shares))

    try:
        async with aiohttp.ClientSession(server.base_url) as http:
            await post_all(http, WARMUP)
            await counter.wait(WARMUP)
            start = time.perf_counter()
            await post_all(http, n)
            await counter.wait(WARMUP + n)
            return n / (time.perf_counter() - start)
    finally:
        await server.stop()


# -- figures ---------------------------------------------------------------------------


async def throughput(n: int, url: str) -> None:
    api = LocalBotAPI()
    await api.start()
    echo_user = 9001
    api.add_user(echo_user, "echo")
    db = Database(url)
    liaison_tg, liaison_name = LIAISON
    api.add_user(liaison_tg, liaison_name)
    try:
        print(f"{n} updates per run, after {WARMUP} warm-up updates; SQLite; no rate limiter")
        results: dict[str, tuple[float, float]] = {}
        for path in ("polling", "webhook"):
            echo_counter, lead_counter = Counter(), Counter()
            first = 1_000_000 if path == "webhook" else 0
            if path == "polling":
                echo = await by_polling(
                    echo_bot(api, echo_counter), api, echo_counter, echo_user, "hello", n
                )
                lead = await by_polling(
                    await leadbot(api, db, lead_counter),
                    api,
                    lead_counter,
                    liaison_tg,
                    "/help",
                    n,
                )
            else:
                echo = await by_webhook(
                    echo_bot(api, echo_counter), echo_counter, echo_user, "hello", n, first
                )
                lead = await by_webhook(
                    await leadbot(api, db, lead_counter),
                    lead_counter,
                    liaison_tg,
                    "/help",
                    n,
                    first,
                )
            results[path] = (echo, lead)
        print(f"{'path':<8} {'echo bot':>12} {'leadbot':>12} {'ratio':>7}  (target ≥ 50 %)")
        for path, (echo, lead) in results.items():
            print(f"{path:<8} {echo:>9.0f}/s {lead:>9.0f}/s {lead / echo:>6.0%}")
    finally:
        await db.dispose()
        await api.stop()


async def counts(url: str) -> tuple[int, int, int]:
    """Units, members and leads in the database the idle instance reads."""
    from sqlalchemy import func, select

    from storage.models import Lead, Member, Unit

    db = Database(url)
    try:
        async with db.session() as s:
            found = [
                int(await s.scalar(select(func.count()).select_from(t)) or 0)
                for t in (Unit, Member, Lead)
            ]
    finally:
        await db.dispose()
    return found[0], found[1], found[2]


async def idle_rss(url: str, workdir: Path) -> None:
    """Run an idle instance in a fresh interpreter and read its resident memory."""
    api = LocalBotAPI()
    await api.start()
    units, members, leads = await counts(url)
    api.add_user(ADMIN, "管理员")
    figures = {}
    try:
        for kind in ("echo", "leadbot"):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                IDLE_CHILDREN[kind],
                url,
                api.token,
                api.base_url,
                api.base_file_url,
                benchdb.NOW.isoformat(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=workdir,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert proc.stdin is not None and proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
            figures[kind] = json.loads(line)
            if kind == "leadbot":  # then /board and /export from an admin, and again
                for text, method in RENDERS:
                    start = len(api.calls)
                    api.send_text(ADMIN, text)
                    await api.wait_for(lambda c, m=method: c.method == m, TIMEOUT, start)
                proc.stdin.write(b"again\n")
                await proc.stdin.drain()
                line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
                figures["after"] = json.loads(line)
            proc.stdin.close()
            await asyncio.wait_for(proc.wait(), TIMEOUT)
    finally:
        await api.stop()
    print(
        f"\nidle RSS, fresh interpreter, long polling; leadbot: {units} units, {members} members, "
        f"{leads:,} leads (bench-data), schedule on"
    )
    for kind, fig in figures.items():
        label = "  then, after " + ", ".join(t for t, _ in RENDERS) if kind == "after" else kind
        print(f"{label}: {fig['rss_mb']:.1f} MB (peak {fig['hwm_mb']:.1f} MB)")
        if "index_rss_mb" in fig:
            print(
                f"  the near-match index's own process: {fig['index_rss_mb']:.1f} MB "
                f"(peak {fig['index_hwm_mb']:.1f} MB)"
            )
    print("target: leadbot ≤ 150 MB (its own process)")


# The idle instances run as `python -c` so that nothing but what they need is imported.
_CHILD_COMMON = """
import asyncio, json, os, sys, gc
from pathlib import Path

def mb(field, pid="self"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

async def idle(app):
    await app.initialize()
    await app.start()
    if hasattr(app, "inbox"):  # as `leadbot run` polls: updates stored, then handled
        app.inbox.start_polling(timeout=1)
    else:
        await app.updater.start_polling(poll_interval=0, timeout=1)
    if hasattr(app, "services"):
        await app.services.directory.ready()  # the near-match index of the leads is held too
    await asyncio.sleep(2.0)  # idle: a couple of long polls, the schedule's first ticks
    gc.collect()
    fig = {"rss_mb": mb("VmRSS"), "hwm_mb": mb("VmHWM")}
    index = getattr(getattr(app, "services", None), "directory", None)
    pid = getattr(getattr(index, "matcher", None), "pid", None)
    if pid is not None:  # the near-match index's own process (bot/operations/near_process.py)
        fig.update(index_rss_mb=mb("VmRSS", pid), index_hwm_mb=mb("VmHWM", pid))
    print(json.dumps(fig), flush=True)
    if hasattr(app, "services"):  # measured again once the bench has asked for renders
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await asyncio.sleep(1.0)
        gc.collect()
        print(json.dumps({"rss_mb": mb("VmRSS"), "hwm_mb": mb("VmHWM")}), flush=True)
    os._exit(0)  # a measuring child: a graceful stop would only race the parked long poll

url, token, base, file_base = sys.argv[1:5]
"""
IDLE_CHILDREN = {
    "echo": _CHILD_COMMON
    + """
from telegram.ext import Application, MessageHandler, filters

async def echo(update, context):
    await context.bot.send_message(update.effective_chat.id, update.message.text)

app = Application.builder().token(token).base_url(base).base_file_url(file_base).build()
app.add_handler(MessageHandler(filters.TEXT, echo))
asyncio.run(idle(app))
""",
    "leadbot": _CHILD_COMMON
    + """
from datetime import datetime
from bot.assembly.app import build_application
from bot.assembly.clock import ShiftedClock
from bot.assembly.config import Settings
from storage.db import Database

async def main():
    settings = Settings(admins=[1000], database_url=url)
    clock = ShiftedClock()
    clock.set(datetime.fromisoformat(sys.argv[5]))  # the bench database's today
    app = build_application(
        settings, Database(url), clock, token=token, base_url=base, base_file_url=file_base
    )
    await idle(app)

asyncio.run(main())
""",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--updates", type=int, default=500, help="updates per measured run (default 500)"
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the idle-memory figure")
    parser.add_argument(
        "--rss-only", action="store_true", help="only the idle-memory figure (no throughput runs)"
    )
    benchdb.add_options(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="leadbot-bench-") as tmp:
        url = asyncio.run(benchdb.prepare(args, Path(tmp) / "throughput.db"))
        if not args.rss_only:
            asyncio.run(throughput(args.updates, url))
        if not args.no_rss:
            asyncio.run(idle_rss(url, Path(tmp)))
    print(
        f"\n(bench took {time.perf_counter() - started:.0f} s; python {sys.version.split()[0]}, pid {os.getpid()})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
