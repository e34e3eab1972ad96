"""Shared fixtures: a database on SQLite and, where available, PostgreSQL.

Under pytest-xdist each worker has its own PostgreSQL database, ``<db>_<worker id>``
(e.g. ``leadbot_test_gw0``), created on the worker's start when missing: the tests drop
and rebuild its public schema, so two workers must never share one. A migrated database
is a copy of one migrated once per worker (a SQLite file, a PostgreSQL dump): Alembic's
full chain takes seconds per run, ``tests/unit/test_migrations.py`` runs it for real.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.assembly.clock import ManualClock
from storage.db import Database

PG_ENV = "LEADBOT_TEST_PG_URL"
# A fixed Tuesday morning in Shanghai: no test depends on today's date.
T0 = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)


# Why a PostgreSQL test is skipped, and how to run it against any PostgreSQL.
PG_SKIP_REASON = (
    f"{PG_ENV} not set: point it at any empty PostgreSQL database you may wipe, e.g. "
    f"{PG_ENV}=postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/leadbot_test "
    "(createdb leadbot_test first; each test drops and recreates its public schema)"
)


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def worker_database_url(url: str, worker: str) -> str:
    """The xdist worker's own database next to the one named in ``url``."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


async def create_database_if_missing(url: str, admin_url: str) -> None:
    """Create ``url``'s database, connected to ``admin_url``'s (needs CREATEDB, as CI has)."""
    name = make_url(url).database
    admin = Database(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            )
            if not found:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """In an xdist worker, point ``LEADBOT_TEST_PG_URL`` at the worker's own database, so
    every test, helper and subprocess that reads it gets that one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = pg_url()
    if not worker or not url or not url.startswith("postgresql"):
        return
    mine = worker_database_url(url, worker)
    asyncio.run(create_database_if_missing(mine, url))
    os.environ[PG_ENV] = mine


async def reset_postgres(url: str) -> None:
    """Each test starts from an empty schema, upgraded by the code under test."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()


# The migrated schema, built once per process (per xdist worker) and copied per test.
_SQLITE_MIGRATED: bytes | None = None
_PG_MIGRATED: dict[str, str] = {}


def _one_file(path: Path) -> bytes:
    assert not Path(f"{path}-wal").exists(), "the migrated template is not one file"
    return path.read_bytes()


async def migrated_sqlite(path: Path) -> Database:
    """A SQLite database at ``path`` as ``ensure_schema`` leaves it, from a copy of one
    migrated once; ``ensure_schema`` still runs (it finds the file at head)."""
    global _SQLITE_MIGRATED
    url = f"sqlite+aiosqlite:///{path}"
    if _SQLITE_MIGRATED is None:
        first = Database(url)
        await first.ensure_schema()
        await first.dispose()  # the last connection closed: WAL checkpointed into the file
        _SQLITE_MIGRATED = _one_file(path)
    else:
        path.write_bytes(_SQLITE_MIGRATED)  # noqa: ASYNC240  (a few hundred kB, local disk)
    database = Database(url)
    await database.ensure_schema()
    return database


def _pg_dump_sql(url: str) -> str | None:
    """The migrated public schema of ``url`` as SQL (``pg_dump --inserts``), or None when
    there is no pg_dump; psql's meta-commands (``\\restrict``) are left out."""
    if not shutil.which("pg_dump"):
        return None
    u = make_url(url)
    env = {**os.environ, "PGPASSWORD": u.password or ""}
    args = ["pg_dump", "--inserts", "--no-owner", "--no-privileges", "-n", "public"]
    args += ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or ""]
    done = subprocess.run([*args, u.database or ""], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return "\n".join(line for line in done.stdout.splitlines() if not line.startswith("\\"))


async def migrated_postgres(url: str) -> Database:
    """PostgreSQL at head from an empty public schema: Alembic's upgrade the first time in
    this process, then the dump of what it left (tables, rows, sequences) replayed."""
    sql = _PG_MIGRATED.get(url)
    if sql is None:
        await reset_postgres(url)
        database = Database(url)
        await database.upgrade()
        dumped = await asyncio.to_thread(_pg_dump_sql, url)
        if dumped is not None:
            _PG_MIGRATED[url] = dumped
        return database
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        async with conn.transaction():
            await conn.execute("DROP SCHEMA public CASCADE")
            await conn.execute(sql)  # the dump creates the schema again
    finally:
        await conn.close()
    return Database(url)


def _pg_url_or_skip() -> str:
    url = pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: PostgreSQL tests must run there")
        pytest.skip(PG_SKIP_REASON)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema) on each backend, for tests that migrate it themselves."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url = _pg_url_or_skip()
    await reset_postgres(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A database at the migrations' head on each backend."""
    if request.param == "sqlite":
        database = await migrated_sqlite(tmp_path / "test.db")
    else:
        database = await migrated_postgres(_pg_url_or_skip())
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await migrated_sqlite(tmp_path / "test.db")
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)
