"""The ledger side of scoring on SQLite and PostgreSQL: append-only refresh, rescore, per-period scores."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.operations.demo import seed_demo
from bot.rules import engine
from bot.services import activities, lead_updates, ranking, scoring
from bot.services.access import Actor, resolve_actor
from bot.services.activities import ActivityDraft
from bot.services.leads import LeadDraft, report_lead
from bot.services.scoring import RANK_KINDS, to_entry
from bot.services.scoring.events import reported_stage
from storage import scoring_repo, weekly_repo
from storage.db import Database
from storage.models import Lead, LedgerEntry, UnitScore
from tests.conftest import T0, migrated_sqlite

JIAOCHENG = Settings(admins=[1000], rules_file="jiaocheng")
KAIHUA = Settings(admins=[1000], rules_file="kaihua")
LEADER = 1001


async def who(db: Database, tg: int, settings: Settings) -> Actor:
    async with db.session() as s:
        return await resolve_actor(s, settings, tg, "x", None)


def lead(
    company: str,
    amount: str = "12000",
    origin: str = "省外",
    stage: str = "在谈",
    tags: tuple[str, ...] = (),
) -> LeadDraft:
    return LeadDraft(
        project=f"{company}项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(amount),
        origin=origin,
        stage=stage,
        tags=tags,
    )


async def scenario(db: Database, clock: ManualClock, settings: Settings) -> None:
    """A year of work across two units: leads, reviews, stages, activities, weekly outcomes, an adjustment."""
    setup = scoring.setup_for(settings)
    async with db.session() as s:
        await seed_demo(s, clock.now())
    leader, a, b = (
        await who(db, LEADER, settings),
        await who(db, 1101, settings),
        await who(db, 1102, settings),
    )
    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    ids = []
    for i, (actor, draft) in enumerate(
        [
            (a, lead("甲", tags=("高新技术",))),
            (a, lead("乙", "3000", "本地")),
            (b, lead("丙", "60000", "省外", "签约", ("世界500强",))),
            (b, lead("甲公司", "5000")),
            (a, lead("丁", "20000", "境外", tags=("上市公司",))),
        ]
    ):
        clock.advance(timedelta(days=9 * i + 1))
        async with db.session() as s:
            ids.append((await report_lead(s, clock.now(), actor, draft, settings)).lead_id)
    for lead_id, stages in (
        (ids[0], ("签约", "落地", "开工")),
        (ids[4], ("签约",)),
        (ids[2], ("开工", "入统")),
    ):
        clock.advance(timedelta(days=20))
        async with db.session() as s:
            await lead_updates.verify_lead(s, clock.now(), leader, lead_id, setup=setup)
        for stage in stages:
            clock.advance(timedelta(days=15))
            async with db.session() as s:
                await lead_updates.move_stage(
                    s, clock.now(), leader, lead_id, stage, None, settings
                )
    clock.advance(timedelta(days=3))
    async with db.session() as s:  # a leader corrects a stage backwards: 落地/开工 un-reached
        await lead_updates.move_stage(s, clock.now(), leader, ids[0], "签约", "录入错误", settings)
    async with db.session() as s:
        await lead_updates.reject_lead(s, clock.now(), leader, ids[1], "信息不实", setup=setup)
    for kind, actor, amount in (
        ("training", a, None),
        ("intent", b, None),
        ("foreign_capital", a, Decimal(45000)),
        ("trip", leader, None),
    ):
        clock.advance(timedelta(days=4))
        draft = ActivityDraft(
            kind,
            clock.now().date() - timedelta(days=1),
            f"{kind} 记录",
            amount,
            ({"file_id": "f", "kind": "document", "name": "r.pdf"},),
            unit_id=2,
        )
        async with db.session() as s:
            view = await activities.record_activity(s, clock.now(), actor, draft, setup)
        if kind == "intent":
            async with db.session() as s:
                await activities.verify_activity(s, clock.now(), leader, view.activity_id, setup)
    for week, outcome in (("2026-W20", "missing"), ("2026-W21", "late"), ("2026-W22", "on_time")):
        async with db.session() as s:
            sub = await weekly_repo.ensure_submission(s, 1, week, clock.now())
            sub.outcome = outcome
            await scoring.refresh_after(s, 1, clock.now(), settings)
    async with db.session() as s:
        await ranking.adjust(
            s, setup, clock.now(), leader, "经济发展局", Decimal("-1.5"), "材料迟交"
        )


async def ledger_snapshot(db: Database) -> tuple[list[tuple], list[tuple]]:
    """Live ledger lines and scores; lead ids as their order of report (PostgreSQL's sequences skip
    the id of an insert that lost the first-report race, SQLite's do not)."""
    async with db.session() as s:
        order = {
            lead_id: n
            for n, lead_id in enumerate(
                (await s.scalars(select(Lead.id).order_by(Lead.id))).all(), 1
            )
        }
        rows = (await s.scalars(select(LedgerEntry).where(LedgerEntry.voided_at.is_(None)))).all()

        def norm(text: str) -> str:
            text = re.sub(r"lead:(\d+)", lambda m: f"lead:#{order[int(m.group(1))]}", text)
            return re.sub(r"L(\d{4,})", lambda m: f"L#{order[int(m.group(1))]}", text)

        live = sorted(
            (
                r.unit_id,
                r.rule_id,
                r.module or "",
                r.points,
                r.at,
                norm(r.source),
                norm(r.note),
                r.manual,
            )
            for r in rows
        )
        scores = sorted(
            (r.unit_id, r.kind, r.key, r.points) for r in (await s.scalars(select(UnitScore))).all()
        )
    return live, scores


async def assert_scores_match_full_recompute(db: Database, setup: scoring.ScoringSetup) -> None:
    """Every stored span equals the engine's score from all live entries; every span with entries is stored."""
    async with db.session() as s:
        stored = {
            (r.unit_id, r.kind, r.key): r.points for r in (await s.scalars(select(UnitScore))).all()
        }
        rows = (await s.scalars(select(LedgerEntry))).all()
    live = [to_entry(r) for r in rows if r.voided_at is None]
    spans = {
        (r.unit_id, kind, setup.periods.span(kind, r.at).key) for r in rows for kind in RANK_KINDS
    }
    for unit_id, kind, key in spans | set(stored):
        span = setup.periods.span_by_key(kind, key)
        expected = engine.score_span(
            setup.rules, [e for e in live if e.unit_id == unit_id], span, setup.periods
        ).total(unit_id)
        assert stored.get((unit_id, kind, key), Decimal(0)) == expected, (unit_id, kind, key)


async def test_refresh_is_append_only_voids_never_deletes(db: Database, clock: ManualClock) -> None:
    await scenario(db, clock, JIAOCHENG)
    async with db.session() as s:
        total = await s.scalar(select(func.count()).select_from(LedgerEntry))
        voided = (
            await s.scalars(select(LedgerEntry).where(LedgerEntry.voided_at.is_not(None)))
        ).all()
    # The backward move voided 落地 (基础分(7)) … and the rejected lead's lines went the same way.
    assert voided and all(v.void_reason == "refresh" and v.points != 0 for v in voided)
    before = total
    leader = await who(db, LEADER, JIAOCHENG)
    async with (
        db.session() as s
    ):  # verify the rejected lead again: its lines come back as new lines
        await lead_updates.verify_lead(s, clock.now(), leader, 2, setup=JIAOCHENG)
    async with db.session() as s:
        after = await s.scalar(select(func.count()).select_from(LedgerEntry))
        still_voided = await s.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.voided_at.is_not(None))
        )
    assert after >= before and still_voided == len(voided)  # nothing deleted, nothing un-voided
    await assert_scores_match_full_recompute(db, scoring.setup_for(JIAOCHENG))


