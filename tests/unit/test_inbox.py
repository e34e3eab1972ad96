"""The inbox's table protocol, on SQLite and PostgreSQL: stored once, leased to one
processor, a chat's updates in order, released when the lease runs out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from bot.assembly.clock import ManualClock
from bot.assembly.inbox import Inbox
from storage import inbox as inbox_repo
from storage.db import Database


class FakeApp:
    """Counts the updates handed to it, per processor."""

    bot = None

    def __init__(self) -> None:
        self.handled: list[int] = []

    async def process_update(self, update: Any) -> None:
        await asyncio.sleep(0.001)
        self.handled.append(update.update_id)


def payload(update_id: int, chat: int) -> dict[str, Any]:
    user = {"id": chat, "is_bot": False, "first_name": "x"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "text": "hi",
            "from": user,
            "chat": {"id": chat, "type": "private"},
        },
    }


async def test_each_update_is_stored_once_and_handled_by_one_processor(
    db: Database, clock: ManualClock
) -> None:
    first_app, second_app = FakeApp(), FakeApp()
    first, second = Inbox(db, clock, first_app), Inbox(db, clock, second_app)
    updates = [payload(i, 100 + i % 7) for i in range(1, 61)]
    assert await first.accept(updates) == 60
    assert await second.accept(updates[:10]) == 0  # redelivered: not stored again

    async def drain(inbox: Inbox) -> None:
        while await inbox.handle_pending():
            pass

    await asyncio.gather(drain(first), drain(second))
    handled = first_app.handled + second_app.handled
    assert sorted(handled) == list(range(1, 61))  # each once, none lost
    for app in (first_app, second_app):  # one chat's updates in order
        for chat in range(7):
            mine = [u for u in app.handled if u % 7 == chat]
            assert mine == sorted(mine)
    async with db.session() as s:
        assert (await inbox_repo.counts(s)) == {"done": 60}


async def test_an_update_held_by_a_dead_processor_is_taken_when_its_lease_runs_out(
    db: Database, clock: ManualClock
) -> None:
    await Inbox(db, clock, FakeApp()).accept([payload(1, 5)])
    async with db.session() as s:  # a processor leases it and dies
        [held] = await inbox_repo.lease_next(s, clock.now(), clock.now() + timedelta(seconds=60), 5)
    app = FakeApp()
    survivor = Inbox(db, clock, app)
    assert await survivor.handle_pending() == 0  # still leased
    clock.advance(timedelta(seconds=61))
    assert await survivor.handle_pending() == 1 and app.handled == [held.update_id]


class FailingApp(FakeApp):
    """Every update fails: the inbox must try each exactly ``max_tries`` times, then park it."""

    async def process_update(self, update: Any) -> None:
        self.handled.append(update.update_id)
        await asyncio.sleep(0)
        raise RuntimeError("handler bug")


async def test_a_failing_update_is_tried_max_tries_times_however_many_processors_race(
    db: Database, clock: ManualClock
) -> None:
    """Two processors reading the same pending row: one that failed and freed it before the
    other's lease lands must not let the other run on a stale attempt count (it was 4 of 3)."""
    apps = [FailingApp() for _ in range(4)]
    inboxes = [Inbox(db, clock, app) for app in apps]
    await inboxes[0].accept([payload(1, 100)])

    async def drain(inbox: Inbox) -> None:
        for _ in range(20):
            await inbox.handle_pending()
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(inbox) for inbox in inboxes))
    tries = sum(app.handled.count(1) for app in apps)
    async with db.session() as s:
        status = await inbox_repo.status_of(s, 1)
    assert (status, tries) == ("parked", inboxes[0].max_tries)
