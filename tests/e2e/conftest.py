from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from storage.db import Database
from tests.e2e.harness import ADMIN, Harness


def make_settings(db_url: str, **extra: object) -> Settings:
    return Settings(
        admins=[ADMIN], database_url=db_url, tz="Asia/Shanghai", locale="zh_CN", **extra
    )


@pytest.fixture
async def harness(sqlite_db: Database, clock: ManualClock) -> AsyncIterator[Harness]:
    h = Harness(sqlite_db, clock, make_settings(sqlite_db.url))
    await h.start()
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture
async def world_harness(harness: Harness) -> Harness:
    """The demo jurisdiction, in one line."""
    await harness.seed()
    return harness
