"""First report wins beyond the name key: credit codes decided by the database,
near candidates at most three, "different" remembered (SQLite and PostgreSQL)."""

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
from bot.services.leads import (
    CompanyCheck,
    CompanyDirectory,
    LeadDraft,
    check_company,
    remember_different,
    report_lead,
)
from storage.db import Database
from storage.models import Lead

SETTINGS = Settings(admins=[1000])
CODE = "91350100M000100Y43"


def draft(company: str, **kw: object) -> LeadDraft:
    base: dict[str, object] = {
        "project": "项目",
        "company": company,
        "industry": "新能源",
        "amount_wan": Decimal(100),
        "origin": "省外",
        "stage": "在谈",
    }
    base.update(kw)
    return LeadDraft(**base)  # type: ignore[arg-type]


async def actors(db: Database, clock: ManualClock) -> list[Actor]:
    async with db.session() as s:
        await seed_demo(s, clock.now())
    found = []
    for tg in (1101, 1102, 1103):
        async with db.session() as s:
            found.append(await resolve_actor(s, SETTINGS, tg, "x", None))
    return found


async def test_one_credit_code_is_one_company_whatever_the_name(
    db: Database, clock: ManualClock
) -> None:
    a, b, _ = await actors(db, clock)
    async with db.session() as s:
        first = await report_lead(
            s, clock.now(), a, draft("北京云算科技有限公司", credit_code=CODE), SETTINGS
        )
    async with db.session() as s:
        check = await check_company(s, CompanyDirectory(), "云算数据服务中心", 90, CODE)
        assert check.by_credit and check.exact is not None and check.exact.code == first.code
        dup = await report_lead(
            s, clock.now(), b, draft("云算数据服务中心", credit_code=CODE), SETTINGS
        )
    assert (
        dup.first is not None
        and dup.first.code == first.code
        and dup.first.unit_name == "招商引资部"
    )


async def test_racing_reports_with_one_code_make_one_first(
    db: Database, clock: ManualClock
) -> None:
    a, b, c = await actors(db, clock)

    async def one(who: Actor, name: str) -> str:
        for _ in range(50):  # SQLite may say "locked" under contention: a phone would retry
            try:
                async with db.session() as s:
                    r = await report_lead(
                        s, clock.now(), who, draft(name, credit_code=CODE), SETTINGS
                    )
                return "first" if r.first is None else "dup"
            except ServiceError:
                raise
            except Exception:
                await asyncio.sleep(0)
        return "failed"

    results = await asyncio.gather(
        *(one(who, f"名称{i}各不相同{i}有限公司") for i, who in enumerate([a, b, c] * 4))
    )
    assert results.count("first") == 1 and results.count("dup") == 11
    async with db.session() as s:
        held = select(func.count()).select_from(Lead).where(Lead.first_credit.is_not(None))
        assert await s.scalar(held) == 1


async def test_a_bad_credit_code_is_refused_by_the_service(
    db: Database, clock: ManualClock
) -> None:
    a, _, _ = await actors(db, clock)
    async with db.session() as s:
        with pytest.raises(ServiceError) as err:
            await report_lead(
                s, clock.now(), a, draft("某公司", credit_code=CODE[:-1] + "4"), SETTINGS
            )
    assert err.value.code == "dedup.credit.check"


async def test_different_is_remembered_for_the_pair(db: Database, clock: ManualClock) -> None:
    a, b, _ = await actors(db, clock)
    async with db.session() as s:
        await report_lead(s, clock.now(), a, draft("北京云算科技有限公司"), SETTINGS)
    directory = CompanyDirectory()
    async with db.session() as s:
        check = await check_company(s, directory, "北京云算科枝有限公司", 90)
        assert [c.code for c in check.near] == ["L0001"] and check.near[0].reason == "typo"
        await remember_different(s, clock.now(), b, "北京云算科枝有限公司", [check.near[0].lead_id])
    async with db.session() as s:
        assert (await check_company(s, directory, "北京云算科枝有限公司", 90)).near == []
        # Another spelling is still asked about.
        assert [
            c.code for c in (await check_company(s, directory, "北京云蒜科技有限公司", 90)).near
        ] == ["L0001"]


async def test_at_most_three_candidates(db: Database, clock: ManualClock) -> None:
    a, _, _ = await actors(db, clock)
    for name in (
        "云算科技有限公司",
        "云算科技（上海）有限公司",
        "北京云算实业有限公司",
        "北京云算科枝有限公司",
        "北京云蒜科技有限公司",
    ):
        async with db.session() as s:
            await report_lead(s, clock.now(), a, draft(name), SETTINGS)
    async with db.session() as s:
        check = await check_company(s, CompanyDirectory(), "北京云算科技有限公司", 90)
    assert check.exact is None and len(check.near) == 3


async def test_a_check_during_the_index_build_does_not_wait_for_it(
    db: Database, clock: ManualClock
) -> None:
    """After a restart the build is held (an event the test never sets until the end):
    exact duplicates, credit codes and near matches are all answered meanwhile."""
    a, _, _ = await actors(db, clock)
    for name, code in (("北京云算科技有限公司", CODE), ("康王药业（甘肃）有限公司", None)):
        async with db.session() as s:
            await report_lead(s, clock.now(), a, draft(name, credit_code=code), SETTINGS)
    directory, hold = CompanyDirectory(), asyncio.Event()
    directory.start_warming(db, hold)
    try:
        assert directory.building

        async def check(name: str, code: str | None = None) -> CompanyCheck:
            async with db.session() as s:
                return await asyncio.wait_for(check_company(s, directory, name, 90, code), 10)

        exact = await check("北京云算科技股份有限公司")
        assert exact.exact is not None and exact.exact.code == "L0001"
        by_code = await check("云算数据服务中心", CODE)
        assert by_code.by_credit and by_code.exact is not None
        typo = await check("北京云算科枝有限公司")
        assert [(c.code, c.reason) for c in typo.near] == [("L0001", "typo")]
        place = await check("甘肃康王药业有限公司")
        assert [c.code for c in place.near] == ["L0002"]
        assert (await check("山东焦煤集团有限公司")).near == []
        assert directory.building and directory.last_id == 0  # all without the index
    finally:
        hold.set()
    await directory.ready()
    assert not directory.building and directory.last_id == 2
    assert [c.code for c in (await check("北京云算科枝有限公司")).near] == ["L0001"]
    await directory.stop_warming()
