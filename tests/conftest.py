"""Shared fixtures: a database on SQLite and, where available, PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

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


async def reset_postgres(url: str) -> None:
    """Each test starts from an empty schema, upgraded by the code under test."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url = pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: PostgreSQL tests must run there")
        pytest.skip(PG_SKIP_REASON)
    await reset_postgres(url)
    return url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.ensure_schema() if database.is_sqlite else await database.upgrade()
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await database.ensure_schema()
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)
