"""Queries for the weekly cycle and the outbox. Services call these; handlers never do."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Chat,
    ChatKind,
    JobMark,
    Lead,
    Member,
    MemberLeave,
    OutboxMessage,
    OutboxStatus,
    Role,
    Unit,
    VersionStatus,
    WeeklyDraft,
    WeeklySkip,
    WeeklySubmission,
    WeeklyVersion,
)
from storage.repo import _insert, rowcount

# --- submissions ------------------------------------------------------------------------


async def submission(
    session: AsyncSession, unit_id: int, period_key: str
) -> WeeklySubmission | None:
    stmt = select(WeeklySubmission).where(
        WeeklySubmission.unit_id == unit_id, WeeklySubmission.period_key == period_key
    )
    return (await session.scalars(stmt)).first()


async def ensure_submission(
    session: AsyncSession, unit_id: int, period_key: str, now: datetime
) -> WeeklySubmission:
    """The unit's row for the period, created if needed; two creators race safely."""
    stmt = (
        _insert(session)(WeeklySubmission)
        .values(unit_id=unit_id, period_key=period_key, latest_number=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["unit_id", "period_key"])
    )
    await session.execute(stmt)
    found = await submission(session, unit_id, period_key)
    assert found is not None
    return found


async def ensure_submissions(
    session: AsyncSession, unit_ids: Sequence[int], period_key: str, now: datetime
) -> None:
    """:func:`ensure_submission` for many units in one statement (the close's missing rows)."""
    if not unit_ids:
        return
    table = WeeklySubmission.__table__
    stmt = _insert(session)(table).on_conflict_do_nothing(index_elements=["unit_id", "period_key"])
    rows = [
        {"unit_id": u, "period_key": period_key, "latest_number": 0, "updated_at": now}
        for u in unit_ids
    ]
    for i in range(0, len(rows), 500):
        await session.execute(stmt.values(rows[i : i + 500]))


async def submissions_for(session: AsyncSession, period_key: str) -> dict[int, WeeklySubmission]:
    """With their units: callers name them (a lazy load cannot run under asyncio)."""
    stmt = (
        select(WeeklySubmission)
        .where(WeeklySubmission.period_key == period_key)
        .options(selectinload(WeeklySubmission.unit))
    )
    return {s.unit_id: s for s in (await session.scalars(stmt)).all()}


async def version(session: AsyncSession, version_id: int) -> WeeklyVersion | None:
    stmt = (
        select(WeeklyVersion)
        .where(WeeklyVersion.id == version_id)
        .options(selectinload(WeeklyVersion.submission).selectinload(WeeklySubmission.unit))
    )
    return (await session.scalars(stmt)).first()


