"""The scoring engine on hand-computed examples, plus the properties rescoring relies on."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.periods import Periods, WeeklySchedule
from bot.rules import (
    Entry,
    Event,
    LeadFacts,
    RuleSet,
    derive,
    derive_incremental,
    history_start,
    load_preset,
    load_rules_text,
    reconcile,
    rescore,
    score,
    score_span,
)

SH = ZoneInfo("Asia/Shanghai")
PERIODS = Periods(WeeklySchedule())
D = Decimal


# --------------------------------------------------------------------------- #
# Builders (shared with test_rules_presets)
# --------------------------------------------------------------------------- #


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH)


def facts(
    lead_id: int = 1,
    unit: int = 1,
    amount: str | int = 5000,
    origin: str = "本地",
    tags: Iterable[str] = (),
    industry: str = "新材料",
    verified: bool = True,
    duplicate: bool = False,
    foreign_usd: str | int | None = None,
) -> LeadFacts:
    return LeadFacts(
        lead_id=lead_id,
        unit_id=unit,
        amount_wan=D(amount),
        origin=origin,
        industry=industry,
        tags=frozenset(tags),
        verified=verified,
        duplicate=duplicate,
        foreign_usd=None if foreign_usd is None else D(foreign_usd),
    )


def reported(lead: LeadFacts, when: datetime) -> Event:
    return Event(f"lead:{lead.lead_id}", "lead_reported", lead.unit_id, when, lead=lead)


def verified(lead: LeadFacts, when: datetime) -> Event:
    return Event(f"verify:{lead.lead_id}", "lead_verified", lead.unit_id, when, lead=lead)


def stage(lead: LeadFacts, name: str, when: datetime) -> Event:
    return Event(
        f"stage:{lead.lead_id}:{name}", "stage_reached", lead.unit_id, when, lead=lead, stage=name
    )


def overdue(lead: LeadFacts, name: str, when: datetime) -> Event:
    return Event(
        f"overdue:{lead.lead_id}:{name}", "stage_overdue", lead.unit_id, when, lead=lead, stage=name
    )


def activity(
    kind: str,
    when: datetime,
    unit: int = 1,
    ok: bool = True,
    usd: str | int | None = None,
    n: int = 0,
    lead: LeadFacts | None = None,
) -> Event:
    amount = None if usd is None else D(usd)
    ident = f"activity:{kind}:{unit}:{when.isoformat()}:{n}"
    return Event(
        ident, "activity", unit, when, lead=lead, activity=kind, verified=ok, amount_usd=amount
    )


def weekly(status: str, when: datetime, unit: int = 1) -> Event:
    return Event(f"weekly:{when.isoformat()}:{unit}", "weekly", unit, when, status=status)


def funds(amount: str | int, when: datetime, lead: LeadFacts) -> Event:
    return Event(
        f"funds:{lead.lead_id}:{when.isoformat()}",
        "funds",
        lead.unit_id,
        when,
        lead=lead,
        amount_wan=D(amount),
    )


def table(body: str, head: str = "") -> RuleSet:
    return load_rules_text(head + "\n" + body)


def points(entries: Iterable[Entry], rule_id: str | None = None) -> Decimal:
    return sum((e.points for e in entries if rule_id is None or e.rule_id == rule_id), D(0))


def manual(unit: int, pts: str, when: datetime, module: str | None = None, n: int = 1) -> Entry:
    return Entry(unit, "manual", module, D(pts), when, f"adjustment:{n}", "领导调整")


# --------------------------------------------------------------------------- #
# event rules and conditions
# --------------------------------------------------------------------------- #

SIGNED_BIG = """
[[rules]]
id = "signed_big"
kind = "event"
on = "stage_reached"
stage = "签约"
origins = ["省外"]
min_amount_wan = 10000
points = 5
"""


def test_event_rule_scores_only_events_meeting_every_condition() -> None:
    rules = table(SIGNED_BIG)
    big = facts(1, amount=20000, origin="省外")
    events = [
        stage(big, "签约", at(3, 1)),
        stage(big, "落地", at(3, 2)),  # wrong stage
        stage(facts(2, amount=20000, origin="本地"), "签约", at(3, 3)),  # wrong origin
        stage(facts(3, amount=9999, origin="省外"), "签约", at(3, 4)),  # too small
    ]
    entries = derive(rules, events, PERIODS)
    assert [(e.source, e.points, e.note) for e in entries] == [
        ("stage:1:签约", D(5), "签约 L0001（≥1亿元，省外）")
    ]


def test_amount_bounds_include_the_minimum_and_exclude_the_maximum() -> None:
    rules = table("""
