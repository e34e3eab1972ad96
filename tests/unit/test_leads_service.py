"""First report wins and human ids, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.operations.demo import seed_demo
from bot.services import ServiceError
from bot.services.access import Actor, resolve_actor
from bot.services.leads import CompanyDirectory, LeadDraft, card, check_company, report_lead
from storage import lead_repo
from storage.db import Database
from storage.models import Lead, Member, Unit

SETTINGS = Settings(admins=[1000])


def draft(company: str = "宁德时代新能源科技股份有限公司", **kw: object) -> LeadDraft:
    base = {
        "project": "动力电池项目",
        "company": company,
        "industry": "新能源",
        "amount_wan": Decimal("12000"),
        "origin": "省外",
        "stage": "在谈",
    }
    base.update(kw)
    return LeadDraft(**base)  # type: ignore[arg-type]


async def actor(db: Database, tg: int) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, SETTINGS, tg, "x", None)


async def test_first_report_wins_across_spellings(db: Database, clock: ManualClock) -> None:
    async with db.session() as s:
        await seed_demo(s, clock.now())
    a, b, c = await actor(db, 1101), await actor(db, 1102), await actor(db, 1103)
    async with db.session() as s:
        first = await report_lead(s, clock.now(), a, draft(), SETTINGS)
    assert first.code == "L0001" and first.first is None
    for who, spelling in ((b, "宁德时代新能源科技"), (c, "宁德时代新能源科技(股份)有限公司")):
        async with db.session() as s:
            dup = await report_lead(s, clock.now(), who, draft(spelling), SETTINGS)
        assert (
            dup.first is not None
            and dup.first.code == "L0001"
            and dup.first.unit_name == "招商引资部"
        )
    async with db.session() as s:
        check = await check_company(s, CompanyDirectory(), "宁德时代新能源科技有限公司", 90)
        assert check.exact is not None and check.exact.code == "L0001"
        near = await check_company(s, CompanyDirectory(), "宁德时代新能源科技发展", 85)
        assert near.exact is None and [n.code for n in near.near] == ["L0001"]


async def test_fifty_reports_from_ten_units_make_one_first(
    db: Database, clock: ManualClock
) -> None:
    async with db.session() as s:
        units = [Unit(name=f"单位{i}", active=True, created_at=clock.now()) for i in range(10)]
        s.add_all(units)
        await s.flush()
        s.add_all(
            Member(
                tg_user_id=9000 + i,
                unit_id=u.id,
                role="liaison",
                display_name=f"专干{i}",
                active=True,
                joined_at=clock.now(),
            )
            for i, u in enumerate(units)
        )
    actors = [await actor(db, 9000 + i) for i in range(10)]

    async def one(i: int) -> str:
        for _ in range(50):  # SQLite may say "locked" under this contention: a phone would retry
            try:
                async with db.session() as s:
                    r = await report_lead(
                        s, clock.now(), actors[i % 10], draft("比亚迪股份有限公司"), SETTINGS
                    )
                return "first" if r.first is None else "dup"
            except ServiceError:
                raise
            except Exception:
                await asyncio.sleep(0)
        return "failed"

    results = await asyncio.gather(*(one(i) for i in range(50)))
    assert results.count("first") == 1 and results.count("dup") == 49
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(Lead)) == 50
        assert (
            await s.scalar(
                select(func.count()).select_from(Lead).where(Lead.first_key.is_not(None))
            )
            == 1
        )
        ids = (await s.scalars(select(Lead.id))).all()
        assert len(set(ids)) == 50


async def test_other_units_see_only_the_outline(db: Database, clock: ManualClock) -> None:
    async with db.session() as s:
        await seed_demo(s, clock.now())
    owner, other, leader = await actor(db, 1101), await actor(db, 1102), await actor(db, 1001)
    async with db.session() as s:
        r = await report_lead(
            s,
            clock.now(),
            owner,
            draft(contact_name="陈经理", contact_phone="13800138000"),
            SETTINGS,
        )
    async with db.session() as s:
        lead = await lead_repo.lead_by_id(s, r.lead_id)
        assert lead is not None
        assert card(owner, lead).contact_phone == "13800138000"
        assert card(leader, lead).full
        outline = card(other, lead)
        assert (
            not outline.full
            and outline.company is None
            and outline.contact_phone is None
            and outline.amount_wan is None
        )


async def test_service_rechecks_every_field(db: Database, clock: ManualClock) -> None:
    async with db.session() as s:
        await seed_demo(s, clock.now())
    a = await actor(db, 1101)
    for bad, code in (
        (draft(industry="黑科技"), "lead.bad_choice"),
        (draft(project=" "), "field.empty"),
        (draft(contact_phone="12345"), "field.bad_phone"),
        (draft(amount_wan=Decimal(0)), "lead.bad_amount"),
    ):
        async with db.session() as s:
            with pytest.raises(ServiceError) as exc:
                await report_lead(s, clock.now(), a, bad, SETTINGS)
        assert exc.value.code == code
    stranger = Actor(5, "x", "zh_CN")
    async with db.session() as s:
        with pytest.raises(ServiceError):
            await report_lead(s, clock.now(), stranger, draft(), SETTINGS)