async def test_the_ledger_matches_the_table_after_the_story(
    db: Database, clock: ManualClock
) -> None:
    await scenario(db, clock, JIAOCHENG)
    live, _ = await ledger_snapshot(db)
    by_rule: dict[tuple[int, str], Decimal] = {}
    for unit_id, rule, *_rest in live:
        by_rule[unit_id, rule] = by_rule.get((unit_id, rule), Decimal(0)) + _rest[1]
    # 经济发展局 (unit 2): L0003 reported signed (省外, 6亿, 世界500强) → 基础分(6) 5 + (2) 5 + (3) 5 + (4) 5;
    # its verified intent 5 (a leader's trip: no trip rule in jiaocheng); adjustment −1.5.
    assert (
        by_rule[2, "base_signed_outside"] == 5
        and by_rule[2, "bonus_strategic"] == 5
        and by_rule[2, "bonus_fortune500"] == 5
    )
    assert by_rule[2, "base_intent"] == 5 and (2, "base_training") not in by_rule
    assert by_rule[2, "manual"] == Decimal("-1.5")
    # 招商引资部 (unit 1): L0001 signed (省外, 高新技术, 1.2亿) 5+5+5, its 落地 voided by the correction;
    # L0005 from abroad signed: 基础分(6) 5; two leads in Q1 → 2 (the rejected L0002 no longer counts… but L0001+L0005 do);
    # weekly: missing −2, late −1; its liaison's training 2 and US$45,000 → 2 full steps of 2万 → 10.
    assert by_rule[1, "base_training"] == 2 and by_rule[1, "base_foreign_capital"] == 10
    assert (1, "base_landed_same_year") not in by_rule
    assert by_rule[1, "weekly_missing"] == -2 and by_rule[1, "weekly_late"] == -1
    assert by_rule[1, "base_signed_outside"] == 10
    await assert_scores_match_full_recompute(db, scoring.setup_for(JIAOCHENG))
    # Reports refresh only their year; a full re-derivation under the same rules finds nothing to change.
    diffs = await scoring.rescore_all(db, scoring.setup_for(JIAOCHENG), clock.now())
    assert not any(d.added or d.removed for d in diffs)


