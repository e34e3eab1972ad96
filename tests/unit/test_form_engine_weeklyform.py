"""The engine's additions for /weekly and the return reason: steps that run themselves
(a loop over a list kept in the draft, buttons of their own), saving from a step,
a form that saves on its last answer (confirm=False), a seeded scratch, a chosen first step, and the popup of a button whose
form is gone. A small form, a real database, no messaging platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.assembly.clock import ManualClock
from bot.forms import (
    Answer,
    Choose,
    Draft,
    FieldError,
    Form,
    FormContext,
    FormEngine,
    Msg,
    Status,
    Step,
    Turn,
)
from bot.services import ServiceError
from bot.services.access import Actor
from storage.db import Database

SAVED: list[Any] = []


async def _items(ctx: FormContext, draft: Draft, answer: Answer) -> Turn:
    """A list built over several answers: each text is an item, 完成 moves on."""
    items = list(draft.scratch.get("items") or [])
    if answer.key == "done":
        draft.values["items"] = items
        return Turn()
    if answer.key == "undo":
        draft.scratch["items"] = items[:-1]
        return Turn(goto="items", keys_only=True)
    if answer.text is None or not answer.text.strip():
        raise FieldError("leads.input.empty")
    draft.scratch["items"] = [*items, answer.text.strip()]
    return Turn(goto="items", notes=(Msg("weekly.saved"),))


def _ask_items(ctx: FormContext, draft: Draft) -> list[Msg]:
    return [Msg("weekly.trips.so_far", {"count": len(draft.scratch.get("items") or [])})]


def _rows_items(ctx: FormContext, draft: Draft) -> list[list[tuple[Any, str]]]:
    if draft.scratch.get("items"):
        return [[(Msg("weekly.button.done"), "done"), (Msg("weekly.button.undo"), "undo")]]
    return [[(Msg("weekly.button.done"), "done")], []]


async def _confirm(ctx: FormContext, draft: Draft, answer: Answer) -> Turn:
    if answer.key == "ok":
        return Turn(save=True)
    if answer.key == "later":
        return Turn(close=(Msg("weekly.later"),))
    return Turn(goto="items")  # "back"


async def _save(ctx: FormContext, draft: Draft) -> list[Msg]:
    if "refuse" in (draft.values.get("items") or []):
        raise ServiceError("weekly.submit.stale")
    SAVED.append(list(draft.values.get("items") or []))
    return [Msg("weekly.discarded")]


def listing() -> Form:
    return Form(
        name="listing",
        prefix="q",
        texts="weeklyform",
        save=_save,
        steps=(
            Step("items", counted=False, ask=_ask_items, rows=_rows_items, handle=_items),
            Step(
                "confirm",
                counted=False,
                ask=lambda ctx, d: [Msg("weekly.preview.title", {"unit": "U", "period": "P"})],
                rows=lambda ctx, d: [[(Msg("weekly.button.submit"), "ok")]],
                handle=_confirm,
            ),
        ),
        gone=lambda value: (
            Msg("weekly.submit.already")
            if isinstance(value, Choose) and value.key == "ok"
            else None
        ),
    )


async def _begin_reason(ctx: FormContext, draft: Draft) -> Msg | None:
    if not draft.scratch.get("version"):
        return Msg("weekly.confirm.gone")
    return None


async def _save_reason(ctx: FormContext, draft: Draft) -> list[Msg]:
    SAVED.append((draft.scratch["version"], draft.values["reason"]))
    return [Msg("weekly.return.done", {"name": "李四", "number": 1})]


def _reason(text: str, ctx: FormContext) -> str:
    if not text.strip():
        raise FieldError("weekly.input.empty")
    return text.strip()


def reason() -> Form:
    return Form(
        name="reason",
        prefix="y",
        texts="weeklyreturn",
        save=_save_reason,
        begin=_begin_reason,
        confirm=False,
        steps=(Step("reason", parse=_reason, counted=False),),
    )


async def _begin_late(ctx: FormContext, draft: Draft) -> Msg | None:
    draft.step = "confirm"  # resume where the person was
    draft.scratch["items"] = ["a"]
    draft.values["items"] = ["a"]
    return None


def resumed() -> Form:
    base = listing()
    return Form(
        name="resumed",
        prefix="z",
        texts="weeklyform",
        save=_save,
        begin=_begin_late,
        notes=lambda ctx, d: [Msg("weekly.intro.resumed")],
        steps=base.steps,
    )


class World:
    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.db, self.clock = db, clock
        self.engine = FormEngine([listing(), reason(), resumed()], timedelta(minutes=60))
        self.services = SimpleNamespace(settings=SimpleNamespace())
        self.actor = Actor(tg_user_id=7, display_name="张三", locale="zh_CN")

    @asynccontextmanager
    async def ctx(self) -> AsyncIterator[FormContext]:
        async with self.db.session() as session:
            yield FormContext(session, self.services, self.actor, "tg:7", self.clock.now(), "zh_CN")


@pytest.fixture
async def world(sqlite_db: Database, clock: ManualClock) -> World:
    SAVED.clear()
    return World(sqlite_db, clock)


async def test_a_step_that_runs_itself_loops_over_a_list_kept_in_the_draft(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        out = await e.start(ctx, "listing")
    assert out.view is not None and out.view.step == "items" and out.view.accepts == {"text"}
    assert [[b.value for b in row] for row in out.view.rows] == [
        [Choose("listing", "items", "done")]
    ]  # an empty row is left out
    for text in ("深圳", "上海"):
        async with world.ctx() as ctx:  # each answer in its own transaction, as a channel does
            out = await e.text(ctx, text)
        assert out.view is not None and out.view.step == "items"
        assert out.view.notes == (Msg("weekly.saved"),)
    assert out.view.lines == (Msg("weekly.trips.so_far", {"count": 2}),)
    async with world.ctx() as ctx:
        out = await e.press(ctx, Choose("listing", "items", "undo"))
    assert out.keys_only and out.view is not None
    assert out.view.lines == (Msg("weekly.trips.so_far", {"count": 1}),)
    async with world.ctx() as ctx:
        out = await e.press(ctx, Choose("listing", "items", "done"))
    assert out.view is not None and out.view.step == "confirm" and not out.keys_only


async def test_a_refused_answer_to_a_step_that_runs_itself_asks_it_again(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "listing")
        out = await e.text(ctx, "   ")
    assert out.view is not None and out.view.step == "items"
    assert out.view.notes == (Msg("leads.input.empty", {}),)


async def test_a_step_of_its_own_saves_closes_or_shows_the_save_error_above_itself(
    world: World,
) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "listing")
        await e.text(ctx, "refuse")
        await e.press(ctx, Choose("listing", "items", "done"))
        out = await e.press(ctx, Choose("listing", "confirm", "ok"))
    assert out.status is Status.SHOWN and out.view is not None and out.view.step == "confirm"
    assert out.view.notes == (Msg("weekly.submit.stale", {}),) and not SAVED
    async with world.ctx() as ctx:
        out = await e.press(ctx, Choose("listing", "confirm", "back"))
        await e.press(ctx, Choose("listing", "items", "undo"))
        await e.text(ctx, "深圳")
        await e.press(ctx, Choose("listing", "items", "done"))
        out = await e.press(ctx, Choose("listing", "confirm", "ok"))
    assert out.status is Status.CLOSED and out.said == (Msg("weekly.discarded"),)
    assert SAVED == [["深圳"]]
    async with world.ctx() as ctx:
        assert await e.active(ctx) is None  # the draft went with the save


async def test_a_button_of_a_closed_form_says_what_the_form_says(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "listing")
        await e.press(ctx, Choose("listing", "items", "done"))
        first = await e.press(ctx, Choose("listing", "confirm", "ok"))
        second = await e.press(ctx, Choose("listing", "confirm", "ok"))
        other = await e.press(ctx, Choose("listing", "items", "done"))
    assert first.status is Status.CLOSED
    assert second.status is Status.STALE and second.said == (Msg("weekly.submit.already"),)
    assert other.status is Status.NONE  # the form has nothing to say: the usual popup


async def test_a_step_can_close_the_form_without_saving(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "listing")
        await e.press(ctx, Choose("listing", "items", "done"))
        out = await e.press(ctx, Choose("listing", "confirm", "later"))
        assert await e.active(ctx) is None
    assert out.status is Status.CLOSED and out.said == (Msg("weekly.later"),) and not SAVED


async def test_an_older_button_of_a_step_that_runs_itself_is_stale(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "listing")
        await e.press(ctx, Choose("listing", "items", "done"))
        out = await e.press(ctx, Choose("listing", "items", "undo"))  # on the message before
    assert out.status is Status.STALE


async def test_a_form_without_summary_saves_a_one_question_form_on_its_answer(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        refused = await e.start(ctx, "reason")
    assert refused.status is Status.CLOSED and refused.said == (Msg("weekly.confirm.gone"),)
    async with world.ctx() as ctx:
        out = await e.start(ctx, "reason", scratch={"version": 12})
    assert out.view is not None and out.view.step == "reason"
    async with world.ctx() as ctx:
        again = await e.text(ctx, "  ")
        assert again.view is not None and again.view.notes == (Msg("weekly.input.empty", {}),)
        done = await e.text(ctx, "工作信息太简略")
    assert done.status is Status.CLOSED and SAVED == [(12, "工作信息太简略")]


async def test_begin_may_start_at_a_later_step_with_notes_above_it(world: World) -> None:
    async with world.ctx() as ctx:
        out = await world.engine.start(ctx, "resumed")
    assert out.view is not None and out.view.step == "confirm"
    assert out.view.notes == (Msg("weekly.intro.resumed"),)


async def test_a_self_run_step_expires_by_the_injected_clock(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "listing")
        await e.text(ctx, "深圳")
    world.clock.advance(timedelta(minutes=61))
    async with world.ctx() as ctx:
        out = await e.text(ctx, "上海")
    assert out.status is Status.EXPIRED and out.said == (Msg("weeklyform.expired"),)
