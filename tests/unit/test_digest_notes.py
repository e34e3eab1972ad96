"""The month report's weekly progress notes (项目进展) read from the database: only the accepted
versions with entries come back, and only their entries, on SQLite and PostgreSQL — the same
notes the report found when it parsed every accepted version of the year."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.services import digests
from storage import digest_repo
from storage.db import Database
from storage.models import Unit, WeeklySubmission, WeeklyVersion

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

    async def every_version(session: Any, since: datetime, before: datetime) -> list[Any]:
        stmt = (
            select(WeeklySubmission.unit_id, WeeklyVersion.submitted_at, WeeklyVersion.content)
            .join(WeeklyVersion, WeeklyVersion.id == WeeklySubmission.accepted_version_id)
            .where(WeeklyVersion.submitted_at >= since, WeeklyVersion.submitted_at < before)
            .order_by(WeeklyVersion.submitted_at, WeeklyVersion.id)
        )
        rows = (await session.execute(stmt)).all()
        return [(u, at, (c or {}).get("progress") or []) for u, at, c in rows]

    before = T + timedelta(days=30)
    async with db.session() as s:
        fast = await collect_module._notes(s, [], before)
    monkeypatch.setattr(digest_repo, "accepted_progress", every_version)
    async with db.session() as s:
        full = await collect_module._notes(s, [], before)
    assert fast == full
    assert [(n.lead_id, n.text) for n in fast] == [
        (7, "完成签约，问题：用地指标"),
        (9, "x"),
        (3, "  空格 [] 与 “引号”  "),
    ]
    assert all(n.source == "weekly" for n in fast) and digests.NOTE_LOOKBACK.days == 366
