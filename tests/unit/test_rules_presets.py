"""The shipped presets, scored on hand-computed stories; every rule of each preset is exercised."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal
from importlib import resources

import pytest

from bot.rules import Event, RuleSet, derive, describe, load_preset, score
from bot.rules.schema import CoefficientRule
from tests.unit.test_rules_engine import (
    PERIODS,
    activity,
    at,
    facts,
    funds,
    overdue,
    reported,
    stage,
    verified,
    weekly,
)

D = Decimal
YEAR = (at(1, 1, 0), at(1, 1, 0, year=2027))
JIAOCHENG = load_preset("jiaocheng")
KAIHUA = load_preset("kaihua")


def by_rule(rules: RuleSet, events: list[Event], unit: int = 1) -> dict[str, Decimal]:
    return dict(score(rules, derive(rules, events, PERIODS), *YEAR, PERIODS).get(unit).by_rule)


def total(rules: RuleSet, events: list[Event], unit: int = 1) -> Decimal:
    return score(rules, derive(rules, events, PERIODS), *YEAR, PERIODS).total(unit)


# --------------------------------------------------------------------------- #
# Jiaocheng (seed 000 §四(二))
# --------------------------------------------------------------------------- #


def jiaocheng_year() -> list[Event]:
    """One department's 2026: leads, activities, two signings, a landing, foreign capital, two weekly slips."""
    l1 = facts(1, amount=20000, origin="省外", tags={"高新技术", "世界500强"})
    l2 = facts(2, amount=3000, origin="境外", foreign_usd=12000000)
    l3 = facts(3, amount=800)
    return [
        reported(l1, at(1, 10)),
        reported(l2, at(2, 20)),
        reported(l3, at(4, 5)),
        activity("training", at(3, 3)),
        activity("packaging", at(3, 4)),
        activity("event", at(3, 5)),
        activity("intent", at(3, 6), ok=True),
        activity("intent", at(3, 7), ok=False),
        stage(l1, "签约", at(4, 10)),
        stage(l1, "落地", at(8, 1)),
        stage(l2, "签约", at(5, 5)),
        stage(l2, "落地", at(1, 10, year=2027)),
        activity("foreign_capital", at(6, 1), usd=15000),
        activity("foreign_capital", at(9, 1), usd=30000),
        weekly("on_time", at(10, 8, 17)),
        weekly("late", at(10, 16, 9)),
        weekly("missing", at(11, 19, 17)),
    ]


def jiaocheng_strategic() -> list[Event]:
    """Another unit signs a 6亿 project from another province: base (6), bonus (2) and (3)."""
    l4 = facts(4, unit=2, amount=60000, origin="省外")
    return [stage(l4, "签约", at(7, 7))]


def test_jiaocheng_year_by_rule() -> None:
    assert by_rule(JIAOCHENG, jiaocheng_year()) == {
        "base_info_quarterly": D(2),  # Q1: two leads; Q2: only one
        "base_training": D(2),
        "base_packaging": D(2),
        "base_event": D(2),
        "base_intent": D(5),  # the unverified intent does not count
        "base_signed_outside": D(10),  # 省外 and 境外
        "base_landed_same_year": D(5),  # L2 lands the year after signing: nothing
        "base_foreign_capital": D(10),  # 15000 + 30000 = 2 steps of 20000
        "bonus_hightech_big": D(5),
        "bonus_outside_big": D(5),
        "bonus_strategic": D(5),  # L2: contracted foreign capital ≥ US$10M
        "bonus_fortune500": D(5),
        "weekly_late": D(-1),
        "weekly_missing": D(-2),
    }
    assert total(JIAOCHENG, jiaocheng_year()) == D(55)


def test_jiaocheng_strategic_investment_by_domestic_amount() -> None:
    assert by_rule(JIAOCHENG, jiaocheng_strategic(), unit=2) == {
        "base_signed_outside": D(5),
        "bonus_outside_big": D(5),
        "bonus_strategic": D(5),
    }


