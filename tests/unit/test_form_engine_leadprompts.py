"""The engine's additions for one-question prompts: start arguments, saving without a
summary, a cancel button, buttons sealed with the draft's nonce, and a prompt that
keeps the form it was opened over."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.assembly.clock import ManualClock
from bot.forms import (
    CODEC,
    Act,
    Choose,
    Draft,
    FieldError,
    Form,
    FormContext,
    FormEngine,
    Kind,
    Link,
    Msg,
    Option,
    Status,
    Step,
)
from bot.forms.buttons import LeadCard
from bot.services import ServiceError
from bot.services.access import Actor
from storage.db import Database
from storage.models import FormDraft

SAVED: list[dict[str, Any]] = []


def _line(text: str, ctx: FormContext) -> str:
    if not text.strip():
        raise FieldError("leads.input.empty")
    return text.strip()


async def _begin(ctx: FormContext, draft: Draft) -> Msg | None:
    if draft.scratch.get("lead") == 0:
        return Msg("leads.not_found", {"ref": "L0000"})
    draft.scratch["kind"] = "choice" if draft.scratch.get("field") == "industry" else "text"
    return None


async def _save(ctx: FormContext, draft: Draft) -> list[Msg]:
    if draft.values.get("value") == "again":
        raise ServiceError("leads.edit.unchanged")
    if draft.values.get("value") == "never":
        raise ServiceError("leads.edit.not_allowed")
    SAVED.append({"lead": draft.scratch["lead"], "value": draft.values.get("value")})
    return [Msg("report.saved", {"code": "L0001", "unit": "U"})]


def _options(ctx: FormContext, draft: Draft) -> list[Option]:
    return [Option("0", "新能源", "新能源"), Option("1", "新材料", "新材料")]


def prompt() -> Form:
    return Form(
        name="quick",
        prefix="y",
        texts="report",
        save=_save,
        begin=_begin,
        confirm=False,
        cancel_button=True,
        nonce=True,
        stacks=True,
        links=_link,
        ask_again=lambda err: err.code == "leads.edit.unchanged",
        steps=(
            Step("text", parse=_line, field="value", when=lambda d: d.scratch["kind"] == "text"),
            Step(
                "choice",
                Kind.CHOICE,
                choices=_options,
                field="value",
                optional=True,
                when=lambda d: d.scratch["kind"] == "choice",
            ),
        ),
    )


def _link(ctx: FormContext, draft: Draft) -> list[Link]:
    return [Link("查看", LeadCard(int(draft.scratch["lead"])))]


def long_form() -> Form:
    return Form(
        name="long",
        prefix="z",
        texts="report",
        save=_save,
        steps=(Step("project", parse=_line), Step("company", parse=_line)),
    )


def tags_form() -> Form:
    return Form(
        name="tagsq",
        prefix="x",
        texts="report",
        save=_save,
        confirm=False,
        begin=_begin,
        steps=(
            Step(
                "value",
                Kind.MULTI,
                parse=lambda text, ctx: text.split("、"),
                choices=_options,
                optional=True,
            ),
        ),
    )


class World:
    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.db, self.clock = db, clock
        self.engine = FormEngine([prompt(), long_form(), tags_form()], timedelta(minutes=60))
        self.services = SimpleNamespace(settings=SimpleNamespace())
        self.actor = Actor(tg_user_id=7, display_name="张三", locale="zh_CN")

    @asynccontextmanager
    async def ctx(self) -> AsyncIterator[FormContext]:
        async with self.db.session() as session:
            yield FormContext(session, self.services, self.actor, "tg:7", self.clock.now(), "zh_CN")

    async def stored(self) -> dict[str, Any] | None:
        async with self.db.session() as session:
            row = await session.get(FormDraft, "tg:7")
            return dict(row.data) if row else None


@pytest.fixture
async def world(db: Database, clock: ManualClock) -> World:
    SAVED.clear()
    return World(db, clock)


async def test_start_arguments_reach_begin_and_pick_the_first_step(world: World) -> None:
    async with world.ctx() as ctx:
        out = await world.engine.start(ctx, "quick", scratch={"lead": 3, "field": "industry"})
    assert out.status is Status.SHOWN and out.view is not None and out.view.step == "choice"
    stored = await world.stored()
    assert stored is not None and stored["scratch"]["lead"] == 3
    async with world.ctx() as ctx:
        out = await world.engine.start(ctx, "quick", scratch={"lead": 0})
    assert out.status is Status.CLOSED and out.said == (Msg("leads.not_found", {"ref": "L0000"}),)


async def test_without_confirm_the_last_answer_saves_at_once(world: World) -> None:
    async with world.ctx() as ctx:
        await world.engine.start(ctx, "quick", scratch={"lead": 3, "field": "project"})
        out = await world.engine.text(ctx, "新项目")
    assert out.status is Status.CLOSED and out.said[0].key == "report.saved"
    assert out.links == (Link("查看", LeadCard(3)),)  # the form's links under what it says
    assert SAVED == [{"lead": 3, "value": "新项目"}] and await world.stored() is None


async def test_a_fixable_refusal_asks_the_same_question_again(world: World) -> None:
    async with world.ctx() as ctx:
        await world.engine.start(ctx, "quick", scratch={"lead": 3, "field": "project"})
        out = await world.engine.text(ctx, "again")
    assert out.status is Status.SHOWN and out.view is not None and out.view.step == "text"
    assert out.view.notes == (Msg("leads.edit.unchanged", {}),)
    assert SAVED == [] and (await world.stored()) is not None
    async with world.ctx() as ctx:
        out = await world.engine.text(ctx, "never")  # not fixable by typing: the prompt ends
    assert out.status is Status.CLOSED and out.said == (Msg("leads.edit.not_allowed", {}),)
    assert await world.stored() is None


async def test_every_question_has_a_cancel_button_sealed_with_the_nonce(world: World) -> None:
    async with world.ctx() as ctx:
        out = await world.engine.start(ctx, "quick", scratch={"lead": 3, "field": "industry"})
    assert out.view is not None
    nonce = (await world.stored())["scratch"]["_nonce"]  # type: ignore[index]
    data = [CODEC.encode(b.value) for row in out.view.rows for b in row]
    assert data == [f"yp:choice:{k}.{nonce}" for k in ("0", "1", "skip")] + [f"ys:cancel.{nonce}"]
    async with world.ctx() as ctx:
        out = await world.engine.press(ctx, Act("quick", "cancel." + nonce))
    assert out.status is Status.CLOSED and out.said == (Msg("report.cancelled", {}),)
    assert await world.stored() is None


async def test_a_button_of_an_earlier_prompt_is_stale(world: World) -> None:
    async with world.ctx() as ctx:
        first = await world.engine.start(ctx, "quick", scratch={"lead": 3, "field": "industry"})
        await world.engine.start(ctx, "quick", scratch={"lead": 4, "field": "industry"})
    assert first.view is not None
    old = first.view.rows[0][1].value
    async with world.ctx() as ctx:
        assert (await world.engine.press(ctx, old)).status is Status.STALE
        assert (await world.engine.press(ctx, Choose("quick", "choice", "1"))).status is (
            Status.STALE
        )
    assert SAVED == []
    nonce = (await world.stored())["scratch"]["_nonce"]  # type: ignore[index]
    async with world.ctx() as ctx:
        out = await world.engine.press(ctx, Choose("quick", "choice", "1." + nonce))
    assert out.status is Status.CLOSED and SAVED == [{"lead": 4, "value": "新材料"}]


async def test_a_prompt_gives_back_the_form_it_was_opened_over(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "long")
        await e.text(ctx, "电池")
        await e.start(ctx, "quick", scratch={"lead": 3, "field": "project"})
        out = await e.text(ctx, "新项目")
    assert out.status is Status.CLOSED
    stored = await world.stored()
    assert stored is not None and stored["form"] == "long" and stored["step"] == "company"
    async with world.ctx() as ctx:
        await e.start(ctx, "quick", scratch={"lead": 3, "field": "project"})
        assert (await e.cancel(ctx)).said == (Msg("report.cancelled", {}),)
    assert (await world.stored())["values"] == {"project": "电池"}  # type: ignore[index]
    async with world.ctx() as ctx:
        await e.start(ctx, "quick", scratch={"lead": 3, "field": "project"})
        assert await e.leave(ctx)  # another command
        assert not await e.leave(ctx)  # /report does not stack: it stays
    assert (await world.stored())["form"] == "long"  # type: ignore[index]


async def test_an_expired_prompt_takes_its_form_with_it(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "long")
        await e.start(ctx, "quick", scratch={"lead": 3, "field": "project"})
    world.clock.advance(timedelta(minutes=61))
    async with world.ctx() as ctx:
        out = await e.text(ctx, "迟到")
    assert out.status is Status.EXPIRED and await world.stored() is None


async def test_a_multi_select_with_a_parser_also_takes_typed_text(world: World) -> None:
    async with world.ctx() as ctx:
        await world.engine.start(ctx, "tagsq", scratch={"lead": 5})
        out = await world.engine.press(ctx, Choose("tagsq", "value", "0"))
        assert out.replace  # toggles still redraw
        out = await world.engine.text(ctx, "新能源、新材料")
    assert out.status is Status.CLOSED and SAVED == [{"lead": 5, "value": ["新能源", "新材料"]}]