[[rules]]
id = "mid"
kind = "event"
on = "lead_reported"
min_amount_wan = 1000
max_amount_wan = 10000
points = 1
""")
    events = [
        reported(facts(i, amount=a), at(1, 5 + i))
        for i, a in enumerate([999, 1000, 9999, 10000], 1)
    ]
    assert [e.source for e in derive(rules, events, PERIODS)] == ["lead:2", "lead:3"]


def test_tags_industries_foreign_capital_and_any_of() -> None:
    rules = table("""
[[rules]]
id = "any"
kind = "event"
on = "lead_reported"
points = 1
tags_any = ["上市公司", "央企国企"]

[[rules]]
id = "all"
kind = "event"
on = "lead_reported"
points = 1
tags_all = ["高新技术", "专精特新"]
industries = ["新材料"]

[[rules]]
id = "either"
kind = "event"
on = "lead_reported"
points = 1
any_of = [{ min_foreign_usd = 10000000 }, { origins = ["省外"], min_amount_wan = 50000 }]
""")
    events = [
        reported(facts(1, tags={"上市公司"}), at(1, 5)),
        reported(facts(2, tags={"高新技术", "专精特新"}), at(1, 6)),
        reported(facts(3, tags={"高新技术", "专精特新"}, industry="精细化工"), at(1, 7)),
        reported(facts(4, foreign_usd=10000000), at(1, 8)),
        reported(facts(5, origin="省外", amount=50000), at(1, 9)),
        reported(facts(6, origin="省外", amount=49999, foreign_usd=9999999), at(1, 10)),
    ]
    got = {(e.rule_id, e.source) for e in derive(rules, events, PERIODS)}
    assert got == {("any", "lead:1"), ("all", "lead:2"), ("either", "lead:4"), ("either", "lead:5")}


def test_only_verified_follows_the_file_default_unless_the_rule_says_otherwise() -> None:
    body = """
[[rules]]
id = "lead"
kind = "event"
on = "lead_reported"
points = 1

[[rules]]
id = "trip"
kind = "event"
on = "activity"
activity = "trip"
points = 1

[[rules]]
id = "any_trip"
kind = "event"
on = "activity"
activity = "trip"
only_verified = false
points = 1
"""
    events = [
        reported(facts(1, verified=True), at(2, 1)),
        reported(facts(2, verified=False), at(2, 2)),
        activity("trip", at(2, 3), ok=True),
        activity("trip", at(2, 4), ok=False),
    ]
    strict = derive(table(body, "counts_only_verified = true"), events, PERIODS)
    assert [(e.rule_id, e.at) for e in strict] == [
        ("lead", at(2, 1)),
        ("any_trip", at(2, 3)),
        ("trip", at(2, 3)),
        ("any_trip", at(2, 4)),
    ]
    assert len(derive(table(body), events, PERIODS)) == 6


def test_weekly_penalties_are_negative_and_status_specific() -> None:
    rules = load_preset("jiaocheng")
    events = [
        weekly("on_time", at(1, 8, 17)),
        weekly("late", at(1, 16, 9)),
        weekly("missing", at(1, 22, 17)),
    ]
    entries = derive(rules, events, PERIODS)
    assert [(e.rule_id, e.points, e.note) for e in entries] == [
        ("weekly_late", D(-1), "周报迟报"),
        ("weekly_missing", D(-2), "周报漏报"),
    ]


def test_max_count_and_from_count_price_the_nth_event_of_a_period() -> None:
    # issue 15: kaihua's 黑榜 is derived now; the same two rules on a leader's activity
    rules = table("""
[activities]
blacklist = "纳入招商引资工作黑榜"

[[rules]]
id = "blacklist"
kind = "penalty"
on = "activity"
activity = "blacklist"
per = "year"
max_count = 2
points = -2

