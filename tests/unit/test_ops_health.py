"""/healthz probes: the registry's answer, and when the scheduler counts as stuck."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.assembly.clock import ManualClock
from bot.operations.health import HealthCheck, scheduler_probe
from scheduler.jobs import JobRunner


async def ok_probe() -> tuple[bool, dict[str, Any]]:
    return True, {}


async def test_all_probes_ok_is_status_ok_and_empty_details_read_as_booleans() -> None:
    health = HealthCheck()
    health.register("database", ok_probe)
    report = await health.run()
    assert report.ok and report.status == 200
    assert report.body == {"status": "ok", "database": True}


async def test_dotted_names_nest_and_a_failure_gives_503_with_a_reason() -> None:
    async def scheduler() -> tuple[bool, dict[str, Any]]:
        return True, {"last_run": None}

    async def leader() -> tuple[bool, dict[str, Any]]:
        return False, {"is_leader": False, "reason": "election cannot reach the database"}

    health = HealthCheck()
    health.register("scheduler.leader", leader)
    health.register("scheduler", scheduler)
    report = await health.run()
    assert report.status == 503
    assert report.body == {
        "status": "fail",
        "scheduler": {"last_run": None, "leader": {"is_leader": False}},
        "reason": "scheduler.leader: election cannot reach the database",
    }


async def test_a_probe_that_raises_or_hangs_fails_instead_of_hanging_healthz() -> None:
    async def broken() -> tuple[bool, dict[str, Any]]:
        raise RuntimeError("no table outbox")

    async def hangs() -> tuple[bool, dict[str, Any]]:
        await asyncio.Event().wait()
        return True, {}

    health = HealthCheck(timeout=0.05)
    health.register("outbox", broken)
    health.register("slow", hangs)
    health.register("database", ok_probe)
    report = await health.run()
    assert not report.ok and report.body["database"] is True
    assert report.body["outbox"] is False and report.body["slow"] is False
    assert "outbox: RuntimeError: no table outbox" in report.body["reason"]
    assert "slow: no answer within 0.05 s" in report.body["reason"]


async def test_scheduler_fails_after_three_missed_ticks_only_while_it_should_run(
    clock: ManualClock,
) -> None:
    jobs = JobRunner(clock)
    since: list[Any] = [None]
    probe = scheduler_probe(jobs, clock, tick_seconds=5, running_since=lambda: since[0])

    assert await probe() == (
        True,
        {"last_run": None, "running": False},
    )  # a follower: nothing expected
    since[0] = clock.now()
    clock.advance(timedelta(seconds=15))
    assert (await probe())[0]  # not yet ticked, but within 3 × 5 s
    clock.advance(timedelta(seconds=1))
    ok, detail = await probe()
    assert not ok and detail["reason"] == "no run for 16 s (limit 15 s)"

    await jobs.run_due()
    assert await probe() == (True, {"last_run": clock.now().isoformat(), "running": True})
    clock.advance(timedelta(seconds=20))
    assert not (await probe())[0]
    since[0] = None  # lost leadership: a stale last_run is not this process's problem
    assert (await probe())[0]
