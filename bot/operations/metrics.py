"""Prometheus metrics on a registry owned by the application (never the global one).

``build_application`` creates one :class:`Metrics` as ``app.metrics`` and feeds it
every handled update. Other code increments the counters it owns::

    app.metrics.outbox_sent.inc()
    app.metrics.reminders_due.inc(len(due))

and plugs in values that are read at scrape time::

    app.metrics.set_leads_by_stage(async_fn_returning_stage_counts)
    app.metrics.gauge_callback("leadbot_something", "what it is", lambda: 3.0)

``GET /metrics`` on the webhook server calls :meth:`Metrics.render`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

log = logging.getLogger(__name__)

StageCounts = Callable[[], Awaitable[Mapping[str, int]]]
UPDATE_TYPES = ("message", "callback_query", "my_chat_member")
SOURCE_TIMEOUT = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


async def _no_stages() -> Mapping[str, int]:
    return {}


def update_type(update: Any) -> str:
    """message / callback_query / my_chat_member / other: the label of leadbot_updates_total."""
    for kind in UPDATE_TYPES:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.updates = Counter(
            "leadbot_updates",
            "Telegram updates handled, by update type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.update_seconds = Histogram(
            "leadbot_update_seconds",
            "Time to handle one update, handlers and persistence included",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.outbox_sent = Counter(
            "leadbot_outbox_sent", "Outbox messages delivered to Telegram", registry=r
        )
        self.outbox_retried = Counter(
            "leadbot_outbox_retried", "Outbox sends retried (429, network, 5xx)", registry=r
        )
        self.outbox_failed = Counter(
            "leadbot_outbox_failed", "Outbox messages given up on", registry=r
        )
        self.reminders_due = Counter("leadbot_reminders_due", "Reminders that came due", registry=r)
        self.reminders_sent = Counter("leadbot_reminders_sent", "Reminders sent", registry=r)
        for outcome in ("ok", "error"):  # so rate() has a zero to start from
            for kind in (*UPDATE_TYPES, "other"):
                self.updates.labels(type=kind, outcome=outcome)
        self._stage_source: StageCounts = _no_stages
        self._stages: Mapping[str, int] = {}
        self._gauges: dict[str, tuple[str, Callable[[], float | None]]] = {}
        r.register(_ScrapeTimeCollector(self))

    # -- fed by the application -------------------------------------------------
    def observe_update(self, update: Any, outcome: str, elapsed: float) -> None:
        """An ``app.update_listeners`` entry."""
        self.updates.labels(type=update_type(update), outcome=outcome).inc()
        self.update_seconds.observe(elapsed)

    # -- values read at scrape time -------------------------------------------------
    def set_leads_by_stage(self, source: StageCounts) -> None:
        """``async () -> {stage: count}``; awaited on each scrape (with a timeout)."""
        self._stage_source = source

    def gauge_callback(
        self, name: str, documentation: str, read: Callable[[], float | None]
    ) -> None:
        """A gauge whose value is ``read()`` at scrape time; None leaves it out."""
        self._gauges[name] = (documentation, read)

    def watch_pool(self, pool: Callable[[], Any]) -> None:
        """``leadbot_db_pool_in_use``: connections checked out of a SQLAlchemy pool."""

        def in_use() -> float | None:
            checkedout = getattr(pool(), "checkedout", None)
            return float(checkedout()) if callable(checkedout) else None

        self.gauge_callback(
            "leadbot_db_pool_in_use", "Database connections checked out of the pool", in_use
        )

    async def refresh(self) -> None:
        try:
            self._stages = dict(await asyncio.wait_for(self._stage_source(), SOURCE_TIMEOUT))
        except Exception:
            log.warning("leads-by-stage source failed; the gauge is left out", exc_info=True)
            self._stages = {}

    async def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        await self.refresh()
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _collect(self) -> Iterator[Metric]:
        stages = GaugeMetricFamily(
            "leadbot_leads_by_stage", "Active leads by stage", labels=["stage"]
        )
        for stage, count in self._stages.items():
            stages.add_metric([stage], float(count))
        yield stages
        for name, (documentation, read) in self._gauges.items():
            try:
                value = read()
            except Exception:
                log.warning("gauge %s failed", name, exc_info=True)
                continue
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=float(value))


class _ScrapeTimeCollector:
    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        return self._metrics._collect()