[[rules]]
id = "blacklist_repeat"
kind = "penalty"
on = "activity"
activity = "blacklist"
per = "year"
from_count = 3
points = -3
""")
    events = [activity("blacklist", at(m, 28)) for m in range(1, 6)] + [
        activity("blacklist", at(1, 28, year=2027))
    ]
    entries = derive(rules, events, PERIODS)
    assert [(e.rule_id, e.points) for e in entries] == [
        ("blacklist", D(-2)),
        ("blacklist", D(-2)),
        ("blacklist_repeat", D(-3)),
        ("blacklist_repeat", D(-3)),
        ("blacklist_repeat", D(-3)),
        ("blacklist", D(-2)),  # a new year starts counting again
    ]
    assert entries[2].note == "纳入招商引资工作黑榜（2026年第 3 次）"


def test_on_time_needs_no_earlier_overdue_and_prior_stage_needs_the_same_year() -> None:
    rules = table("""
[[rules]]
id = "on_time"
kind = "event"
on = "stage_reached"
stage = "签约"
on_time = true
points = 3

[[rules]]
id = "landed"
kind = "event"
on = "stage_reached"
stage = "落地"
prior_stage = "签约"
prior_within = "year"
points = 5
""")
    a, b, c = facts(1), facts(2), facts(3)
    events = [
        stage(a, "签约", at(3, 1)),
        stage(a, "落地", at(9, 1)),  # signed the same year
        overdue(b, "签约", at(2, 1)),
        stage(b, "签约", at(12, 20, year=2025) + timedelta(days=50)),  # late: no +3
        stage(c, "签约", at(12, 20, year=2025)),
        stage(c, "落地", at(1, 10)),  # signed the year before
    ]
    got = [(e.rule_id, e.source) for e in derive(rules, events, PERIODS)]
    assert got == [
        ("on_time", "stage:3:签约"),
        ("on_time", "stage:1:签约"),
        ("landed", "stage:1:落地"),
    ]


def test_later_overdue_does_not_take_back_an_on_time_stage() -> None:
    rules = load_preset("kaihua")
    # issue 15: a project must be a 新引进项目 (二(四)) for 时序 points: 农业 ≥ 1000万, from outside
    lead = facts(1, amount=1000, industry="现代农业", origin="省外")
    entries = derive(
        rules, [stage(lead, "签约", at(3, 1)), overdue(lead, "签约", at(3, 2))], PERIODS
    )
    assert [(e.rule_id, e.points) for e in entries if e.rule_id.startswith("sched_")] == [
        ("sched_signed", D(3)),
        ("sched_overdue", D(-2)),
    ]


# --------------------------------------------------------------------------- #
# thresholds and amounts
# --------------------------------------------------------------------------- #

THRESHOLD = """
[[rules]]
id = "two_leads"
kind = "threshold"
on = "lead_reported"
per = "quarter"
count = 2
points = 2
repeat = {repeat}
"""


def _five_leads_in_q1_one_in_q2() -> list[Event]:
    days = [(1, 5), (1, 20), (2, 3), (2, 9), (3, 30), (4, 2)]
    return [reported(facts(i), at(m, d)) for i, (m, d) in enumerate(days, 1)]


def test_threshold_scores_once_per_period_at_the_completing_event() -> None:
    entries = derive(
        table(THRESHOLD.format(repeat="false")), _five_leads_in_q1_one_in_q2(), PERIODS
    )
    assert [(e.points, e.at, e.source, e.note) for e in entries] == [
        (D(2), at(1, 20), "threshold:two_leads:2026-Q1", "2026年第1季度报送线索满 2 条"),
    ]


def test_threshold_with_repeat_scores_every_full_count() -> None:
    entries = derive(table(THRESHOLD.format(repeat="true")), _five_leads_in_q1_one_in_q2(), PERIODS)
    assert [(e.at, e.source) for e in entries] == [
        (at(1, 20), "threshold:two_leads:2026-Q1#1"),
        (at(2, 9), "threshold:two_leads:2026-Q1#2"),
    ]


def test_thresholds_count_per_unit() -> None:
    events = [reported(facts(1, unit=1), at(1, 5)), reported(facts(2, unit=2), at(1, 6))]
    assert derive(table(THRESHOLD.format(repeat="false")), events, PERIODS) == []


AMOUNT = """
[[rules]]
id = "fx"
kind = "amount_step"
on = "activity"
activity = "foreign_capital"
field = "amount_usd"
step = 20000
points = 5
{per}
"""


def test_amount_step_per_event_counts_full_steps_only() -> None:
    rules = table(AMOUNT.format(per=""))
    events = [
        activity("foreign_capital", at(5, d), usd=u)
        for d, u in [(1, 19999), (2, 20000), (3, 45000)]
    ]
    entries = derive(rules, events, PERIODS)
    assert [(e.points, e.note) for e in entries] == [
        (D(5), "实际利用外资 2万美元，1 档"),
        (D(10), "实际利用外资 4.5万美元，2 档"),
    ]


def test_amount_step_accumulates_within_its_period() -> None:
    rules = table(AMOUNT.format(per='per = "year"'))
    events = [
        activity("foreign_capital", at(2, 1), usd=15000),
        activity("foreign_capital", at(6, 1), usd=15000),  # 30000: one step
        activity("foreign_capital", at(9, 1), usd=10000),  # 40000: second step
        activity("foreign_capital", at(1, 5, year=2027), usd=15000),  # a new year: nothing yet
    ]
    entries = derive(rules, events, PERIODS)
    assert [(e.points, e.at, e.note) for e in entries] == [
        (D(5), at(6, 1), "2026年累计实际利用外资 3万美元，新增 1 档"),
        (D(5), at(9, 1), "2026年累计实际利用外资 4万美元，新增 1 档"),
    ]


def test_funds_in_place_per_wan() -> None:
    rules = table("""
