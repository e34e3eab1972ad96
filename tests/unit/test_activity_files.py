"""An activity's files (the trip report 外出报告单): kept bytes claimed by the activity's save,
never pruned as abandoned uploads, read by a leader or the activity's unit only."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.assembly.clock import ManualClock
from bot.domain.enums import Role
from bot.services import ServiceError, activities, attachments, units
from bot.services.access import Actor
from storage.db import Database
from storage.models import Activity, WebFile

UPLOADER = "dt:liaison1"


async def _setup(db: Database, clock: ManualClock) -> tuple[int, int, int, str]:
    """Two units; an activity of the first holding one kept file: (unit, other, activity, token)."""
    now = clock.now()
    async with db.session() as s:
        unit = await units.add_unit(s, now, "招商一局")
        other = await units.add_unit(s, now, "招商二局")
        stored = await attachments.store(s, UPLOADER, "外出报告单.pdf", "", b"%PDF-1.4 r", now)
        activity = Activity(
            unit_id=unit.id,
            created_by=1,
            kind="trip",
            on_date=date(2026, 11, 16),
            text="赴深圳",
            attachments=[{"file_id": attachments.REF_PREFIX + stored.token, "kind": "document"}],
            created_at=now,
        )
        s.add(activity)
        await s.flush()
        entries = [{"file_id": attachments.REF_PREFIX + stored.token}]
        await attachments.link_own(s, UPLOADER, entries, activity_id=activity.id)
        return unit.id, other.id, activity.id, stored.token


def _actor(role: Role, unit_id: int | None = None) -> Actor:
    return Actor(tg_user_id=7, display_name="张三", locale="zh_CN", role=role, unit_id=unit_id)


async def test_a_claimed_file_outlives_the_pruning_of_abandoned_uploads(
    db: Database, clock: ManualClock
) -> None:
    unit, _, activity_id, token = await _setup(db, clock)
    async with db.session() as s:
        abandoned = await attachments.store(s, UPLOADER, "草稿.pdf", "", b"%PDF-1.4 d", clock.now())
    clock.advance(timedelta(days=2))
    async with db.session() as s:  # any upload prunes the day-old unclaimed ones
        await attachments.store(s, "tg:9", "新.pdf", "", b"%PDF-1.4 n", clock.now())
    async with db.session() as s:
        kept = await s.get(WebFile, 1)
        assert kept is not None and kept.activity_id == activity_id and kept.lead_id is None
        assert await attachments.unsaved_count(s, UPLOADER) == 0  # claimed, and pruned
        found = await attachments.read(s, _actor(Role.LIAISON, unit), token)
        assert found.data == b"%PDF-1.4 r" and found.name == "外出报告单.pdf"
        with pytest.raises(ServiceError):
            await attachments.read(s, _actor(Role.LEADER), abandoned.token)


async def test_only_a_leader_or_the_unit_reads_an_activitys_files(
    db: Database, clock: ManualClock
) -> None:
    unit, other, activity_id, token = await _setup(db, clock)
    async with db.session() as s:
        for allowed in (_actor(Role.LEADER), _actor(Role.ADMIN), _actor(Role.HEAD, unit)):
            [f] = await activities.activity_files(s, allowed, activity_id)
            assert f.kind == "document" and attachments.token_of(f.file_id) == token
            assert (await attachments.read(s, allowed, token)).data == b"%PDF-1.4 r"
        stranger = _actor(Role.LIAISON, other)
        with pytest.raises(ServiceError) as err:
            await activities.activity_files(s, stranger, activity_id)
        assert err.value.code == "activity.not_yours"
        with pytest.raises(ServiceError) as err:
            await attachments.read(s, stranger, token)
        assert err.value.code == "activity.not_yours"


async def test_an_activity_without_files_says_so(db: Database, clock: ManualClock) -> None:
    _, _, activity_id, _ = await _setup(db, clock)
    async with db.session() as s:
        activity = await s.get(Activity, activity_id)
        assert activity is not None
        activity.attachments = []
        await s.flush()
        with pytest.raises(ServiceError) as err:
            await activities.activity_files(s, _actor(Role.LEADER), activity_id)
    assert err.value.code == "activity.files_none" and err.value.params == {"ref": "A0001"}
