"""Units, invites, binding and update claims, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.assembly.clock import ManualClock
from bot.services import ServiceError, chats, invites, units
from bot.services.invites import InviteRequest, parse_role_spec
from storage import repo
from storage.db import Database
from storage.models import ChatKind, Role


async def make_unit(db: Database, clock: ManualClock, name: str = "招商引资部") -> None:
    async with db.session() as s:
        await units.add_unit(s, clock.now(), name, "招商部", "一序列", actor=1)


async def test_add_rename_find_units(db: Database, clock: ManualClock) -> None:
    await make_unit(db, clock)
    async with db.session() as s:
        with pytest.raises(ServiceError) as exc:
            await units.add_unit(s, clock.now(), " 招商引资部 ")
        assert exc.value.code == "units.exists"
    async with db.session() as s:
        assert (await units.find_unit(s, "招商部")).name == "招商引资部"
        assert (await units.find_unit(s, "招商引资")).name == "招商引资部"  # near miss on a phone
        await units.rename_unit(s, clock.now(), "招商引资部", "投资促进局")
    async with db.session() as s:
        rows = await units.list_units(s)
        assert [r.name for r in rows] == ["投资促进局"]
        with pytest.raises(ServiceError) as exc:
            await units.find_unit(s, "完全无关")
        assert exc.value.code == "units.not_found"


async def test_unit_names_are_cleaned_and_bounded(db: Database, clock: ManualClock) -> None:
    async with db.session() as s:
        with pytest.raises(ServiceError) as exc:
            await units.add_unit(s, clock.now(), "局" * 5000)
        assert exc.value.code == "units.name_too_long" and exc.value.params["length"] == 5000
        with pytest.raises(ServiceError) as exc:
            await units.add_unit(s, clock.now(), "  \t ")
        assert exc.value.code == "units.name_empty"
    async with db.session() as s:
        unit = await units.add_unit(s, clock.now(), "<b>经济\n发展局</b>\x00")
        assert unit.name == "<b>经济 发展局</b>"  # stored as text; escaped when shown


async def test_import_reports_every_row(db: Database, clock: ManualClock) -> None:
    await make_unit(db, clock)
    rows = [
        {"_row": 2, "name": "经济发展局", "short_name": "经发局", "category": "一序列"},
        {"_row": 3, "name": "", "short_name": None, "category": None},
        {"_row": 4, "name": "招商引资部", "short_name": None, "category": None},
        {"_row": 5, "name": "经济发展局", "short_name": None, "category": None},
        {"_row": 6, "name": "<i>财政局</i>", "short_name": "财" * 50, "category": None},
    ]
    async with db.session() as s:
        report = await units.import_units(s, clock.now(), rows)
    assert report.added == ["经济发展局"]
    assert [(row, code) for row, code, _ in report.skipped] == [
        (3, "units.name_empty"),
        (4, "import.duplicate"),
        (5, "import.duplicate"),
        (6, "units.short_name_too_long"),
    ]


async def test_import_ten_thousand_rows(db: Database, clock: ManualClock) -> None:
    rows = [
        {"_row": i + 2, "name": f"单位{i:05d}", "short_name": None, "category": f"{i % 4}序列"}
        for i in range(10_000)
    ]
    async with db.session() as s:
        report = await units.import_units(s, clock.now(), rows)
    assert len(report.added) == 10_000
    async with db.session() as s:
        assert len(await repo.units(s)) == 10_000
        with pytest.raises(ServiceError) as exc:
            await units.import_units(s, clock.now(), [*rows, {"_row": 1, "name": "x"}])
        assert exc.value.code == "import.too_many_rows"


def test_role_specs() -> None:
    assert parse_role_spec("专干×2") == InviteRequest(Role.LIAISON, 2)
    assert parse_role_spec("head") == InviteRequest(Role.HEAD, 1)
    assert parse_role_spec("Leader*3") == InviteRequest(Role.LEADER, 3)
    assert parse_role_spec("招商引资部") is None


async def create(
    db: Database,
    clock: ManualClock,
    role: Role = Role.LIAISON,
    single: bool = False,
    ttl_h: int = 24,
) -> str:
    async with db.session() as s:
        made = await invites.create_invites(
            s, clock.now(), 1, "招商部", [InviteRequest(role, 1)], timedelta(hours=ttl_h), single
        )
    return made[0].token


async def test_invite_joins_with_role_and_unit(db: Database, clock: ManualClock) -> None:
    await make_unit(db, clock)
    token = await create(db, clock, Role.HEAD)
    assert len(token) >= 32  # 192 bits
    async with db.session() as s:
        joined = await invites.redeem(s, clock.now(), token, 42, "赵主任", "zhao")
    assert joined.role is Role.HEAD and joined.unit_name == "招商引资部" and joined.changed
    async with db.session() as s:
        again = await invites.redeem(s, clock.now(), token, 42, "赵主任", "zhao")
        member = await repo.member_by_tg(s, 42)
    assert not again.changed and member is not None and member.role == "head"


@pytest.mark.parametrize("case", ["expired", "revoked", "reused", "unknown", "garbage"])
async def test_bad_invites_join_nobody(db: Database, clock: ManualClock, case: str) -> None:
    await make_unit(db, clock)
    token = await create(db, clock, single=True)
    if case == "expired":
        clock.advance(timedelta(hours=25))
    elif case == "revoked":
        async with db.session() as s:
            listed = await invites.list_invites(s, clock.now())
            await invites.revoke_invite(s, clock.now(), 1, str(listed[0].id))
    elif case == "reused":
        async with db.session() as s:
            await invites.redeem(s, clock.now(), token, 41, "先来者", None)
    elif case == "unknown":
        token = "A" * 32
    else:
        token = "<script>"
    expected = {
        "expired": "invite.expired",
        "revoked": "invite.revoked",
        "reused": "invite.used",
    }.get(case, "invite.invalid")
    async with db.session() as s:
        with pytest.raises(ServiceError) as exc:
            await invites.redeem(s, clock.now(), token, 42, "后来者", None)
    assert exc.value.code == expected
    async with db.session() as s:
        assert await repo.member_by_tg(s, 42) is None


async def test_single_use_invite_race_has_one_winner(db: Database, clock: ManualClock) -> None:
    await make_unit(db, clock)
    token = await create(db, clock, single=True)

    async def attempt(uid: int) -> bool:
        try:
            async with db.session() as s:
                await invites.redeem(s, clock.now(), token, uid, f"u{uid}", None)
            return True
        except ServiceError:
            return False
        except Exception:  # SQLite "database is locked" under contention counts as a loss
            return False

    results = await asyncio.gather(*(attempt(100 + i) for i in range(10)))
    assert sum(results) == 1


async def test_leader_invite_needs_no_unit_and_liaison_does(
    db: Database, clock: ManualClock
) -> None:
    async with db.session() as s:
        made = await invites.create_invites(
            s, clock.now(), 1, None, [InviteRequest(Role.LEADER, 2)], timedelta(days=1), False
        )
        assert [m.unit_name for m in made] == [None, None]
        with pytest.raises(ServiceError) as exc:
            await invites.create_invites(
                s, clock.now(), 1, None, [InviteRequest(Role.LIAISON, 1)], timedelta(days=1), False
            )
        assert exc.value.code == "invite.needs_unit"


async def test_binding_moves_between_groups(db: Database, clock: ManualClock) -> None:
    await make_unit(db, clock)
    async with db.session() as s:
        first = await chats.bind(s, clock.now(), 1, -100, "群一", "招商部")
        assert first.kind is ChatKind.UNIT and not first.replaced_chat
    async with db.session() as s:
        second = await chats.bind(s, clock.now(), 1, -200, "群二", "招商引资部")
        assert second.replaced_chat
        await chats.bind(s, clock.now(), 1, -300, "领导群", "领导")
    async with db.session() as s:
        assert await chats.binding_of(s, -100) is None
        assert (await chats.binding_of(s, -200)).unit_name == "招商引资部"  # type: ignore[union-attr]
        assert (await chats.binding_of(s, -300)).kind is ChatKind.LEADERS  # type: ignore[union-attr]
        with pytest.raises(ServiceError):
            await chats.bind(s, clock.now(), 1, 555, "private", "领导")


async def test_update_claimed_once(db: Database, clock: ManualClock) -> None:
    async with db.session() as s:
        assert await repo.claim_update(s, 7, clock.now())
    async with db.session() as s:
        assert not await repo.claim_update(s, 7, clock.now())
    clock.advance(timedelta(days=8))
    async with db.session() as s:
        assert await repo.forget_updates_before(s, clock.now() - timedelta(days=7)) == 1
