"""Costs that follow the period (issue 16): every incremental path equals the full re-derivation.

A seeded history (``leadbot bench-data``, small: stages, reviews, duplicates, edits, activities,
on-time/late/missing weeks over two years) is read both ways: the digests and ``/score`` from
the period's rows only against the same from every unit's whole history; the weekly close in
short transactions, a late submission, an /adjust, a stage moved back and a week across the new
year, after which the ledger equals a full rescore and every stored span a full recompute.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from bot.assembly.config import Settings
from bot.operations import benchdata
from bot.services import digests, export, lead_updates, ranking, reminders, scoring
from bot.services.access import resolve_actor
from bot.services.weekly import WeeklyConfig
from storage import digest_repo, export_repo, scoring_repo
from storage.db import Database
from storage.models import Lead, LeadEvent, Unit, UnitScore, WeeklySubmission
from tests.unit.test_score_reads import reference_view
from tests.unit.test_scoring import assert_scores_match_full_recompute

SETTINGS = Settings(admins=[1000], rules_file="jiaocheng")
NOW = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)  # in 2027-W01, which began on 2026-12-31
MID_2026 = datetime(2026, 8, 20, 2, 0, tzinfo=UTC)  # a /score asked in August: later rows exist
# The seeded history is module-scoped (seconds to build): one worker runs the whole module,
# so under xdist it is built once, not once per worker.
pytestmark = pytest.mark.xdist_group("incremental")
LEADER = 900_000_001


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seeded history for the module (copied per test: the tests write)."""
    import asyncio

    path = tmp_path_factory.mktemp("incremental") / "seed.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.ensure_schema()
        size = benchdata.BenchSize(units=6, leads=400, ledger=2500, years=2, seed=7)
        await benchdata.write(db, scoring.setup_for(SETTINGS), NOW, size)
        await db.dispose()

    asyncio.run(build())
    return path