async def test_a_report_refreshes_its_year_only_and_misses_nothing(
    db: Database, clock: ManualClock
) -> None:
    """Two years of leads: a report in the second year re-derives that year, the first stays as it was."""
    async with db.session() as s:
        await seed_demo(s, clock.now())
    a = await who(db, 1101, JIAOCHENG)
    for when, company in (
        (datetime(2025, 12, 30, 2, tzinfo=UTC), "甲"),
        (datetime(2026, 1, 2, 2, tzinfo=UTC), "乙"),
        (datetime(2026, 1, 3, 2, tzinfo=UTC), "丙"),
    ):
        clock.set(when)
        async with db.session() as s:
            await report_lead(s, clock.now(), a, lead(company, stage="签约"), JIAOCHENG)
    live, _ = await ledger_snapshot(db)
    assert [(r[1], r[4].year) for r in live if r[1] == "base_info_quarterly"] == [
        ("base_info_quarterly", 2026)
    ]
    diffs = await scoring.rescore_all(db, scoring.setup_for(JIAOCHENG), clock.now())
    assert not any(d.added or d.removed for d in diffs)
    await assert_scores_match_full_recompute(db, scoring.setup_for(JIAOCHENG))


async def test_rescore_with_new_rules_equals_starting_with_them(
    db: Database, clock: ManualClock, tmp_path: Path
) -> None:
    await scenario(db, clock, JIAOCHENG)
    kaihua = scoring.setup_for(KAIHUA)
    diffs = await scoring.rescore_all(db, kaihua, clock.now())
    assert any(d.added or d.removed for d in diffs)
    rescored = await ledger_snapshot(db)
    fresh = await migrated_sqlite(tmp_path / "fresh.db")
    try:
        await scenario(fresh, ManualClock(T0), KAIHUA)
        started = await ledger_snapshot(fresh)
    finally:
        await fresh.dispose()
    assert rescored == started
    await assert_scores_match_full_recompute(db, kaihua)
    again = await scoring.rescore_all(db, kaihua, clock.now())
    assert not any(d.added or d.removed for d in again)  # rescoring twice changes nothing
    async with db.session() as s:
        assert not await scoring.rules_changed(s, kaihua)


# --------------------------------------------------------------------------- #
# unit_scores vs a full recompute, over random histories (kaihua: yearly caps)
# --------------------------------------------------------------------------- #

ACTION = st.one_of(
    st.tuples(
        st.just("record"),
        st.sampled_from(["award", "trip", "event", "blacklist", "secondment"]),
        st.integers(1, 2),
        st.integers(0, 360),
    ),
    st.tuples(st.just("reject"), st.integers(1, 12)),
    st.tuples(st.just("adjust"), st.integers(1, 2), st.sampled_from(["-3", "4", "12.5"])),
    st.tuples(st.just("wait"), st.integers(1, 90)),
)


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ACTION, min_size=1, max_size=12))
def test_unit_scores_equal_a_full_recompute(actions: list[tuple]) -> None:
    asyncio.run(_random_history(actions))


async def _random_history(actions: list[tuple]) -> None:
    setup = scoring.setup_for(KAIHUA)
    with tempfile.TemporaryDirectory() as tmp:
        db = await migrated_sqlite(Path(tmp) / "h.db")  # a copy of the migrated file
        clock = ManualClock(datetime(2025, 12, 20, 2, 0, tzinfo=UTC))
        try:
            async with db.session() as s:
                await seed_demo(s, clock.now())
            leader = await who(db, LEADER, KAIHUA)
            for action in actions:
                try:
                    async with db.session() as s:
                        await _apply(s, clock, leader, setup, action)
                except activities.ServiceError:
                    pass
            await assert_scores_match_full_recompute(db, setup)
        finally:
            await db.dispose()


async def _apply(
    s, clock: ManualClock, leader: Actor, setup: scoring.ScoringSetup, action: tuple
) -> None:
    if action[0] == "wait":
        clock.advance(timedelta(days=action[1]))
    elif action[0] == "record":
        _, kind, unit, back = action
        day = clock.now().astimezone(setup.zone).date() - timedelta(days=back)
        draft = ActivityDraft(kind, day, "记录", None, (), unit_id=unit)
        await activities.record_activity(s, clock.now(), leader, draft, setup)
    elif action[0] == "reject":
        await activities.reject_activity(s, clock.now(), leader, action[1], "核实不符", setup)
    else:
        _, unit, points = action
        await ranking.adjust(
            s,
            setup,
            clock.now(),
            leader,
            "招商引资部" if unit == 1 else "经济发展局",
            Decimal(points),
            "调整",
        )


