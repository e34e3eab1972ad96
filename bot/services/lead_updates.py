"""After the report: browsing leads, moving stages, leaders' review, corrections.

Who may do what (the handlers show only the buttons that fit, but every rule is
checked here again):

* read: the lead's unit and leaders/admins see the full card; members of other
  units the outline (:func:`bot.services.leads.card`); strangers nothing;
* stage: the lead's unit and leaders; moving *backwards* needs a leader;
  skipping stages forward is allowed and recorded as one move;
* review: leaders and admins only. Rejecting a lead that is the first report of
  its company clears ``first_key``: the company is free again and the next report
  of it becomes the first. Leads already stored as duplicates of it stay
  duplicates. Verifying a rejected first report claims the company back if
  nobody has claimed it since; otherwise the lead becomes a duplicate of the
  newer first report;
* edit: the lead's unit (liaisons and head). A new company name gets a new key;
  a first report moves its claim to the new key, refused when another lead
  holds it; a duplicate stays a duplicate.

Every change is one :class:`LeadEvent` (kind ``stage``, ``verify``, ``reject``
or ``edit``) with who, when, from, to and the note; scoring reads those.
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
from bot.domain.dedup import company_key
from bot.domain.enums import Review, lead_code
from bot.domain.leadfields import (
    COMPANY_MAX,
    CONTACT_MAX,
    NOTES_MAX,
    PROJECT_MAX,
    FieldError,
    clean_line,
    parse_phone,
)
from bot.services import ServiceError
from bot.services.access import Actor
from bot.services.leads import LeadCard, can_see_full, card
from bot.services.scoring import ScoringSetup, offered, refresh_after
from storage import lead_repo, repo
from storage.models import Lead, LeadEvent

PAGE_SIZE = 10
REASON_MAX = NOTES_MAX

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
    "outside_share",
    "tax_wan",  # seed 004 二(四): 县外投资比例, 税收 (appended: menu buttons index this tuple)
)
REQUIRED = frozenset({"project", "company", "industry", "amount_wan", "origin"})
CHOICES = {"industry": "industries", "origin": "origins", "channel": "channels", "tags": "tags"}
_TEXT_LIMITS = {
    "project": PROJECT_MAX,
    "company": COMPANY_MAX,
    "contact_name": CONTACT_MAX,
    "notes": NOTES_MAX,
}
_TAG_SPLIT = re.compile(r"[\s,，、;；/]+")


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadRow:
    lead_id: int
    code: str
    project: str
    unit_name: str
    stage: str
    review: str
    duplicate_of: str | None


@dataclass(frozen=True)
class LeadPage:
    rows: tuple[LeadRow, ...]
    total: int
    page: int  # 0-based, already clamped
    pages: int
    stage: str | None
    all_units: bool  # leaders: every unit, the unit shown on each line
    unit_name: str | None


@dataclass(frozen=True)
class LeadView:
    lead_id: int
    card: LeadCard
    can_stage: bool
    can_edit: bool
    can_review: bool


@dataclass(frozen=True)
class LeadFile:
    file_id: str
    kind: str  # "photo" or "document"
    name: str


@dataclass(frozen=True)
class StageMenu:
    lead_id: int
    code: str
    project: str
    current: str
    choices: tuple[str, ...]  # what this actor may pick
    backwards_need_leader: bool  # earlier stages exist but need a leader


@dataclass(frozen=True)
class StageChange:
    lead_id: int
    code: str
    project: str
    from_stage: str
    to_stage: str
    skipped: tuple[str, ...]
    backwards: bool
    note: str | None


@dataclass(frozen=True)
class Recipient:
    tg_user_id: int
    locale: str | None
    name: str


@dataclass(frozen=True)
class LeadRef:
    lead_id: int
    code: str
    project: str
    stage: str


@dataclass(frozen=True)
class ReviewResult:
    lead_id: int
    code: str
    project: str
    unit_name: str
    review: str
    note: str | None
    released: bool  # the company's first-report claim was freed
    duplicate_of: str | None  # a re-verified lead found another first report
    recipients: tuple[Recipient, ...]


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


# --- reading -----------------------------------------------------------------------------


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


async def browse(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    stage: str | None = None,
    page: int = 0,
    page_size: int = PAGE_SIZE,
) -> LeadPage:
    """The caller's unit's leads (leaders: every unit), newest first, one page."""
    _require_member(actor)
    if stage is not None and stage not in settings.stages:
        raise ServiceError("leads.stage.unknown", stage=stage, stages="、".join(settings.stages))
    all_units = actor.is_leader
    if not all_units and actor.unit_id is None:
        raise ServiceError("leads.no_unit")
    unit_id = None if all_units else actor.unit_id
    page = max(page, 0)
    rows, total = await lead_repo.unit_leads(session, unit_id, stage, page * page_size, page_size)
    pages = max(1, -(-total // page_size))
    if page >= pages:  # an old button, and leads went away: show the last page
        page = pages - 1
        rows, total = await lead_repo.unit_leads(
            session, unit_id, stage, page * page_size, page_size
        )
    return LeadPage(
        tuple(
            LeadRow(
                r.id,
                r.code,
                r.project,
                r.unit.name,
                r.stage,
                r.review,
                lead_code(r.duplicate_of) if r.duplicate_of else None,
            )
            for r in rows
        ),
        total,
        page,
        max(1, -(-total // page_size)),
        stage,
        all_units,
        actor.unit_name,
    )


async def view_lead(session: AsyncSession, actor: Actor, lead_id: int) -> LeadView:
    _require_member(actor)
    lead = await _lead(session, lead_id)
    owner = _owner(actor, lead)
    return LeadView(lead.id, card(actor, lead), owner or actor.is_leader, owner, actor.is_leader)


async def lead_files(session: AsyncSession, actor: Actor, lead_id: int) -> tuple[LeadFile, ...]:
    """The stored Telegram file ids, for those who may see the full card."""
    _require_member(actor)
    lead = await _lead(session, lead_id)
    if not can_see_full(actor, lead):
        raise ServiceError("leads.files.denied")
    files = []
    for item in lead.attachments or []:
        if isinstance(item, dict) and item.get("file_id"):
            kind = "photo" if (item.get("kind") or item.get("type")) == "photo" else "document"
            files.append(
                LeadFile(
                    str(item["file_id"]), kind, str(item.get("name") or item.get("file_name") or "")
                )
            )
    if not files:
        raise ServiceError("leads.files.none", lead=lead.code)
    return tuple(files)


# --- stages ------------------------------------------------------------------------------


def _may_move(actor: Actor, lead: Lead) -> None:
    if not (_owner(actor, lead) or actor.is_leader):
        raise ServiceError("leads.stage.not_yours", lead=lead.code)


def _index(settings: Settings, stage: str) -> int:
    return settings.stages.index(stage) if stage in settings.stages else -1


async def stage_menu(
    session: AsyncSession, actor: Actor, lead_id: int, settings: Settings
) -> StageMenu:
    _require_member(actor)
    lead = await _lead(session, lead_id)
    _may_move(actor, lead)
    here = _index(settings, lead.stage)
    if actor.is_leader:
        choices = tuple(s for s in settings.stages if s != lead.stage)
    else:
        choices = tuple(s for i, s in enumerate(settings.stages) if i > here)
    return StageMenu(
        lead.id, lead.code, lead.project, lead.stage, choices, not actor.is_leader and here > 0
    )


def _plan(
    actor: Actor, lead: Lead, to_stage: str, settings: Settings
) -> tuple[tuple[str, ...], bool]:
    _may_move(actor, lead)
    if to_stage not in settings.stages:
        raise ServiceError("leads.stage.unknown", stage=to_stage, stages="、".join(settings.stages))
    if to_stage == lead.stage:
        raise ServiceError("leads.stage.same", lead=lead.code, stage=to_stage)
    here, there = _index(settings, lead.stage), _index(settings, to_stage)
    backwards = here > there
    if backwards and not actor.is_leader:
        raise ServiceError(
            "leads.stage.backwards", lead=lead.code, current=lead.stage, stage=to_stage
        )
    skipped = tuple(settings.stages[here + 1 : there]) if not backwards and here >= 0 else ()
    return skipped, backwards


async def check_stage(
    session: AsyncSession, actor: Actor, lead_id: int, to_stage: str, settings: Settings
) -> LeadRef:
    """Refuse early (before asking for a note) what :func:`move_stage` would refuse."""
    _require_member(actor)
    lead = await _lead(session, lead_id)
    _plan(actor, lead, to_stage, settings)
    return LeadRef(lead.id, lead.code, lead.project, lead.stage)


async def move_stage(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    to_stage: str,
    note: str | None,
    settings: Settings,
) -> StageChange:
    _require_member(actor)
    lead = await _lead(session, lead_id, lock=True)
    skipped, backwards = _plan(actor, lead, to_stage, settings)
    note = _clean(note, NOTES_MAX, multiline=True) if note is not None else None
    from_stage = lead.stage
    lead.stage, lead.updated_at = to_stage, now
    _event(session, lead, now, actor, "stage", from_stage, to_stage, note=note)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, settings)  # scoring: /rank moves at once
    return StageChange(
        lead.id, lead.code, lead.project, from_stage, to_stage, skipped, backwards, note
    )


# --- review ------------------------------------------------------------------------------


def _may_review(actor: Actor) -> None:
    if not actor.is_leader:
        raise ServiceError("leads.review.leaders_only")


async def check_reject(session: AsyncSession, actor: Actor, lead_id: int) -> LeadRef:
    """Before asking a leader for the reason: may this lead be rejected now?"""
    _require_member(actor)
    _may_review(actor)
    lead = await _lead(session, lead_id)
    if lead.review == Review.REJECTED:
        raise ServiceError("leads.review.already_rejected", lead=lead.code)
    return LeadRef(lead.id, lead.code, lead.project, lead.stage)


async def verify_lead(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    *,
    setup: ScoringSetup | Settings,
) -> ReviewResult:
    _require_member(actor)
    _may_review(actor)
    lead = await _lead(session, lead_id, lock=True)
    if lead.review == Review.VERIFIED:
        raise ServiceError("leads.review.already_verified", lead=lead.code)
    previous = lead.review
    if previous == Review.REJECTED and lead.duplicate_of is None:
        lead = await _reclaim(session, lead)
    _review(lead, now, actor, Review.VERIFIED, None)
    _event(session, lead, now, actor, "verify", previous, Review.VERIFIED)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, setup)  # scoring: /rank moves at once
    return await _review_result(session, lead, released=False)


@dataclass(frozen=True)
class NodeConfirmed:
    code: str
    project: str
    stage: str


async def confirm_node(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    stage: str | None,
    settings: Settings,
) -> NodeConfirmed:
    """逐节点认定 (seed 004 二(三)): a leader confirms that the lead passed a stage node, e.g. 决策咨询.

    Only the nodes the rules file lists in ``confirm_stages`` need it; they score from the
    confirmation on. ``stage`` None: the first such node the lead has reached and nobody confirmed.
    Confirming a node is not verifying the lead (有效信息), which stays a separate decision.
    """
    from bot.services.scoring import setup_for

    _require_member(actor)
    if not actor.is_leader:
        raise ServiceError("leads.confirm.leaders_only")
    nodes = setup_for(settings).rules.confirm_stages
    if not nodes:
        raise ServiceError("leads.confirm.none")
    lead = await _lead(session, lead_id, lock=True)
    if lead.review == Review.REJECTED or lead.duplicate_of is not None:
        raise ServiceError("leads.confirm.not_counted", lead=lead.code)
    done = {
        e.to_value for e in await lead_repo.lead_history(session, lead.id) if e.kind == "confirm"
    }
    here = _index(settings, lead.stage)
    reached = [s for s in nodes if 0 <= _index(settings, s) <= here]
    if stage is None:
        stage = next((s for s in reached if s not in done), None)
        if stage is None:
            raise ServiceError("leads.confirm.nothing", lead=lead.code, stages="、".join(nodes))
    if stage not in nodes:
        raise ServiceError("leads.confirm.not_a_node", stage=stage[:20], stages="、".join(nodes))
    if stage not in reached:
        raise ServiceError("leads.confirm.not_reached", lead=lead.code, stage=stage)
    if stage in done:
        raise ServiceError("leads.confirm.already", lead=lead.code, stage=stage)
    _event(session, lead, now, actor, "confirm", None, stage)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, settings)  # the node scores now
    return NodeConfirmed(lead.code, lead.project, stage)


async def reject_lead(
    session: AsyncSession,
    now: datetime,
    actor: Actor,
    lead_id: int,
    reason: str | None,
    *,
    setup: ScoringSetup | Settings,
) -> ReviewResult:
    _require_member(actor)
    _may_review(actor)
    lead = await _lead(session, lead_id, lock=True)
    if lead.review == Review.REJECTED:
        raise ServiceError("leads.review.already_rejected", lead=lead.code)
    reason = _clean(reason, REASON_MAX, multiline=True, empty="leads.review.reason_missing")
    previous = lead.review
    released = lead.first_key is not None
    lead.first_key = None  # the company is free for a future first report
    lead.first_credit = None  # … and so is its credit code
    _review(lead, now, actor, Review.REJECTED, reason)
    _event(session, lead, now, actor, "reject", previous, Review.REJECTED, note=reason)
    await session.flush()
    await refresh_after(session, lead.unit_id, now, setup)  # scoring: /rank moves at once
    return await _review_result(session, lead, released=released)


async def _reclaim(session: AsyncSession, lead: Lead) -> Lead:
    """A rejected first report verified after all: first again, unless taken meanwhile."""
    first = await lead_repo.first_by_key(session, lead.company_key)
    if first is None:
        try:
            async with session.begin_nested():
                lead.first_key = lead.company_key
                await session.flush()
            return lead
        except IntegrityError:  # claimed in the same instant: the database decided
            lead = await _lead(session, lead.id, lock=True)  # reload what the rollback expired
            first = await lead_repo.first_by_key(session, lead.company_key)
    lead.duplicate_of = first.id if first else None
    return lead


def _review(lead: Lead, now: datetime, actor: Actor, verdict: str, note: str | None) -> None:
    lead.review, lead.review_note = verdict, note
    lead.reviewed_by, lead.reviewed_at, lead.updated_at = actor.tg_user_id, now, now


async def _review_result(session: AsyncSession, lead: Lead, *, released: bool) -> ReviewResult:
    people = await repo.members(session, lead.unit_id)
    recipients = tuple(Recipient(m.tg_user_id, m.locale, m.display_name) for m in people)
    dup = lead_code(lead.duplicate_of) if lead.duplicate_of else None
    return ReviewResult(
        lead.id,
        lead.code,
        lead.project,
        lead.unit.name,
        lead.review,
        lead.review_note,
        released,
        dup,
        recipients,
    )


# --- edits -------------------------------------------------------------------------------


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
    if field in ("amount_wan", "foreign_usd", "tax_wan"):
        try:
            return parse_usd(value) if field == "foreign_usd" else parse_wan(value)
        except AmountError as err:
            raise ServiceError(f"leads.amount.{err.code}") from None
    if field == "contact_phone":
        try:
            return parse_phone(value)
        except FieldError:
            raise ServiceError("leads.input.bad_phone") from None
    return _clean(value, _TEXT_LIMITS[field], multiline=field == "notes")


_PERCENT = re.compile(r"^(?:百分之)?\s*(\d+(?:\.\d+)?)\s*(?:%|％|个百分点)?$")


def parse_percent(text: str) -> Decimal:
    """县外投资比例: ``30%``, ``30``, ``百分之30``, ``0.3`` is not guessed (write 30%): 0 to 100."""
    import unicodedata

    match = _PERCENT.match(unicodedata.normalize("NFKC", text or "").strip())
    if match is None:
        raise ServiceError("leads.input.bad_percent")
    value = Decimal(match.group(1))
    if value > 100:
        raise ServiceError("leads.input.bad_percent")
    return value


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


def _as_text(field: str, value: Any) -> str | None:
    """How a value is kept in the history (and compared for "unchanged")."""
    if value is None or value == []:
        return None
    if field == "amount_wan":
        return format_wan(Decimal(value))
    if field == "foreign_usd":
        return f"{Decimal(value).normalize():f}"
    if field == "tax_wan":
        return format_wan(Decimal(value))
    if field == "outside_share":
        return f"{Decimal(value).normalize():f}"
    if field == "tags":
        return "、".join(value)
    return str(value)


# --- shared ------------------------------------------------------------------------------


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
