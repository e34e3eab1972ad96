"""Who is talking: admin from the environment, a registered member, or a stranger."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog import normalize_locale
from bot.config import Settings
from storage import repo
from storage.models import Role


@dataclass(frozen=True)
class Actor:
    tg_user_id: int
    display_name: str
    locale: str
    role: Role | None = None
    member_id: int | None = None
    unit_id: int | None = None
    unit_name: str | None = None

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
    )