@pytest.fixture
def seeded_copy(seeded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "history.db"
    shutil.copyfile(seeded, copy)
    return copy


@pytest.fixture
async def history(seeded_copy: Path) -> AsyncIterator[Database]:
    copy = seeded_copy
    db = Database(f"sqlite+aiosqlite:///{copy}")
    yield db
    await db.dispose()


async def every_move(session: Any) -> Sequence[Any]:
    """Every report and stage move ever recorded, by lead and instant (the reference's read)."""
    stmt = (
        select(
            LeadEvent.lead_id,
            LeadEvent.kind,
            LeadEvent.at,
            LeadEvent.from_value,
            LeadEvent.to_value,
            LeadEvent.note,
        )
        .where(LeadEvent.kind.in_(("report", "stage")))
        .order_by(LeadEvent.lead_id, LeadEvent.at, LeadEvent.id)
    )
    return (await session.execute(stmt)).all()


async def full_period(
    session: Any,
    setup: scoring.ScoringSetup,
    unit_ids: Sequence[int],
    standing: Sequence[str] = (),
    **_which: Any,
) -> tuple[dict[int, scoring.UnitHistory], dict[int, list[Any]]]:
    """The reference: every unit's whole history, every lead's reports and stage moves (what
    collect read before), by lead."""
    histories = {u: await scoring.collect_unit(session, u, setup) for u in unit_ids}
    by_lead: dict[int, list[Any]] = {}
    for e in await every_move(session):
        by_lead.setdefault(e.lead_id, []).append(e)
    return histories, by_lead


async def timeline_verified(session: Any, start: datetime, end: datetime) -> dict[int, int]:
    """The reference for digest_repo.verified_counts: every unit's whole history, each counted
    lead's verification as its timeline dates it."""
    setup = scoring.setup_for(SETTINGS)
    found: dict[int, int] = {}
    for unit in await scoring_repo.units(session):
        history = await scoring.collect_unit(session, unit.id, setup)
        for tl in history.timelines.values():
            at = tl.verified_at
            if tl.lead.duplicate_of is None and at is not None and start <= at < end:
                found[unit.id] = found.get(unit.id, 0) + 1
    return found


async def events_notes(session: Any, since: datetime, before: datetime) -> list[Any]:
    """The reference for digest_repo.stage_notes: every stage move's note, filtered here."""
    return [
        (e.lead_id, e.at, e.note)
        for e in await every_move(session)
        if e.kind == "stage" and e.note and since <= e.at < before
    ]


def whole_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every digest read from the whole history (the reference the fast paths must equal)."""
    monkeypatch.setattr(scoring, "collect_period", full_period)
    monkeypatch.setattr(digest_repo, "verified_counts", timeline_verified)
    monkeypatch.setattr(digest_repo, "stage_notes", events_notes)


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("month", "2026-01"),
        ("month", "2025-12"),
        ("month", "2026-11"),
        ("quarter", "2026-Q1"),
        ("year", "2025"),
        ("half", "2026-11-H1"),
    ],
)
async def test_a_digest_from_the_periods_rows_equals_one_from_the_whole_history(
    history: Database, monkeypatch: pytest.MonkeyPatch, kind: str, key: str
) -> None:
    setup = scoring.setup_for(SETTINGS)
    async with history.session() as s:
        fast = await digests.collect(s, setup, NOW, kind, key)
    whole_history(monkeypatch)
    async with history.session() as s:
        full = await digests.collect(s, setup, NOW, kind, key)
    assert fast == full
    if isinstance(fast, digests.MonthReport):
        assert fast.progress and fast.total_year.effective  # old projects listed, the year counted


async def test_a_project_moved_back_after_the_month_is_still_in_that_months_table(
    history: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project at 在谈 or later at the end of November, moved back to the first stage in
    December, stands below every stage a figure reads now: the November table lists it all
    the same (the leads moved since the month's end are read too)."""
    setup = scoring.setup_for(SETTINGS)
    november = setup.periods.span("month", datetime(2026, 11, 15, tzinfo=UTC))
    async with history.session() as s:
        leader = await resolve_actor(s, SETTINGS, LEADER, "县领导", "zh")
        lead = (
            await s.scalars(
                select(Lead)
                .where(
                    Lead.stage.in_(setup.rules.stages[1:]),
                    Lead.duplicate_of.is_(None),
                    Lead.review != "rejected",
                    Lead.reported_at < november.start,
                )
                .order_by(Lead.id)
            )
        ).first()
        assert lead is not None
        lead_id = lead.id
    async with history.session() as s:
        await lead_updates.move_stage(
            s,
            november.end + timedelta(days=10),
            leader,
            lead_id,
            setup.rules.stages[0],
            "退回",
            SETTINGS,
        )
    async with history.session() as s:
        fast = await digests.collect(s, setup, NOW, "month", november.key)
    whole_history(monkeypatch)
    async with history.session() as s:
        full = await digests.collect(s, setup, NOW, "month", november.key)
    assert fast == full
    assert isinstance(fast, digests.MonthReport)
    assert lead_id in {p.lead.id for p in fast.progress}


TARGETS = Settings(
    admins=[1000],
    rules_file="jiaocheng",
    targets=[
        {"name": "招商培训", "count": 3, "activity": "training"},
        {"name": "有效意向", "count": 2, "activity": "intent", "only_verified": True},
        {"name": "项目签约", "count": 2, "stage": "签约"},
        {"name": "信息报送", "count": 20, "only_verified": True},  # reports: every lead's
    ],
)


def _done(report: Any) -> dict[tuple[int, str], int]:
    lines = report.lines if isinstance(report, digests.MonthReport) else report.reviews
    return {(line.unit.id, p.name): p.done for line in lines for p in line.pace}


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("month", "2026-01"),
        ("month", "2025-12"),
        ("month", "2026-11"),
        ("quarter", "2026-Q1"),
        ("year", "2025"),
    ],
)
async def test_targets_from_activities_counted_in_the_database_equal_the_rows(
    history: Database, monkeypatch: pytest.MonkeyPatch, kind: str, key: str
) -> None:
    """The reports count a year's activities in the database (by unit, kind and review, over
    the days whose noon falls in the span); the reference counts the units' activity rows."""
    setup = scoring.setup_for(TARGETS)
    async with history.session() as s:
        fast = await digests.collect(s, setup, NOW, kind, key)
    scan = ranking.targets_for
    whole_history(monkeypatch)
    monkeypatch.setattr(
        ranking, "targets_for", lambda setup, unit, h, span, counts=None: scan(setup, unit, h, span)
    )
    async with history.session() as s:
        full = await digests.collect(s, setup, NOW, kind, key)
    assert fast == full
    done = _done(fast)
    assert any(n for (_, name), n in done.items() if name == "招商培训")
    assert any(n for (_, name), n in done.items() if name == "信息报送")


