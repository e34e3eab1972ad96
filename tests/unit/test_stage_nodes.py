"""Stage nodes (全流程倒排, seed 004 二(八)2): deadlines in the rules file, stage_overdue events, the job.

Hand-computed under the kaihua preset: "在谈" = 90 and "签约" = 60 days; a node reached
on time earns +3 (sched_signed …), a node missed costs −2 (sched_overdue), never both.
Kaihua counts verified leads only, so every lead here is verified at its report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.operations.demo import seed_demo
from bot.rules import RulesError, load_preset, load_rules_text, overdue_nodes
from bot.services import ServiceError, lead_updates, scoring, stage_nodes
from bot.services.access import Actor, resolve_actor
from bot.services.leads import LeadDraft, report_lead
from storage import repo
from storage.db import Database
from storage.models import Lead, LedgerEntry
from tests.unit.test_scoring import assert_scores_match_full_recompute

KAIHUA = Settings(admins=[1000], rules_file="kaihua")
LEADER, LIAISON_1, LIAISON_2 = 1001, 1101, 1102  # demo: a leader, the liaisons of units 1 and 2
T = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
DAY = timedelta(days=1)
RULES = load_preset("kaihua")


# --------------------------------------------------------------------------- #
# The rules file
# --------------------------------------------------------------------------- #


def test_kaihua_sets_the_five_nodes_after_the_decision() -> None:
    assert RULES.stage_deadlines == {"在谈": 90, "签约": 60, "落地": 90, "开工": 180, "入统": 180}
    assert load_preset("jiaocheng").stage_deadlines == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '"签到" = 60',
            'rules.toml line 4: field "stage_deadlines.签到": unknown stage "签到" (known: 线索, 在谈',
        ),
        ('"投产" = 60', 'line 4: field "stage_deadlines.投产": "投产" is the last stage'),
        (
            '"签约" = "60"',
            'line 4: field "stage_deadlines.签约": must be a whole number without quotes',
        ),
        ('"签约" = 0', 'line 4: field "stage_deadlines.签约": must be at least 1'),
        (
            "签约 = 60",
            'line 4, column 1: invalid TOML: Invalid statement; a Chinese name before "=" must be in double quotes',
        ),
    ],
)
def test_a_bad_deadline_names_its_line(table: str, message: str) -> None:
    text = f'title = "x"\n\n[stage_deadlines]\n{table}\n'
    with pytest.raises(RulesError) as err:
        load_rules_text(text)
    assert message in str(err.value)


def test_deadlines_follow_the_files_own_stages() -> None:
    rules = load_rules_text('stages = ["意向", "签约", "开工"]\n[stage_deadlines]\n"意向" = 30\n')
    assert rules.next_stage("意向") == "签约"
    with pytest.raises(RulesError, match='unknown stage "在谈"'):
        load_rules_text('stages = ["意向", "签约"]\n[stage_deadlines]\n"在谈" = 30\n')


def test_overdue_nodes_by_hand() -> None:
    reached = {"线索": T, "在谈": T}
    assert overdue_nodes(RULES, reached, T + 90 * DAY - timedelta(seconds=1)) == []
    [node] = overdue_nodes(RULES, reached, T + 90 * DAY)  # due at exactly day 90
    assert (node.stage, node.node, node.due) == ("在谈", "签约", T + 90 * DAY)
    assert overdue_nodes(RULES, reached, None) == []  # without a clock: only nodes reached late
    on_the_dot = {**reached, "签约": T + 90 * DAY}
    assert overdue_nodes(RULES, on_the_dot, T + 400 * DAY) == [
        type(node)("签约", "落地", T + 150 * DAY)  # 签约 has its own 60 days
    ]
    late = {
        **reached,
        "签约": T + 91 * DAY,
        "落地": T + 91 * DAY,
    }  # 签约 skipped through: no stay, never late
    assert [(o.node, o.due) for o in overdue_nodes(RULES, late, None)] == [("签约", T + 90 * DAY)]


# --------------------------------------------------------------------------- #
# The ledger (SQLite and PostgreSQL)
# --------------------------------------------------------------------------- #


async def who(db: Database, tg: int) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, KAIHUA, tg, "x", None)


async def start(db: Database, clock: ManualClock) -> scoring.ScoringSetup:
    setup = scoring.setup_for(KAIHUA)
    async with db.session() as s:
        await seed_demo(s, clock.now())
    clock.set(T)
    return setup


async def report(
    db: Database,
    clock: ManualClock,
    tg: int,
    company: str,
    stage: str = "在谈",
    *,
    verify: bool = True,
) -> int:
    draft = LeadDraft(
        project=f"{company}项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(12000),
        origin="省外",
        stage=stage,
        tags=(),
    )
    async with db.session() as s:
        lead_id = (await report_lead(s, clock.now(), await who(db, tg), draft, KAIHUA)).lead_id
    if verify:
        async with db.session() as s:
            await lead_updates.verify_lead(
                s, clock.now(), await who(db, LEADER), lead_id, setup=KAIHUA
            )
    return lead_id


async def move(
    db: Database, clock: ManualClock, lead_id: int, stage: str, *, confirm: bool = True
) -> None:
    """A leader moves the lead on and, unless told not to, confirms at once every node it
    passed (kaihua: each node after 项目信息 scores once confirmed, seed 004 二(三))."""
    async with db.session() as s:
        await lead_updates.move_stage(
            s, clock.now(), await who(db, LEADER), lead_id, stage, "核对", KAIHUA
        )
    if confirm:
        await confirm_all(db, clock, lead_id)


async def confirm_all(db: Database, clock: ManualClock, lead_id: int) -> list[str]:
    """The leader confirms each node the lead has reached and nobody confirmed, first first."""
    done: list[str] = []
    while True:
        try:
            async with db.session() as s:
                node = await lead_updates.confirm_node(
                    s, clock.now(), await who(db, LEADER), lead_id, None, KAIHUA
                )
        except ServiceError as err:
            assert err.code == "leads.confirm.nothing"
            return done
        done.append(node.stage)


async def lines(db: Database, *rule_ids: str, voided: bool = False) -> list[tuple]:
    """(unit, rule, points, at, source, note) of live (or voided) lines of these rules, oldest first."""
    async with db.session() as s:
        stmt = select(LedgerEntry).where(LedgerEntry.rule_id.in_(rule_ids))
        stmt = stmt.where(
            LedgerEntry.voided_at.is_not(None) if voided else LedgerEntry.voided_at.is_(None)
        )
        rows = (await s.scalars(stmt.order_by(LedgerEntry.at, LedgerEntry.id))).all()
    return [(r.unit_id, r.rule_id, r.points, r.at.astimezone(UTC), r.source, r.note) for r in rows]


async def all_lines(db: Database) -> int:
    async with db.session() as s:
        return len((await s.scalars(select(LedgerEntry.id))).all())


async def test_91_days_in_talks_cost_2_points_dated_at_day_90_once(
    db: Database, clock: ManualClock
) -> None:
    setup = await start(db, clock)
    lead_id = await report(db, clock, LIAISON_1, "甲")
    clock.set(T + 10 * DAY)
    assert await stage_nodes.refresh_fallen_due(db, setup, clock.now()) == {}  # nothing due yet
    clock.set(T + 91 * DAY)
    due = await stage_nodes.refresh_fallen_due(db, setup, clock.now())
    assert due == {1: T + 90 * DAY}
    expected = [
        (
            1,
            "sched_overdue",
            Decimal(-2),
            T + 90 * DAY,
            f"lead:{lead_id}:overdue:签约",
            f"签约节点未达到时序进度 L{lead_id:04d}",
        )
    ]
    assert await lines(db, "sched_overdue") == expected
    count = await all_lines(db)
    # Run again, then "restart" (a new process only has the mark in the database): nothing new, nothing voided.
    assert await stage_nodes.refresh_fallen_due(db, setup, clock.now()) == {}
    clock.advance(timedelta(hours=25))
    assert await stage_nodes.refresh_fallen_due(db, setup, clock.now()) == {}
    async with db.session() as s:
        assert await stage_nodes.checked_until(s) == clock.now()
    assert await lines(db, "sched_overdue") == expected and await all_lines(db) == count
    # Any later refresh of the unit keeps the one line; the unit's scores include it.
    async with db.session() as s:
        await scoring.refresh_after(s, 1, clock.now(), setup)
    assert await lines(db, "sched_overdue") == expected and await all_lines(db) == count
    await assert_scores_match_full_recompute(db, setup)
    # When 签约 comes at last, it is not on schedule: no +3 for that node (the −2 stays).
    await move(db, clock, lead_id, "签约")
    assert await lines(db, "sched_signed") == [] and await lines(db, "sched_overdue") == expected


async def test_a_down_bot_catches_up_from_its_mark(db: Database, clock: ManualClock) -> None:
    setup = await start(db, clock)
    lead_id = await report(db, clock, LIAISON_1, "甲")
    clock.set(T + 5 * DAY)
    await stage_nodes.refresh_fallen_due(db, setup, clock.now())  # mark: day 5
    clock.set(T + 200 * DAY)  # down from day 5 to day 200
    assert await stage_nodes.refresh_fallen_due(db, setup, clock.now()) == {1: T + 90 * DAY}
    assert [(r[3], r[4]) for r in await lines(db, "sched_overdue")] == [
        (T + 90 * DAY, f"lead:{lead_id}:overdue:签约")
    ]


async def test_moving_on_in_time_scores_the_node_and_the_next_clock_starts(
    db: Database, clock: ManualClock
) -> None:
    setup = await start(db, clock)
    lead_id = await report(db, clock, LIAISON_1, "甲")
    clock.set(T + 89 * DAY)
    await move(db, clock, lead_id, "签约")
    assert [(r[1], r[2], r[3]) for r in await lines(db, "sched_signed")] == [
        ("sched_signed", Decimal(3), T + 89 * DAY)
    ]
    clock.set(T + 148 * DAY)  # 签约's 60 days end on day 149
    await stage_nodes.refresh_fallen_due(db, setup, clock.now())
    assert await lines(db, "sched_overdue") == []
    clock.set(T + 150 * DAY)
    await stage_nodes.refresh_fallen_due(db, setup, clock.now())
    assert [(r[2], r[3], r[4]) for r in await lines(db, "sched_overdue")] == [
        (Decimal(-2), T + 149 * DAY, f"lead:{lead_id}:overdue:落地")
    ]


async def test_a_late_move_records_the_missed_node_without_the_job(
    db: Database, clock: ManualClock
) -> None:
    await start(db, clock)
    lead_id = await report(db, clock, LIAISON_1, "甲")
    clock.set(T + 100 * DAY)
    await move(
        db, clock, lead_id, "落地"
    )  # skips 签约: 签约 missed at day 90, 落地 reached on schedule
    assert [
        (r[1], r[2], r[3]) for r in await lines(db, "sched_overdue", "sched_signed", "sched_land")
    ] == [
        ("sched_overdue", Decimal(-2), T + 90 * DAY),
        ("sched_land", Decimal(3), T + 100 * DAY),
    ]


async def test_a_duplicate_lead_is_never_overdue(db: Database, clock: ManualClock) -> None:
    setup = await start(db, clock)
    await report(db, clock, LIAISON_1, "宁德时代新能源科技股份有限公司")
    dup = await report(db, clock, LIAISON_2, "宁德时代新能源科技", verify=False)
    async with db.session() as s:
        assert (await s.get(Lead, dup)).duplicate_of is not None
    clock.set(T + 91 * DAY)
    assert await stage_nodes.refresh_fallen_due(db, setup, clock.now()) == {
        1: T + 90 * DAY
    }  # unit 2 not a candidate
    async with db.session() as s:
        await scoring.refresh_after(s, 2, clock.now(), setup)
        history = await scoring.collect_unit(s, 2, setup, now=clock.now())
    assert not [e for e in history.events if e.kind == "stage_overdue"]
    assert [r[0] for r in await lines(db, "sched_overdue")] == [1]


async def test_a_longer_deadline_and_a_rescore_take_the_deduction_back(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    setup = await start(db, clock)
    lead_id = await report(db, clock, LIAISON_1, "甲")
    clock.set(T + 91 * DAY)
    await stage_nodes.refresh_fallen_due(db, setup, clock.now())
    assert len(await lines(db, "sched_overdue")) == 1
    text = (
        resources.files("bot.rules")
        .joinpath("presets", "kaihua.toml")
        .read_text("utf-8")
        .replace('"在谈" = 90', '"在谈" = 120')
    )
    path = tmp_path / "kaihua120.toml"
    path.write_text(text, "utf-8")
    longer = scoring.setup_for(Settings(admins=[1000], rules_file=str(path)))
    assert longer.rules.stage_deadlines["在谈"] == 120
    await scoring.rescore_all(db, longer, clock.now())
    assert await lines(db, "sched_overdue") == []
    assert [(r[3], r[4]) for r in await lines(db, "sched_overdue", voided=True)] == [
        (T + 90 * DAY, f"lead:{lead_id}:overdue:签约")
    ]
    await assert_scores_match_full_recompute(db, longer)
    clock.set(T + 121 * DAY)  # the job under the new rules: due at day 120
    assert await stage_nodes.refresh_fallen_due(db, longer, clock.now()) == {1: T + 120 * DAY}
    assert [r[3] for r in await lines(db, "sched_overdue")] == [T + 120 * DAY]


async def test_a_backward_correction_dates_the_miss_at_the_original_deadline(
    db: Database, clock: ManualClock
) -> None:
    """签约 entered by mistake on day 30 and taken back on day 100: 在谈 never ended, so 签约 was missed on day 90."""
    await start(db, clock)
    lead_id = await report(db, clock, LIAISON_1, "甲")
    clock.set(T + 30 * DAY)
    await move(db, clock, lead_id, "签约")
    assert len(await lines(db, "sched_signed")) == 1
    clock.set(T + 100 * DAY)
    await move(db, clock, lead_id, "在谈")
    assert await lines(db, "sched_signed") == []
    assert [(r[2], r[3]) for r in await lines(db, "sched_overdue")] == [(Decimal(-2), T + 90 * DAY)]


async def test_a_report_next_year_keeps_an_old_leads_overdue_line(
    db: Database, clock: ManualClock
) -> None:
    """A refresh re-derives only the year of its change; a lead that last moved the year before but fell
    due in this one must be loaded too, or its line would be voided."""
    setup = await start(db, clock)
    clock.set(datetime(2026, 11, 2, 2, tzinfo=UTC))
    lead_id = await report(db, clock, LIAISON_1, "甲")
    clock.set(datetime(2027, 2, 5, 2, tzinfo=UTC))
    await stage_nodes.refresh_fallen_due(db, setup, clock.now())
    expected = [
        (
            1,
            "sched_overdue",
            Decimal(-2),
            datetime(2027, 1, 31, 2, tzinfo=UTC),
            f"lead:{lead_id}:overdue:签约",
            f"签约节点未达到时序进度 L{lead_id:04d}",
        )
    ]
    assert await lines(db, "sched_overdue") == expected
    clock.set(datetime(2027, 3, 1, 2, tzinfo=UTC))
    await report(
        db, clock, LIAISON_1, "乙", verify=False
    )  # refresh_after(since=now): the 2027 window
    assert await lines(db, "sched_overdue") == expected
    diffs = await scoring.rescore_all(db, setup, clock.now())
    assert not any(d.added or d.removed for d in diffs)  # the windowed refreshes missed nothing


async def test_no_deadlines_no_job_work(db: Database, clock: ManualClock) -> None:
    setup = scoring.setup_for(Settings(admins=[1000], rules_file="jiaocheng"))
    async with db.session() as s:
        await seed_demo(s, clock.now())
    assert await stage_nodes.refresh_fallen_due(db, setup, clock.now()) == {}
    async with db.session() as s:
        assert (
            await repo.persisted_one(s, stage_nodes.STATE_KIND, stage_nodes.STATE_KEY) is not None
        )