def test_jiaocheng_notes_say_what_and_why() -> None:
    notes = {(e.rule_id, e.source): e.note for e in derive(JIAOCHENG, jiaocheng_year(), PERIODS)}
    assert notes["bonus_outside_big", "stage:1:签约"] == "签约 L0001（≥1亿元，省外）"
    assert notes["bonus_strategic", "stage:2:签约"] == "签约 L0002（合同外资≥1000万美元）"
    assert notes["base_landed_same_year", "stage:1:落地"] == "落地 L0001（同年已签约）"
    assert (
        notes["base_info_quarterly", "threshold:base_info_quarterly:2026-Q1"]
        == "2026年第1季度报送线索满 2 条"
    )


def test_jiaocheng_accumulates_over_the_year_without_caps() -> None:
    entries = derive(JIAOCHENG, jiaocheng_year(), PERIODS)
    quarters = [
        score(
            JIAOCHENG, entries, at(m, 1, 0), at(m + 3, 1, 0) if m < 10 else YEAR[1], PERIODS
        ).total(1)
        for m in (1, 4, 7, 10)
    ]
    assert sum(quarters) == D(55)
    assert score(JIAOCHENG, entries, *YEAR, PERIODS).get(1).caps_hit == ()


def test_every_jiaocheng_rule_quotes_its_seed_line() -> None:
    text = resources.files("bot.rules").joinpath("presets", "jiaocheng.toml").read_text("utf-8")
    seed_rules = [r for r in JIAOCHENG.rules if r.id.startswith(("base_", "bonus_"))]
    assert len(seed_rules) == 12  # 基础分 (1)–(8) and 突出贡献奖励分 (1)–(4)
    for rule in seed_rules:
        number = re.search(r"\((\d)\)", rule.name or "")
        assert number, rule.id
        block = (
            text[: text.index(f'id = "{rule.id}"')].rsplit("[[rules]]", 1)[0].rsplit("\n\n", 1)[-1]
        )
        assert f"# ({number.group(1)}) " in block, rule.id


# --------------------------------------------------------------------------- #
# Kaihua (seed 004)
# --------------------------------------------------------------------------- #


def kaihua_project() -> list[Event]:
    """A 3亿 listed company from another province: decided, signed on time, land late, funds in place."""
    lead = facts(1, amount=30000, origin="省外", tags={"上市公司"})
    return [
        verified(lead, at(1, 10)),
        stage(lead, "在谈", at(1, 10)),
        stage(lead, "签约", at(3, 1)),
        overdue(lead, "落地", at(7, 1)),
        stage(lead, "落地", at(8, 1)),
        funds(5000, at(9, 1), lead),
    ]


def test_kaihua_project_through_its_nodes() -> None:
    assert by_rule(KAIHUA, kaihua_project()) == {
        "info_verified": D(1),
        "info_verified_big": D(2),
        "prog_decided": D(2),
        "prog_signed": D(4),
        "prog_land": D(4),
        "perf_signed_1yi": D("3.6"),  # 3 × 1.2: the highest of 1.1 (省外) and 1.2 (上市公司)
        # issue 15: no perf_funds -- seed 004 二(五)1 counts funds of a project in the statistics
        # (入统) only, and this one has not got there (test_seed004_5_1_funds_count_once_in_stats)
        "sched_signed": D(3),  # 落地 came after its overdue: no +3
        "sched_overdue": D(-2),
    }


def test_kaihua_coefficient_note() -> None:
    entries = derive(KAIHUA, kaihua_project(), PERIODS)
    note = next(e.note for e in entries if e.rule_id == "perf_signed_1yi")
    assert note == "签约 L0001（≥1亿元） ×1.2（上市公司）"


def test_kaihua_counts_only_verified_leads_and_activities() -> None:
    lead = facts(1, amount=30000, verified=False)
    events = [
        reported(lead, at(1, 5)),
        stage(lead, "签约", at(2, 1)),
        funds(900, at(3, 1), lead),
        activity("trip", at(3, 2), ok=False),
    ]
    assert derive(KAIHUA, events, PERIODS) == []


