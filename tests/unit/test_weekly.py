"""The weekly cycle's use cases and planning, without a bot (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.assembly.config import Settings
from bot.domain.periods import Periods, WeeklySchedule
from bot.operations.demo import seed_demo
from bot.services import ServiceError, reminders
from bot.services import weekly as wk
from bot.services.access import Actor, resolve_actor
from storage import weekly_repo
from storage.db import Database
from storage.models import OutboxMessage, WeeklySubmission

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 17, 10, 0, tzinfo=SH)  # Tuesday; 2026-W47 ends Thursday 19 Nov 17:00
LIAISON, HEAD = {1: 1101, 2: 1102, 3: 1103, 4: 1104}, {1: 1201, 2: 1202, 3: 1203, 4: 1204}
SETTINGS = Settings(admins=[1000], database_url="sqlite+aiosqlite:///unused.db")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def config(**overrides: object) -> wk.WeeklyConfig:
    schedule = overrides.pop("schedule", WeeklySchedule())
    cfg = wk.WeeklyConfig.from_settings(SETTINGS, Periods(schedule))  # type: ignore[arg-type]
    return wk.WeeklyConfig(**{**cfg.__dict__, **overrides})


@pytest.fixture
async def world(db: Database) -> Database:
    async with db.session() as s:
        await seed_demo(s, T0)
    return db


async def actor(db: Database, tg: int) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, SETTINGS, tg, "", None)


async def file_none(db: Database, cfg: wk.WeeklyConfig, tg: int, now: datetime) -> wk.SubmitResult:
    """Open the form, answer 无 everywhere, submit."""
    who = await actor(db, tg)
    async with db.session() as s:
        await wk.open_form(s, now, cfg, who)
        for section in wk.SECTIONS:
            form = await wk.set_none(s, now, cfg, who, section)
    async with db.session() as s:
        return await wk.submit(s, now, cfg, who, form.draft_id, form.rev, SETTINGS)


async def planned(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


# --- pure helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 18, 21, 59), None),
        (datetime(2026, 11, 18, 22, 0), datetime(2026, 11, 19, 8, 0)),
        (datetime(2026, 11, 19, 3, 0), datetime(2026, 11, 19, 8, 0)),
        (datetime(2026, 11, 19, 8, 0), None),
    ],
)
def test_quiet_hours_wrap_midnight(local: datetime, expected: datetime | None) -> None:
    end = reminders.quiet_end(local.replace(tzinfo=SH), (time(22), time(8)), SH)
    assert end == (expected.replace(tzinfo=SH) if expected else None)


def test_quiet_hours_within_a_day() -> None:
    assert reminders.quiet_end(at(18, 13), (time(12), time(14)), SH) == at(18, 14)
    assert reminders.quiet_end(at(18, 14), (time(12), time(14)), SH) is None
    assert reminders.quiet_end(at(18, 3), None, SH) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("until 2026-12-03", date(2026, 12, 3)),
        ("12月3日", date(2026, 12, 3)),
        ("至 12月3日", date(2026, 12, 3)),
        ("2027年1月5日", date(2027, 1, 5)),
        ("1月5日", date(2027, 1, 5)),  # already past this year: next year
        ("off", None),
        ("结束", None),
        ("明天", date(2026, 11, 18)),  # issue 17: the forms' day words (was refused)
        ("someday", False),
        ("2026-02-30", False),
    ],
)
def test_leave_dates(text: str, expected: date | bool | None) -> None:
    assert wk.parse_leave(text, date(2026, 11, 17)) == expected


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=24), "24 小时"),
        (timedelta(hours=8), "8 小时"),
        (timedelta(minutes=30), "30 分钟"),
        (timedelta(hours=23, minutes=20), "23 小时 20 分钟"),
        (timedelta(days=2, hours=7), "2 天 7 小时"),
        (timedelta(seconds=-5), "0 分钟"),
    ],
)
def test_time_left_reads_naturally(delta: timedelta, text: str) -> None:
    assert wk.remaining_text(delta, "zh_CN") == text


def test_a_holiday_shift_is_named() -> None:
    cfg = config()
    period = cfg.periods.by_key("2026-W40")
    note = wk.shift_note(wk.deadline_info(cfg, period), "zh_CN")
    assert note == "截止时间因国庆节调整为 9月30日（周三）17:00。"
    assert wk.shift_note(wk.deadline_info(cfg, cfg.periods.by_key("2026-W47")), "zh_CN") == ""


def test_a_shift_from_configured_days_has_no_holiday_name() -> None:
    cfg = config(schedule=WeeklySchedule(extra_holidays=frozenset({date(2027, 2, 11)})))
    info = wk.deadline_info(cfg, cfg.periods.by_key("2027-W06"))
    assert (
        info.shifted
        and wk.shift_note(info, "zh_CN") == "截止时间因节假日调整为 2月10日（周三）17:00。"
    )


# --- submitting and deciding ---------------------------------------------------------------------------


async def test_a_liaisons_version_waits_for_the_head_and_counts_once_confirmed(
    world: Database,
) -> None:
    cfg = config()
    result = await file_none(world, cfg, LIAISON[1], at(18, 9))
    assert result.status == "submitted" and [h.tg_user_id for h in result.heads] == [HEAD[1]]
    head = await actor(world, HEAD[1])
    async with world.session() as s:
        decision = await wk.decide(s, at(18, 10), cfg, head, result.version_id, confirm=True)
    assert decision.outcome == "on_time"
    async with world.session() as s:
        with pytest.raises(ServiceError) as err:
            await wk.decide(s, at(18, 11), cfg, head, result.version_id, confirm=True)
    assert err.value.code == "weekly.confirm.already_confirmed"


async def test_a_heads_own_submission_needs_no_confirmation(world: Database) -> None:
    result = await file_none(world, config(), HEAD[2], at(18, 9))
    assert result.status == "confirmed" and result.outcome == "on_time" and not result.heads


async def test_without_confirmation_a_submission_counts_at_once(world: Database) -> None:
    result = await file_none(world, config(confirmation_required=False), LIAISON[2], at(19, 17, 0))
    assert (
        result.status == "confirmed" and result.outcome == "on_time"
    )  # exactly at the deadline: on time


async def test_a_new_version_after_confirmation_keeps_the_unit_on_time(world: Database) -> None:
    cfg = config()
    first = await file_none(world, cfg, LIAISON[1], at(18, 9))
    head = await actor(world, HEAD[1])
    async with world.session() as s:
        await wk.decide(s, at(18, 10), cfg, head, first.version_id, confirm=True)
    second = await file_none(world, cfg, LIAISON[1], at(19, 16))  # a fix, never confirmed
    assert second.number == 2 and second.replaced and second.status == "submitted"
    async with world.session() as s:
        await reminders.close_periods(s, at(19, 17, 1), cfg)
        sub = await weekly_repo.submission(s, 1, "2026-W47")
    assert (
        sub is not None and sub.outcome == "on_time" and sub.accepted_version_id == first.version_id
    )


async def test_missing_at_the_deadline_then_late_until_the_next_one(world: Database) -> None:
    cfg = config()
    async with world.session() as s:
        await reminders.close_periods(s, at(19, 17, 1), cfg)
    async with world.session() as s:
        subs = await weekly_repo.submissions_for(s, "2026-W47")
    assert {u: x.outcome for u, x in subs.items()} == {
        1: "missing",
        2: "missing",
        3: "missing",
        4: "missing",
    }
    late = await file_none(world, cfg, HEAD[3], at(24, 9))
    assert late.late and late.outcome == "late"
    who = await actor(world, LIAISON[4])
    async with world.session() as s:
        form = await wk.open_form(s, at(26, 17, 1), cfg, who)  # W47's late window has closed
    assert form.period.key == "2026-W48" and form.late  # now W48 is the one owed


async def test_a_returned_version_needs_a_reason(world: Database) -> None:
    cfg = config()
    result = await file_none(world, cfg, LIAISON[1], at(18, 9))
    head = await actor(world, HEAD[1])
    async with world.session() as s:
        with pytest.raises(ServiceError) as err:
            await wk.decide(
                s, at(18, 10), cfg, head, result.version_id, confirm=False, reason="   "
            )
    assert err.value.code == "weekly.input.empty"
    async with world.session() as s:
        decision = await wk.decide(
            s, at(18, 10), cfg, head, result.version_id, confirm=False, reason="补充接待情况"
        )
    assert not decision.confirmed and decision.submitter.tg_user_id == LIAISON[1]


async def test_the_form_refuses_what_is_not_the_units(world: Database) -> None:
    cfg = config()
    who = await actor(world, LIAISON[1])
    leader = await actor(world, 1001)
    async with world.session() as s:
        with pytest.raises(ServiceError):
            await wk.open_form(s, T0, cfg, leader)
        await wk.open_form(s, T0, cfg, who)
        with pytest.raises(ServiceError) as err:
            await wk.toggle_lead(s, T0, cfg, who, 999)
        assert err.value.code == "weekly.lead.not_yours"
        with pytest.raises(ServiceError) as err:
            await wk.add_trip(s, T0, cfg, who, "x" * 501)
        assert err.value.params == {"limit": 500, "length": 501}


# --- planning ------------------------------------------------------------------------------------------


async def test_each_reminder_is_planned_once_and_only_for_units_not_done(world: Database) -> None:
    cfg = config()
    await file_none(world, cfg, HEAD[1], at(18, 9))  # 招商引资部 done
    for _ in range(2):
        async with world.session() as s:
            await reminders.plan_reminders(s, at(18, 17), cfg)
    rows = await planned(world)
    assert sorted(r.chat_id for r in rows) == sorted(
        [LIAISON[2], LIAISON[3], LIAISON[4], *(-1001000000000 - i for i in (2, 3, 4))]
    )
    assert {r.kind for r in rows} == {"remind:1440"}
    async with world.session() as s:
        await reminders.plan_reminders(s, at(19, 15), cfg)  # 2 h: the leaders' list too
    kinds = [r.kind for r in await planned(world)]
    assert kinds.count("remind:120") == 6 and kinds.count("leaders:missing") == 1
    assert "remind:480" in kinds  # 8 h passed while "down": planned late, due at once, within grace


async def test_offsets_under_a_minute_are_two_reminders_not_one(world: Database) -> None:
    cfg = config(offsets=(timedelta(seconds=45), timedelta(seconds=20)))
    deadline = at(19, 17)
    for now in (deadline - timedelta(seconds=45), deadline - timedelta(seconds=20)):
        async with world.session() as s:
            await reminders.plan_reminders(s, now, cfg)
    kinds = [r.kind for r in await planned(world)]
    assert (
        kinds.count("remind:45s") == 8 and kinds.count("remind:20s") == 8
    )  # 4 liaisons + 4 groups each


async def test_a_reminder_in_quiet_hours_until_the_deadline_is_skipped(world: Database) -> None:
    cfg = config(schedule=WeeklySchedule(time=time(23, 30)), offsets=(timedelta(minutes=30),))
    async with world.session() as s:
        await reminders.plan_reminders(s, datetime(2026, 11, 19, 23, 0, tzinfo=SH), cfg)
    rows = await planned(world)
    private = [r for r in rows if r.chat_id > 0]
    assert private and all(r.status == "skipped" and "quiet" in (r.error or "") for r in private)
    assert all(r.status == "pending" for r in rows if r.chat_id < 0)


async def test_leave_hands_reminders_to_the_head(world: Database) -> None:
    cfg = config()
    who = await actor(world, LIAISON[3])
    async with world.session() as s:
        result = await wk.set_leave(s, T0, cfg, who, "12月3日")
    assert result.until == date(2026, 12, 3) and result.substitutes == ("孙局长",)
    async with world.session() as s:
        await reminders.plan_reminders(s, at(18, 17), cfg)
    to_unit_3 = {r.chat_id: r for r in await planned(world) if r.unit_id == 3}
    assert LIAISON[3] not in to_unit_3 and "王五" in to_unit_3[HEAD[3]].params["leave"]


async def test_a_skipped_week_plans_nothing_and_marks_nobody_missing(world: Database) -> None:
    cfg = config()
    admin = await actor(world, 1000)
    async with world.session() as s:
        result = await wk.skip_week(s, T0, cfg, admin, "2026-11-19 培训周")
    assert result.info.key == "2026-W47" and result.reason == "培训周"
    async with world.session() as s:
        await reminders.plan_reminders(s, at(18, 17), cfg)
        await reminders.close_periods(s, at(19, 18), cfg)
    assert not [r for r in await planned(world) if r.period_key == "2026-W47"]
    async with world.session() as s:
        assert not (await s.scalars(select(WeeklySubmission))).all()


async def test_taking_a_skip_back_restores_what_it_withdrew(world: Database) -> None:
    cfg = config()
    admin = await actor(world, 1000)
    async with world.session() as s:
        await reminders.plan_reminders(s, at(18, 17), cfg)  # the 24-hour reminders, not sent yet
    async with world.session() as s:
        result = await wk.skip_week(s, at(18, 17, 5), cfg, admin, "2026-W47 培训周")
    assert result.cancelled == 8  # 4 liaisons + 4 groups
    async with world.session() as s:
        await wk.skip_week(s, at(18, 17, 10), cfg, admin, "2026-W47 取消")
        assert await reminders.resume_week(s, at(18, 17, 10), cfg, "2026-W47") == 8
    rows = await planned(world)
    assert len(rows) == 8 and all(r.status == "pending" and r.error is None for r in rows)


async def test_a_reminder_whose_time_passed_during_a_skip_is_not_sent_or_reported(
    world: Database,
) -> None:
    cfg = config()
    admin = await actor(world, 1000)
    async with world.session() as s:
        await wk.skip_week(s, T0, cfg, admin, "2026-W47")
    async with world.session() as s:
        await reminders.plan_reminders(s, at(18, 17), cfg)  # skipped: nothing
    async with world.session() as s:
        await wk.skip_week(s, at(19, 8), cfg, admin, "2026-W47 off")
        assert await reminders.resume_week(s, at(19, 8), cfg, "2026-W47") == 0
    async with world.session() as s:
        await reminders.plan_reminders(s, at(19, 9), cfg)
        assert await reminders.plan_failure_report(s, at(19, 9), cfg) == 0
    kinds = {r.kind for r in await planned(world)}
    assert kinds == {"remind:480"}  # the 24-hour one (grace over at 18:00 yesterday) stays unsent


async def test_a_skip_taken_back_after_the_deadline_still_closes_the_week(world: Database) -> None:
    cfg = config()
    admin = await actor(world, 1000)
    async with world.session() as s:
        await wk.skip_week(s, T0, cfg, admin, "2026-W47")
    async with world.session() as s:
        await reminders.close_periods(s, at(19, 18), cfg)  # skipped: not closed
    assert not [r for r in await planned(world) if r.kind == "leaders:summary"]
    async with world.session() as s:
        await wk.skip_week(s, at(20, 9), cfg, admin, "2026-W47 撤销")
        await reminders.resume_week(s, at(20, 9), cfg, "2026-W47")
    async with world.session() as s:
        await reminders.close_periods(s, at(20, 9, 1), cfg)
    assert [r.kind for r in await planned(world)] == ["leaders:summary"]
    async with world.session() as s:
        subs = (await s.scalars(select(WeeklySubmission))).all()
    assert len(subs) == 4 and {sub.outcome for sub in subs} == {"missing"}


async def test_admins_are_warned_once_about_an_uncovered_calendar_year(world: Database) -> None:
    cfg = config()
    for when in (T0, T0 + timedelta(hours=7)):
        async with world.session() as s:
            await reminders.warn_uncovered_calendar(s, when, cfg)
    rows = await planned(world)
    assert [(r.kind, r.period_key, r.chat_id) for r in rows] == [("admin:calendar", "2027", 1000)]
    text, _ = reminders.render(rows[0], T0, "bot")
    assert "2027 年" in text and "extra_holidays" in text


def test_no_warning_while_the_calendar_covers_the_coming_weeks() -> None:
    assert reminders.uncovered_years(config(), datetime(2026, 6, 1, tzinfo=UTC)) == []
    assert reminders.uncovered_years(config(), datetime(2026, 11, 17, tzinfo=UTC)) == [2027]
