"""The form engine on its own: a small form, a real database, no messaging platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from bot.assembly.clock import ManualClock
from bot.forms import (
    CODEC,
    STALE,
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
    store,
)
from bot.services import ServiceError
from bot.services.access import Actor
from storage.db import Database
from storage.models import FormDraft

SAVED: list[dict[str, Any]] = []


def _project(text: str, ctx: FormContext) -> str:
    if not text.strip():
        raise FieldError("leads.input.empty")
    return text.strip()


def _industries(ctx: FormContext, draft: Draft) -> list[Option]:
    return [Option(str(i), name, name) for i, name in enumerate(ctx.settings.industries)]


async def _save(ctx: FormContext, draft: Draft) -> list[Msg]:
    if draft.values.get("project") == "refuse":
        raise ServiceError("report.missing")
    SAVED.append(dict(draft.values))
    return [Msg("report.saved", {"code": "L0001", "unit": "U"})]


def tiny() -> Form:
    return Form(
        name="tiny",
        prefix="t",
        texts="report",
        save=_save,
        steps=(
            Step("project", parse=_project),
            Step("industry", Kind.CHOICE, choices=_industries),
            Step("tags", Kind.MULTI, choices=_industries, optional=True),
            Step("files", Kind.FILES, optional=True, max_files=2),
        ),
    )


def other() -> Form:
    return Form(
        name="other",
        prefix="o",
        texts="report",
        save=_save,
        steps=(Step("project", parse=_project),),
    )


def kept() -> Form:
    return Form(
        name="kept",
        prefix="k",
        texts="report",
        save=_save,
        steps=(
            Step("project", parse=_project),
            Step("files", Kind.FILES, optional=True, keeps_bytes=True),
        ),
    )


class World:
    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.db, self.clock = db, clock
        self.engine = FormEngine([tiny(), other(), kept()], timedelta(minutes=60))
        self.services = SimpleNamespace(settings=SimpleNamespace(industries=["新能源", "新材料"]))
        self.actor = Actor(tg_user_id=7, display_name="张三", locale="zh_CN")

    @asynccontextmanager
    async def ctx(self, person: str = "tg:7") -> AsyncIterator[FormContext]:
        async with self.db.session() as session:
            yield FormContext(session, self.services, self.actor, person, self.clock.now(), "zh_CN")

    async def stored(self, person: str = "tg:7") -> dict[str, Any] | None:
        async with self.db.session() as session:
            row = await session.get(FormDraft, person)
            return dict(row.data) if row else None


@pytest.fixture
async def world(db: Database, clock: ManualClock) -> World:
    """On SQLite and, where available, PostgreSQL (the draft table is the same on both)."""
    SAVED.clear()
    return World(db, clock)


async def test_each_answer_is_in_the_database_once_the_session_ends(world: World) -> None:
    async with world.ctx() as ctx:
        out = await world.engine.start(ctx, "tiny")
    assert out.status is Status.SHOWN and out.view is not None and out.view.step == "project"
    assert (await world.stored())["step"] == "project"  # type: ignore[index]
    async with world.ctx() as ctx:
        out = await world.engine.text(ctx, "电池")
    stored = await world.stored()
    assert stored is not None and stored["step"] == "industry"
    assert stored["values"]["project"] == "电池"
    assert out.view is not None and [b.label for b in out.view.rows[0]] == ["新能源", "新材料"]
    assert CODEC.encode(out.view.rows[0][1].value) == "tp:industry:1"


async def test_a_refused_answer_asks_again_with_the_reason(world: World) -> None:
    async with world.ctx() as ctx:
        await world.engine.start(ctx, "tiny")
        out = await world.engine.text(ctx, "   ")
    assert out.view is not None and out.view.step == "project"
    assert out.view.notes == (Msg("leads.input.empty", {}),)


async def test_choices_multi_select_files_and_save(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "tiny")
        await e.text(ctx, "电池")
        out = await e.text(ctx, "新材料")  # typing an option's label is forgiven
        assert out.view is not None and out.view.step == "tags" and out.view.multi
        out = await e.press(ctx, Choose("tiny", "tags", "1"))
        assert out.replace and out.view is not None
        assert out.view.rows[0][1].label == "✅ 新材料"
        out = await e.press(ctx, Choose("tiny", "tags", "done"))
        assert out.view is not None and out.view.accepts == frozenset({"file"})
        for n in range(3):
            out = await e.file(ctx, FileRef(f"f{n}", "document", f"{n}.pdf"))
        assert out.view is not None and out.view.notes[0].key == "report.too_many_files"
        out = await e.press(ctx, Choose("tiny", "files", "done"))
        assert out.view is not None and out.view.step == "_summary"
        out = await e.press(ctx, Act("tiny", "save"))
    assert out.status is Status.CLOSED and out.said[0].key == "report.saved"
    assert SAVED == [
        {
            "project": "电池",
            "industry": "新材料",
            "tags": ["新材料"],
            "files": [
                {"file_id": "f0", "kind": "document", "name": "0.pdf"},
                {"file_id": "f1", "kind": "document", "name": "1.pdf"},
            ],
        }
    ]
    assert await world.stored() is None


async def test_only_a_files_step_that_keeps_bytes_asks_the_adapter_to_fetch(world: World) -> None:
    """DingTalk's downloadCode lapses: the adapter fetches a file's bytes only when the step
    waiting for it says so, never for a form at another step or with nothing open."""
    e = world.engine
    async with world.ctx() as ctx:
        assert not await e.keeps_bytes(ctx)  # no form open
        await e.start(ctx, "kept")
        assert not await e.keeps_bytes(ctx)  # at the project step
        await e.text(ctx, "电池")
        assert await e.keeps_bytes(ctx)
        await e.press(ctx, Choose("kept", "files", "done"))
        assert not await e.keeps_bytes(ctx)  # the summary
        await e.cancel(ctx)
        await e.start(ctx, "tiny")
        await e.text(ctx, "电池")
        await e.text(ctx, "新材料")
        await e.press(ctx, Choose("tiny", "tags", "done"))
        assert not await e.keeps_bytes(ctx)  # a files step that keeps the reference


async def test_old_buttons_are_stale_and_change_nothing(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "tiny")
        await e.text(ctx, "电池")
        await e.press(ctx, Choose("tiny", "industry", "0"))
    before = await world.stored()
    async with world.ctx() as ctx:
        for value in (
            Choose("tiny", "industry", "1"),
            Act("tiny", "save"),
            Edit("tiny", "project"),
            Choose("other", "project", "x"),
            STALE,
        ):
            assert (await e.press(ctx, value)).status is Status.STALE
    assert await world.stored() == before


async def test_edit_from_the_summary_comes_back_to_the_summary(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "tiny")
        await e.text(ctx, "电池")
        await e.press(ctx, Choose("tiny", "industry", "0"))
        await e.press(ctx, Choose("tiny", "tags", "skip"))
        await e.press(ctx, Choose("tiny", "files", "skip"))
        out = await e.press(ctx, Act("tiny", "edit"))
        assert out.view is not None and out.view.step == "_pick"
        out = await e.press(ctx, Edit("tiny", "project"))
        assert out.view is not None and out.view.step == "project"
        out = await e.text(ctx, "refuse")
        assert out.view is not None and out.view.step == "_summary"
        out = await e.press(ctx, Act("tiny", "save"))  # the service refuses: summary + reason
    assert out.status is Status.SHOWN and out.view is not None
    assert out.view.step == "_summary" and out.view.notes[0].key == "report.missing"
    assert SAVED == []


async def test_one_form_at_a_time_and_people_apart(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "tiny")
        await e.text(ctx, "电池")
        await e.start(ctx, "other")  # replaces the first form
        assert await e.active(ctx) == "other"
        out = await e.press(ctx, Choose("tiny", "industry", "0"))
        assert out.status is Status.STALE
    async with world.ctx("tg:8") as ctx:
        assert (await e.text(ctx, "x")).status is Status.NONE
    async with world.db.session() as session:
        assert len((await session.scalars(select(FormDraft))).all()) == 1


async def test_expiry_by_the_injected_clock_and_the_sweep(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "tiny")
    world.clock.advance(timedelta(minutes=61))
    async with world.ctx() as ctx:
        out = await e.text(ctx, "电池")
        assert out.status is Status.EXPIRED and out.said[0].key == "report.expired"
        assert (await e.text(ctx, "电池")).status is Status.NONE
        await e.start(ctx, "tiny")
    world.clock.advance(timedelta(minutes=30))
    async with world.db.session() as session:
        assert await e.sweep(session, world.clock.now()) == []
    world.clock.advance(timedelta(minutes=31))
    async with world.db.session() as session:
        [idle] = await e.sweep(session, world.clock.now())
    assert idle.person == "tg:7" and idle.form == "tiny" and idle.said.key == "report.expired"
    assert await world.stored() is None


async def test_cancel_and_the_draft_is_json(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "tiny")
        await e.text(ctx, "电池")
    stored = await world.stored()
    assert stored is not None and Draft.from_json(stored).to_json() == stored
    async with world.ctx() as ctx:
        out = await e.cancel(ctx)
        assert out.status is Status.CLOSED and out.said[0].key == "report.cancelled"
        assert (await e.cancel(ctx)).status is Status.NONE


async def test_two_instances_cannot_both_move_the_same_draft_on(world: World) -> None:
    e = world.engine
    async with world.ctx() as ctx:
        await e.start(ctx, "tiny")
    async with world.db.session() as session:
        first = await store.load(session, "tg:7")
    assert first is not None
    async with world.ctx() as ctx:
        await e.text(ctx, "电池")  # this instance answered first
    with pytest.raises(store.DraftConflict):
        async with world.db.session() as session:  # the other wrote on what it had read
            await store.write(session, "tg:7", first.draft, world.clock.now(), first.version)
    stored = await world.stored()
    assert stored is not None and stored["values"] == {"project": "电池"}
