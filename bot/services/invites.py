"""Invite links: how a liaison, head or leader joins, and how admins stay in control.

A token is 192 random bits from :mod:`secrets` in the deep-link alphabet
(``A–Z a–z 0–9 _ -``, ≤ 64 characters as Telegram requires), expires, may be
single-use, and can be revoked. Redeeming is one atomic UPDATE so that a
single-use link cannot be used twice, even by two people at the same instant.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import Role
from bot.services import ServiceError
from bot.services.units import find_unit
from storage import repo
from storage.models import Invite, Member

TOKEN_BYTES = 24  # 192 bits → 32 url-safe characters
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_LINKS_AT_ONCE = 20

ROLE_WORDS: dict[str, Role] = {
    "liaison": Role.LIAISON,
    "专干": Role.LIAISON,
    "招商专干": Role.LIAISON,
    "联络员": Role.LIAISON,
    "head": Role.HEAD,
    "负责人": Role.HEAD,
    "单位负责人": Role.HEAD,
    "leader": Role.LEADER,
    "领导": Role.LEADER,
    "admin": Role.ADMIN,
    "管理员": Role.ADMIN,
}


@dataclass(frozen=True)
class InviteInfo:
    id: int
    token: str
    role: Role
    unit_name: str | None
    expires_at: datetime
    single_use: bool
    uses: int


@dataclass(frozen=True)
class Joined:
    role: Role
    unit_name: str | None
    display_name: str
    changed: bool  # False when the member already had exactly this place


@dataclass(frozen=True)
class InviteRequest:
    role: Role
    count: int


def parse_role_spec(word: str) -> InviteRequest | None:
    """``专干×2``, ``liaison*2``, ``head`` → role and how many links."""
    m = re.fullmatch(r"(.+?)(?:[×xX*](\d{1,2}))?", word.strip())
    if not m or m.group(1).lower() not in ROLE_WORDS:
        return None
    count = int(m.group(2) or 1)
    return InviteRequest(ROLE_WORDS[m.group(1).lower()], count)


@dataclass(frozen=True)
class InviteCommand:
    """``/invite 招商引资部 专干×2 负责人 [once] [7d]`` read: every channel types the same."""

    requests: tuple[InviteRequest, ...]
    unit: str | None  # the words that are neither a role, ``once`` nor a validity
    single: bool
    days: int | None


def parse_invite_command(text: str) -> InviteCommand:
    """The words of ``/invite``; no role at all raises ``invite.usage``."""
    requests, rest, single, days = [], [], False, None
    for word in text.split():
        spec = parse_role_spec(word)
        validity = re.fullmatch(r"(\d{1,3})(d|天)", word.lower())
        if spec:
            requests.append(spec)
        elif word.lower() in ("once", "单次", "一次性"):
            single = True
        elif validity:
            days = int(validity.group(1))
        else:
            rest.append(word)
    if not requests:
        raise ServiceError("invite.usage")
    return InviteCommand(tuple(requests), " ".join(rest) or None, single, days)


def _info(inv: Invite) -> InviteInfo:
    return InviteInfo(
        inv.id,
        inv.token,
        Role(inv.role),
        inv.unit.name if inv.unit else None,
        inv.expires_at,
        inv.single_use,
        inv.uses,
    )


async def create_invites(
    session: AsyncSession,
    now: datetime,
    actor: int,
    unit_ref: str | None,
    requests: list[InviteRequest],
    ttl: timedelta,
    single_use: bool,
) -> list[InviteInfo]:
    if not requests:
        raise ServiceError("invite.no_role")
    if sum(r.count for r in requests) > MAX_LINKS_AT_ONCE:
        raise ServiceError("invite.too_many", limit=MAX_LINKS_AT_ONCE)
    needs_unit = any(r.role.needs_unit for r in requests)
    unit = await find_unit(session, unit_ref) if unit_ref else None
    if needs_unit and unit is None:
        raise ServiceError("invite.needs_unit")
    created = []
    for req in requests:
        for _ in range(req.count):
            inv = Invite(
                token=secrets.token_urlsafe(TOKEN_BYTES),
                unit_id=unit.id if unit and req.role.needs_unit else None,
                role=req.role.value,
                expires_at=now + ttl,
                # Only a liaison link may be shared with a group; a head's, leader's or admin's
                # link makes whoever taps it that person, so it works once.
                single_use=single_use or req.role is not Role.LIAISON,
                uses=0,
                created_by=actor,
                created_at=now,
            )
            inv.unit = unit if unit and req.role.needs_unit else None
            session.add(inv)
            created.append(inv)
    await session.flush()
    repo.audit(session, now, actor, "invite.create", ids=[i.id for i in created])
    return [_info(i) for i in created]


async def list_invites(session: AsyncSession, now: datetime) -> list[InviteInfo]:
    return [_info(i) for i in await repo.active_invites(session, now)]


async def revoke_invite(session: AsyncSession, now: datetime, actor: int, ref: str) -> InviteInfo:
    """By list number (``#12``/``12``) or by the token (or its first characters)."""
    ref = ref.strip().lstrip("#")
    invites = await repo.active_invites(session, now)
    match = [i for i in invites if str(i.id) == ref] or [
        i for i in invites if len(ref) >= 6 and i.token.startswith(ref)
    ]
    if len(match) != 1:
        raise ServiceError("invite.revoke_not_found", ref=ref)
    match[0].revoked_at = now
    repo.audit(session, now, actor, "invite.revoke", invite_id=match[0].id)
    return _info(match[0])


async def redeem(
    session: AsyncSession,
    now: datetime,
    token: str,
    tg_user_id: int,
    name: str,
    username: str | None,
) -> Joined:
    if not TOKEN_RE.fullmatch(token or ""):
        raise ServiceError("invite.invalid")
    inv = await repo.invite_by_token(session, token)
    if inv is None:
        raise ServiceError("invite.invalid")
    if inv.revoked_at is not None:
        raise ServiceError("invite.revoked")
    if inv.expires_at <= now:
        raise ServiceError("invite.expired", expired_at=inv.expires_at)
    member = await repo.member_by_tg(session, tg_user_id)
    role = Role(inv.role)
    if member and member.active and member.role == role.value and member.unit_id == inv.unit_id:
        return Joined(role, inv.unit.name if inv.unit else None, member.display_name, changed=False)
    if not await repo.take_invite(session, inv.id, now):
        raise ServiceError("invite.used")
    if member is None:
        member = Member(
            tg_user_id=tg_user_id, display_name=name[:128] or str(tg_user_id), joined_at=now
        )
        session.add(member)
    member.username = (username or None) and username[:64]
    member.role, member.unit_id, member.active, member.invite_id = (
        role.value,
        inv.unit_id,
        True,
        inv.id,
    )
    repo.audit(
        session,
        now,
        tg_user_id,
        "member.join",
        invite_id=inv.id,
        role=role.value,
        unit_id=inv.unit_id,
    )
    return Joined(role, inv.unit.name if inv.unit else None, member.display_name, changed=True)