def test_activity_dates() -> None:
    today = date(2026, 11, 17)
    assert activities.parse_date("今天", today) == today and activities.parse_date(
        "昨天", today
    ) == date(2026, 11, 16)
    assert activities.parse_date("11月20日", today) == date(
        2025, 11, 20
    )  # a day later this year: last year's
    assert activities.parse_date("２０２６-１１-０１", today) == date(2026, 11, 1)
    for bad in ("明天见", "2026-02-30", "2026-11-18"):
        with pytest.raises(activities.ServiceError):
            activities.parse_date(bad, today)


def test_competition_ranking_and_arguments() -> None:
    assert ranking.ranked({1: Decimal(5), 2: Decimal(7), 3: Decimal(5), 4: Decimal(0)}) == {
        2: 1,
        1: 2,
        3: 2,
        4: 4,
    }
    q = ranking.parse_rank_args("本季 一序列", "month", ["一序列", "二序列"])
    assert (q.kind, q.key, q.category) == ("quarter", None, "一序列")
    assert ranking.parse_rank_args("2026-10", "month", []).key == "2026-10"
    with pytest.raises(activities.ServiceError):
        ranking.parse_rank_args("nonsense", "month", [])
    assert ranking.parse_adjust_args("经济 发展局 -2 周报 不实") == (
        "经济 发展局",
        Decimal(-2),
        "周报 不实",
    )


async def test_rules_fingerprint_is_remembered(db: Database, clock: ManualClock) -> None:
    jiaocheng, kaihua = scoring.setup_for(JIAOCHENG), scoring.setup_for(KAIHUA)
    async with db.session() as s:
        assert not await scoring.note_rules(s, jiaocheng, clock.now())
    async with db.session() as s:
        assert await scoring.rules_changed(s, kaihua) and not await scoring.rules_changed(
            s, jiaocheng
        )
    assert scoring_repo is not None


def _reported_stage_two_passes(stage_now: str, events: list[SimpleNamespace]) -> str:
    """The former reading: the first report's stage; without one, a second scan for the first
    move's origin."""
    for e in events:
        if e.kind == "report":
            if e.to_value:
                return e.to_value
            break
    first = next((e for e in events if e.kind == "stage"), None)
    return first.from_value if first and first.from_value else stage_now


_EVENT = st.builds(
    SimpleNamespace,
    kind=st.sampled_from(["report", "stage", "edit", "confirm"]),
    from_value=st.sampled_from([None, "", "在谈", "签约"]),
    to_value=st.sampled_from([None, "", "洽谈", "在谈", "签约"]),
)


@given(st.lists(_EVENT, max_size=8), st.sampled_from(["洽谈", "开工"]))
def test_the_reported_stage_is_read_in_one_pass_as_it_was_in_two(
    events: list[SimpleNamespace], stage_now: str
) -> None:
    lead = SimpleNamespace(stage=stage_now)
    assert reported_stage(lead, events) == _reported_stage_two_passes(stage_now, events)  # type: ignore[arg-type]


STAGES = ("线索", "在谈", "签约", "落地", "开工")


def _reached_by_setdefault(first: str, moves: list[tuple[datetime, str | None]]) -> dict:
    """The former reading of the stages reached: each move reaches every stage up to its own
    (setdefault), a move back deletes the later ones."""
    reached: dict[str, datetime] = {}
    for stage, at in [(first, T0), *((to, at) for at, to in moves)]:
        if stage not in STAGES:
            continue
        top = STAGES.index(stage)
        for s in [s for s in reached if STAGES.index(s) > top]:
            del reached[s]
        for s in STAGES[: top + 1]:
            reached.setdefault(s, at)
    return reached


@given(
    st.sampled_from([*STAGES, "未知"]),
    st.lists(st.sampled_from([*STAGES, None, "未知"]), max_size=8),
)
def test_the_stages_reached_follow_every_move_forward_back_and_skipped(
    first: str, targets: list[str | None]
) -> None:
    moves = [(T0 + timedelta(days=i + 1), to) for i, to in enumerate(targets)]
    lead = SimpleNamespace(
        stage=first, reported_at=T0, review="pending", reviewed_at=None, id=1, unit_id=1
    )
    events = [SimpleNamespace(kind="report", to_value=first, at=T0)] + [
        SimpleNamespace(kind="stage", from_value=None, to_value=to, at=at) for at, to in moves
    ]
    tl = scoring.lead_timeline(lead, events, STAGES)  # type: ignore[arg-type]
    expected = _reached_by_setdefault(first, moves)
    assert list(tl.reached.items()) == list(expected.items())  # in order, too
