"""The credit code after the report: on the card by role, edited with its check character
and the one-code-one-company rule, freed by a rejection and given back by a reclaim
(SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
from decimal import Decimal

import pytest

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.domain.credit_code import check_character
from bot.operations.demo import seed_demo
from bot.services import ServiceError, lead_updates
from bot.services.access import Actor, resolve_actor
from bot.services.leads import CompanyDirectory, LeadDraft, check_company, report_lead
from storage import lead_repo
from storage.db import Database
from storage.models import Lead

SETTINGS = Settings(admins=[1000])
verify_lead = functools.partial(lead_updates.verify_lead, setup=SETTINGS)
reject_lead = functools.partial(lead_updates.reject_lead, setup=SETTINGS)
LEADER, LIAISON1, LIAISON2, OTHER3 = 1001, 1101, 1102, 1103  # 招商引资部, 经济发展局, 第三个单位


def code(n: int) -> str:
    """A valid credit code (GB 32100-2015 check character) numbered ``n``."""
    first17 = f"9135010000000{n:04d}"
    return first17 + check_character(first17)


A, B = code(1), code(2)


def draft(company: str, credit: str | None = None) -> LeadDraft:
    return LeadDraft(
        project="项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(100),
        origin="省外",
        stage="线索",
        credit_code=credit,
    )


@pytest.fixture
async def world(db: Database, clock: ManualClock) -> Database:
    async with db.session() as s:
        await seed_demo(s, clock.now())
    return db


async def who(db: Database, tg: int) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, SETTINGS, tg, "x", None)


async def report(
    db: Database, clock: ManualClock, tg: int, company: str, credit: str | None = None
) -> int:
    async with db.session() as s:
        result = await report_lead(
            s, clock.now(), await who(db, tg), draft(company, credit), SETTINGS
        )
    return result.lead_id


async def lead(db: Database, lead_id: int) -> Lead:
    async with db.session() as s:
        found = await lead_repo.lead_by_id(s, lead_id)
        assert found is not None
        return found


async def edit(
    db: Database, clock: ManualClock, tg: int, lead_id: int, value: str | None
) -> lead_updates.EditResult:
    async with db.session() as s:
        return await lead_updates.edit_lead(
            s, clock.now(), await who(db, tg), lead_id, "credit_code", value, SETTINGS
        )


async def refused_edit(
    db: Database, clock: ManualClock, tg: int, lead_id: int, value: str | None
) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        await edit(db, clock, tg, lead_id, value)
    return exc.value


# --- the card --------------------------------------------------------------------------------


async def test_the_card_shows_the_code_to_those_who_see_the_details(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1, "北京云算科技有限公司", A)
    async with db.session() as s:
        own = await lead_updates.view_lead(s, await who(db, LIAISON1), lead_id)
        leader = await lead_updates.view_lead(s, await who(db, LEADER), lead_id)
        other = await lead_updates.view_lead(s, await who(db, LIAISON2), lead_id)
    assert own.card.credit_code == A and leader.card.credit_code == A
    assert not other.card.full and other.card.credit_code is None


# --- editing the code -------------------------------------------------------------------------


async def test_a_code_is_set_checked_and_cleared_through_the_edit(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1, "北京云算科技有限公司")
    assert "credit_code" in lead_updates.FIELDS
    async with db.session() as s:
        prompt = await lead_updates.start_edit(
            s, await who(db, LIAISON1), lead_id, "credit_code", SETTINGS
        )
    assert prompt.optional and prompt.current is None
    for typed, reason in (
        (A[:-1] + ("0" if A[-1] != "0" else "1"), "leads.input.credit_check"),
        (A[:-1], "leads.input.credit_length"),
        ("I" + A[1:], "leads.input.credit_characters"),
    ):
        assert (await refused_edit(db, clock, LIAISON1, lead_id, typed)).code == reason
    result = await edit(db, clock, LIAISON1, lead_id, " " + A.lower()[:9] + " " + A[9:])
    assert (result.old, result.new) == (None, A)
    stored = await lead(db, lead_id)
    assert stored.credit_code == A and stored.first_credit == A  # a first report claims it
    async with db.session() as s:  # another unit's report with the code is the duplicate
        check = await check_company(s, CompanyDirectory(), "云算数据服务中心", 90, A)
    assert check.by_credit and check.exact is not None and check.exact.lead_id == lead_id
    await edit(db, clock, LIAISON1, lead_id, None)
    stored = await lead(db, lead_id)
    assert stored.credit_code is None and stored.first_credit is None
    async with db.session() as s:
        assert [
            (e.field, e.from_value, e.to_value)
            for e in await lead_repo.lead_history(s, lead_id)
            if e.kind == "edit"
        ] == [
            ("credit_code", None, A),
            ("credit_code", A, None),
        ]


async def test_a_code_another_company_carries_is_refused_naming_its_first_report(
    world: Database, clock: ManualClock
) -> None:
    db = world
    first = await report(db, clock, LIAISON1, "北京云算科技有限公司", A)
    mine = await report(db, clock, LIAISON2, "比亚迪股份有限公司")
    err = await refused_edit(db, clock, LIAISON2, mine, A)
    assert err.code == "leads.edit.credit_taken"
    assert err.params == {"unit": "招商引资部", "first": f"L{first:04d}"}
    assert (await lead(db, mine)).credit_code is None
    # A duplicate of the holder may carry the code: it is the same company.
    dup = await report(db, clock, LIAISON2, "北京云算科技")
    assert (await lead(db, dup)).duplicate_of == first
    await edit(db, clock, LIAISON2, dup, A)
    stored = await lead(db, dup)
    assert stored.credit_code == A and stored.first_credit is None  # a duplicate claims nothing
    # A code carried only by a duplicate names the duplicate's first report.
    await edit(db, clock, LIAISON1, first, B)
    await edit(db, clock, LIAISON2, dup, None)
    await edit(db, clock, LIAISON2, dup, A)
    err = await refused_edit(db, clock, LIAISON2, mine, A)
    assert err.code == "leads.edit.credit_taken" and err.params["first"] == f"L{first:04d}"


# --- rejection and reclaim -------------------------------------------------------------------


async def test_a_rejection_frees_the_code_and_a_reclaim_gives_it_back(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1, "北京云算科技有限公司", A)
    leader = await who(db, LEADER)
    async with db.session() as s:
        await reject_lead(s, clock.now(), leader, lead_id, "信息不实")
    stored = await lead(db, lead_id)
    assert stored.first_credit is None and stored.credit_code == A
    async with db.session() as s:
        check = await check_company(s, CompanyDirectory(), "云算数据服务中心", 90, A)
    assert check.exact is None  # free for another unit's first report
    async with db.session() as s:
        result = await verify_lead(s, clock.now(), leader, lead_id)
    stored = await lead(db, lead_id)
    assert result.duplicate_of is None and not stored.is_duplicate
    assert stored.first_credit == A and stored.first_key == stored.company_key


async def test_a_reclaim_after_another_unit_took_the_code_is_a_duplicate_of_it(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1, "北京云算科技有限公司", A)
    leader = await who(db, LEADER)
    async with db.session() as s:
        await reject_lead(s, clock.now(), leader, lead_id, "信息不实")
    # Another name, the same code: another unit's first report now (the name key stays free).
    taker = await report(db, clock, LIAISON2, "云算数据服务中心", A)
    assert (await lead(db, taker)).first_credit == A
    async with db.session() as s:
        result = await verify_lead(s, clock.now(), leader, lead_id)
    stored = await lead(db, lead_id)
    assert result.duplicate_of == f"L{taker:04d}" and stored.duplicate_of == taker
    assert stored.first_key is None and stored.first_credit is None
    # The name key was not taken by the reclaim either: a third unit's report is first.
    async with db.session() as s:
        check = await check_company(s, CompanyDirectory(), "北京云算科技有限公司", 90)
    assert check.exact is None
