"""The jurisdiction's conversion funnel for the dashboard (seed 003: 签约→开工 ≥ 75 %, 开工→入统 ≥ 80 %).

Read from the stage events of the leads that reached the first stage in the year, so
its cost follows that year's events, not the whole history. A skipped stage counts as
reached at the move, as in scoring; duplicates are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.periods import Span
from storage.models import Lead, LeadEvent

BENCHMARKS = (Decimal(75), Decimal(80))


@dataclass(frozen=True)
class FunnelStep:
    from_stage: str
    to_stage: str
    base: int
    reached: int
    rate: Decimal | None
    benchmark: Decimal

    @property
    def below(self) -> bool:
        return self.rate is not None and self.rate < self.benchmark


async def jurisdiction_funnel(
    session: AsyncSession, stages: Sequence[str], funnel: tuple[str, str, str], year: Span
) -> tuple[FunnelStep, ...]:
    if not all(s in stages for s in funnel):
        return ()
    index = {s: i for i, s in enumerate(stages)}
    first = index[funnel[0]]
    stmt = (
        select(LeadEvent.lead_id, LeadEvent.at, LeadEvent.to_value)
        .join(Lead, Lead.id == LeadEvent.lead_id)
        .where(
            Lead.duplicate_of.is_(None),
            LeadEvent.kind.in_(("report", "stage")),
            LeadEvent.to_value.in_(list(stages[first:])),
            LeadEvent.at < year.end,
        )
        .order_by(LeadEvent.lead_id, LeadEvent.at, LeadEvent.id)
    )
    top: dict[int, int] = {}
    reached_first: dict[int, datetime] = {}
    for lead_id, at, to_value in (await session.execute(stmt)).all():
        level = index[str(to_value)]
        top[lead_id] = level  # the last move decides (a leader may move a lead back)
        if level >= first:
            reached_first.setdefault(lead_id, at)
    base_ids = [i for i, at in reached_first.items() if year.contains(at)]
    steps = []
    for (a, b), benchmark in zip(
        ((funnel[0], funnel[1]), (funnel[1], funnel[2])), BENCHMARKS, strict=True
    ):
        base = [i for i in base_ids if top[i] >= index[a]] if a != funnel[0] else base_ids
        reached = sum(1 for i in base if top[i] >= index[b])
        rate = (Decimal(reached) * 100 / len(base)).quantize(Decimal(1)) if base else None
        steps.append(FunnelStep(a, b, len(base), reached, rate, benchmark))
    return tuple(steps)
