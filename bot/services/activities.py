"""Activities (工作记录): what a unit did besides reporting leads, and the leaders' review.

Seed 000 scores training attended (with notes), projects packaged, investment
events attended or organised, contacts reaching a cooperation intent, trips out
(with the trip report 外出报告单) and foreign capital actually used (USD). The
kinds and their names come from the rules file (``[activities]``): the six
standard ones may be recorded by the unit's liaisons and head; any extra kind a
rules file adds (seed 004's 招商能手, 黑榜 …) is recorded by leaders for a unit.
A leader's own record is verified at once; a liaison's waits for a leader.

Every change calls the scoring refresh for the unit in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot import notifier
from bot.domain.amounts import AmountError, parse_usd
from bot.domain.dates import parse_day
from bot.domain.enums import Review, activity_code
from bot.domain.leadfields import FieldError, clean_line
from bot.rules.schema import DEFAULT_ACTIVITIES
from bot.services import ServiceError, attachments, scoring
from bot.services.access import Actor
from bot.services.scoring import ScoringSetup
from storage import lead_repo, repo, scoring_repo
from storage.models import Activity

TEXT_MAX = 500
REASON_MAX = 500
MAX_FILES = 10
MAX_AGE_DAYS = 366
TRIP, FOREIGN = "trip", "foreign_capital"
LEAD_KINDS_STANDARD = frozenset({"packaging", "intent"})  # standard kinds that may name a lead
_CODE = re.compile(r"^[Aa]?0*(\d{1,9})$")


@dataclass(frozen=True)
class KindChoice:
    kind: str
    name: str
    needs_amount: bool
    needs_file: bool
    may_link_lead: bool


@dataclass(frozen=True)
class ActivityDraft:
    kind: str
    on_date: date
    text: str
    amount_usd: Decimal | None = None
    files: tuple[dict[str, Any], ...] = ()
    unit_id: int | None = None  # leaders record for a unit; members for their own
    lead_id: int | None = None
    origin_ref: str | None = None


@dataclass(frozen=True)
class ActivityView:
    activity_id: int
    code: str
    unit_id: int
    unit_name: str
    kind: str
    kind_name: str
    on_date: date
    text: str
    amount_usd: Decimal | None
    files: int
    review: str
    review_note: str | None
    reporter: str | None
    lead_code: str | None


@dataclass(frozen=True)
class ReviewOutcome:
    view: ActivityView
    notify: tuple[tuple[int, str | None], ...]  # (tg user id, locale) of the unit's members


async def unit_choices(session: Any) -> list[tuple[int, str]]:
    """The active units a leader may record an activity for: (id, name)."""
    return [(u.id, u.name) for u in await scoring_repo.units(session)]


def kinds_for(actor: Actor, setup: ScoringSetup) -> list[KindChoice]:
    """What this person may record: the standard six for units, every kind for leaders."""
    names = setup.rules.activities
    allowed = [k for k in names if actor.is_leader or k in DEFAULT_ACTIVITIES]
    return [
        KindChoice(
            k,
            names[k],
            k == FOREIGN,
            k == TRIP,
            k in LEAD_KINDS_STANDARD or k not in DEFAULT_ACTIVITIES,
        )
        for k in allowed
    ]


def kind_choice(actor: Actor, setup: ScoringSetup, kind: str) -> KindChoice:
    found = next((c for c in kinds_for(actor, setup) if c.kind == kind), None)
    if found is None:
        raise ServiceError("activity.bad_kind")
    return found


def parse_date(text: str, today: date) -> date:
    """``今天`` / ``昨天`` / ``2026-11-20`` / ``11月20日`` / ``11-20`` → a date not in the future, within a year."""
    found = parse_day(text, today, future=False)  # the one day parser (bot/domain/dates.py)
    if found is None:
        raise ServiceError("activity.bad_date")
    if found > today:
        raise ServiceError("activity.future_date")
    if (today - found).days > MAX_AGE_DAYS:
        raise ServiceError("activity.old_date", days=MAX_AGE_DAYS)
    return found


def parse_amount(text: str) -> Decimal:
    try:
        value = parse_usd(text)
    except AmountError as err:
        raise ServiceError(f"activity.amount.{err.code}") from None
    if value <= 0:
        raise ServiceError("activity.amount.bad")
    return value


def clean_text(text: str | None, limit: int = TEXT_MAX, empty: str = "activity.text_empty") -> str:
    try:
        return clean_line(text, limit, multiline=True)
    except FieldError as err:
        if err.code == "field.too_long":
            raise ServiceError("activity.too_long", **err.params) from None
        raise ServiceError(empty) from None


def parse_code(text: str) -> int | None:
    m = _CODE.match((text or "").strip())
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


async def record_activity(
    session: Any, now: datetime, actor: Actor, draft: ActivityDraft, setup: ScoringSetup
) -> ActivityView:
    if not actor.is_member:
        raise ServiceError("access.stranger")
    choice = kind_choice(actor, setup, draft.kind)
    unit_id = draft.unit_id if actor.is_leader and draft.unit_id else actor.unit_id
    if unit_id is None:
        raise ServiceError("activity.no_unit")
    unit = await repo.unit_by_id(session, unit_id)
    if unit is None or not unit.active:
        raise ServiceError("activity.no_unit")
    today = now.astimezone(setup.zone).date()
    if draft.on_date > today:
        raise ServiceError("activity.future_date")
    text = clean_text(draft.text)
    amount = draft.amount_usd
    if choice.needs_amount and (amount is None or amount <= 0):
        raise ServiceError("activity.amount_missing")
    if choice.needs_file and not draft.files:
        raise ServiceError("activity.trip_report_missing")
    if len(draft.files) > MAX_FILES:
        raise ServiceError("activity.too_many_files", limit=MAX_FILES)
    if draft.lead_id is not None:
        lead = await lead_repo.lead_by_id(session, draft.lead_id)
        if lead is None or (lead.unit_id != unit_id and not actor.is_leader):
            raise ServiceError("activity.bad_lead")
    leader_record = actor.is_leader
    activity = scoring_repo.add_activity(
        session,
        unit_id=unit_id,
        reporter_id=actor.member_id,
        created_by=actor.tg_user_id,
        kind=draft.kind,
        on_date=draft.on_date,
        text=text,
        amount_usd=amount if choice.needs_amount else None,
        attachments=list(draft.files),
        lead_id=draft.lead_id,
        review=Review.VERIFIED if leader_record else Review.PENDING,
        reviewed_by=actor.tg_user_id if leader_record else None,
        reviewed_at=now if leader_record else None,
        created_at=now,
        origin_ref=draft.origin_ref,
    )
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise ServiceError("activity.already_recorded") from None
    repo.audit(
        session,
        now,
        actor.tg_user_id,
        "activity.record",
        activity=activity.id,
        unit=unit_id,
        kind=draft.kind,
    )
    await scoring.refresh_after(session, unit_id, now, setup)
    return await _view(session, setup, activity.id)


async def _activity(session: Any, activity_id: int, *, lock: bool = False) -> Activity:
    found = await scoring_repo.activity_by_id(session, activity_id, lock=lock)
    if found is None:
        raise ServiceError("activity.not_found", ref=activity_code(activity_id))
    return found


def view_of(setup: ScoringSetup, a: Activity) -> ActivityView:
    from bot.domain.enums import lead_code

    return ActivityView(
        a.id,
        a.code,
        a.unit_id,
        a.unit.name,
        a.kind,
        setup.rules.activities.get(a.kind, a.kind),
        a.on_date,
        a.text,
        a.amount_usd,
        len(a.attachments or []),
        a.review,
        a.review_note,
        a.reporter.display_name if a.reporter else None,
        lead_code(a.lead_id) if a.lead_id else None,
    )


async def _view(session: Any, setup: ScoringSetup, activity_id: int) -> ActivityView:
    return view_of(setup, await _activity(session, activity_id))


async def show_activity(
    session: Any, actor: Actor, activity_id: int, setup: ScoringSetup
) -> ActivityView:
    a = await _activity(session, activity_id)
    if not (actor.is_leader or actor.unit_id == a.unit_id):
        raise ServiceError("activity.not_yours", ref=a.code)
    return view_of(setup, a)


async def activity_files(
    session: Any, actor: Actor, activity_id: int
) -> tuple[attachments.AttachedFile, ...]:
    """The files of an activity (the trip report a leader checks before 认定), for a leader or
    the activity's unit."""
    a = await _activity(session, activity_id)
    if not (actor.is_leader or actor.unit_id == a.unit_id):
        raise ServiceError("activity.not_yours", ref=a.code)
    files = attachments.attached(a.attachments)
    if not files:
        raise ServiceError("activity.files_none", ref=a.code)
    return files