async def test_score_of_the_year_from_its_rows_equals_the_whole_history(
    history: Database,
) -> None:
    """The reference reads every line and the unit's whole history (tests/unit/test_score_reads.py)."""
    setup = scoring.setup_for(SETTINGS)
    async with history.session() as s:
        leader = await resolve_actor(s, SETTINGS, LEADER, "县领导", "zh")
        units = [await ranking.find_unit(s, u.name) for u in await scoring_repo.units(s)]
        fast = [await ranking.unit_score(s, setup, MID_2026, leader, u.name, "year") for u in units]
        full = [await reference_view(s, setup, MID_2026, u, "year") for u in units]
    assert fast == full
    assert any(f.base for view in fast for f in view.funnel) and all(v.rules for v in fast)


async def test_the_place_score_gives_is_the_units_row_in_rank(history: Database) -> None:
    """/score asks one query for its place; it must be the unit's rank in /rank's table: ties
    share a place, a unit without a row scores 0 (above the negative ones), an inactive unit
    is placed last."""
    setup = scoring.setup_for(SETTINGS)
    async with history.session() as s:
        year = setup.periods.span("year", NOW).key
        tie = await s.scalar(
            select(UnitScore.points).where(
                UnitScore.unit_id == 1, UnitScore.kind == "year", UnitScore.key == year
            )
        )
        await s.execute(
            update(UnitScore)
            .where(UnitScore.unit_id == 2, UnitScore.kind == "year", UnitScore.key == year)
            .values(points=tie)
        )
        await s.execute(delete(UnitScore).where(UnitScore.unit_id == 3))
        await s.execute(update(Unit).where(Unit.id == 6).values(active=False))
    async with history.session() as s:
        leader = await resolve_actor(s, SETTINGS, LEADER, "县领导", "zh")
        inactive = (await s.scalars(select(Unit.name).where(Unit.id == 6))).one()
        for when in (NOW, MID_2026):
            for kind in scoring.RANK_KINDS:
                table = await ranking.rank(s, setup, when, kind)
                assert len(table.rows) == 5
                for row in table.rows:
                    assert await ranking.position(s, setup, when, kind, row.unit_id) == (
                        row.rank,
                        5,
                    ), (when, kind, row)
                view = await ranking.unit_score(s, setup, when, leader, inactive, kind)
                assert (view.rank, view.of_units) == (5, 5)
        ranks = [r.rank for r in (await ranking.rank(s, setup, NOW, "year")).rows]
        assert len(set(ranks)) < len(ranks)  # the tie made above is in the table


