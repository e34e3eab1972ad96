"""Rescoring after a rules change (``leadbot rescore``) and the rules fingerprint that
tells a restart the rules changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.services.scoring.refresh import refresh_unit
from bot.services.scoring.setup import STATE_KEY, STATE_KIND, ScoringSetup
from storage import repo, scoring_repo


@dataclass(frozen=True)
class UnitDiff:
    unit_id: int
    unit_name: str
    added: int
    removed: int
    before: Decimal  # the unit's live points in the ledger, all time
    after: Decimal


async def rescore_unit(
    session: Any, setup: ScoringSetup, unit_id: int, unit_name: str, now: datetime
) -> UnitDiff:
    rows = await scoring_repo.live_entries(session, unit_id)
    before = sum((r.points for r in rows), Decimal(0))
    result = await refresh_unit(
        session, unit_id, setup, None, now, reason="rescore", full_scores=True
    )
    return UnitDiff(
        unit_id, unit_name, len(result.added), len(result.removed), before, before + result.delta
    )


async def rescore_all(db: Any, setup: ScoringSetup, now: datetime) -> list[UnitDiff]:
    """Every unit, one transaction each (a long run never holds one lock on everything)."""
    async with db.session() as session:
        units = [(u.id, u.name) for u in await repo.units(session, include_inactive=True)]
    diffs = []
    for unit_id, name in units:
        async with db.session() as session:
            diffs.append(await rescore_unit(session, setup, unit_id, name, now))
    async with db.session() as session:
        await remember_rules(session, setup, now)
    return diffs


async def remember_rules(session: Any, setup: ScoringSetup, now: datetime) -> None:
    await repo.persist(
        session,
        STATE_KIND,
        STATE_KEY,
        {"fingerprint": setup.fingerprint, "source": setup.source},
        now,
    )


async def rules_changed(session: Any, setup: ScoringSetup) -> bool:
    """True when the ledger was last derived under another rules file (run ``leadbot rescore``)."""
    stored = await repo.persisted_one(session, STATE_KIND, STATE_KEY)
    return stored is not None and stored.get("fingerprint") != setup.fingerprint


async def note_rules(session: Any, setup: ScoringSetup, now: datetime) -> bool:
    """At start-up: remember the rules on a fresh database; say whether a rescore is due."""
    stored = await repo.persisted_one(session, STATE_KIND, STATE_KEY)
    if stored is None:
        await remember_rules(session, setup, now)
        return False
    return stored.get("fingerprint") != setup.fingerprint
