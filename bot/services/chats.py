"""Binding Telegram groups to a unit, or as the leaders' group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import ServiceError
from bot.services.units import find_unit
from storage import repo
from storage.models import Chat, ChatKind

LEADER_WORDS = {"leaders", "leader", "领导", "领导群", "领导组"}


@dataclass(frozen=True)
class Binding:
    kind: ChatKind
    unit_name: str | None
    replaced_chat: bool  # the unit or leaders' group had another chat before


async def bind(
    session: AsyncSession,
    now: datetime,
    actor: int,
    tg_chat_id: int,
    title: str | None,
    target: str,
) -> Binding:
    """One group per unit and one leaders' group: binding a new one moves the binding."""
    if tg_chat_id > 0:
        raise ServiceError("bind.not_group")
    target = (target or "").strip()
    if not target:
        raise ServiceError("bind.usage")
    if target.lower() in LEADER_WORDS:
        kind, unit = ChatKind.LEADERS, None
    else:
        kind, unit = ChatKind.UNIT, await find_unit(session, target)
    before = await repo.chats_of_kind(session, kind.value, unit.id if unit else None)
    replaced = any(c.tg_chat_id != tg_chat_id for c in before)
    await repo.delete_chat_bindings(session, tg_chat_id=tg_chat_id)
    await repo.delete_chat_bindings(session, kind=kind.value, unit_id=unit.id if unit else None)
    await session.flush()
    session.add(
        Chat(
            tg_chat_id=tg_chat_id,
            kind=kind.value,
            unit_id=unit.id if unit else None,
            title=(title or "")[:255] or None,
            bound_by=actor,
            bound_at=now,
        )
    )
    repo.audit(
        session,
        now,
        actor,
        "chat.bind",
        chat=tg_chat_id,
        kind=kind.value,
        unit_id=unit.id if unit else None,
    )
    return Binding(kind, unit.name if unit else None, replaced)


async def unbind(session: AsyncSession, now: datetime, actor: int, tg_chat_id: int) -> bool:
    existing = await repo.chat_by_tg(session, tg_chat_id)
    if existing is None:
        return False
    await repo.delete_chat_bindings(session, tg_chat_id=tg_chat_id)
    repo.audit(session, now, actor, "chat.unbind", chat=tg_chat_id)
    return True


async def binding_of(session: AsyncSession, tg_chat_id: int) -> Binding | None:
    chat = await repo.chat_by_tg(session, tg_chat_id)
    if chat is None:
        return None
    unit = await repo.unit_by_id(session, chat.unit_id) if chat.unit_id else None
    return Binding(ChatKind(chat.kind), unit.name if unit else None, False)
