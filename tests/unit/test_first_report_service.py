"""First report wins beyond the name key: credit codes decided by the database,
near candidates at most three, "different" remembered (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.domain.dedup import company_key
from bot.operations import near_process
from bot.operations.demo import seed_demo
from bot.operations.near_process import InlineMatcher, NearProcess
from bot.services import ServiceError
from bot.services import leads as leads_service
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


@pytest.mark.parametrize("separate", [False, True], ids=["inline", "process"])
async def test_a_check_during_the_index_build_does_not_wait_for_it(
    db: Database, clock: ManualClock, separate: bool
) -> None:
    """After a restart the build is held (an event the test never sets until the end):
    exact duplicates, credit codes and near matches are all answered meanwhile (with the
    index in its own process, that process judges the database's names)."""
    a, _, _ = await actors(db, clock)
    for name, code in (("北京云算科技有限公司", CODE), ("康王药业（甘肃）有限公司", None)):
        async with db.session() as s:
            await report_lead(s, clock.now(), a, draft(name, credit_code=code), SETTINGS)
    directory, hold = CompanyDirectory(), asyncio.Event()
    directory.start_warming(db, hold, separate=separate)
    assert isinstance(directory.matcher, NearProcess if separate else InlineMatcher)
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


async def test_a_credit_code_on_a_duplicate_only_is_its_first_reports_code(
    db: Database, clock: ManualClock
) -> None:
    """The first report has no code; its duplicate carries one: a new lead with that code,
    whatever its name, is a duplicate of the first report the duplicate points to."""
    a, b, c = await actors(db, clock)
    async with db.session() as s:
        first = await report_lead(s, clock.now(), a, draft("北京云算科技有限公司"), SETTINGS)
    async with db.session() as s:
        dup = await report_lead(
            s, clock.now(), b, draft("北京云算科技股份有限公司", credit_code=CODE), SETTINGS
        )
    assert dup.first is not None and dup.first.code == first.code
    async with db.session() as s:
        check = await check_company(s, CompanyDirectory(), "云算数据服务中心", 90, CODE)
        assert check.by_credit and check.exact is not None and check.exact.code == first.code
        third = await report_lead(
            s, clock.now(), c, draft("云算数据服务中心", credit_code=CODE), SETTINGS
        )
    assert third.first is not None and third.first.code == first.code
    async with db.session() as s:
        held = select(func.count()).select_from(Lead).where(Lead.first_credit.is_not(None))
        assert await s.scalar(held) == 0  # nobody claimed the code as a new first report


async def test_a_check_runs_one_statement_or_two_when_the_index_grew(
    db: Database, clock: ManualClock
) -> None:
    """The check's SQL is folded (credit code, key, the candidates with their unit and the
    "different" memory, and the index's sync in one select; a second one only for
    candidates among names the sync just added): it must not grow back to one query per
    question."""
    a, b, _ = await actors(db, clock)
    async with db.session() as s:
        await report_lead(
            s, clock.now(), a, draft("北京云算科技有限公司", credit_code=CODE), SETTINGS
        )
    directory = CompanyDirectory()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    async def check(name: str, code: str | None = None) -> tuple[list[str], int]:
        async with db.session() as s:
            statements.clear()
            found = await check_company(s, directory, name, 90, code)
            codes = [found.exact.code] if found.exact else [c.code for c in found.near]
            return codes, len(statements)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await check("北京云算科技股份有限公司") == (["L0001"], 1)
        assert await check("云算数据服务中心", CODE) == (["L0001"], 1)
        assert await check("北京云算科枝有限公司") == (["L0001"], 1)
        assert await check("山东焦煤集团有限公司") == ([], 1)
        async with db.session() as s:
            await remember_different(s, clock.now(), b, "北京云算科枝有限公司", [1])
            await report_lead(s, clock.now(), b, draft("康王药业（甘肃）有限公司"), SETTINGS)
        assert await check("甘肃康王药业有限公司") == (["L0002"], 2)  # new since the last read
        assert await check("甘肃康王药业有限公司") == (["L0002"], 1)
        assert await check("北京云算科枝有限公司") == ([], 1)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.parametrize("separate", [False, True], ids=["inline", "process"])
async def test_names_reported_during_the_index_build_are_found_after_it(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, separate: bool
) -> None:
    """Reports made after the build read the names but before it is in place (the build's
    end is held) are near matches afterwards, pinyin and Latin spellings too."""
    a, _, _ = await actors(db, clock)
    async with db.session() as s:
        await report_lead(s, clock.now(), a, draft("北京云算科技有限公司"), SETTINGS)
    started, proceed = asyncio.Event(), asyncio.Event()
    matcher_class: Any = NearProcess if separate else InlineMatcher
    real = matcher_class.finish

    async def held_finish(self: Any) -> int:
        started.set()
        await proceed.wait()
        return int(await real(self))

    monkeypatch.setattr(matcher_class, "finish", held_finish)
    directory = CompanyDirectory()
    directory.start_warming(db, separate=separate)
    try:
        await asyncio.wait_for(started.wait(), 30)
        for name in ("华为技术有限公司", "比亚迪股份有限公司", "康王药业（甘肃）有限公司"):
            async with db.session() as s:
                await report_lead(s, clock.now(), a, draft(name), SETTINGS)
        assert directory.building
    finally:
        proceed.set()
    await directory.ready()
    assert not directory.building and directory.last_id == 1  # the build read one name

    async def near(name: str) -> list[str]:
        async with db.session() as s:
            return [c.code for c in (await check_company(s, directory, name, 90)).near]

    assert await near("北京云算科枝有限公司") == ["L0001"]
    assert await near("huawei") == ["L0002"]
    assert await near("BYD") == ["L0003"]
    assert await near("甘肃康王药业有限公司") == ["L0004"]
    assert directory.last_id == 4
    assert isinstance(directory.matcher, matcher_class)
    await directory.stop_warming()


async def test_a_lead_committed_after_a_later_one_is_still_indexed(
    db: Database, clock: ManualClock
) -> None:
    """PostgreSQL hands out ids before commit: lead 3 may be read while lead 2 is still
    being saved. The index looks for the missing id again (within SETTLE_S), so lead 2
    is a near match once it is committed, pinyin spelling too."""
    a, _, _ = await actors(db, clock)
    async with db.session() as s:
        await report_lead(s, clock.now(), a, draft("北京云算科技有限公司"), SETTINGS)
    now = [0.0]
    directory = CompanyDirectory(clock=lambda: now[0])

    async def raw(lead_id: int, name: str) -> None:  # a report committed at this moment
        async with db.session() as s:
            lead = leads_service._new_lead(clock.now(), a, draft(name), company_key(name))
            lead.id, lead.first_key = lead_id, company_key(name)
            s.add(lead)

    async def near(name: str) -> list[str]:
        async with db.session() as s:
            return [c.code for c in (await check_company(s, directory, name, 90)).near]

    await raw(3, "康王药业（甘肃）有限公司")
    assert await near("甘肃康王药业有限公司") == ["L0003"]
    assert directory.sync_point() == (3, [2])
    now[0] = 60.0
    await raw(2, "华为技术有限公司")
    assert await near("huawei") == ["L0002"]
    assert directory.sync_point() == (3, [])
    await raw(5, "比亚迪股份有限公司")
    assert await near("BYD") == ["L0005"]
    now[0] += leads_service.SETTLE_S + 1  # id 4 never came: rolled back
    assert directory.sync_point() == (5, [])


async def test_a_killed_index_process_is_built_again_and_checks_go_on(
    db: Database, clock: ManualClock
) -> None:
    """kill -9 of the index's process: the next check still finds its near match (from
    the database's names), a new process is built from the database, names reported
    meanwhile included, and checks use it again."""
    a, _, _ = await actors(db, clock)
    async with db.session() as s:
        await report_lead(s, clock.now(), a, draft("北京云算科技有限公司"), SETTINGS)
    directory = CompanyDirectory()
    directory.start_warming(db, separate=True)
    await directory.ready()
    first = directory.matcher
    assert isinstance(first, NearProcess) and first.pid is not None

    async def near(name: str) -> list[str]:
        async with db.session() as s:
            return [c.code for c in (await check_company(s, directory, name, 90)).near]

    assert await near("北京云算科枝有限公司") == ["L0001"]
    os.kill(first.pid, signal.SIGKILL)
    async with db.session() as s:
        await report_lead(s, clock.now(), a, draft("康王药业（甘肃）有限公司"), SETTINGS)
    assert await near("北京云算科枝有限公司") == ["L0001"]  # judged from the database
    await directory.ready()
    second = directory.matcher
    assert isinstance(second, NearProcess) and second is not first and directory.restarts == 1
    assert directory.last_id == 2
    assert await near("甘肃康王药业有限公司") == ["L0002"]
    assert await near("BYD") == []
    await directory.stop_warming()


async def test_without_processes_the_index_is_held_in_the_bot(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no processes in this sandbox")

    a, _, _ = await actors(db, clock)
    async with db.session() as s:
        await report_lead(s, clock.now(), a, draft("北京云算科技有限公司"), SETTINGS)
    monkeypatch.setattr(near_process.asyncio, "create_subprocess_exec", refused)
    directory = CompanyDirectory()
    directory.start_warming(db, separate=True)
    await directory.ready()
    assert isinstance(directory.matcher, InlineMatcher) and not directory.separate
    async with db.session() as s:
        found = await check_company(s, directory, "北京云算科枝有限公司", 90)
    assert [c.code for c in found.near] == ["L0001"]
    await directory.stop_warming()
