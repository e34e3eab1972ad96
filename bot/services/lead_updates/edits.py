"""Correcting a lead's fields: which fields a unit may edit, the prompt for one, parsing
a new value the way the report form does, and a new company name or credit code
moving the first-report claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.assembly.config import Settings
from bot.domain.amounts import AmountError, format_wan, parse_usd, parse_wan
from bot.domain.credit_code import CreditCodeError, parse_credit_code
from bot.domain.dedup import company_key
from bot.domain.enums import Review
from bot.domain.leadfields import (
    COMPANY_MAX,
    CONTACT_MAX,
    NOTES_MAX,
    PROJECT_MAX,
    FieldError,
    parse_phone,
)
from bot.domain.leadfields import parse_percent as _domain_percent
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.lead_updates.common import _clean, _event, _lead, _owner, _require_member
from bot.services.scoring import offered, refresh_after
from storage import dedup_repo, lead_repo
from storage.models import Lead

# The fields a unit may correct, in the order the edit menu shows them.
FIELDS: tuple[str, ...] = (
    "project",
    "company",
    "industry",
    "amount_wan",
    "origin",
    "tags",
    "foreign_usd",
    "contact_name",
    "contact_phone",
    "channel",
    "notes",
    "outside_share",  # seed 004 二(四): 县外投资比例 (appended: menu buttons index this tuple)
    "credit_code",  # 统一社会信用代码 (issue 14)
)
# 税收 is not a field: monthly records, /tax L0007 8万 2026-11 (bot.services.funds.TAX).
REQUIRED = frozenset({"project", "company", "industry", "amount_wan", "origin"})
CHOICES = {"industry": "industries", "origin": "origins", "channel": "channels", "tags": "tags"}
_TEXT_LIMITS = {
    "project": PROJECT_MAX,
    "company": COMPANY_MAX,
    "contact_name": CONTACT_MAX,
    "notes": NOTES_MAX,
}
_TAG_SPLIT = re.compile(r"[\s,，、;；/]+")


@dataclass(frozen=True)
class EditMenu:
    lead_id: int
    code: str
    project: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class EditPrompt:
    lead_id: int
    code: str
    project: str
    field: str
    current: Any  # typed: Decimal for money, list for tags, str or None
    options: tuple[str, ...]  # for choice fields
    optional: bool


@dataclass(frozen=True)
class EditResult:
    lead_id: int
    code: str
    field: str
    old: Any
    new: Any


def _may_edit(actor: Actor, lead: Lead) -> None:
    if not _owner(actor, lead):
        raise ServiceError("leads.edit.not_yours", lead=lead.code)


async def edit_menu(session: AsyncSession, actor: Actor, lead_id: int) -> EditMenu:
    _require_member(actor)
    lead = await _lead(session, lead_id)
    _may_edit(actor, lead)
    return EditMenu(lead.id, lead.code, lead.project, FIELDS)


async def start_edit(
    session: AsyncSession, actor: Actor, lead_id: int, field: str, settings: Settings
) -> EditPrompt:
    _require_member(actor)
    if field not in FIELDS:
        raise ServiceError("leads.edit.unknown_field")
    lead = await _lead(session, lead_id)
    _may_edit(actor, lead)
    options = offered(settings, CHOICES[field]) if field in CHOICES else ()
    current = list(lead.tags or []) if field == "tags" else getattr(lead, field)
    return EditPrompt(
        lead.id, lead.code, lead.project, field, current, options, field not in REQUIRED
    )


async def edit_lead(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    field: str,
    value: str | list[str] | None,
    settings: Settings,
) -> EditResult:
    """Correct one field. ``value`` is what the person typed or chose; None clears it."""
    _require_member(actor)
    if field not in FIELDS:
        raise ServiceError("leads.edit.unknown_field")
    lead = await _lead(session, lead_id, lock=True)
    _may_edit(actor, lead)
    new = parse_value(field, value, settings)
    old = list(lead.tags or []) if field == "tags" else getattr(lead, field)
    if _as_text(field, old) == _as_text(field, new):
        raise ServiceError("leads.edit.unchanged")
    if field == "company":
        await _change_company(session, lead, new)
    elif field == "credit_code":
        await _change_credit(session, lead, new)
    else:
        setattr(lead, field, new)
    lead.updated_at = now
    _event(
        session, lead, now, actor, "edit", _as_text(field, old), _as_text(field, new), field=field
    )
    await session.flush()
    await refresh_after(session, lead.unit_id, now, settings)  # scoring: /rank moves at once
    return EditResult(lead.id, lead.code, field, old, new)


def parse_value(field: str, value: str | list[str] | None, settings: Settings) -> Any:
    """Check a new value the same way the report form does."""
    if value is None or (isinstance(value, list) and not value and field != "tags"):
        if field in REQUIRED:
            raise ServiceError("leads.edit.required")
        return [] if field == "tags" else None
    if field == "tags":
        words = value if isinstance(value, list) else [w for w in _TAG_SPLIT.split(value) if w]
        tags = offered(settings, "tags")
        unknown = [w for w in words if w not in tags]
        if unknown:
            raise ServiceError("leads.edit.bad_choice", value=unknown[0], options="、".join(tags))
        return [t for t in tags if t in set(words)]
    if not isinstance(value, str):
        raise ServiceError("leads.edit.bad_choice", value=str(value), options="")
    if field in CHOICES:
        options = offered(settings, CHOICES[field])
        choice = value.strip()
        if choice not in options:
            raise ServiceError(
                "leads.edit.bad_choice", value=choice[:40], options="、".join(options)
            )
        return choice
    if field == "outside_share":
        return parse_percent(value)
    if field in ("amount_wan", "foreign_usd"):
        try:
            return parse_usd(value) if field == "foreign_usd" else parse_wan(value)
        except AmountError as err:
            raise ServiceError(f"leads.amount.{err.code}") from None
    if field == "credit_code":
        try:
            return parse_credit_code(value)
        except CreditCodeError as err:  # dedup.credit.check → leads.input.credit_check
            raise ServiceError(f"leads.input.credit_{err.code.rsplit('.', 1)[-1]}") from None
    if field == "contact_phone":
        try:
            return parse_phone(value)
        except FieldError:
            raise ServiceError("leads.input.bad_phone") from None
    return _clean(value, _TEXT_LIMITS[field], multiline=field == "notes")


def parse_percent(text: str) -> Decimal:
    """县外投资比例 as /edit takes it: the domain's parser (``30%``, ``百分之30``), its refusal
    in the edit's words."""
    try:
        return _domain_percent(text)
    except FieldError:
        raise ServiceError("leads.input.bad_percent") from None


