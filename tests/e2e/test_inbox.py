"""The durable inbox through the real adapter: stored first, handled once, parked when
it keeps failing; and the small refusals of issue 12 (strangers' buttons, bad bodies)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import select

from bot.operations.logging_setup import redact
from storage.db import Database
from storage.models import InboxUpdate
from tests.e2e import test_webhook
from tests.e2e.harness import ADMIN, Harness
from tests.e2e.test_webhook import Hook
from tests.sheetbombs import formatted_to_the_last_row, millions_of_rows

NEWBIE = 4242
hook = test_webhook.hook  # the webhook fixture: a real server over HTTP


async def inbox_rows(db: Database) -> dict[int, InboxUpdate]:
    async with db.session() as s:
        return {r.update_id: r for r in (await s.scalars(select(InboxUpdate))).all()}


async def settled(db: Database, bound: float = 5.0) -> dict[int, InboxUpdate]:
    """The rows once none is pending (the reply goes out before the done mark commits)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + bound
    while True:
        rows = await inbox_rows(db)
        if all(r.status != "pending" for r in rows.values()) or loop.time() > end:
            return rows
        await asyncio.sleep(0.01)


async def test_every_update_is_stored_and_marked_done(world_harness: Harness) -> None:
    h = world_harness
    h.user(NEWBIE, "路人甲")
    r = await h.send(NEWBIE, "/start")
    assert "本机器人仅供已登记的单位使用" in r.text
    rows = await settled(h.db)
    assert rows and all(row.status == "done" for row in rows.values())


async def test_a_strangers_button_press_is_answered_with_the_refusal(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.user(NEWBIE, "路人甲")
    await h.send(NEWBIE, "/start")
    message = h.api.messages(NEWBIE)[-1]  # the bot's reply
    r = await h.press_data(NEWBIE, message.message_id, "lb:c:1")
    assert r.popups and "本机器人仅供已登记的单位使用" in r.popups[0]
    answers = h.api.calls_of("answerCallbackQuery")
    assert answers and answers[-1].params.get("show_alert") in (True, "true", "True")


async def test_an_update_that_keeps_failing_is_parked_and_shown(
    world_harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    h = world_harness
    assert h.app is not None
    calls: list[int] = []
    original = type(h.app).process_update

    async def broken(self: Any, update: object) -> None:
        update_id = getattr(update, "update_id", 0)
        calls.append(update_id)
        raise RuntimeError("handler bug")

    monkeypatch.setattr(type(h.app), "process_update", broken)
    with caplog.at_level(logging.ERROR):
        update_id = h.api.send_text(NEWBIE, "/start") if h.user(NEWBIE, "路人甲") is None else 0
        for _ in range(100):
            rows = await inbox_rows(h.db)
            if update_id in rows and rows[update_id].status == "parked":
                break
            await h.app.inbox.handle_pending()
    rows = await inbox_rows(h.db)
    assert rows[update_id].status == "parked" and calls.count(update_id) == 3
    _ok, detail = await h.app.inbox.probe()
    assert detail["parked"] == 1
    monkeypatch.setattr(type(h.app), "process_update", original)
    r = await h.send(NEWBIE, "/start")  # the next one is handled: the parked one blocks nothing
    assert "本机器人仅供已登记的单位使用" in r.text


def test_the_database_password_is_hidden_where_it_is_a_password_only() -> None:
    line = "connect postgresql+asyncpg://postgres:postgres@db/leadbot password=postgres ok"
    assert redact(line, passwords=["postgres"]) == (
        "connect postgresql+asyncpg://postgres:[redacted]@db/leadbot password=[redacted] ok"
    )


# --- the webhook ---------------------------------------------------------------------


@pytest.mark.parametrize("update_id", ["7", 7.5, None, True])
async def test_a_webhook_body_whose_update_id_is_not_an_integer_gets_400(
    hook: Hook, update_id: object
) -> None:
    body = hook.update(1)
    body["update_id"] = update_id
    resp = await hook.post(body)
    assert resp.status == 400
    assert await inbox_rows(hook.app.services.db) == {} and hook.handled == []


async def test_the_webhook_answers_503_when_the_database_cannot_store_the_update(
    hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import inbox as inbox_repo

    async def down(*_: object, **__: object) -> int:
        raise OSError("database unreachable")

    monkeypatch.setattr(inbox_repo, "accept", down)
    assert (await hook.post(hook.update(5))).status == 503  # Telegram will send it again
    monkeypatch.undo()
    assert (await hook.post(hook.update(5))).status == 200
    rows = await settled(hook.app.services.db)
    assert list(rows) == [5] and rows[5].status == "done"


# --- uploads ---------------------------------------------------------------------------


async def test_an_xlsx_with_three_million_rows_is_refused_while_others_are_answered(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.user(NEWBIE, "路人甲")
    bomb = h.api.send_document(ADMIN, millions_of_rows(), "units.xlsx")
    other = h.api.send_text(NEWBIE, "/start")
    started = asyncio.get_running_loop().time()
    await h.processed(other)
    await h.processed(bomb)
    assert asyncio.get_running_loop().time() - started < 10
    r = h.collect()
    assert "本机器人仅供已登记的单位使用" in r.to(NEWBIE).text
    assert "表格超过 10000 行" in r.to(ADMIN).text


async def test_a_sheet_formatted_to_the_last_row_is_imported(world_harness: Harness) -> None:
    h = world_harness
    r = await h.upload(ADMIN, formatted_to_the_last_row(["新设局甲", "新设局乙"]), "units.xlsx")
    assert "已导入 2 个单位" in r.text
    async with h.db.session() as s:
        from storage.models import Unit

        names = set((await s.scalars(select(Unit.name))).all())
    assert {"新设局甲", "新设局乙"} <= names


async def test_a_file_over_the_cap_is_refused_before_it_is_downloaded(
    world_harness: Harness,
) -> None:
    h = world_harness
    r = await h.upload(ADMIN, b"x" * (10 * 1024 * 1024 + 1), "units.xlsx")
    assert "文件太大" in r.text
    assert not h.api.calls_of("getFile")
