"""Health probes behind ``GET /healthz``.

A probe is ``async () -> (ok, detail)``. Probes are registered by name on the
application's :class:`HealthCheck` (``app.health``); a dotted name nests its result
(``scheduler.leader`` lands at ``body["scheduler"]["leader"]``). A probe's detail is
shown as given; an empty detail shows as ``true``/``false``. A ``reason`` key in the
detail is lifted into the top-level ``reason`` when the probe fails. Any failing
probe makes the whole answer ``503 {"status": "fail", …}``; a probe that raises or
takes longer than the timeout fails.

Registered by ``build_application``: ``database`` (a ``SELECT 1``), ``scheduler``
(the job runner ticks) and ``scheduler.leader`` (the leadership election). Code that
owns a queue adds its own, e.g.::

    async def outbox_probe() -> tuple[bool, dict]:
        backlog, failed = await outbox.counts()
        return failed == 0, {"backlog": backlog, "failed": failed}

    app.health.register("outbox", outbox_probe)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.assembly.clock import Clock
from scheduler.jobs import JobRunner
from storage.db import Database

ProbeResult = tuple[bool, dict[str, Any]]
Probe = Callable[[], Awaitable[ProbeResult]]
PROBE_TIMEOUT = 3.0
# The scheduler fails health when it has not ticked for this many ticks while it
# should be running (it is the leader and jobs are on): one slow job is tolerated,
# a stopped scheduler is not.
STALE_TICKS = 3


@dataclass
class HealthReport:
    ok: bool
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return 200 if self.ok else 503


class HealthCheck:
    """A registry of named async probes, run concurrently on each request."""

    def __init__(self, timeout: float = PROBE_TIMEOUT) -> None:
        self.timeout = timeout
        self._probes: dict[str, Probe] = {}

    def register(self, name: str, probe: Probe) -> None:
        """Add or replace the probe called ``name``."""
        if (
            not name
            or name.startswith(".")
            or name.endswith(".")
            or name == "status"
            or name == "reason"
        ):
            raise ValueError(f"bad probe name {name!r}")
        self._probes[name] = probe

    def unregister(self, name: str) -> None:
        self._probes.pop(name, None)

    @property
    def names(self) -> list[str]:
        return list(self._probes)

    async def run(self) -> HealthReport:
        names = sorted(self._probes)  # parents before their dotted children
        results = await asyncio.gather(*(self._run_one(self._probes[n]) for n in names))
        body: dict[str, Any] = {"status": "ok"}
        reasons: list[str] = []
        for name, (ok, detail) in zip(names, results, strict=True):
            detail = dict(detail)
            reason = detail.pop("reason", None)
            if not ok:
                reasons.append(f"{name}: {reason or 'failed'}")
            _place(body, name, detail if detail else ok)
        if reasons:
            body["status"] = "fail"
            body["reason"] = "; ".join(reasons)
        return HealthReport(not reasons, body)

    async def _run_one(self, probe: Probe) -> ProbeResult:
        try:
            ok, detail = await asyncio.wait_for(probe(), self.timeout)
            return bool(ok), detail or {}
        except TimeoutError:
            return False, {"reason": f"no answer within {self.timeout:g} s"}
        except Exception as exc:
            return False, {"reason": f"{type(exc).__name__}: {exc}"[:200]}


def _place(body: dict[str, Any], name: str, value: Any) -> None:
    *parents, leaf = name.split(".")
    node = body
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if child is None else {"ok": child}
            node[part] = child
        node = child
    if isinstance(node.get(leaf), dict) and isinstance(value, dict):
        node[leaf] = {**value, **node[leaf]}
    else:
        node[leaf] = value


def database_probe(db: Database) -> Probe:
    """``database: true`` when a ``SELECT 1`` succeeds."""

    async def probe() -> ProbeResult:
        if await db.ping():
            return True, {}
        return False, {"reason": "not reachable"}

    return probe


def scheduler_probe(
    jobs: JobRunner,
    clock: Clock,
    tick_seconds: float,
    running_since: Callable[[], datetime | None],
    stale_ticks: int = STALE_TICKS,
) -> Probe:
    """The job runner ticks while it should.

    ``running_since()`` is when this process started being responsible for the
    schedule (jobs on and leader), or None when it is not. Responsible and no tick
    (``jobs.last_run``) for more than ``stale_ticks × tick_seconds`` → fail.
    """
    limit = stale_ticks * tick_seconds

    async def probe() -> ProbeResult:
        since = running_since()
        last = jobs.last_run
        detail: dict[str, Any] = {
            "last_run": last.isoformat() if last else None,
            "running": since is not None,
        }
        if since is None:
            return True, detail
        reference = max(last, since) if last else since
        age = (clock.now() - reference).total_seconds()
        if age > limit:
            detail["reason"] = f"no run for {age:.0f} s (limit {limit:g} s)"
            return False, detail
        return True, detail

    return probe
