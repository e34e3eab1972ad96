"""The demo jurisdiction with its history: what `leadbot console --demo` shows first."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.operations.demo import seed_demo, seed_history
from tests.e2e.harness import Harness

LEADER = 1001


async def test_demo_history_closes_cleanly_and_ranks(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    async with h.db.session() as s:
        world = await seed_demo(s, h.clock.now(), since=h.clock.now() - timedelta(weeks=8))
    for user in world.users:
        h.api.add_user(user.tg_id, user.name)
    for group in world.groups:
        h.api.add_group(group.tg_chat_id, group.title)
    await seed_history(h.db, h.settings, h.clock.now())
    assert h.app is not None
    with caplog.at_level(logging.ERROR):
        await h.app.jobs.run_due()
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
    rank = await h.send(LEADER, "/rank 本季")
    assert "1. 招商引资部" in rank.text
    leads = await h.send(LEADER, "/leads")
    assert "重复（首报 L0001）" in leads.text and "共 8 条" in leads.text
