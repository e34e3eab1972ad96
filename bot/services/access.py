"""Who is talking: admin from the environment, a registered member, or a stranger."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.catalog import normalize_locale
from bot.domain.enums import Role
from storage import repo


@dataclass(frozen=True)
class Actor:
    tg_user_id: int
    display_name: str
    locale: str
    role: Role | None = None
    member_id: int | None = None
    unit_id: int | None = None
    unit_name: str | None = None
    notify_via: str | None = None  # a linked member's channel for the bot's own messages

    @property
    def is_member(self) -> bool:
        return self.role is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_leader(self) -> bool:
        """Leaders and admins see every unit."""
        return self.role in (Role.LEADER, Role.ADMIN)


async def resolve_actor(
    session: AsyncSession,
    settings: Settings,
    tg_user_id: int,
    name: str,
    language_code: str | None,
) -> Actor:
    member = await repo.member_by_tg(session, tg_user_id)
    locale = (member.locale if member and member.locale else None) or (
        normalize_locale(language_code) if language_code else settings.locale
    )
    if tg_user_id in settings.admins:
        return Actor(
            tg_user_id,
            member.display_name if member else name,
            locale,
            Role.ADMIN,
            member.id if member else None,
            member.unit_id if member else None,
            member.unit.name if member and member.unit else None,
            member.notify_via if member else None,
        )
    if member is None or not member.active:
        return Actor(tg_user_id, name, locale)
    return Actor(
        tg_user_id,
        member.display_name,
        locale,
        Role(member.role),
        member.id,
        member.unit_id,
        member.unit.name if member.unit else None,
        member.notify_via,
    )


@dataclass
class ActorCache:
    """Who is who, remembered for a short while: every update needs it.

    Changes made through this process (joining, /lang) replace the entry at
    once; a change made by another instance is seen within ``ttl`` seconds.
    """

    ttl: float = 30.0
    _items: dict[int, tuple[float, Actor]] = field(default_factory=dict)

    def get(self, tg_user_id: int) -> Actor | None:
        item = self._items.get(tg_user_id)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, actor: Actor) -> Actor:
        if len(self._items) > 10_000:
            self._items.clear()  # bounded: a jurisdiction has hundreds of members
        self._items[actor.tg_user_id] = (time.monotonic() + self.ttl, actor)
        return actor

    def drop(self, tg_user_id: int) -> None:
        self._items.pop(tg_user_id, None)
