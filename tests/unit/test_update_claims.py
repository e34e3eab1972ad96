"""Update ids handled once: memory decides on SQLite, rows are written behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.assembly.clock import ManualClock
from storage import repo
from storage.claims import UpdateClaims
from storage.db import Database

T0 = datetime(2026, 3, 5, 9, tzinfo=UTC)


async def recorded(db: Database) -> list[int]:
    async with db.session() as s:
        return await repo.recent_update_ids(s, 1000)


async def test_first_claim_wins_and_rows_follow(db: Database, clock: ManualClock) -> None:
    claims = UpdateClaims(db, flush_after=0.01)
    await claims.load()
    assert await claims.claim(1, clock.now())
    assert not await claims.claim(1, clock.now())
    assert await claims.claim(2, clock.now())
    await claims.close()
    assert sorted(await recorded(db)) == [1, 2]


async def test_a_restart_remembers_what_was_written(
    sqlite_db: Database, clock: ManualClock
) -> None:
    first = UpdateClaims(sqlite_db)
    assert await first.claim(41, clock.now())
    await first.close()
    second = UpdateClaims(sqlite_db)
    await second.load()
    assert not await second.claim(41, clock.now())
    assert await second.claim(42, clock.now())
    await second.close()


async def test_close_waits_for_a_write_under_way(sqlite_db: Database, clock: ManualClock) -> None:
    """Shutting down mid-write must neither cancel the write nor lose later claims."""
    claims = UpdateClaims(sqlite_db, flush_after=0)
    assert await claims.claim(1, clock.now())
    await asyncio.sleep(0)  # the write-behind timer fires; its write starts
    assert await claims.claim(2, clock.now())  # claimed while the first batch is being written
    await asyncio.wait_for(claims.close(), 10)
    assert sorted(await recorded(sqlite_db)) == [1, 2]


async def test_a_failed_write_keeps_the_ids_for_the_next(
    sqlite_db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def disk_full(*_: object) -> None:
        raise OSError("disk full")

    claims = UpdateClaims(sqlite_db, flush_after=0.001)
    with monkeypatch.context() as patch:
        patch.setattr(repo, "record_updates", disk_full)
        assert await claims.claim(5, clock.now())
        await asyncio.sleep(0.05)  # the timed write fails and is logged; the id is kept
        assert await recorded(sqlite_db) == []
    await claims.close()
    assert await recorded(sqlite_db) == [5]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=30), max_size=60))
def test_exactly_the_first_of_each_id_is_claimed(ids: list[int]) -> None:
    claims = UpdateClaims(Database("sqlite+aiosqlite:///:memory:"), flush_after=3600)

    async def claim_all() -> list[bool]:
        return [await claims.claim(i, T0) for i in ids]  # no write is due within the test

    seen: set[int] = set()
    expected = []
    for i in ids:
        expected.append(i not in seen)
        seen.add(i)
    assert asyncio.run(claim_all()) == expected