def test_kaihua_caps_30_and_70_but_not_deductions() -> None:
    # issue 15: from outside the county (二(四) 县外投资比例 ≥ 30 %), and in the statistics (入统)
    # before its funds count (二(五)1): 入统 adds progress 5 + 3 (开工 and 入统 on schedule).
    plant = facts(1, amount=50000, tags={"标准厂房"}, origin="省内市外")
    many = [
        verified(facts(10 + i, amount=12000), at(2, 1 + i)) for i in range(12)
    ]  # 12 × 3 = 36 info
    events = [
        *many,
        activity("award", at(5, 5)),  # bonus +10
        stage(plant, "签约", at(3, 3)),
        stage(plant, "开工", at(6, 1)),
        stage(
            plant, "入统", at(6, 5)
        ),  # progress 4 + 3 + 5; bonus +3 +3 +3: the 30-group has 36 + 19 = 55
        funds(30000, at(6, 6), plant),  # perf 3×1.3 + 60×1.3 = 81.9
        activity("service_lapse", at(8, 8)),
        weekly("missing", at(9, 10, 17)),
    ]
    s = score(KAIHUA, derive(KAIHUA, events, PERIODS), *YEAR, PERIODS).get(1)
    assert [(g.raw, g.capped) for g in s.groups] == [(D(55), D(30)), (D("93.9"), D(70))]
    assert s.total == D(30 + 70 - 1 - 1)
    assert {h.label for h in s.caps_hit} == {"过程及加分（30 分）", "推进及绩效（70 分）"}


def test_kaihua_additions_and_deductions() -> None:
    small, big = facts(1, amount=3000), facts(2, amount=15000)
    events = [
        *[activity("secondment", at(m, 2)) for m in (1, 2, 3, 4)],  # +5 each, 15 a year at most
        activity("city_review", at(5, 2)),
        activity("breach", at(6, 2), lead=big),
        activity("breach", at(6, 3), lead=small),
        activity("breach_service", at(6, 4)),
        weekly("on_time", at(1, 8, 17)),
        weekly("late", at(1, 16, 9)),
        activity("trip", at(2, 2)),
        activity("event", at(2, 3)),
        activity("training", at(2, 4)),
    ]  # issue 15: the 黑榜 is no longer a leader's activity (test_seed004_8_2_two_deductions_in_a_row_blacklist)
    assert by_rule(KAIHUA, events) == {
        "secondment": D(15),
        "city_review": D(5),
        "breach_big": D(-20),
        "breach_small": D(-10),
        "breach_service": D(-5),
        "daily_on_time": D("0.2"),
        "daily_late": D("-0.5"),
        "act_trip": D(2),
        "act_event": D(1),
        "act_training": D("0.5"),
    }


def kaihua_more_nodes() -> list[Event]:
    lead = facts(
        1, amount=200000, tags={"专精特新"}, origin="省内市外"
    )  # 二(四): from outside the county
    return [
        stage(lead, name, at(m, 1))
        for m, name in [(3, "签约"), (4, "落地"), (5, "开工"), (6, "入统"), (7, "投产")]
    ]


def test_kaihua_nodes_on_schedule() -> None:
    rules = by_rule(KAIHUA, kaihua_more_nodes())
    assert {k: v for k, v in rules.items() if k.startswith("sched_")} == {
        "sched_signed": D(3),
        "sched_land": D(3),
        "sched_filed": D(3),
        "sched_in_stats": D(3),
        "sched_output": D(3),
    }
    assert rules["perf_signed_10yi"] == D("5.5")  # ×1.1 (专精特新)


# --------------------------------------------------------------------------- #
# Both presets
# --------------------------------------------------------------------------- #

SCENARIOS = {
    "jiaocheng": [jiaocheng_year, jiaocheng_strategic],
    "kaihua": [
        kaihua_project,
        kaihua_more_nodes,
        lambda: [
            activity("award", at(5, 5)),
            activity("service_lapse", at(8, 8)),
            weekly("missing", at(9, 10, 17)),
        ],
        lambda: [
            activity("secondment", at(1, 2)),
            activity("city_review", at(5, 2)),
            activity("breach", at(6, 2), lead=facts(2, amount=15000)),
            activity("breach", at(6, 3), lead=facts(3, amount=10)),
            activity("breach_service", at(6, 4)),
            weekly("on_time", at(1, 8, 17)),
            weekly("late", at(1, 16, 9)),
            activity("trip", at(2, 2)),
            activity("event", at(2, 3)),
            activity("training", at(2, 4)),
            stage(facts(5, amount=9000, tags={"标准厂房"}, origin="省内市外"), "入统", at(4, 4)),
            stage(facts(6, amount=9000, tags={"标准厂房"}, origin="省内市外"), "投产", at(4, 4)),
            funds(500, at(4, 5), facts(5, amount=9000, tags={"标准厂房"}, origin="省内市外")),
        ],
        # six nodes missed in a row: the 黑榜 three times (−2, −2, −3)
        lambda: [
            e
            for i in range(6)
            for e in (
                stage(facts(20 + i, amount=3000, origin="省外"), "在谈", at(1, 2 + i)),
                overdue(facts(20 + i, amount=3000, origin="省外"), "签约", at(2 + i, 1)),
            )
        ],
    ],
}


