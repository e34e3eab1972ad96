"""Files uploaded on the web report page: stored on pick, claimed by the lead's save."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebFile

UNSAVED_KEPT = timedelta(days=1)


async def add(
    session: AsyncSession,
    *,
    token: str,
    uploader: str,
    name: str,
    content_type: str,
    data: bytes,
    now: datetime,
) -> None:
    """Keep an upload; uploads that no save claimed within a day go first (abandoned pages)."""
    await session.execute(
        delete(WebFile).where(_unclaimed(), WebFile.created_at < now - UNSAVED_KEPT)
    )
    session.add(
        WebFile(
            token=token,
            uploader=uploader,
            lead_id=None,
            name=name,
            content_type=content_type,
            size=len(data),
            data=data,
            created_at=now,
        )
    )


async def unsaved_of(
    session: AsyncSession, uploader: str, tokens: Iterable[str]
) -> Sequence[tuple[int, str, str, str]]:
    """(id, token, name, content type) of this person's uploads among ``tokens`` that no lead
    holds yet, in the order of ``tokens`` (the page's list; uploads finish in any order):
    a token of someone else's file, or one already saved, is not there, so a forged form
    cannot attach it."""
    wanted = list(dict.fromkeys(tokens))
    if not wanted:
        return []
    result = await session.execute(
        select(WebFile.id, WebFile.token, WebFile.name, WebFile.content_type).where(
            WebFile.token.in_(wanted),
            WebFile.uploader == uploader,
            _unclaimed(),
        )
    )
    place = {token: i for i, token in enumerate(wanted)}
    rows = sorted(result.all(), key=lambda r: place[r[1]])
    return [(r[0], r[1], r[2], r[3]) for r in rows]


async def link(
    session: AsyncSession,
    ids: Sequence[int],
    *,
    lead_id: int | None = None,
    activity_id: int | None = None,
) -> None:
    """The saved lead or activity claims these rows (only rows nothing claimed yet)."""
    if ids:
        await session.execute(
            update(WebFile)
            .where(WebFile.id.in_(list(ids)), _unclaimed())
            .values(lead_id=lead_id, activity_id=activity_id)
        )


async def by_token(session: AsyncSession, token: str) -> WebFile | None:
    result = await session.execute(select(WebFile).where(WebFile.token == token))
    return result.scalar_one_or_none()


async def unsaved_count(session: AsyncSession, uploader: str) -> int:
    result = await session.execute(
        select(func.count()).select_from(WebFile).where(WebFile.uploader == uploader, _unclaimed())
    )
    return int(result.scalar_one())


def _unclaimed() -> ColumnElement[bool]:
    return and_(WebFile.lead_id.is_(None), WebFile.activity_id.is_(None))