[[rules]]
id = "funds"
kind = "amount_step"
on = "funds"
field = "amount_wan"
step = 100
points = 0.2
""")
    entries = derive(rules, [funds(1050, at(4, 1), facts(1))], PERIODS)
    assert [(e.points, e.note) for e in entries] == [(D("2.0"), "到位资金 1050万元，10 档")]


# --------------------------------------------------------------------------- #
# coefficients
# --------------------------------------------------------------------------- #

COEFFICIENTS = """
[[modules]]
id = "perf"
name = "项目绩效"

[[rules]]
id = "signed"
kind = "event"
module = "perf"
on = "stage_reached"
stage = "签约"
points = 10

[[rules]]
id = "signed_count"
kind = "threshold"
module = "perf"
on = "stage_reached"
stage = "签约"
per = "year"
count = 1
points = 1

[[rules]]
id = "other"
kind = "event"
on = "stage_reached"
stage = "签约"
points = 1

[[rules]]
id = "c11"
kind = "coefficient"
factor = 1.1
apply_to_modules = ["perf"]
origins = ["省外"]

[[rules]]
id = "c12"
kind = "coefficient"
factor = 1.2
apply_to_rules = ["signed"]
tags_any = ["央企国企", "上市公司"]
"""


def test_highest_coefficient_applies_and_the_note_says_why() -> None:
    rules = table(COEFFICIENTS, 'coefficients = "highest"')
    lead = facts(1, origin="省外", tags={"上市公司"})
    by_rule = {e.rule_id: e for e in derive(rules, [stage(lead, "签约", at(5, 5))], PERIODS)}
    assert by_rule["signed"].points == D(12)
    assert by_rule["signed"].note == "签约 L0001 ×1.2（上市公司）"
    assert by_rule["signed_count"].points == D(1)  # a threshold adds up events: never scaled
    assert by_rule["other"].points == D(1)  # not targeted


def test_product_multiplies_every_applicable_coefficient() -> None:
    rules = table(COEFFICIENTS, 'coefficients = "product"')
    lead = facts(1, origin="省外", tags={"上市公司"})
    signed = next(
        e for e in derive(rules, [stage(lead, "签约", at(5, 5))], PERIODS) if e.rule_id == "signed"
    )
    assert signed.points == D("13.2")
    assert signed.note == "签约 L0001 ×1.1（省外） ×1.2（上市公司）"


def test_a_coefficient_needs_its_conditions() -> None:
    rules = table(COEFFICIENTS, 'coefficients = "product"')
    plain = facts(1, origin="本地")
    signed = next(
        e for e in derive(rules, [stage(plain, "签约", at(5, 5))], PERIODS) if e.rule_id == "signed"
    )
    assert (signed.points, signed.note) == (D(10), "签约 L0001")


# --------------------------------------------------------------------------- #
# duplicates and determinism
# --------------------------------------------------------------------------- #


def test_a_duplicate_lead_scores_nothing_and_counts_towards_nothing() -> None:
    rules = table(THRESHOLD.format(repeat="false") + SIGNED_BIG + COEFFICIENTS)
    dup = facts(2, amount=20000, origin="省外", duplicate=True)
    events = [
        reported(facts(1), at(1, 5)),
        reported(dup, at(1, 6)),
        stage(dup, "签约", at(1, 7)),
        funds(500, at(1, 8), dup),
    ]
    assert derive(rules, events, PERIODS) == []


def test_two_different_events_with_one_id_are_refused() -> None:
    a = reported(facts(1), at(1, 5))
    with pytest.raises(ValueError, match="lead:1"):
        derive(load_preset(), [a, Event(a.id, a.kind, a.unit_id, at(1, 6), lead=a.lead)], PERIODS)
    assert derive(load_preset(), [a, a], PERIODS) == derive(load_preset(), [a], PERIODS)


ORIGINS = ["境外", "省外", "省内市外", "市内县外", "本地"]
TAGS = ["高新技术", "世界500强", "上市公司", "央企国企", "专精特新", "标准厂房", "2+2产业链"]
STAGES = ["在谈", "签约", "落地", "开工", "入统", "投产"]
ACTIVITIES = [
    "training",
    "packaging",
    "event",
    "intent",
    "trip",
    "foreign_capital",
    "blacklist",
    "secondment",
]


@st.composite
def event_lists(draw: st.DrawFn) -> list[Event]:
    """A few units' worth of everything, over a year and a bit, with a few instants shared."""
    instants = [
        at(1, 1, 0) + timedelta(hours=draw(st.integers(0, 24 * 400)))
        for _ in range(draw(st.integers(1, 12)))
    ]
    leads = [
        facts(
            i,
            unit=draw(st.integers(1, 3)),
            amount=draw(st.sampled_from([500, 2000, 10000, 60000])),
            origin=draw(st.sampled_from(ORIGINS)),
            tags=draw(st.sets(st.sampled_from(TAGS), max_size=2)),
            verified=draw(st.booleans()),
            duplicate=draw(st.booleans()) and draw(st.booleans()),
            foreign_usd=draw(st.sampled_from([None, 20000000])),
        )
        for i in range(1, draw(st.integers(1, 5)) + 1)
    ]
    events: list[Event] = []
    for n in range(draw(st.integers(0, 30))):
        when = draw(st.sampled_from(instants))
        lead = draw(st.sampled_from(leads))
        kind = draw(
            st.sampled_from(
                ["reported", "verified", "stage", "overdue", "activity", "weekly", "funds"]
            )
        )
        if kind == "reported":
            events.append(Event(f"lead:{n}", "lead_reported", lead.unit_id, when, lead=lead))
        elif kind == "verified":
            events.append(Event(f"verify:{n}", "lead_verified", lead.unit_id, when, lead=lead))
        elif kind in ("stage", "overdue"):
            name = draw(st.sampled_from(STAGES))
            events.append(
                Event(
                    f"{kind}:{n}",
                    "stage_reached" if kind == "stage" else "stage_overdue",
                    lead.unit_id,
                    when,
                    lead=lead,
                    stage=name,
                )
            )
        elif kind == "activity":
            events.append(
                activity(
                    draw(st.sampled_from(ACTIVITIES)),
                    when,
                    unit=lead.unit_id,
                    ok=draw(st.booleans()),
                    usd=draw(st.sampled_from([None, 15000, 45000])),
                    n=n,
                )
            )
        elif kind == "weekly":
            events.append(
                Event(
                    f"weekly:{n}",
                    "weekly",
                    lead.unit_id,
                    when,
                    status=draw(st.sampled_from(["on_time", "late", "missing"])),
                )
            )
        else:
            events.append(
                Event(
                    f"funds:{n}",
                    "funds",
                    lead.unit_id,
                    when,
                    lead=lead,
                    amount_wan=D(draw(st.sampled_from([80, 350, 1200]))),
                )
            )
    return events


