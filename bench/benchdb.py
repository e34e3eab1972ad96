"""The benches' database: one written by ``leadbot bench-data``, built on demand and cached.

Every bench that reads or writes the bot's tables runs on such a database
(docs/benchmarks.md), so its figures are taken against the rows the bot would hold
after years of use, not against an empty schema with a few hand-made rows.

``--db PATH`` names one already written (``leadbot bench-data PATH ...``); otherwise one of the
asked size is written under ``--cache`` (default /tmp/leadbot-bench) and reused. A bench works on
a copy (migrated to head), so the cached file stays as written. Names: ``scale-UNITS-LEADS.db``
for bench/scale.py's shape (ten ledger lines a lead, five years, the default seed, one liaison a
unit: the same file scale.py builds, so the benches share it), else every figure in the name.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.assembly.config import Settings  # noqa: E402
from bot.operations import benchdata  # noqa: E402
from bot.services import scoring  # noqa: E402
from storage.db import Database  # noqa: E402

CACHE = Path("/tmp/leadbot-bench")
NOW = benchdata.default_now()


def add_options(
    parser: argparse.ArgumentParser, *, units: int | None = 300, leads: int = 100_000
) -> None:
    """--db, --cache, --leads, --ledger, --years and (``units`` not None) --units."""
    parser.add_argument(
        "--db", type=Path, help="a database written by `leadbot bench-data` (SQLite file)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=CACHE,
        help=f"where built databases are kept (default {CACHE})",
    )
    if units is not None:
        parser.add_argument("--units", type=int, default=units)
    parser.add_argument("--leads", type=int, default=leads)
    parser.add_argument("--ledger", type=int, help="ledger lines (default ten a lead)")
    parser.add_argument("--years", type=int, default=5)


def size_of(
    args: argparse.Namespace, *, units: int | None = None, liaisons: int = 1
) -> benchdata.BenchSize:
    """The size the options ask for; ``units`` when the bench derives it (reminders)."""
    n_units = units if units is not None else args.units
    ledger = args.ledger if args.ledger is not None else args.leads * 10
    return benchdata.BenchSize(n_units, args.leads, ledger, args.years, liaisons=liaisons)


def cache_name(size: benchdata.BenchSize) -> str:
    plain = benchdata.BenchSize(size.units, size.leads, size.leads * 10, 5)
    if size == plain:
        return f"scale-{size.units}-{size.leads}.db"
    return (
        f"bench-{size.units}u-{size.leads}l-{size.ledger}e-{size.years}y"
        f"-{size.liaisons}x-{size.seed}.db"
    )


def _clear(path: Path) -> Path:
    """``path`` made free for a new SQLite file (the file and a stale -wal/-shm removed, its
    folder made); returned absolute."""
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


async def write(url: str, size: benchdata.BenchSize) -> benchdata.BenchReport:
    """Migrate the empty database at ``url`` and write bench-data of ``size`` into it (the
    settings' rules, as ``leadbot bench-data`` does)."""
    db = Database(url)
    try:
        await db.upgrade()
        setup = scoring.setup_for(Settings.model_construct(**Settings().__dict__))
        return await benchdata.write(db, setup, NOW, size)
    finally:
        await db.dispose()


async def master(cache: Path, size: benchdata.BenchSize) -> Path:
    """The cached database of this size, written first if missing (under a temporary name of
    this process's, renamed when complete, so an interrupted build is never taken for a
    finished one, and two benches starting together do not write into one file)."""
    path = cache / cache_name(size)
    if path.exists():
        return path
    tmp = _clear(path.with_suffix(f".{os.getpid()}.tmp"))  # two benches building at once
    r = await write(f"sqlite+aiosqlite:///{tmp}", size)
    tmp.rename(path)
    print(
        f"built {path}: {r.units} units, {r.leads} leads, {r.ledger} ledger lines in {r.seconds:.0f} s"
    )
    return path


async def working_copy(source: Path, dest: Path) -> str:
    """Copy ``source`` to ``dest`` (a stale -wal/-shm beside it removed), migrate it to head
    (a cached file may predate the latest migrations) and return its URL."""
    dest = _clear(dest)
    shutil.copyfile(source, dest)
    url = f"sqlite+aiosqlite:///{dest}"
    db = Database(url)
    try:
        await db.upgrade()
    finally:
        await db.dispose()
    return url


async def prepare(
    args: argparse.Namespace, dest: Path, *, units: int | None = None, liaisons: int = 1
) -> str:
    """A working copy of ``--db`` or of the cached database of the asked size; its URL."""
    source = (
        args.db
        if args.db is not None
        else await master(args.cache, size_of(args, units=units, liaisons=liaisons))
    )
    print(f"on bench-data {source.name}", flush=True)
    return await working_copy(source, dest)