async def test_close_late_adjust_and_reversal_leave_the_ledger_a_full_rescore_would(
    history: Database,
) -> None:
    setup = scoring.setup_for(SETTINGS)
    cfg = WeeklyConfig.from_settings(SETTINGS, setup.periods)
    week = cfg.periods.week_of(NOW)
    assert week.start.astimezone(setup.zone).year == 2026 and week.deadline.year == 2027
    closing = week.deadline + timedelta(minutes=1)
    async with history.session() as s:
        await reminders.close_periods(s, closing, cfg, score=False)
        assert (
            await s.scalar(
                select(func.count())
                .select_from(WeeklySubmission)
                .where(
                    WeeklySubmission.period_key == week.key, WeeklySubmission.outcome == "missing"
                )
            )
            == 6
        )
    assert await reminders.score_closed_periods(history, closing, cfg) == 6
    assert await reminders.score_closed_periods(history, closing, cfg) == 0  # marked scored
    # A late week of last month, handed in now: the outcome changes, the unit's year is refreshed.
    late_key = cfg.periods.previous(cfg.periods.previous(cfg.periods.previous(week))).key
    async with history.session() as s:
        sub = (
            await s.scalars(
                select(WeeklySubmission).where(
                    WeeklySubmission.period_key == late_key, WeeklySubmission.unit_id == 2
                )
            )
        ).one()
        await s.execute(
            update(WeeklySubmission).where(WeeklySubmission.id == sub.id).values(outcome="late")
        )
        await scoring.refresh_after(s, 2, closing, SETTINGS)
    # An /adjust the day after the close, and a leader moving a signed lead back.
    async with history.session() as s:
        leader = await resolve_actor(s, SETTINGS, LEADER, "县领导", "zh")
        name = (await scoring_repo.units(s))[2].name
        await ranking.adjust(
            s, setup, closing + timedelta(days=1), leader, name, Decimal("-1.5"), "周报质量"
        )
        signed = (
            await s.scalars(select(Lead).where(Lead.stage == "签约").order_by(Lead.id))
        ).first()
        assert signed is not None
        first_stage = setup.rules.stages[0]
    async with history.session() as s:
        await lead_updates.move_stage(
            s,
            closing + timedelta(days=1, hours=1),
            leader,
            signed.id,
            first_stage,
            "退回",
            SETTINGS,
        )
    async with history.session() as s:
        moved = await s.scalar(
            select(func.count())
            .select_from(LeadEvent)
            .where(
                LeadEvent.lead_id == signed.id,
                LeadEvent.to_value == first_stage,
                LeadEvent.kind == "stage",
            )
        )
        assert moved == 1
    diffs = await scoring.rescore_all(history, setup, closing + timedelta(days=2))
    assert not any(d.added or d.removed for d in diffs), [d for d in diffs if d.added or d.removed]
    await assert_scores_match_full_recompute(history, setup)


async def test_a_month_export_holds_the_months_leads_and_all_holds_every_one(
    history: Database,
) -> None:
    setup = scoring.setup_for(SETTINGS)
    async with history.session() as s:
        month = await export.collect(s, setup, NOW, "month", "2026-06")
        whole = await export.collect(s, setup, NOW, "month", "2026-06", whole=True)
        span = setup.periods.span_by_key("month", "2026-06")
        reported = set(
            (
                await s.scalars(
                    select(Lead.id).where(
                        Lead.reported_at >= span.start, Lead.reported_at < span.end
                    )
                )
            ).all()
        )
        moved = set(
            (
                await s.scalars(
                    select(LeadEvent.lead_id).where(
                        LeadEvent.at >= span.start, LeadEvent.at < span.end
                    )
                )
            ).all()
        )
        every = await s.scalar(select(func.count()).select_from(Lead))
    assert {int(line.code[1:]) for line in month.leads} == reported | moved
    assert len(whole.leads) == every and every > len(month.leads) > 0
    assert month.ledger == whole.ledger and month.weekly == whole.weekly


async def test_the_whole_library_is_read_a_page_at_a_time_and_spilled_not_held(
    history: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = scoring.setup_for(SETTINGS)
    async with history.session() as s:
        at_once = await export.collect(s, setup, NOW, "month", "2026-06", whole=True)
        month_at_once = await export.collect(s, setup, NOW, "month", "2026-06")
        limits: list[int | None] = []
        real = export_repo.leads

        async def paged(*args: Any, **kw: Any) -> Any:
            limits.append(kw.get("limit"))
            return await real(*args, **kw)

        monkeypatch.setattr(export, "PAGE", 3)  # pages split leads with a stage history
        monkeypatch.setattr(export_repo, "leads", paged)
        whole = await export.collect(s, setup, NOW, "month", "2026-06", whole=True)
        month = await export.collect(s, setup, NOW, "month", "2026-06")
    assert isinstance(whole.leads, export.SpilledRows)  # on disk, not a list of every lead
    assert list(whole.leads) == list(whole.leads) == list(at_once.leads)  # walked twice
    assert any("→" in line.history for line in whole.leads)
    assert list(month.leads) == list(month_at_once.leads)
    assert len(limits) > len(whole.leads) // 3 and set(limits) == {3}


def test_export_arguments_ask_for_the_whole_library() -> None:
    assert export.parse_export_args("all") == export.ExportQuery("month", None, True)
    assert export.parse_export_args("全部 2026-Q3") == export.ExportQuery(
        "quarter", "2026-Q3", True
    )
