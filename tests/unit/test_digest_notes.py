"""What the reports read, on SQLite and PostgreSQL: the weekly progress notes (项目进展; only the
accepted versions with entries come back, and only their entries — the notes the report found
when it parsed every accepted version of the year), and whole reports of a seeded jurisdiction
read the fast way against the whole history."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.operations import benchdata
from bot.services import digests
from storage import digest_repo
from storage.db import Database
from storage.models import Lead, Unit, WeeklySubmission, WeeklyVersion
from tests.conftest import PG_SKIP_REASON, pg_url, reset_postgres

collect_module = importlib.import_module(
    "bot.services.digests.collect"
)  # the name is the function's
T = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
CONTENTS: list[dict[str, Any] | None] = [
    {"work": "走访", "trips": [], "progress": []},
    {
        "work": "对接",
        "progress": [{"lead": 7, "text": "完成签约，问题：用地指标", "stage": "签约"}],
    },
    {"work": "无进展键"},
    {"progress": None},
    {
        "progress": [
            {"lead": 8, "text": ""},
            {"lead": None, "text": "无项目"},
            {"lead": 9, "text": "x"},
        ]
    },
    {"progress": [{"lead": 3, "text": "  空格 [] 与 “引号”  "}]},
]


async def _seed(db: Database) -> None:
    async with db.session() as s, s.begin():
        unit = Unit(name="经济发展局", created_at=T)
        s.add(unit)
        await s.flush()
        for i, content in enumerate(CONTENTS):
            sub = WeeklySubmission(unit_id=unit.id, period_key=f"2026-W{30 + i}", updated_at=T)
            s.add(sub)
            await s.flush()
            for number in (1, 2):  # the second version is the accepted one
                version = WeeklyVersion(
                    submission_id=sub.id,
                    number=number,
                    content=content if number == 2 else {"progress": [{"lead": 1, "text": "旧版"}]},
                    submitted_by_tg=1,
                    submitted_by_name="联络员",
                    submitted_at=T + timedelta(days=i, hours=number),
                    status="accepted" if number == 2 else "returned",
                )
                s.add(version)
                await s.flush()
                if number == 2:
                    sub.accepted_version_id = version.id


async def _every_version(session: Any, since: datetime, before: datetime) -> list[Any]:
    """The reference read: every accepted version of the window, its whole content parsed."""
    stmt = (
        select(WeeklySubmission.unit_id, WeeklyVersion.submitted_at, WeeklyVersion.content)
        .join(WeeklyVersion, WeeklyVersion.id == WeeklySubmission.accepted_version_id)
        .where(WeeklyVersion.submitted_at >= since, WeeklyVersion.submitted_at < before)
        .order_by(WeeklyVersion.submitted_at, WeeklyVersion.id)
    )
    rows = (await session.execute(stmt)).all()
    return [(u, at, (c or {}).get("progress") or []) for u, at, c in rows]


async def test_only_the_accepted_versions_entries_come_back(db: Database) -> None:
    await _seed(db)
    async with db.session() as s:
        found = await digest_repo.accepted_progress(s, T, T + timedelta(days=30))
        everything = (
            await s.execute(select(WeeklyVersion.content, WeeklyVersion.submitted_at))
        ).all()
    assert [(at.day, entries) for _, at, entries in found] == [
        (6, CONTENTS[1]["progress"]),  # type: ignore[index]
        (9, CONTENTS[4]["progress"]),  # type: ignore[index]
        (10, CONTENTS[5]["progress"]),  # type: ignore[index]
    ]
    assert len(everything) == 2 * len(CONTENTS)  # the returned versions were there to skip
    async with db.session() as s:  # the window: [since, before)
        assert await digest_repo.accepted_progress(s, T + timedelta(days=1, hours=2), T) == []
        later = await digest_repo.accepted_progress(
            s, T + timedelta(days=1, hours=3), T + timedelta(days=30)
        )
    assert [at.day for _, at, _ in later] == [9, 10]


async def test_the_notes_are_those_every_version_parsed_gave(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's notes against the reference: every accepted version's whole content parsed."""
    await _seed(db)

    before = T + timedelta(days=30)
    async with db.session() as s:
        fast = await collect_module._notes(s, before)
    monkeypatch.setattr(digest_repo, "accepted_progress", _every_version)
    async with db.session() as s:
        full = await collect_module._notes(s, before)
    assert fast == full
    assert [(n.lead_id, n.text) for n in fast] == [
        (7, "完成签约，问题：用地指标"),
        (9, "x"),
        (3, "  空格 [] 与 “引号”  "),
    ]
    assert all(n.source == "weekly" for n in fast) and digests.NOTE_LOOKBACK.days == 366


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_seeded_month_and_year_read_the_fast_way_equal_the_whole_history(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On each backend: the period's leads and events (Core rows, the events by lead), the
    activities counted by the database and the weekly notes picked out of the JSON give the
    reports the whole history gives (every unit's rows, every activity row, every version)."""
    from bot.services import ranking, scoring
    from tests.unit.test_incremental import NOW, TARGETS, full_period, timeline_verified

    url = f"sqlite+aiosqlite:///{tmp_path / 'seed.db'}" if backend == "sqlite" else pg_url()
    if not url:
        pytest.skip(PG_SKIP_REASON)
    if backend == "postgresql":
        await reset_postgres(url)
    setup = scoring.setup_for(TARGETS)
    db = Database(url)
    try:
        await db.upgrade()
        size = benchdata.BenchSize(units=5, leads=300, ledger=2000, years=2, seed=5)
        await benchdata.write(db, setup, NOW, size)
        async with db.session() as s, s.begin():  # a few weekly notes on listed projects
            lead_ids = (await s.scalars(select(Lead.id).where(Lead.stage != "线索"))).all()
            versions = (
                await s.scalars(
                    select(WeeklyVersion)
                    .join(
                        WeeklySubmission, WeeklySubmission.accepted_version_id == WeeklyVersion.id
                    )
                    .order_by(WeeklyVersion.id.desc())
                    .limit(40)
                )
            ).all()
            for version, lead_id in zip(versions, lead_ids, strict=False):
                version.content = {
                    **version.content,
                    "progress": [{"lead": lead_id, "text": f"推进{lead_id}，问题：资金"}],
                }
        reports = {}
        for kind, key in (("month", "2026-11"), ("month", "2026-12"), ("year", "2026")):
            async with db.session() as s:
                reports[kind, key] = await digests.collect(s, setup, NOW, kind, key)
        scan = ranking.targets_for
        with monkeypatch.context() as m:
            m.setattr(scoring, "collect_period", full_period)
            m.setattr(ranking, "targets_for", lambda st, u, h, sp, counts=None: scan(st, u, h, sp))
            m.setattr(digest_repo, "accepted_progress", _every_version)
            m.setattr(digest_repo, "verified_counts", timeline_verified)
            for (kind, key), fast in reports.items():
                async with db.session() as s:
                    assert await digests.collect(s, setup, NOW, kind, key) == fast, (kind, key)
        month = reports["month", "2026-12"]
        assert isinstance(month, digests.MonthReport)
        assert any(p.note and p.note.source == "weekly" for p in month.progress)
    finally:
        await db.dispose()
