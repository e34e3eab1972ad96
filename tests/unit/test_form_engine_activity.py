"""The engine's additions for /activity: forms without a summary, prefilled starts,
choices that may be typed, conditional steps, files that are required."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.assembly.clock import ManualClock
from bot.forms import (
    Act,
    Choose,
    Draft,
    Edit,
    FieldError,
    FileRef,
    Form,
    FormContext,
    FormEngine,
    Kind,
    Msg,
    Option,
    Status,
    Step,
)
from bot.services import ServiceError
from bot.services.access import Actor
from storage.db import Database

SAVED: list[dict[str, Any]] = []


def _word(text: str, ctx: FormContext) -> str:
    if not text.strip():
        raise FieldError("leads.input.empty")
    return text.strip()


def _day(text: str, ctx: FormContext) -> str:
    if not text.strip().isdigit():
        raise FieldError("activity.bad_date")
    return f"day {text.strip()}"


def _days(ctx: FormContext, draft: Draft) -> list[Option]:
    return [Option("0", Msg("activity.today"), "today"), Option("1", "[1, 2]", [1, 2])]


async def _save(ctx: FormContext, draft: Draft) -> list[Msg]:
    if draft.values.get("word") == "refuse":
        raise ServiceError("activity.already_rejected", ref="A0001")
    SAVED.append(dict(draft.values))
    return [Msg("activity.saved", {"code": "A0001", "kind": "k", "unit": "u"})]


async def _begin(ctx: FormContext, draft: Draft) -> Msg | None:
    if draft.values.get("word") == "no":
        return Msg("activity.no_unit")
    draft.values["seen"] = True
    return None


def prompt() -> Form:
    """One question, saved at once (the reject reason's shape)."""
    return Form(
        name="prompt",
        prefix="q",
        texts="activity",
        steps=(Step("word", parse=_word),),
        save=_save,
        begin=_begin,
        confirm=False,
    )


def flow() -> Form:
    """A choice that may be typed, a conditional step, a required file step."""
    return Form(
        name="flow",
        prefix="f",
        texts="activity",
        steps=(
            Step("day", Kind.CHOICE, choices=_days, parse=_day),
            Step("extra", parse=_word, when=lambda d: d.values.get("day") == "today"),
            Step("report", Kind.FILES, field="files", min_files=1),
        ),
        save=_save,
    )


class World:
    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.db, self.clock = db, clock
        self.engine = FormEngine([prompt(), flow()], timedelta(minutes=60))
        self.actor = Actor(tg_user_id=7, display_name="张三", locale="zh_CN")

    @asynccontextmanager
    async def ctx(self) -> AsyncIterator[FormContext]:
        async with self.db.session() as session:
            yield FormContext(
                session, SimpleNamespace(), self.actor, "tg:7", self.clock.now(), "zh_CN"
            )


@pytest.fixture
async def world(db: Database, clock: ManualClock) -> World:
    SAVED.clear()
    return World(db, clock)


async def test_a_form_without_a_summary_saves_after_its_last_answer(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        out = await e.start(ctx, "prompt")
        assert out.view is not None and out.view.step == "word" and out.view.rows == ()
        out = await e.text(ctx, "  ")
        assert out.status is Status.SHOWN and out.view is not None
        assert out.view.notes == (Msg("leads.input.empty", {}),)  # asked again, not saved
        out = await e.text(ctx, "重复")
        assert out.status is Status.CLOSED and out.said[0].key == "activity.saved"
        assert await e.active(ctx) is None
    assert SAVED == [{"word": "重复", "seen": True}]


async def test_a_refusal_of_the_service_closes_a_form_without_a_summary(world: World) -> None:
    async with world.ctx() as ctx:
        await world.engine.start(ctx, "prompt")
        out = await world.engine.text(ctx, "refuse")
        assert out.status is Status.CLOSED
        assert out.said == (Msg("activity.already_rejected", {"ref": "A0001"}),)
        assert await world.engine.active(ctx) is None
    assert SAVED == []


async def test_prefilled_values_reach_begin_and_skip_their_steps(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        out = await e.start(ctx, "prompt", {"word": "no"})
        assert out.status is Status.CLOSED and out.said[0].key == "activity.no_unit"
        assert await e.active(ctx) is None  # a refused start leaves nothing open
        out = await e.start(ctx, "flow", {"day": "today"}, Msg("activity.trip_intro"))
        assert out.view is not None and out.view.step == "extra"
        assert out.view.notes == (Msg("activity.trip_intro", {}),)  # instead of the intro


async def test_a_choice_with_a_parser_also_takes_typed_text(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        out = await e.start(ctx, "flow")
        assert out.view is not None and out.view.accepts == frozenset({"text"})
        out = await e.text(ctx, "明天")
        assert out.view is not None and out.view.notes[0].key == "activity.bad_date"
        out = await e.text(ctx, "[1, 2]")  # a label typed exactly is still the option
        assert out.view is not None and out.view.step == "report"


async def test_a_required_file_step_offers_done_only_after_a_file(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "flow")
        out = await e.press(ctx, Choose("flow", "day", "1"))  # a list value: fine
        assert out.view is not None and out.view.step == "report" and out.view.rows == ()
        assert (await e.press(ctx, Choose("flow", "report", "done"))).status is Status.STALE
        out = await e.file(ctx, FileRef("f1", "document", "报告.pdf"))
        assert out.view is not None
        assert [b.value for row in out.view.rows for b in row] == [Choose("flow", "report", "done")]
        out = await e.press(ctx, Choose("flow", "report", "done"))
        assert out.view is not None and out.view.step == "_summary"


async def test_a_step_whose_condition_fails_is_not_summarised_edited_or_demanded(
    world: World,
) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "flow")
        await e.press(ctx, Choose("flow", "day", "1"))
        await e.file(ctx, FileRef("f1", "photo"))
        out = await e.press(ctx, Choose("flow", "report", "done"))
        assert out.view is not None
        fields = [m.params.get("label") for m in out.view.lines[1:]]
        assert fields == [Msg("activity.field.day"), Msg("activity.field.report")]
        out = await e.press(ctx, Act("flow", "edit"))
        assert out.view is not None
        assert [b.value for row in out.view.rows for b in row] == [
            Edit("flow", "day"),
            Edit("flow", "report"),
        ]
        assert (await e.press(ctx, Edit("flow", "extra"))).status is Status.STALE
        out = await e.press(ctx, Edit("flow", "day"))
        out = await e.press(ctx, Choose("flow", "day", "0"))  # now "extra" applies
        assert out.view is not None and out.view.step == "_summary"
        out = await e.press(ctx, Act("flow", "save"))
        assert out.view is not None and out.view.step == "extra"  # demanded now
        assert out.view.notes == (Msg("activity.missing", {}),)
        await e.text(ctx, "补充")
        out = await e.press(ctx, Choose("flow", "report", "done"))
        out = await e.press(ctx, Act("flow", "save"))
    assert out.status is Status.CLOSED
    assert SAVED == [
        {"day": "today", "files": [{"file_id": "f1", "kind": "photo", "name": ""}], "extra": "补充"}
    ]
