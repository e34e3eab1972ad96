"""The one place a form in progress lives: the ``form_drafts`` table, one row per person.

Written in the session of the answer, so the draft commits with whatever the
answer changed, before the adapter sends the next question.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.forms.model import Draft
from storage.models.forms import FormDraft


class DraftConflict(RuntimeError):
    """Another instance moved the same draft on between our read and our write."""


@dataclass(frozen=True)
class Stored:
    draft: Draft
    version: int
    touched_at: datetime


async def load(session: AsyncSession, person: str) -> Stored | None:
    row = await session.get(FormDraft, person)
    if row is None:
        return None
    try:
        draft = Draft.from_json(row.data)
    except (KeyError, TypeError, ValueError):
        await drop(session, person)  # unreadable: closed rather than kept forever
        return None
    return Stored(draft, row.version, row.touched_at)


async def replace(session: AsyncSession, person: str, draft: Draft, now: datetime) -> None:
    """A new form: whatever the person had open is gone (one form at a time)."""
    await drop(session, person)
    session.add(FormDraft(person=person, form=draft.form, data=draft.to_json(), touched_at=now))
    await session.flush()


async def write(
    session: AsyncSession, person: str, draft: Draft, now: datetime, version: int
) -> None:
    result = await session.execute(
        update(FormDraft)
        .where(FormDraft.person == person, FormDraft.version == version)
        .values(data=draft.to_json(), form=draft.form, touched_at=now, version=version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DraftConflict(person)


async def drop(session: AsyncSession, person: str) -> None:
    await session.execute(
        delete(FormDraft)
        .where(FormDraft.person == person)
        .execution_options(synchronize_session=False)
    )


async def take_idle(session: AsyncSession, cutoff: datetime) -> list[tuple[str, str]]:
    """Remove and return (person, form) of every draft untouched since ``cutoff``."""
    rows = (
        await session.execute(
            select(FormDraft.person, FormDraft.form).where(FormDraft.touched_at < cutoff)
        )
    ).all()
    if rows:
        await session.execute(
            delete(FormDraft)
            .where(FormDraft.person.in_([p for p, _ in rows]), FormDraft.touched_at < cutoff)
            .execution_options(synchronize_session=False)
        )
    return [(p, f) for p, f in rows]