async def _change_company(session: AsyncSession, lead: Lead, company: str) -> None:
    key = company_key(company)
    if not key:
        raise ServiceError("leads.input.empty")
    lead.company, lead.company_key = company, key
    if lead.first_key is None or lead.first_key == key:
        return  # a duplicate stays a duplicate; a rejected lead claims nothing
    try:
        async with session.begin_nested():
            lead.first_key = key
            await session.flush()
    except IntegrityError:
        first = await lead_repo.first_by_key(session, key)
        raise ServiceError(
            "leads.edit.company_taken",
            unit=first.unit.name if first else "?",
            first=first.code if first else "?",
        ) from None


async def _change_credit(session: AsyncSession, lead: Lead, code: str | None) -> None:
    """One credit code, one company: a code another counted lead carries is refused unless
    that lead is this one's first report or its duplicate; a first report's code is
    claimed in ``first_credit`` (the database decides a race), a cleared code frees it."""
    if code is not None:
        family = lead.duplicate_of or lead.id
        for other in await dedup_repo.credit_carriers(session, code, lead.id):
            root = other.duplicate_of or other.id
            if root == family:
                continue
            first = await lead_repo.lead_by_id(session, root) or other
            if first.review != Review.REJECTED:  # a rejected first report holds nothing
                raise ServiceError(
                    "leads.edit.credit_taken", unit=first.unit.name, first=first.code
                )
    lead.credit_code = code
    if lead.first_key is None:
        return  # a duplicate or a rejected lead claims nothing (a reclaim claims it later)
    try:
        async with session.begin_nested():
            lead.first_credit = code
            await session.flush()
    except IntegrityError:
        holder = await dedup_repo.first_by_credit(session, code) if code else None
        raise ServiceError(
            "leads.edit.credit_taken",
            unit=holder.unit.name if holder else "?",
            first=holder.code if holder else "?",
        ) from None


def _as_text(field: str, value: Any) -> str | None:
    """How a value is kept in the history (and compared for "unchanged")."""
    if value is None or value == []:
        return None
    if field == "amount_wan":
        return format_wan(Decimal(value))
    if field == "foreign_usd":
        return f"{Decimal(value).normalize():f}"
    if field == "outside_share":
        return f"{Decimal(value).normalize():f}"
    if field == "tags":
        return "、".join(value)
    return str(value)
