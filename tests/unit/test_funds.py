"""Funds in place (到位资金) on SQLite and PostgreSQL: record, correct with history, refuse, score."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.operations.demo import seed_demo
from bot.services import ServiceError, funds, lead_updates, scoring
from bot.services.access import Actor, resolve_actor
from bot.services.leads import LeadDraft, report_lead
from storage.db import Database
from storage.models import AuditEntry, FundsRecord, LedgerEntry

KAIHUA = Settings(admins=[1000], rules_file="kaihua")
LEADER, LIAISON1, HEAD1, LIAISON2 = 1001, 1101, 1201, 1102
NOV = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)


async def who(db: Database, tg: int) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, KAIHUA, tg, "x", None)


async def world(db: Database, clock: ManualClock) -> dict[str, int]:
    """The demo units; 招商引资部 reports a 1.2亿 lead from outside the province, 经济发展局 a duplicate of it."""
    async with db.session() as s:
        await seed_demo(s, clock.now())
    ids = {}
    for name, tg, company in (
        ("first", LIAISON1, "宁德时代新能源科技股份有限公司"),
        ("dup", LIAISON2, "宁德时代新能源科技"),
    ):
        draft = LeadDraft(f"{name}项目", company, "新能源", Decimal(12000), "省外", "签约")
        async with db.session() as s:
            ids[name] = (
                await report_lead(s, clock.now(), await who(db, tg), draft, KAIHUA)
            ).lead_id
    return ids


async def record(
    db: Database, clock: ManualClock, tg: int, lead_id: int, amount: str, month: str | None = None
) -> funds.FundsResult:
    async with db.session() as s:
        return await funds.record(
            s, scoring.setup_for(KAIHUA), clock.now(), await who(db, tg), lead_id, amount, month
        )


async def refused(
    db: Database, clock: ManualClock, tg: int, lead_id: int, amount: str, month: str | None = None
) -> ServiceError:
    with pytest.raises(ServiceError) as err:
        await record(db, clock, tg, lead_id, amount, month)
    return err.value


async def records(db: Database) -> list[FundsRecord]:
    async with db.session() as s:
        return list((await s.scalars(select(FundsRecord).order_by(FundsRecord.id))).all())


async def live_funds_lines(db: Database) -> list[tuple[Decimal, str]]:
    async with db.session() as s:
        stmt = select(LedgerEntry.points, LedgerEntry.note).where(
            LedgerEntry.rule_id == "perf_funds", LedgerEntry.voided_at.is_(None)
        )
        return [(p, n) for p, n in (await s.execute(stmt)).all()]


# --- parsing -----------------------------------------------------------------------------------------


def test_funds_arguments() -> None:
    assert funds.parse_request("L0007 3000万 2026-11") == funds.FundsRequest(7, "3000万", "2026-11")
    assert funds.parse_request("l7 2026年10月 1.2亿") == funds.FundsRequest(
        7, "1.2亿", "2026年10月"
    )
    assert funds.parse_request("7 3000万") == funds.FundsRequest(7, "3000万", None)
    assert funds.parse_request("L0007") == funds.FundsRequest(7, None, None)
    for text, code in (("", "funds.usage"), ("项目 3000万", "funds.bad_ref")):
        with pytest.raises(ServiceError) as err:
            funds.parse_request(text)
        assert err.value.code == code


def test_month_words() -> None:
    today = date(2026, 11, 17)
    assert funds.month_key(None, today) == "2026-11"
    assert funds.month_key("2026-10", today) == "2026-10"
    assert funds.month_key("2026-1", today) == "2026-01"
    assert funds.month_key("2026年9月", today) == "2026-09"
    assert funds.month_key("10月", today) == "2026-10"
    assert funds.month_key("12月", today) == "2025-12"  # the latest December, not a future one
    assert funds.month_key("上月", date(2026, 1, 5)) == "2025-12"
    for bad in ("2026-13", "2026-00", "13月", "明年"):
        with pytest.raises(ServiceError) as err:
            funds.month_key(bad, today)
        assert err.value.code == "funds.bad_month"


# --- recording and correcting ---------------------------------------------------------------------------


async def test_a_correction_replaces_the_figure_and_keeps_the_history(
    db: Database, clock: ManualClock
) -> None:
    ids = await world(db, clock)
    first = await record(db, clock, LIAISON1, ids["first"], "3000万", "2026-10")
    assert (first.month, first.amount_wan, first.previous_wan, first.year_total_wan) == (
        "2026-10",
        Decimal(3000),
        None,
        Decimal(3000),
    )
    await record(db, clock, HEAD1, ids["first"], "0.2亿")  # November, by the head
    fixed = await record(
        db, clock, LEADER, ids["first"], "3500万", "10月"
    )  # a leader corrects October
    assert fixed.previous_wan == Decimal(3000) and fixed.year_total_wan == Decimal(5500)
    again = await record(db, clock, LIAISON1, ids["first"], "3500", "2026-10")
    assert again.unchanged and again.year_total_wan == Decimal(5500)
    rows = await records(db)
    assert [(r.month, r.amount_wan, r.superseded_at is not None) for r in rows] == [
        ("2026-10", Decimal(3000), True),
        ("2026-11", Decimal(2000), False),
        ("2026-10", Decimal(3500), False),
    ]
    assert rows[0].superseded_by == rows[2].id and rows[0].superseded_at == clock.now()
    assert (
        rows[2].counts_at == rows[0].counts_at == datetime(2026, 10, 31, 4, 0, tzinfo=UTC)
    )  # October's last day, local noon
    assert rows[1].counts_at == clock.now()  # recorded within its month: now
    async with db.session() as s:
        audit = (
            await s.scalars(select(AuditEntry).where(AuditEntry.action == "funds.record"))
        ).all()
    assert [(a.actor_tg_id, a.detail["previous"]) for a in audit] == [
        (LIAISON1, None),
        (HEAD1, None),
        (LEADER, "3000.0000"),
    ]


async def test_zero_withdraws_a_figure(db: Database, clock: ManualClock) -> None:
    ids = await world(db, clock)
    assert (
        await refused(db, clock, LIAISON1, ids["first"], "0", "2026-10")
    ).code == "funds.nothing_to_withdraw"
    await record(db, clock, LIAISON1, ids["first"], "3000万", "2026-10")
    gone = await record(db, clock, LIAISON1, ids["first"], "0", "2026-10")
    assert gone.amount_wan == 0 and gone.previous_wan == Decimal(3000) and gone.year_total_wan == 0
    assert await live_funds_lines(db) == []


async def test_history_for_the_unit_and_leaders_only(db: Database, clock: ManualClock) -> None:
    ids = await world(db, clock)
    await record(db, clock, LIAISON1, ids["first"], "3000万", "2026-10")
    await record(db, clock, LIAISON1, ids["first"], "3500万", "2026-10")
    async with db.session() as s:
        found = await funds.history(s, await who(db, LEADER), ids["first"])
    assert [(line.month, line.amount_wan, line.superseded) for line in found.lines] == [
        ("2026-10", Decimal(3000), True),
        ("2026-10", Decimal(3500), False),
    ]
    assert found.total_wan == Decimal(3500)
    with pytest.raises(ServiceError) as err:
        async with db.session() as s:
            await funds.history(s, await who(db, LIAISON2), ids["first"])
    assert err.value.code == "funds.not_yours"


# --- refusals ------------------------------------------------------------------------------------------------


async def test_bad_amounts_months_and_leads_are_refused(db: Database, clock: ManualClock) -> None:
    ids = await world(db, clock)
    first = ids["first"]
    assert (await refused(db, clock, LIAISON1, first, "-5")).code == "funds.amount.not_positive"
    assert (await refused(db, clock, LIAISON1, first, "很多")).code == "funds.amount.not_a_number"
    assert (
        await refused(db, clock, LIAISON1, first, "500万美元")
    ).code == "funds.amount.wrong_currency"
    assert (await refused(db, clock, LIAISON1, first, "2万亿")).code == "funds.amount.too_large"
    absurd = await refused(
        db, clock, LIAISON1, first, "13亿"
    )  # > 10 × the planned 1.2亿: 元 typed for 万?
    assert absurd.code == "funds.exceeds_plan" and absurd.params["planned"] == "1.2亿元"
    assert (
        await refused(db, clock, LIAISON1, first, "3000万", "2026-12")
    ).code == "funds.future_month"
    assert (
        await refused(db, clock, LIAISON1, first, "3000万", "2026-13")
    ).code == "funds.bad_month"
    assert (await refused(db, clock, LIAISON1, first, "3000万", "2024-10")).code == "funds.too_old"
    other = await refused(db, clock, LIAISON2, first, "3000万")  # another unit's lead
    assert other.code == "funds.not_yours" and other.params["unit"] == "招商引资部"
    dup = await refused(db, clock, LIAISON2, ids["dup"], "3000万")
    assert dup.code == "funds.duplicate" and dup.params["first"] == f"L{first:04d}"
    assert (await refused(db, clock, LIAISON1, 999, "3000万")).code == "leads.not_found"
    async with db.session() as s:
        await lead_updates.reject_lead(
            s, clock.now(), await who(db, LEADER), first, "信息不实", setup=KAIHUA
        )
    assert (await refused(db, clock, LIAISON1, first, "3000万")).code == "funds.rejected"
    assert await records(db) == []


async def test_one_live_figure_per_lead_and_month_is_enforced_by_the_database(
    db: Database, clock: ManualClock
) -> None:
    ids = await world(db, clock)
    await record(db, clock, LIAISON1, ids["first"], "3000万", "2026-10")
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(
                FundsRecord(
                    lead_id=ids["first"],
                    month="2026-10",
                    amount_wan=Decimal(1),
                    counts_at=clock.now(),
                    recorded_at=clock.now(),
                    recorded_by=LEADER,
                )
            )


# --- scoring -------------------------------------------------------------------------------------------------


async def test_funds_score_by_the_kaihua_rule_and_a_correction_moves_the_points(
    db: Database, clock: ManualClock
) -> None:
    ids = await world(db, clock)
    # issue 15: seed 004 二(五)1 counts the funds of a project in the statistics (入统) only
    async with db.session() as s:
        await lead_updates.move_stage(
            s, clock.now(), await who(db, LEADER), ids["first"], "入统", None, KAIHUA
        )
    await record(db, clock, LIAISON1, ids["first"], "3000万", "2026-11")
    assert (
        await live_funds_lines(db) == []
    )  # kaihua counts verified leads only (有效信息以通过决策咨询为准)
    async with db.session() as s:
        await lead_updates.verify_lead(
            s, clock.now(), await who(db, LEADER), ids["first"], setup=KAIHUA
        )
    # perf_funds: 0.2 per 100万 → 6, × 1.1 for a project from outside the province
    assert await live_funds_lines(db) == [
        (Decimal("6.6000"), "到位资金 3000万元，30 档 ×1.1（省外）")
    ]
    await record(db, clock, LIAISON1, ids["first"], "3500万", "2026-11")
    assert await live_funds_lines(db) == [
        (Decimal("7.7000"), "到位资金 3500万元，35 档 ×1.1（省外）")
    ]
    async with db.session() as s:
        voided = (
            await s.scalars(
                select(LedgerEntry).where(
                    LedgerEntry.rule_id == "perf_funds", LedgerEntry.voided_at.is_not(None)
                )
            )
        ).all()
    assert [v.points for v in voided] == [Decimal("6.6000")]
    # The rescore derives the same from the recorded figures.
    async with db.session() as s:
        from storage import repo

        for unit in await repo.units(s):
            await scoring.rescore_unit(
                s, scoring.setup_for(KAIHUA), unit.id, unit.name, clock.now()
            )
    assert await live_funds_lines(db) == [
        (Decimal("7.7000"), "到位资金 3500万元，35 档 ×1.1（省外）")
    ]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOV)
