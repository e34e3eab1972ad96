"""Scheduler leadership: one leader per database; a follower takes over when it dies."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.assembly.clock import ManualClock
from scheduler.jobs import JobRunner
from scheduler.leader import LOCK_KEY, LeaderElection, tick_when_leader
from tests.conftest import PG_ENV, PG_SKIP_REASON, pg_url

# Several bot processes against the real clock, with bounds on a takeover: under xdist these
# modules share one worker (--dist loadgroup), so no two of them start processes at once.
pytestmark = pytest.mark.xdist_group("processes")

ROOT = Path(__file__).resolve().parents[2]
RETRY, TAKEOVER = 0.2, 2.0
# One process of the election, reporting its state changes on stdout.
WORKER = """
import asyncio, sys
from scheduler.leader import LeaderElection

async def main() -> None:
    election = LeaderElection(sys.argv[1], retry_seconds=float(sys.argv[2]), takeover_seconds=float(sys.argv[3]))
    election.listeners.append(lambda leader: print("leader" if leader else "follower", flush=True))
    await election.start()
    if not election.is_leader:
        print("follower", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _pg_or_skip() -> str:
    url = pg_url()
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: PostgreSQL tests must run there")
        pytest.skip(PG_SKIP_REASON)
    return url


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def spawn(started: list[asyncio.subprocess.Process], url: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WORKER,
        url,
        str(RETRY),
        str(TAKEOVER),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    started.append(proc)
    return proc


async def next_state(proc: asyncio.subprocess.Process, timeout: float = 15.0) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout)
    assert line, f"the election process exited ({proc.returncode})"
    return line.decode().strip()


async def test_killing_the_leader_hands_the_schedule_to_the_other_process(
    processes: list[asyncio.subprocess.Process],
) -> None:
    url = _pg_or_skip()
    a = await spawn(processes, url)
    assert await next_state(a) == "leader"
    b = await spawn(processes, url)
    assert await next_state(b) == "follower"

    a.kill()  # SIGKILL: no clean-up, the lock goes with the connection
    killed_at = time.monotonic()
    await a.wait()
    assert await next_state(b, timeout=TAKEOVER + 5) == "leader"
    took = time.monotonic() - killed_at
    assert took <= TAKEOVER, f"takeover took {took:.2f} s"


async def test_one_leader_at_a_time_and_a_clean_stop_hands_over(clock: ManualClock) -> None:
    url = _pg_or_skip()
    key = LOCK_KEY + 1  # not the production key: stray test processes cannot interfere
    first = LeaderElection(
        url, retry_seconds=RETRY, takeover_seconds=TAKEOVER, clock=clock, key=key
    )
    second = LeaderElection(
        url, retry_seconds=RETRY, takeover_seconds=TAKEOVER, clock=clock, key=key
    )
    try:
        await first.start()
        await second.start()
        assert first.is_leader and not second.is_leader
        assert first.leader_since == clock.now() and second.leader_since is None
        ok, detail = await second.probe()
        assert ok and detail == {
            "is_leader": False,
            "since": None,
            "mode": "postgresql-advisory-lock",
        }

        changes: list[bool] = []
        took_over = asyncio.Event()
        second.listeners.append(lambda leader: (changes.append(leader), took_over.set()))
        await first.stop()
        assert not first.is_leader
        await asyncio.wait_for(took_over.wait(), TAKEOVER)
        assert second.is_leader and changes == [True]
    finally:
        await first.stop()
        await second.stop()


async def test_an_unreachable_database_means_no_leader_and_a_failing_probe() -> None:
    election = LeaderElection(
        "postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none",
        retry_seconds=RETRY,
        takeover_seconds=TAKEOVER,
    )
    try:
        await election.start()
        assert not election.is_leader
        ok, detail = await election.probe()
        assert not ok and "cannot reach the database" in detail["reason"]
    finally:
        await election.stop()


async def test_sqlite_process_is_always_the_leader(tmp_path: Path, clock: ManualClock) -> None:
    election = LeaderElection(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", clock=clock)
    assert not election.is_leader  # not before it takes part
    await election.start()
    try:
        assert election.is_leader and election.leader_since == clock.now()
        assert await election.probe() == (
            True,
            {"is_leader": True, "since": clock.now().isoformat(), "mode": "single-process"},
        )
    finally:
        await election.stop()
    assert not election.is_leader


class _Leader:
    def __init__(self, leader: bool) -> None:
        self.is_leader = leader


@pytest.mark.parametrize("leader", [True, False])
async def test_jobs_tick_only_on_the_leader(clock: ManualClock, leader: bool) -> None:
    jobs = JobRunner(clock)
    ran = asyncio.Event()

    async def job(now: object) -> None:
        ran.set()

    jobs.add("probe", timedelta(hours=1), job)
    gate = _Leader(leader)
    scheduler = tick_when_leader(jobs, gate, 0.02)  # type: ignore[arg-type]
    try:
        if leader:
            await asyncio.wait_for(ran.wait(), 5)
            assert jobs.last_run == clock.now()
        else:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ran.wait(), 0.3)  # a dozen ticks, none of them ran the job
            assert jobs.last_run is None
    finally:
        scheduler.shutdown(wait=False)