@pytest.mark.parametrize("preset", ["jiaocheng", "kaihua"])
def test_every_rule_of_the_preset_is_hit_by_a_scenario(preset: str) -> None:
    rules = load_preset(preset)
    hit = {e.rule_id for scenario in SCENARIOS[preset] for e in derive(rules, scenario(), PERIODS)}
    scoring = {r.id for r in rules.rules if not isinstance(r, CoefficientRule)}
    assert scoring - hit == set()
    coefficients = {r.id for r in rules.coefficient_rules}
    applied = {
        c
        for scenario in SCENARIOS[preset]
        for e in derive(rules, scenario(), PERIODS)
        for c in coefficients
        if f"×{rules.rule(c).factor}" in e.note  # type: ignore[union-attr]
    }
    assert applied == coefficients


def _as_duplicate(event: Event) -> Event:
    if event.lead is None:
        return event
    return dataclasses.replace(event, lead=dataclasses.replace(event.lead, duplicate=True))


@pytest.mark.parametrize("preset", ["jiaocheng", "kaihua"])
def test_a_duplicate_lead_scores_nothing_under_any_rule(preset: str) -> None:
    rules = load_preset(preset)
    lead_rules: set[str] = set()
    for scenario in SCENARIOS[preset]:
        events = scenario()
        leadless = [e for e in events if e.lead is None]
        assert derive(rules, [_as_duplicate(e) for e in events], PERIODS) == derive(
            rules, leadless, PERIODS
        )
        lead_rules |= {e.rule_id for e in derive(rules, events, PERIODS)} - {
            e.rule_id for e in derive(rules, leadless, PERIODS)
        }
    # Not vacuous: every rule that needs a lead scored in some scenario before its leads became duplicates.
    needs_lead = {r.id for r in rules.scoring_rules if r.on not in ("activity", "weekly")}
    assert needs_lead <= lead_rules


def test_describe_reads_the_tables_back() -> None:
    jiaocheng = describe(JIAOCHENG)
    assert "【基础分(1)】每季度报送线索满 2 条：+2 分（每季度一次，计入基础分）" in jiaocheng
    assert (
        "【突出贡献奖励分(2)】签约且投资额≥1亿元且来源为省外：每个 +5 分（计入突出贡献奖励分）"
        in jiaocheng
    )
    assert "【基础分(8)】实际利用外资每 2万美元：+5 分（按年累计，计入基础分）" in jiaocheng
    kaihua = describe(KAIHUA)
    assert "模块「项目信息、活动组织、日常工作、加分项」合计每年封顶 30 分" in kaihua
    assert "模块「项目推进、项目绩效」合计每年封顶 70 分" in kaihua
    assert "只计经认定的线索和工作记录（各规则可另行设置）" in kaihua
    assert (
        "【系数1.2】（含标签2+2产业链或数字经济或央企国企或上市公司或民营500强，或行业为有机硅或糖醇（无糖饮料）或光伏半导体或卡牌）的项目：「项目绩效」得分 ×1.2"
        in kaihua
    )
    assert (
        "时序进度节点：在谈后 90 天内签约、签约后 60 天内落地、落地后 90 天内开工、开工后 180 天内入统、入统后 180 天内投产（逾期即未达到时序进度）"
        in kaihua
    )
    assert (
        len(kaihua) == 7 + 4 + len(KAIHUA.rules) + 2
    )  # + two condition sets, the 黑榜, confirmed nodes
    assert (
        describe(JIAOCHENG, "en")[2]
        == "[基础分(1)] every 2 × lead reported per quarter: +2 (once per quarter; module 基础分)"
    )


def test_kaihua_has_four_categories_and_all_six_modules() -> None:
    assert len(KAIHUA.categories) == 4
    assert {m.name for m in KAIHUA.modules} >= {
        "项目信息",
        "活动组织",
        "日常工作",
        "加分项",
        "项目推进",
        "项目绩效",
    }