PRESET_RULES = [load_preset("jiaocheng"), load_preset("kaihua")]
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(events=event_lists(), seed=st.integers(0, 2**32 - 1), which=st.sampled_from([0, 1]))
def test_same_events_in_any_order_give_the_same_entries(
    events: list[Event], seed: int, which: int
) -> None:
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    rules = PRESET_RULES[which]
    assert derive(rules, shuffled, PERIODS) == derive(rules, events, PERIODS)


@FAST
@given(events=event_lists(), cut=st.integers(0, 24 * 400), which=st.sampled_from([0, 1]))
def test_no_entry_depends_on_a_later_event(events: list[Event], cut: int, which: int) -> None:
    """derive(events up to T) is exactly derive(all events) up to T: what incremental scoring needs."""
    t = at(1, 1, 0) + timedelta(hours=cut)
    rules = PRESET_RULES[which]
    upto = derive(rules, [e for e in events if e.at <= t], PERIODS)
    assert upto == [e for e in derive(rules, events, PERIODS) if e.at <= t]


@FAST
@given(events=event_lists(), seed=st.integers(0, 2**32 - 1), which=st.sampled_from([0, 1]))
def test_incremental_derivation_in_arrival_order_equals_a_full_derive(
    events: list[Event], seed: int, which: int
) -> None:
    """Events arrive in any order, back-dated ones included; the ledger ends up as a rescore would."""
    rules = PRESET_RULES[which]
    arrival = list({e.id: e for e in events}.values())
    random.Random(seed).shuffle(arrival)
    ledger: list[Entry] = []
    seen: list[Event] = []
    for event in arrival:
        changes = derive_incremental(rules, event, seen, PERIODS)
        for gone in changes.removed:
            ledger.remove(gone)
        ledger += changes.added
        seen.append(event)
    assert sorted(ledger, key=_key) == sorted(derive(rules, events, PERIODS), key=_key)


