"""`leadbot backup` / `leadbot restore`: a consistent copy while the bot writes, and back."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.assembly.cli import main
from bot.assembly.clock import ManualClock
from bot.operations import backup as ops_backup
from bot.operations.backup import BackupError, backup_sqlite, libpq, restore, restore_sqlite
from storage import repo
from storage.db import Database
from storage.models import Unit
from tests.conftest import PG_ENV, PG_SKIP_REASON, pg_url, reset_postgres


def unit_rows(n: int, now: datetime) -> list[dict[str, object]]:
    """Two units per write, in one transaction: a consistent copy has them in pairs."""
    return [
        {"name": f"单位{n:05d}甲", "created_at": now},
        {"name": f"单位{n:05d}乙", "created_at": now},
    ]


def pair_counts(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        a = conn.execute("SELECT count(*) FROM units WHERE name LIKE '%甲'").fetchone()[0]
        b = conn.execute("SELECT count(*) FROM units WHERE name LIKE '%乙'").fetchone()[0]
        return a, b
    finally:
        conn.close()


async def test_sqlite_backup_during_writes_is_a_consistent_snapshot_and_restores(
    sqlite_db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    source = ops_backup.sqlite_path(sqlite_db.url)
    async with sqlite_db.session() as s:  # some bulk, so the copy is not instantaneous
        await repo.add_units(
            s,
            [
                {"name": f"旧单位{i:05d}", "short_name": "x" * 30, "created_at": clock.now()}
                for i in range(3000)
            ],
        )
    writes = 0
    enough = asyncio.Event()
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal writes
        while not stop.is_set():
            async with sqlite_db.session() as s:
                await repo.add_units(s, unit_rows(writes, clock.now()))
            writes += 1
            if writes >= 20:
                enough.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        await asyncio.wait_for(enough.wait(), 30)
        result = await asyncio.to_thread(backup_sqlite, source, tmp_path / "copy.db")
        during = writes
        await asyncio.wait_for(_until(lambda: writes >= during + 5), 30)
    finally:
        stop.set()
        await task

    a, b = pair_counts(result.path)
    assert a == b, "a write transaction was cut in half"
    assert 20 <= a <= during + 1 and a < writes, (a, during, writes)
    assert "schema revision" in result.detail
    assert not result.path.with_name(".copy.db.partial").exists()

    restored = tmp_path / "restored" / "leadbot.db"
    restore_sqlite(result.path, restored)
    db = Database(f"sqlite+aiosqlite:///{restored}")
    try:
        await db.ensure_schema()  # opens and is at the code's revision
        async with db.session() as s:
            assert await s.scalar(select(func.count()).select_from(Unit)) == 3000 + 2 * a
    finally:
        await db.dispose()


async def _until(condition: object) -> None:
    while not condition():  # type: ignore[operator]  # noqa: ASYNC110 - polls another task's state
        await asyncio.sleep(0.01)


def test_restore_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    good, target = tmp_path / "good.db", tmp_path / "live.db"
    _sql(good, "CREATE TABLE t (x)", "INSERT INTO t VALUES (1)")
    _sql(target, "CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="--force"):
        restore_sqlite(good, target)
    restore_sqlite(good, target, force=True)
    assert _sql(target, "SELECT x FROM t") == [(1,)]


def _sql(path: Path, *statements: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            rows = conn.execute(statement).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def test_restore_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BackupError, match="not a usable SQLite database"):
        restore(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}", junk)
    assert not (tmp_path / "new.db").exists()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADBOT_CONFIG", raising=False)
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "leadbot"]:
        root.removeHandler(handler)


async def test_cli_backup_and_restore_round_trip(
    sqlite_db: Database,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cli_env: None,
) -> None:
    async with sqlite_db.session() as s:
        await repo.add_units(s, unit_rows(1, clock.now()))
    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    copy = tmp_path / "nightly.leadbot"
    assert await asyncio.to_thread(main, ["backup", str(copy)]) == 0
    assert "written to" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["backup", str(copy)]) == 1
    assert "--force" in capsys.readouterr().err

    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert await asyncio.to_thread(main, ["restore", str(copy)]) == 0
    assert pair_counts(tmp_path / "fresh.db") == (1, 1)
    assert await asyncio.to_thread(main, ["restore", str(copy)]) == 1
    assert await asyncio.to_thread(main, ["restore", "--force", str(copy)]) == 0


def test_libpq_url_has_no_driver_and_no_password() -> None:
    dsn, env = libpq("postgresql+asyncpg://leadbot:p%40ss@db.internal:5433/zone?ssl=require")
    assert dsn == "postgresql://leadbot@db.internal:5433/zone?sslmode=require"
    assert env == {"PGPASSWORD": "p@ss"}


def test_missing_pg_dump_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(
        BackupError, match="pg_dump not found on PATH: install the PostgreSQL client"
    ):
        ops_backup.backup("postgresql+asyncpg://u:secret@h/db", tmp_path / "x.dump")


def test_pg_dump_failure_does_not_show_the_password(tmp_path: Path) -> None:
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not on PATH")
    with pytest.raises(BackupError) as exc:
        ops_backup.backup(
            "postgresql+asyncpg://nobody:hunter2-secret@127.0.0.1:1/none", tmp_path / "x.dump"
        )
    assert "hunter2-secret" not in str(exc.value) and "pg_dump failed" in str(exc.value)


def _pg_or_skip() -> str:
    url = pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: PostgreSQL tests must run there")
        pytest.skip(PG_SKIP_REASON)
    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("pg_dump/pg_restore not on PATH")
    return url


async def _recreate_database(url: str, name: str) -> str:
    await _drop_database(url, name, create=True)
    return url.rsplit("/", 1)[0] + f"/{name}"


async def _drop_database(url: str, name: str, create: bool = False) -> None:
    admin = Database(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def test_postgres_pg_dump_and_pg_restore_round_trip(
    clock: ManualClock, tmp_path: Path
) -> None:
    url = _pg_or_skip()
    await reset_postgres(url)
    db = Database(url)
    try:
        await db.upgrade()
        async with db.session() as s:
            await repo.add_units(s, [*unit_rows(1, clock.now()), *unit_rows(2, clock.now())])
    finally:
        await db.dispose()
    dump = tmp_path / "zone.dump"
    result = await asyncio.to_thread(ops_backup.backup, url, dump)
    assert result.bytes > 0 and dump.read_bytes().startswith(b"PGDMP")

    restore_db = f"{make_url(url).database}_restore"  # per xdist worker, as the url is
    target_url = await _recreate_database(url, restore_db)
    await asyncio.to_thread(restore, target_url, dump)
    with pytest.raises(BackupError, match="--force"):
        await asyncio.to_thread(restore, target_url, dump)
    await asyncio.to_thread(
        restore, target_url, dump, force=True
    )  # --clean --if-exists over itself

    restored = Database(target_url)
    try:
        await restored.ensure_schema()  # at the code's revision: no upgrade needed
        async with restored.session() as s:
            names = sorted((await s.scalars(select(Unit.name))).all())
        assert names == ["单位00001乙", "单位00001甲", "单位00002乙", "单位00002甲"]
    finally:
        await restored.dispose()
        await _drop_database(url, restore_db)
