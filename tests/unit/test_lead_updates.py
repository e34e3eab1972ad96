"""Stage moves, leaders' review and corrections of leads, on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.operations.demo import seed_demo
from bot.services import ServiceError, lead_updates
from bot.services.access import Actor, resolve_actor
from bot.services.leads import LeadDraft, report_lead
from storage import lead_repo
from storage.db import Database
from storage.models import Lead, Review

SETTINGS = Settings(admins=[1000])
# The reviews rescore the lead's unit by these settings' rules.
verify_lead = functools.partial(lead_updates.verify_lead, setup=SETTINGS)
reject_lead = functools.partial(lead_updates.reject_lead, setup=SETTINGS)
ADMIN, LEADER, LIAISON1, LIAISON2, HEAD1 = 1000, 1001, 1101, 1102, 1201
CATL = "宁德时代新能源科技股份有限公司"


def draft(company: str = CATL, **kw: object) -> LeadDraft:
    base = {
        "project": "动力电池项目",
        "company": company,
        "industry": "新能源",
        "amount_wan": Decimal("12000"),
        "origin": "省外",
        "stage": "线索",
    }
    base.update(kw)
    return LeadDraft(**base)  # type: ignore[arg-type]


async def who(db: Database, tg: int) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, SETTINGS, tg, "x", None)


@pytest.fixture
async def world(db: Database, clock: ManualClock) -> Database:
    async with db.session() as s:
        await seed_demo(s, clock.now())
    return db


async def report(
    db: Database, clock: ManualClock, tg: int, company: str = CATL, **kw: object
) -> int:
    async with db.session() as s:
        return (
            await report_lead(s, clock.now(), await who(db, tg), draft(company, **kw), SETTINGS)
        ).lead_id


async def refused(db: Database, call, *args: object) -> ServiceError:  # type: ignore[no-untyped-def]
    async with db.session() as s:
        with pytest.raises(ServiceError) as exc:
            await call(s, *args)
    return exc.value


async def lead(db: Database, lead_id: int) -> Lead:
    async with db.session() as s:
        found = await lead_repo.lead_by_id(s, lead_id)
        assert found is not None
        return found


async def events(
    db: Database, lead_id: int
) -> list[tuple[str, str | None, str | None, str | None, str | None]]:
    async with db.session() as s:
        return [
            (e.kind, e.field, e.from_value, e.to_value, e.note)
            for e in await lead_repo.lead_history(s, lead_id)
        ]


# --- stages ----------------------------------------------------------------------------------


async def test_stage_moves_forward_and_a_skip_is_one_recorded_move(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1)
    liaison = await who(db, LIAISON1)
    clock.advance(timedelta(hours=1))
    async with db.session() as s:
        moved = await lead_updates.move_stage(
            s, clock.now(), liaison, lead_id, "在谈", "  首次\n面谈  ", SETTINGS
        )
    assert (moved.from_stage, moved.to_stage, moved.skipped, moved.note) == (
        "线索",
        "在谈",
        (),
        "首次\n面谈",
    )
    async with db.session() as s:
        skip = await lead_updates.move_stage(
            s, clock.now(), liaison, lead_id, "落地", None, SETTINGS
        )
    assert skip.skipped == ("签约",) and not skip.backwards
    stored = await lead(db, lead_id)
    assert stored.stage == "落地" and stored.updated_at == clock.now()
    assert await events(db, lead_id) == [
        ("report", None, None, "线索", None),
        ("stage", None, "线索", "在谈", "首次\n面谈"),
        ("stage", None, "在谈", "落地", None),
    ]
    async with db.session() as s:
        history = await lead_repo.lead_history(s, lead_id)
    assert history[-1].actor_tg_id == LIAISON1 and history[-1].unit_id == stored.unit_id


@pytest.mark.parametrize("tg", [LIAISON1, HEAD1])
async def test_moving_backwards_needs_a_leader(
    world: Database, clock: ManualClock, tg: int
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1, stage="签约")
    member = await who(db, tg)
    err = await refused(
        db, lead_updates.move_stage, clock.now(), member, lead_id, "在谈", None, SETTINGS
    )
    assert err.code == "leads.stage.backwards" and err.params["current"] == "签约"
    async with db.session() as s:
        menu = await lead_updates.stage_menu(s, member, lead_id, SETTINGS)
    assert menu.choices == ("落地", "开工", "入统", "投产") and menu.backwards_need_leader
    for boss in (LEADER, ADMIN):
        async with db.session() as s:
            back = await lead_updates.move_stage(
                s, clock.now(), await who(db, boss), lead_id, "在谈", "数据有误", SETTINGS
            )
        assert back.backwards
        async with db.session() as s:
            await lead_updates.move_stage(
                s, clock.now(), await who(db, boss), lead_id, "签约", None, SETTINGS
            )
    assert (await lead(db, lead_id)).stage == "签约"


async def test_other_units_cannot_move_and_nonsense_stages_are_refused(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1)
    other, owner = await who(db, LIAISON2), await who(db, LIAISON1)
    assert (
        await refused(
            db, lead_updates.move_stage, clock.now(), other, lead_id, "在谈", None, SETTINGS
        )
    ).code == "leads.stage.not_yours"
    assert (
        await refused(db, lead_updates.stage_menu, other, lead_id, SETTINGS)
    ).code == "leads.stage.not_yours"
    assert (
        await refused(
            db, lead_updates.move_stage, clock.now(), owner, lead_id, "线索", None, SETTINGS
        )
    ).code == "leads.stage.same"
    assert (
        await refused(
            db, lead_updates.move_stage, clock.now(), owner, lead_id, "上市", None, SETTINGS
        )
    ).code == "leads.stage.unknown"
    err = await refused(
        db, lead_updates.move_stage, clock.now(), owner, lead_id, "在谈", "备" * 5000, SETTINGS
    )
    assert err.code == "leads.input.too_long" and err.params["limit"] == 2000
    stranger = Actor(5, "x", "zh_CN")
    assert (
        await refused(
            db, lead_updates.move_stage, clock.now(), stranger, lead_id, "在谈", None, SETTINGS
        )
    ).code == "access.stranger"
    assert (await refused(db, lead_updates.view_lead, owner, 99999)).code == "leads.not_found"
    assert [e[0] for e in await events(db, lead_id)] == ["report"]


async def test_a_duplicate_still_moves_and_keeps_its_history(
    world: Database, clock: ManualClock
) -> None:
    db = world
    await report(db, clock, LIAISON1)
    dup = await report(db, clock, LIAISON2, "宁德时代新能源科技")
    assert (await lead(db, dup)).is_duplicate
    async with db.session() as s:
        await lead_updates.move_stage(
            s, clock.now(), await who(db, LIAISON2), dup, "签约", "对方确认", SETTINGS
        )
    stored = await lead(db, dup)
    assert stored.stage == "签约" and stored.is_duplicate and stored.first_key is None
    assert ("stage", None, "线索", "签约", "对方确认") in await events(db, dup)


# --- review -------------------------------------------------------------------------------------


async def test_verify_sets_review_fields_and_names_the_units_members(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1)
    assert (
        await refused(db, verify_lead, clock.now(), await who(db, HEAD1), lead_id)
    ).code == "leads.review.leaders_only"
    clock.advance(timedelta(minutes=5))
    async with db.session() as s:
        result = await verify_lead(s, clock.now(), await who(db, LEADER), lead_id)
    assert result.review == Review.VERIFIED and {r.tg_user_id for r in result.recipients} == {
        LIAISON1,
        HEAD1,
    }
    stored = await lead(db, lead_id)
    assert (stored.review, stored.reviewed_by, stored.reviewed_at) == (
        Review.VERIFIED,
        LEADER,
        clock.now(),
    )
    assert ("verify", None, "pending", "verified", None) in await events(db, lead_id)
    assert (
        await refused(db, verify_lead, clock.now(), await who(db, LEADER), lead_id)
    ).code == "leads.review.already_verified"


async def test_rejecting_a_first_report_frees_the_company_for_the_next_report(
    world: Database, clock: ManualClock
) -> None:
    db = world
    first = await report(db, clock, LIAISON1)
    dup = await report(db, clock, LIAISON2, "宁德时代新能源科技有限公司")
    leader = await who(db, LEADER)
    assert (
        await refused(db, reject_lead, clock.now(), leader, first, "  ")
    ).code == "leads.review.reason_missing"
    async with db.session() as s:
        result = await reject_lead(s, clock.now(), leader, first, "企业否认有投资意向")
    assert result.released and result.note == "企业否认有投资意向"
    stored = await lead(db, first)
    assert (
        stored.first_key is None
        and stored.review == Review.REJECTED
        and stored.review_note == "企业否认有投资意向"
    )
    assert ("reject", None, "pending", "rejected", "企业否认有投资意向") in await events(db, first)
    assert (await lead(db, dup)).duplicate_of == first  # stored duplicates stay duplicates
    async with db.session() as s:
        later = await report_lead(
            s, clock.now(), await who(db, 1103), draft("宁德时代新能源科技"), SETTINGS
        )
    assert later.first is None  # the company was free: this one is the first report now
    assert (await lead(db, later.lead_id)).first_key == stored.company_key
    # Verifying the rejected lead again cannot take the claim back: it becomes a duplicate.
    async with db.session() as s:
        again = await verify_lead(s, clock.now(), leader, first)
    assert again.duplicate_of == later.code
    stored = await lead(db, first)
    assert (
        stored.first_key is None
        and stored.duplicate_of == later.lead_id
        and stored.review == Review.VERIFIED
    )


async def test_verifying_a_rejected_lead_reclaims_a_free_company(
    world: Database, clock: ManualClock
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1)
    leader = await who(db, LEADER)
    async with db.session() as s:
        await reject_lead(s, clock.now(), leader, lead_id, "重复报送")
    assert (
        await refused(db, reject_lead, clock.now(), leader, lead_id, "再次")
    ).code == "leads.review.already_rejected"
    async with db.session() as s:
        result = await verify_lead(s, clock.now(), leader, lead_id)
    stored = await lead(db, lead_id)
    assert (
        result.duplicate_of is None
        and stored.first_key == stored.company_key
        and not stored.is_duplicate
    )


# --- edits ---------------------------------------------------------------------------------------


async def edit(
    db: Database, clock: ManualClock, tg: int, lead_id: int, field: str, value: object
) -> lead_updates.EditResult:
    async with db.session() as s:
        return await lead_updates.edit_lead(
            s, clock.now(), await who(db, tg), lead_id, field, value, SETTINGS
        )


async def test_each_edit_is_kept_in_the_history(world: Database, clock: ManualClock) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1, contact_phone="13800138000")
    result = await edit(db, clock, LIAISON1, lead_id, "amount_wan", "一亿五千万")
    assert (result.old, result.new) == (Decimal("12000"), Decimal("15000"))
    await edit(db, clock, HEAD1, lead_id, "contact_phone", "0571-88886666")
    await edit(db, clock, LIAISON1, lead_id, "tags", "专精特新、高新技术")
    await edit(db, clock, LIAISON1, lead_id, "foreign_usd", "200万美元")
    await edit(db, clock, LIAISON1, lead_id, "industry", "生物医药")
    await edit(db, clock, LIAISON1, lead_id, "contact_phone", None)
    await edit(db, clock, LIAISON1, lead_id, "project", "<b>电池</b> 二期 🔋")
    stored = await lead(db, lead_id)
    assert stored.amount_wan == Decimal("15000") and stored.tags == ["高新技术", "专精特新"]
    assert (
        stored.foreign_usd == Decimal("2000000")
        and stored.industry == "生物医药"
        and stored.contact_phone is None
    )
    assert stored.project == "<b>电池</b> 二期 🔋"
    assert [e for e in await events(db, lead_id) if e[0] == "edit"] == [
        ("edit", "amount_wan", "1.2亿", "1.5亿", None),
        ("edit", "contact_phone", "13800138000", "0571-88886666", None),
        ("edit", "tags", None, "高新技术、专精特新", None),
        ("edit", "foreign_usd", None, "2000000", None),
        ("edit", "industry", "新能源", "生物医药", None),
        ("edit", "contact_phone", "0571-88886666", None, None),
        ("edit", "project", "动力电池项目", "<b>电池</b> 二期 🔋", None),
    ]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("amount_wan", "1e30", "leads.amount.not_a_number"),
        ("amount_wan", "-5", "leads.amount.not_positive"),
        ("amount_wan", "abc万", "leads.amount.not_a_number"),
        ("amount_wan", "5000美元", "leads.amount.wrong_currency"),
        ("amount_wan", None, "leads.edit.required"),
        ("amount_wan", "1.2亿", "leads.edit.unchanged"),
        ("foreign_usd", "9999999999999美元", "leads.amount.too_large"),
        ("contact_phone", "12345", "leads.input.bad_phone"),
        ("project", "项" * 5000, "leads.input.too_long"),
        ("project", " \u200b ", "leads.input.empty"),
        ("industry", "黑科技", "leads.edit.bad_choice"),
        ("tags", "世界第一", "leads.edit.bad_choice"),
        ("review", "verified", "leads.edit.unknown_field"),
    ],
)
async def test_bad_values_are_refused_with_a_specific_code(
    world: Database, clock: ManualClock, field: str, value: object, code: str
) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1)
    with pytest.raises(ServiceError) as exc:
        await edit(db, clock, LIAISON1, lead_id, field, value)
    assert exc.value.code == code
    assert [e[0] for e in await events(db, lead_id)] == ["report"]


async def test_only_the_reporting_unit_edits(world: Database, clock: ManualClock) -> None:
    db = world
    lead_id = await report(db, clock, LIAISON1)
    for tg in (LIAISON2, LEADER):
        with pytest.raises(ServiceError) as exc:
            await edit(db, clock, tg, lead_id, "project", "别人的修改")
        assert exc.value.code == "leads.edit.not_yours"


async def test_company_edit_moves_the_first_claim_or_is_refused_on_collision(
    world: Database, clock: ManualClock
) -> None:
    db = world
    catl = await report(db, clock, LIAISON1)
    byd = await report(db, clock, LIAISON2, "比亚迪股份有限公司")
    with pytest.raises(ServiceError) as exc:
        await edit(db, clock, LIAISON2, byd, "company", "宁德时代新能源科技有限公司")
    assert exc.value.code == "leads.edit.company_taken"
    assert exc.value.params == {"unit": "招商引资部", "first": "L0001"}
    stored = await lead(db, byd)
    assert stored.company == "比亚迪股份有限公司" and stored.first_key == stored.company_key
    # A new name moves the claim; the old company is free again.
    await edit(db, clock, LIAISON2, byd, "company", "比亚迪汽车工业有限公司")
    stored = await lead(db, byd)
    assert stored.first_key == stored.company_key != "比亚迪"
    async with db.session() as s:
        again = await report_lead(
            s, clock.now(), await who(db, 1103), draft("比亚迪股份有限公司"), SETTINGS
        )
    assert again.first is None
    # A legal-form change keeps the same key and claim.
    await edit(db, clock, LIAISON1, catl, "company", "宁德时代新能源科技(股份)有限公司")
    assert (await lead(db, catl)).first_key == (await lead(db, catl)).company_key
    assert ("edit", "company", CATL, "宁德时代新能源科技(股份)有限公司", None) in await events(
        db, catl
    )


async def test_a_duplicate_stays_a_duplicate_when_its_company_changes(
    world: Database, clock: ManualClock
) -> None:
    db = world
    first = await report(db, clock, LIAISON1)
    dup = await report(db, clock, LIAISON2, "宁德时代新能源科技")
    await edit(db, clock, LIAISON2, dup, "company", "恒瑞医药股份有限公司")
    stored = await lead(db, dup)
    assert (
        stored.duplicate_of == first and stored.first_key is None and "恒瑞" in stored.company_key
    )


# --- reading -------------------------------------------------------------------------------------


async def test_browse_pages_newest_first_and_filters_by_stage(
    world: Database, clock: ManualClock
) -> None:
    db = world
    for i in range(23):
        clock.advance(timedelta(minutes=1))
        await report(
            db,
            clock,
            LIAISON1 if i % 2 else LIAISON2,
            f"企业{i}有限公司",
            stage="在谈" if i % 3 == 0 else "线索",
        )
    liaison, leader = await who(db, LIAISON1), await who(db, LEADER)
    async with db.session() as s:
        mine = await lead_updates.browse(s, liaison, SETTINGS)
        everyone_last = await lead_updates.browse(s, leader, SETTINGS, page=99)
        talks = await lead_updates.browse(s, leader, SETTINGS, "在谈")
    assert mine.total == 11 and mine.pages == 2 and not mine.all_units
    assert {r.unit_name for r in mine.rows} == {"招商引资部"} and len(mine.rows) == 10
    assert (
        everyone_last.page == 2
        and len(everyone_last.rows) == 3
        and everyone_last.rows[-1].code == "L0001"
    )
    assert talks.total == 8 and all(r.stage == "在谈" for r in talks.rows)
    assert (
        await refused(db, lead_updates.browse, liaison, SETTINGS, "上市")
    ).code == "leads.stage.unknown"
