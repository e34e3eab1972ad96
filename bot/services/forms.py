"""Closing forms nobody finished, by our clock.

PTB's conversation timeout is a wall-clock job that a restart forgets; the
draft's ``touched`` time is persisted with it, so the decision is made here,
from the database, and survives restarts and instances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repo

USER_KIND = "user"


@dataclass(frozen=True)
class ClosedForm:
    tg_user_id: int
    locale: str | None


def is_idle(draft: object, now: datetime, timeout: timedelta) -> bool:
    if not isinstance(draft, dict) or "touched" not in draft:
        return False
    try:
        return now - datetime.fromisoformat(str(draft["touched"])) > timeout
    except ValueError:
        return True  # an unreadable draft is closed rather than kept forever


async def close_idle_forms(
    session: AsyncSession, now: datetime, timeout: timedelta, form_key: str
) -> list[ClosedForm]:
    closed = []
    for key, data in (await repo.persisted(session, USER_KIND)).items():
        if not is_idle(data.get(form_key), now, timeout):
            continue
        data = {k: v for k, v in data.items() if k != form_key}
        if data:
            await repo.persist(session, USER_KIND, key, data, now)
        else:
            await repo.unpersist(session, USER_KIND, key)
        member = await repo.member_by_tg(session, int(key))
        closed.append(ClosedForm(int(key), member.locale if member else None))
    return closed