def _key(e: Entry) -> tuple[int, datetime, str, str]:
    return e.unit_id, e.at, e.rule_id, e.source


@FAST
@given(events=event_lists())
def test_a_rules_change_and_full_rederive_equals_starting_with_the_new_rules(
    events: list[Event],
) -> None:
    old, new = PRESET_RULES
    adjustments = [manual(1, "3", at(6, 1)), manual(2, "-1", at(7, 1), module="base")]
    ledger = rescore(old, events, adjustments, PERIODS)
    assert rescore(new, events, ledger, PERIODS) == rescore(new, events, adjustments, PERIODS)
    changes = reconcile(ledger, rescore(new, events, ledger, PERIODS))
    applied = [e for e in ledger if e not in changes.removed] + changes.added
    assert sorted(applied, key=_key) == sorted(
        [*adjustments, *derive(new, events, PERIODS)], key=_key
    )
    assert all(e.rule_id != "manual" for e in changes.removed + changes.added)


def test_an_edited_event_replaces_its_old_version() -> None:
    rules = table(SIGNED_BIG)
    small = facts(1, amount=5000, origin="省外")
    big = facts(1, amount=20000, origin="省外")
    history = [stage(small, "签约", at(3, 1))]
    changes = derive_incremental(rules, stage(big, "签约", at(3, 1)), history, PERIODS)
    assert [e.points for e in changes.added] == [D(5)] and changes.removed == []
    back = derive_incremental(
        rules, stage(small, "签约", at(3, 1)), [stage(big, "签约", at(3, 1))], PERIODS
    )
    assert back.added == [] and [e.points for e in back.removed] == [D(5)]


def test_a_backdated_event_moves_a_threshold() -> None:
    rules = table(THRESHOLD.format(repeat="false"))
    history = [reported(facts(1), at(1, 5)), reported(facts(2), at(3, 1))]
    changes = derive_incremental(rules, reported(facts(3), at(2, 1)), history, PERIODS)
    assert [e.at for e in changes.removed] == [at(3, 1)]
    assert [e.at for e in changes.added] == [at(2, 1)]


# --------------------------------------------------------------------------- #
# scores: caps, penalties, manual entries, spans
# --------------------------------------------------------------------------- #

CAPS = """
[[modules]]
id = "info"
name = "项目信息"
cap = 10

[[modules]]
id = "act"
name = "活动组织"

[[modules]]
id = "perf"
name = "项目绩效"

[[caps]]
modules = ["info", "act"]
cap = 15
per = "year"
"""


def _e(pts: str, when: datetime, module: str | None, rule: str = "r", unit: int = 1) -> Entry:
    return Entry(unit, rule, module, D(pts), when, f"src:{module}:{when.isoformat()}:{pts}", "")


