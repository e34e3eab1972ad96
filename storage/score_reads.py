"""The reads behind ``/score``: one unit's span in a few rows, its place, its latest lines,
the leads its targets and funnel look at.

``/score`` is asked of any unit at any time, on a ledger of millions of lines: each read here
costs O(the unit's rows in the span), never the unit's whole history. The statements are built
once, with bound parameters: building one (and its cache key) cost more than running it. They
run on the session's connection, as Core: plain column tuples, no ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Lead, LeadEvent, LedgerEntry, Unit, UnitScore
from storage.scoring_repo import TIMELINE_COLUMNS

_UNIT: BindParameter[int] = bindparam("unit_id")

# --- the span's lines, summed ------------------------------------------------------------------

_TIMED: BindParameter[list[str]] = bindparam("timed", expanding=True)
_FILLS_A_CAP = and_(LedgerEntry.module.in_(_TIMED), LedgerEntry.points > 0)
_SPAN_SUMS = (
    select(
        LedgerEntry.rule_id,
        LedgerEntry.module,
        func.sum(LedgerEntry.points).label("points"),
        func.min(LedgerEntry.at).label("at"),
    )
    .where(
        LedgerEntry.unit_id == _UNIT,
        LedgerEntry.voided_at.is_(None),
        LedgerEntry.at >= bindparam("since"),
        LedgerEntry.at < bindparam("end"),
        or_(LedgerEntry.at >= bindparam("start"), _FILLS_A_CAP),
    )
    .group_by(
        LedgerEntry.rule_id,
        LedgerEntry.module,
        LedgerEntry.points > 0,
        case((_FILLS_A_CAP, LedgerEntry.at), else_=None),
    )
)


async def span_sums(
    session: AsyncSession,
    unit_id: int,
    since: datetime,
    start: datetime,
    end: datetime,
    timed: Sequence[str],
) -> Sequence[Any]:
    """The unit's live lines for scoring ``[start, end)``, summed in the database, as light rows
    (rule_id, module, points, at): one row per rule, module and sign -- all the engine reads of
    a line no cap looks at -- except the positive lines of the ``timed`` modules (those a cap
    fills: :func:`bot.rules.engine.timed_modules`), one row per instant from ``since`` on (the
    start of the longest cap period: :func:`bot.rules.engine.history_start`).

    ``at`` is the earliest instant of the row's lines. The engine's total, modules, rules and
    caps come out as from the lines one by one (tests/unit/test_score_reads.py), from a few
    rows a unit instead of a year of lines. (SQLite sums the stored points as floats: at four
    decimals and these magnitudes the sum reads back as the exact decimal one.)"""
    params = {
        "unit_id": unit_id,
        "since": since,
        "start": start,
        "end": end,
        "timed": sorted(set(timed)),
    }
    return (await (await session.connection()).execute(_SPAN_SUMS, params)).all()


# --- the latest lines ----------------------------------------------------------------------------

_RECENT = (
    select(
        LedgerEntry.at,
        LedgerEntry.points,
        LedgerEntry.rule_id,
        LedgerEntry.note,
        LedgerEntry.manual,
    )
    .where(LedgerEntry.unit_id == _UNIT, LedgerEntry.voided_at.is_(None))
    .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
    .limit(bindparam("limit"))
)


async def recent_entries(session: AsyncSession, unit_id: int, limit: int) -> Sequence[Any]:
    """The unit's latest live lines, newest first, as light rows (at, points, rule_id, note,
    manual), through ``ix_ledger_unit_at``."""
    params = {"unit_id": unit_id, "limit": limit}
    return (await (await session.connection()).execute(_RECENT, params)).all()


# --- the place -----------------------------------------------------------------------------------

_KIND: BindParameter[str] = bindparam("kind")
_KEY: BindParameter[str] = bindparam("key")
_MINE = func.coalesce(
    select(UnitScore.points)
    .where(UnitScore.unit_id == _UNIT, UnitScore.kind == _KIND, UnitScore.key == _KEY)
    .scalar_subquery(),
    0,
)
_PLACE = (
    select(
        select(func.count(Unit.id)).where(Unit.active.is_(True)).scalar_subquery(),
        func.count(UnitScore.unit_id),
        func.coalesce(func.sum(case((UnitScore.points > _MINE, 1), else_=0)), 0),
        _MINE < 0,
        select(func.count(Unit.id))
        .where(Unit.id == _UNIT, Unit.active.is_(True))
        .scalar_subquery(),
    )
    .select_from(UnitScore)
    .join(Unit, Unit.id == UnitScore.unit_id)
    .where(UnitScore.kind == _KIND, UnitScore.key == _KEY, Unit.active.is_(True))
)


async def rank_position(
    session: AsyncSession, unit_id: int, kind: str, key: str
) -> tuple[int, int, bool]:
    """(active units scoring more than this one in the span, active units, whether it is one of
    them), in one query: the place without reading every unit's score.

    The span's rows are found through ``ix_unit_scores_kind_key`` (a probe of the primary key
    for every active unit cost more); a unit without a row scores 0, above a negative score."""
    params = {"unit_id": unit_id, "kind": kind, "key": key}
    found = (await (await session.connection()).execute(_PLACE, params)).one()
    units, scored, above, negative, ranked = found
    return int(above) + (int(units) - int(scored) if negative else 0), int(units), bool(ranked)


# --- the leads the targets and the funnel look at -----------------------------------------------

_SINCE: BindParameter[datetime] = bindparam("since")
_LEADS_SINCE = (
    select(*TIMELINE_COLUMNS, Lead.outside_share)
    .where(
        Lead.unit_id == _UNIT,
        or_(
            Lead.reported_at >= _SINCE,
            exists().where(LeadEvent.lead_id == Lead.id, LeadEvent.at >= _SINCE),
        ),
    )
    .order_by(Lead.id)
)
_HISTORY = (
    select(
        LeadEvent.id,
        LeadEvent.lead_id,
        LeadEvent.at,
        LeadEvent.kind,
        LeadEvent.from_value,
        LeadEvent.to_value,
        LeadEvent.field,
    )
    .where(LeadEvent.lead_id.in_(bindparam("ids", expanding=True)))
    .order_by(LeadEvent.lead_id, LeadEvent.at, LeadEvent.id)
)
CHUNK = 500


async def unit_leads_since(
    session: AsyncSession, unit_id: int, since: datetime
) -> tuple[Sequence[Any], list[Any]]:
    """(the unit's leads reported, or with any history, at or after ``since``; their whole
    history, ordered by lead, instant, id) as light rows (``TIMELINE_COLUMNS`` of
    storage/scoring_repo.py and ``outside_share``; id, lead_id, at, kind, from_value, to_value,
    field): the leads :func:`storage.scoring_repo.unit_leads_active_since` finds, probed
    through ``ix_lead_events_lead_at``, without building their ORM objects."""
    conn = await session.connection()
    leads = (await conn.execute(_LEADS_SINCE, {"unit_id": unit_id, "since": since})).all()
    ids = [lead.id for lead in leads]
    events: list[Any] = []
    for i in range(0, len(ids), CHUNK):  # ascending ids: the chunks' rows stay in order
        events += (await conn.execute(_HISTORY, {"ids": ids[i : i + CHUNK]})).all()
    return leads, events