async def latest_version(session: AsyncSession, submission_id: int) -> WeeklyVersion | None:
    stmt = (
        select(WeeklyVersion)
        .where(WeeklyVersion.submission_id == submission_id)
        .order_by(WeeklyVersion.number.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def supersede_pending(session: AsyncSession, submission_id: int) -> int:
    result = await session.execute(
        update(WeeklyVersion)
        .where(
            WeeklyVersion.submission_id == submission_id,
            WeeklyVersion.status == VersionStatus.SUBMITTED,
        )
        .values(status=VersionStatus.SUPERSEDED)
    )
    return rowcount(result) or 0


async def decide_version(
    session: AsyncSession, version_id: int, status: str, now: datetime, by: int, reason: str | None
) -> bool:
    """Compare-and-set: of two heads pressing at once (or one pressing twice), one decides."""
    result = await session.execute(
        update(WeeklyVersion)
        .where(WeeklyVersion.id == version_id, WeeklyVersion.status == VersionStatus.SUBMITTED)
        .values(status=status, decided_at=now, decided_by_tg=by, return_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


# --- drafts -----------------------------------------------------------------------------------


async def draft_of(session: AsyncSession, member_tg: int) -> WeeklyDraft | None:
    return (
        await session.scalars(select(WeeklyDraft).where(WeeklyDraft.member_tg == member_tg))
    ).first()


async def delete_draft(session: AsyncSession, draft_id: int, rev: int | None = None) -> bool:
    """True for the one caller that removed it (a double-pressed Submit gets False)."""
    stmt = delete(WeeklyDraft).where(WeeklyDraft.id == draft_id)
    if rev is not None:
        stmt = stmt.where(WeeklyDraft.rev == rev)
    result = await session.execute(stmt)
    return rowcount(result) == 1


# --- skipped weeks, leave ---------------------------------------------------------------------


async def skip_of(session: AsyncSession, period_key: str) -> WeeklySkip | None:
    return (
        await session.scalars(select(WeeklySkip).where(WeeklySkip.period_key == period_key))
    ).first()


async def skips_from(session: AsyncSession, first_key: str) -> Sequence[WeeklySkip]:
    stmt = (
        select(WeeklySkip).where(WeeklySkip.period_key >= first_key).order_by(WeeklySkip.period_key)
    )
    return (await session.scalars(stmt)).all()


async def remove_skip(session: AsyncSession, period_key: str) -> bool:
    result = await session.execute(delete(WeeklySkip).where(WeeklySkip.period_key == period_key))
    return bool(rowcount(result))


async def leave_of(session: AsyncSession, member_id: int) -> MemberLeave | None:
    return (
        await session.scalars(select(MemberLeave).where(MemberLeave.member_id == member_id))
    ).first()


async def leaves_on(session: AsyncSession, day: date) -> dict[int, date]:
    """member id → last day of leave, for leaves covering ``day``."""
    stmt = select(MemberLeave.member_id, MemberLeave.until).where(MemberLeave.until >= day)
    return dict((await session.execute(stmt)).all())


async def clear_leave(session: AsyncSession, member_id: int) -> bool:
    result = await session.execute(delete(MemberLeave).where(MemberLeave.member_id == member_id))
    return bool(rowcount(result))


# --- people, units, chats, leads -----------------------------------------------------------------


async def active_units(session: AsyncSession) -> Sequence[Unit]:
    stmt = select(Unit).where(Unit.active.is_(True)).order_by(Unit.category.nulls_last(), Unit.id)
    return (await session.scalars(stmt)).all()


async def unit_people(
    session: AsyncSession, unit_ids: Iterable[int] | None = None
) -> Sequence[Member]:
    """Active liaisons and heads, by unit."""
    stmt = select(Member).where(
        Member.active.is_(True),
        Member.unit_id.is_not(None),
        Member.role.in_([Role.LIAISON.value, Role.HEAD.value]),
    )
    if unit_ids is not None:
        stmt = stmt.where(Member.unit_id.in_(list(unit_ids)))
    return (await session.scalars(stmt.order_by(Member.unit_id, Member.id))).all()


async def members_with_role(session: AsyncSession, *roles: Role) -> Sequence[Member]:
    stmt = select(Member).where(Member.active.is_(True), Member.role.in_([r.value for r in roles]))
    return (await session.scalars(stmt.order_by(Member.id))).all()


async def members_by_tg(session: AsyncSession, tg_ids: Iterable[int]) -> dict[int, Member]:
    ids = list(tg_ids)
    if not ids:
        return {}
    stmt = select(Member).where(Member.tg_user_id.in_(ids))
    return {m.tg_user_id: m for m in (await session.scalars(stmt)).all()}


async def unit_groups(session: AsyncSession) -> dict[int, int]:
    """unit id → bound work group chat id."""
    stmt = select(Chat.unit_id, Chat.tg_chat_id).where(
        Chat.kind == ChatKind.UNIT.value, Chat.unit_id.is_not(None)
    )
    return {u: c for u, c in (await session.execute(stmt)).all() if u is not None}


async def leaders_chat(session: AsyncSession) -> int | None:
    stmt = (
        select(Chat.tg_chat_id).where(Chat.kind == ChatKind.LEADERS.value).order_by(Chat.id.desc())
    )
    return (await session.scalars(stmt)).first()


async def period_leads(
    session: AsyncSession, unit_id: int, after: datetime, until: datetime
) -> Sequence[Lead]:
    """The unit's leads reported in ``(after, until]``, oldest first."""
    stmt = (
        select(Lead)
        .where(Lead.unit_id == unit_id, Lead.reported_at > after, Lead.reported_at <= until)
        .order_by(Lead.reported_at, Lead.id)
    )
    return (await session.scalars(stmt)).all()


async def recent_unit_leads(session: AsyncSession, unit_id: int, limit: int) -> Sequence[Lead]:
    stmt = (
        select(Lead)
        .where(Lead.unit_id == unit_id, Lead.duplicate_of.is_(None))
        .order_by(Lead.updated_at.desc(), Lead.id.desc())
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def leads_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Lead]:
    wanted = list({int(i) for i in ids})
    if not wanted:
        return {}
    return {
        lead.id: lead
        for lead in (await session.scalars(select(Lead).where(Lead.id.in_(wanted)))).all()
    }


# --- scheduler marks ------------------------------------------------------------------------------


async def take_mark(session: AsyncSession, name: str, now: datetime) -> bool:
    """True for the first taker only: "this was done", durable across restarts and instances.

    Jobs ask every tick, so a plain read answers the common "already done" without a write."""
    if await has_mark(session, name):
        return False
    stmt = (
        _insert(session)(JobMark)
        .values(name=name, at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    result = await session.execute(stmt)
    return rowcount(result) == 1


async def has_mark(session: AsyncSession, name: str) -> bool:
    return (
        await session.scalar(select(func.count()).select_from(JobMark).where(JobMark.name == name))
    ) == 1


# --- outbox -------------------------------------------------------------------------------------------


async def enqueue(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert planned messages; one already planned under the same key is left alone."""
    if not rows:
        return 0
    added = 0
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        stmt = (
            _insert(session)(OutboxMessage.__table__)
            .on_conflict_do_nothing(index_elements=["kind", "period_key", "chat_id"])
            .returning(OutboxMessage.__table__.c.id)
        )
        result = await session.execute(stmt, chunk)
        added += len(result.fetchall())
    return added


SKIPPED_WEEK = (
    "week skipped"  # why a row was cancelled by /skipweek: taking the skip back revives it
)


async def cancel_pending(
    session: AsyncSession,
    period_key: str,
    *,
    unit_id: int | None = None,
    kind_prefix: str | None = None,
    why: str | None = None,
) -> int:
    conds = [OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.period_key == period_key]
    if unit_id is not None:
        conds.append(OutboxMessage.unit_id == unit_id)
    if kind_prefix is not None:
        conds.append(OutboxMessage.kind.startswith(kind_prefix))
    result = await session.execute(
        update(OutboxMessage)
        .where(*conds)
        .values(status=OutboxStatus.CANCELLED, error=why)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


async def revive_cancelled(session: AsyncSession, period_key: str, why: str, now: datetime) -> int:
    """Rows cancelled for ``why`` go back to pending, if their time to be sent has not passed."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.CANCELLED,
            OutboxMessage.period_key == period_key,
            OutboxMessage.error == why,
            OutboxMessage.not_after > now,
        )
        .values(status=OutboxStatus.PENDING, error=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


async def has_work(session: AsyncSession) -> bool:
    """Anything pending or in flight? (A read, so an idle tick writes nothing.)"""
    stmt = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        .limit(1)
    )
    return (await session.scalars(stmt)).first() is not None


async def skip_expired(session: AsyncSession, now: datetime) -> int:
    """Pending rows past their grace time are recorded as skipped, never sent."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_after < now)
        .values(
            status=OutboxStatus.SKIPPED,
            error=func.coalesce(OutboxMessage.error + " / ", "") + "missed: past its grace time",
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


async def expire_stale_claims(session: AsyncSession, cutoff: datetime) -> int:
    """Claims older than the lease never came back (a crash mid-send): delivery unknown, not resent."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < cutoff)
        .values(
            status=OutboxStatus.UNKNOWN,
            error="interrupted while sending: delivery unknown, not resent",
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) or 0


async def claim(
    session: AsyncSession, now: datetime, token: str, limit: int
) -> list[OutboxMessage]:
    """Take up to ``limit`` due rows for this sender.

    ``UPDATE … WHERE status = 'pending'`` is the claim: on PostgreSQL a second
    sender racing for the same row blocks on its lock, re-reads the row after the
    first commits, finds it no longer pending and updates nothing, so no two
    senders ever hold one row. The caller commits before sending.
    """
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.due_at <= now,
            OutboxMessage.not_after >= now,
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        .scalar_subquery()
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due), OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            status=OutboxStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            attempted_at=now,
            attempts=OutboxMessage.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    stmt = select(OutboxMessage).where(
        OutboxMessage.claim_token == token, OutboxMessage.status == OutboxStatus.SENDING
    )
    return list(
        (await session.scalars(stmt.order_by(OutboxMessage.due_at, OutboxMessage.id))).all()
    )


async def finish(session: AsyncSession, row_id: int, token: str, **values: Any) -> bool:
    """Record the outcome of a claimed row (only the claim's holder may)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def _undelivered() -> Any:
    return or_(
        OutboxMessage.status.in_([OutboxStatus.FAILED, OutboxStatus.UNKNOWN]),
        and_(OutboxMessage.status == OutboxStatus.SKIPPED, OutboxMessage.error.like("%missed:%")),
    )


async def unreported_failures(session: AsyncSession, limit: int = 200) -> Sequence[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(
            _undelivered(),
            OutboxMessage.reported.is_(False),
            not_(OutboxMessage.kind.startswith("admin:")),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def mark_reported(session: AsyncSession, ids: Iterable[int]) -> None:
    wanted = list(ids)
    if wanted:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(wanted))
            .values(reported=True)
            .execution_options(synchronize_session=False)
        )


async def outbox_counts(session: AsyncSession) -> dict[str, int]:
    stmt = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    return dict((await session.execute(stmt)).all())


async def oldest_pending_due(session: AsyncSession, now: datetime) -> datetime | None:
    stmt = select(func.min(OutboxMessage.due_at)).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now
    )
    return await session.scalar(stmt)


async def recent_failures(session: AsyncSession, limit: int) -> Sequence[OutboxMessage]:
    stmt = (
        select(OutboxMessage).where(_undelivered()).order_by(OutboxMessage.id.desc()).limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def waiting_version_id(session: AsyncSession, unit_id: int) -> int | None:
    """The unit's newest version still waiting for its head (the web app's review card)."""
    stmt = (
        select(WeeklyVersion.id)
        .join(WeeklySubmission, WeeklySubmission.id == WeeklyVersion.submission_id)
        .where(WeeklySubmission.unit_id == unit_id, WeeklyVersion.status == VersionStatus.SUBMITTED)
        .order_by(WeeklyVersion.submitted_at.desc(), WeeklyVersion.id.desc())
        .limit(1)
    )
    return await session.scalar(stmt)