async def list_for(
    session: Any, actor: Actor, setup: ScoringSetup, *, pending: bool, limit: int = 20
) -> list[ActivityView]:
    """Leaders: the pending ones of every unit (or the latest); members: their unit's latest."""
    if not actor.is_member:
        raise ServiceError("access.stranger")
    if actor.is_leader:
        rows = await scoring_repo.list_activities(
            session, unit_id=None, review=Review.PENDING if pending else None, limit=limit
        )
    else:
        if actor.unit_id is None:
            raise ServiceError("activity.no_unit")
        rows = await scoring_repo.list_activities(
            session, unit_id=actor.unit_id, review=None, limit=limit
        )
    return [view_of(setup, a) for a in rows]


async def verify_activity(
    session: Any, now: datetime, actor: Actor, activity_id: int, setup: ScoringSetup
) -> ReviewOutcome:
    if not actor.is_leader:
        raise ServiceError("access.leader_only")
    a = await _activity(session, activity_id, lock=True)
    if a.review == Review.VERIFIED:
        raise ServiceError("activity.already_verified", ref=a.code)
    previous = a.review
    a.review, a.review_note, a.reviewed_by, a.reviewed_at = (
        Review.VERIFIED,
        None,
        actor.tg_user_id,
        now,
    )
    repo.audit(session, now, actor.tg_user_id, "activity.verify", activity=a.id, previous=previous)
    await session.flush()
    await scoring.refresh_after(session, a.unit_id, now, setup)
    return await _outcome(session, setup, a)


