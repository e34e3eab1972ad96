"""Stage nodes fall due with the passage of time: the job that brings those units' points along.

A lead that stays in a stage past the rules file's ``[stage_deadlines]`` becomes
overdue (``stage_overdue``, see :mod:`bot.rules.schedule`) without anybody doing
anything, so no service hook refreshes its unit.  Any refresh of the unit picks
the overdue node up (:func:`bot.services.scoring.collect_unit` is given ``now``);
this job makes sure one happens soon after the deadline:

* it remembers, in the database, the instant up to which it has looked
  (``persisted_data`` scoring/stage-nodes), so a restart neither skips a
  deadline that passed while the bot was down nor needs to look again;
* it asks the database only for the leads now sitting in a stage with a
  deadline that were reported or moved recently enough for their stay to run
  out after that instant, works out their nodes, and refreshes only the units
  with a node that fell due since -- each in its own transaction, from the
  earliest such deadline on;
* the mark moves only after every unit was refreshed; a run cut short is simply
  repeated, and the ledger's reconcile makes a second refresh a no-op.

A lead that moved on late needs no job: the move's own refresh records the
overdue node, dated at the deadline.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from bot.rules.schedule import max_deadline, overdue_nodes
from bot.services import scoring
from bot.services.scoring import ScoringSetup
from storage import repo, scoring_repo

log = logging.getLogger(__name__)

STATE_KIND, STATE_KEY = "scoring", "stage-nodes"


async def checked_until(session: Any) -> datetime | None:
    stored = await repo.persisted_one(session, STATE_KIND, STATE_KEY)
    return datetime.fromisoformat(stored["until"]) if stored and stored.get("until") else None


async def units_fallen_due(
    session: Any, setup: ScoringSetup, after: datetime | None, now: datetime
) -> dict[int, datetime]:
    """{unit id: its earliest node that fell due in (after, now]}; ``after`` None: any time up to now."""
    rules = setup.rules
    if not rules.stage_deadlines:
        return {}
    since = None if after is None else after - max_deadline(rules)
    leads = await scoring_repo.leads_sitting_in(session, list(rules.stage_deadlines), since)
    events = await scoring_repo.lead_events_of(session, [lead.id for lead in leads])
    by_lead: dict[int, list[Any]] = defaultdict(list)
    for e in events:
        by_lead[e.lead_id].append(e)
    due: dict[int, datetime] = {}
    for lead in leads:
        tl = scoring.lead_timeline(lead, by_lead.get(lead.id, []), rules.stages)
        for node in overdue_nodes(rules, tl.reached, now):
            if after is None or node.due > after:
                due[lead.unit_id] = min(due.get(lead.unit_id, node.due), node.due)
    return due


async def refresh_fallen_due(db: Any, setup: ScoringSetup, now: datetime) -> dict[int, datetime]:
    """The job: refresh every unit with a node that fell due since the last run; returns {unit: earliest}."""
    async with db.session() as session:
        after = await checked_until(session)
        if after is not None and after >= now:
            return {}
        due = await units_fallen_due(session, setup, after, now)
    for unit_id, first in sorted(due.items()):
        async with db.session() as session:
            result = await scoring.refresh_unit(
                session, unit_id, setup, None, now, reason="stage-nodes", since=first
            )
        if result.added or result.removed:
            log.info(
                "stage nodes: unit %s +%d/-%d ledger lines",
                unit_id,
                len(result.added),
                len(result.removed),
            )
    async with db.session() as session:
        await repo.persist(session, STATE_KIND, STATE_KEY, {"until": now.isoformat()}, now)
    return due