def test_module_cap_then_group_cap_and_penalties_always_count() -> None:
    rules = table(CAPS)
    entries = [
        _e("8", at(1, 5), "info"),
        _e("8", at(2, 5), "info"),  # info 16 → 10
        _e("9", at(3, 5), "act"),  # group 10 + 9 = 19 → 15
        _e("-2", at(3, 6), "act", rule="late"),  # penalty counts in full
        _e("7", at(4, 5), "perf"),  # uncapped module
        _e("1", at(4, 6), None),  # no module: uncapped
        manual(1, "2", at(4, 7), module="act"),  # fills the capped group: nothing more
    ]
    s = score(rules, entries, at(1, 1, 0), at(1, 1, 0, year=2027), PERIODS).get(1)
    assert s.total == D(15 - 2 + 7 + 1)
    assert s.raw == D(8 + 8 + 9 - 2 + 7 + 1 + 2)
    assert (s.modules["info"].raw, s.modules["info"].capped) == (D(16), D(10))
    assert (s.modules["act"].raw, s.modules["act"].capped) == (D(9), D(9))
    assert [(g.raw, g.capped) for g in s.groups] == [(D(21), D(15))]
    assert [(h.label, h.period_key, h.raw, h.capped) for h in s.caps_hit] == [
        ("项目信息", "2026", D(16), D(10)),
        ("项目信息、活动组织", "2026", D(21), D(15)),
    ]
    assert s.by_rule == {"late": D(-2), "manual": D(2), "r": D(33)}


def test_a_yearly_cap_scored_by_month_is_cumulative_year_to_date() -> None:
    rules = table(CAPS)
    entries = [_e("6", at(1, 10), "info"), _e("6", at(2, 10), "info"), _e("6", at(3, 10), "info")]
    months = [
        score(rules, entries, at(m, 1, 0), at(m + 1, 1, 0), PERIODS).total(1) for m in (1, 2, 3)
    ]
    assert months == [D(6), D(4), D(0)]
    feb = score(rules, entries, at(2, 1, 0), at(3, 1, 0), PERIODS).get(1)
    assert [(h.raw, h.capped) for h in feb.caps_hit] == [(D(6), D(4))]
    year = score(rules, entries, at(1, 1, 0), at(1, 1, 0, year=2027), PERIODS).total(1)
    assert year == sum(months)


def test_caps_restart_with_their_period() -> None:
    rules = table(CAPS)
    entries = [_e("12", at(12, 10, year=2025), "info"), _e("12", at(1, 10), "info")]
    span = score(rules, entries, at(12, 1, 0, year=2025), at(2, 1, 0), PERIODS)
    assert span.total(1) == D(20)


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.integers(0, 364), st.sampled_from(["info", "act", "perf", None]), st.integers(-3, 9)
        ),
        max_size=25,
    ),
    unit_count=st.integers(1, 2),
)
def test_monthly_scores_add_up_to_the_year(
    values: list[tuple[int, str | None, int]], unit_count: int
) -> None:
    rules = table(CAPS)
    entries = [
        _e(str(p), at(1, 1, 12) + timedelta(days=d), m, unit=1 + d % unit_count)
        for d, m, p in values
        if p
    ]
    year = score(rules, entries, at(1, 1, 0), at(1, 1, 0, year=2027), PERIODS)
    bounds = [at(m, 1, 0) for m in range(1, 13)] + [at(1, 1, 0, year=2027)]
    for unit in range(1, unit_count + 1):
        months = [score(rules, entries, a, b, PERIODS).total(unit) for a, b in pairwise(bounds)]
        assert sum(months) == year.total(unit)


def test_score_lists_units_with_entries_in_the_span_and_zero_for_others() -> None:
    rules = table(CAPS)
    entries = [_e("3", at(1, 10), "act", unit=1), _e("4", at(3, 10), "act", unit=2)]
    scores = score(rules, entries, at(3, 1, 0), at(4, 1, 0), PERIODS)
    assert list(scores.units) == [2]
    assert scores.total(1) == D(0) and scores.get(7).by_rule == {}


def test_a_week_span_includes_its_deadline() -> None:
    rules = table(CAPS)
    week = PERIODS.span("week", at(3, 12, 17))
    entries = [_e("1", week.end, "act"), _e("5", week.start, "act")]
    assert score_span(rules, entries, week, PERIODS).total(1) == D(1)


def test_history_start_reaches_back_to_the_longest_cap_period() -> None:
    assert history_start(table(CAPS), at(5, 20), PERIODS) == at(1, 1, 0)
    assert history_start(table(SIGNED_BIG), at(5, 20), PERIODS) == at(5, 20)
