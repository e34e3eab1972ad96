"""What every lead use case shares: the member check, loading a lead, who owns it, the
short reference the two-step prompts check first (:class:`LeadRef`), cleaning typed
text and writing the :class:`~storage.models.LeadEvent` that scoring reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import lead_code
from bot.domain.leadfields import (
    FieldError,
    clean_line,
)
from bot.services import ServiceError
from bot.services.access import Actor
from storage import lead_repo
from storage.models import Lead, LeadEvent


@dataclass(frozen=True)
class LeadRef:
    lead_id: int
    code: str
    project: str
    stage: str


def _require_member(actor: Actor) -> None:
    if not actor.is_member:
        raise ServiceError("access.stranger")


async def _lead(session: AsyncSession, lead_id: int, *, lock: bool = False) -> Lead:
    lead = await (
        lead_repo.lead_for_update(session, lead_id)
        if lock
        else lead_repo.lead_by_id(session, lead_id)
    )
    if lead is None:
        raise ServiceError("leads.not_found", lead=lead_code(lead_id))
    return lead


def _owner(actor: Actor, lead: Lead) -> bool:
    return actor.unit_id is not None and actor.unit_id == lead.unit_id


def _clean(
    text: str | None, limit: int, *, multiline: bool = False, empty: str = "leads.input.empty"
) -> str:
    try:
        return clean_line(text, limit, multiline=multiline)
    except FieldError as err:
        if err.code == "field.too_long":
            raise ServiceError("leads.input.too_long", **err.params) from None
        raise ServiceError(empty) from None


def _event(
    session: AsyncSession,
    lead: Lead,
    now: datetime,
    actor: Actor,
    kind: str,
    from_value: str | None,
    to_value: str | None,
    *,
    note: str | None = None,
    field: str | None = None,
) -> None:
    session.add(
        LeadEvent(
            lead_id=lead.id,
            unit_id=lead.unit_id,
            at=now,
            actor_tg_id=actor.tg_user_id,
            kind=kind,
            from_value=from_value,
            to_value=to_value,
            field=field,
            note=note,
        )
    )