async def reject_activity(
    session: Any,
    now: datetime,
    actor: Actor,
    activity_id: int,
    reason: str | None,
    setup: ScoringSetup,
) -> ReviewOutcome:
    if not actor.is_leader:
        raise ServiceError("access.leader_only")
    reason = clean_text(reason, REASON_MAX, empty="activity.reason_missing")
    a = await _activity(session, activity_id, lock=True)
    if a.review == Review.REJECTED:
        raise ServiceError("activity.already_rejected", ref=a.code)
    previous = a.review
    a.review, a.review_note, a.reviewed_by, a.reviewed_at = (
        Review.REJECTED,
        reason,
        actor.tg_user_id,
        now,
    )
    repo.audit(
        session,
        now,
        actor.tg_user_id,
        "activity.reject",
        note=reason,
        activity=a.id,
        previous=previous,
    )
    await session.flush()
    await scoring.refresh_after(session, a.unit_id, now, setup)
    return await _outcome(session, setup, a)


async def check_reject(session: Any, actor: Actor, activity_id: int) -> str:
    """Before asking a leader for the reason: the activity's code, or a refusal."""
    if not actor.is_leader:
        raise ServiceError("access.leader_only")
    a = await _activity(session, activity_id)
    if a.review == Review.REJECTED:
        raise ServiceError("activity.already_rejected", ref=a.code)
    return a.code


async def tell_unit(
    session: Any,
    now: datetime,
    outcome: ReviewOutcome,
    template: str,
    key: str,
    default_locale: str,
) -> None:
    """The unit's liaisons and head hear a review result: planned through the notifier in
    the review's own transaction, so the notice exists exactly when the verdict does.
    ``key`` makes planning it twice (an update handled again) insert it once."""
    v = outcome.view
    payload = {"code": v.code, "kind": v.kind_name, "reason": v.review_note or ""}
    for tg_id, locale in outcome.notify:
        await notifier.notify(
            session,
            notifier.Recipient.telegram(tg_id, locale=locale),
            "activity.review",
            payload,
            now=now,
            key=key,
            template=template,
            default_locale=default_locale,
        )


async def _outcome(session: Any, setup: ScoringSetup, a: Activity) -> ReviewOutcome:
    people = await repo.members(session, a.unit_id)
    notify = tuple((m.tg_user_id, m.locale) for m in people if m.role in ("liaison", "head"))
    return ReviewOutcome(await _view(session, setup, a.id), notify)


# --- planned trips from weekly submissions ------------------------------------------------


@dataclass(frozen=True)
class PlannedTrip:
    ref: str  # "trip:<submission id>:<index>"
    unit_id: int
    period_key: str
    destination: str
    dates: str
    purpose: str
    companies: str
    recorded: str | None  # the activity code once turned into a trip record


def _trip_fields(item: Any) -> dict[str, str]:
    if isinstance(item, str):
        return {"destination": item, "dates": "", "purpose": "", "companies": ""}
    if not isinstance(item, dict):
        return {}
    pick = lambda *names: next((str(item[n]) for n in names if item.get(n)), "")  # noqa: E731
    return {
        "destination": pick("destination", "dest", "where", "place"),
        "dates": pick("dates", "when", "date", "period"),
        "purpose": pick("purpose", "goal", "what"),
        "companies": pick("companies", "company", "visits"),
    }


async def planned_trips(session: Any, actor: Actor, limit: int = 20) -> list[PlannedTrip]:
    """Trips planned in the unit's accepted weekly submissions (newest first), with their record if made."""
    if actor.unit_id is None:
        raise ServiceError("activity.no_unit")
    found: list[PlannedTrip] = []
    for sub, version in await scoring_repo.accepted_weekly_versions(session, actor.unit_id, 12):
        trips = (version.content or {}).get("trips") or []
        for i, item in enumerate(trips if isinstance(trips, list) else []):
            fields = _trip_fields(item)
            if not fields.get("destination"):
                continue
            ref = f"trip:{sub.id}:{i}"
            done = await scoring_repo.activity_by_origin(session, ref)
            found.append(
                PlannedTrip(
                    ref,
                    sub.unit_id,
                    sub.period_key,
                    fields["destination"],
                    fields["dates"],
                    fields["purpose"],
                    fields["companies"],
                    done.code if done else None,
                )
            )
            if len(found) >= limit:
                return found
    return found


async def trip_from_plan(
    session: Any, now: datetime, actor: Actor, ref: str, setup: ScoringSetup
) -> PlannedTrip:
    """Check a planned trip belongs to the actor's unit and is not recorded yet (the form then asks the rest)."""
    for trip in await planned_trips(session, actor, limit=200):
        if trip.ref == ref:
            if trip.recorded:
                raise ServiceError("activity.trip_done", ref=trip.recorded)
            return trip
    raise ServiceError("activity.trip_unknown")
