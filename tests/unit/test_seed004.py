"""Seed 004 (开化县 2024 考核办法) 二(四)–(八), line by line, on hand-computed examples (kaihua preset).

Each test names the seed line it checks: ``test_seed004_4_1_…`` is 二(四)1, ``8_2`` is 二(八)2.
Points (原文无分值 where the preset says so): 决策咨询 2, 签约 4, 入统 5; 时序 +3 / −2;
到位资金 0.2 per 100万; 黑榜 −2, from the third time −3.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

from bot.rules import Event, derive, load_preset
from tests.unit.test_rules_engine import PERIODS, at, facts, funds, overdue, stage

KAIHUA = load_preset("kaihua")


def points(events: list[Event], prefix: str = "") -> dict[str, D]:
    out: dict[str, D] = {}
    for e in derive(KAIHUA, events, PERIODS):
        if e.rule_id.startswith(prefix):
            out[e.rule_id] = out.get(e.rule_id, D(0)) + e.points
    return out


def signed(**lead: object) -> dict[str, D]:
    """A project decided on 1 Jan and signed on 1 Mar: its 项目推进 points."""
    tax = lead.pop("tax", None)
    f = dataclasses.replace(facts(1, **{"origin": "省外", **lead}), tax_wan=tax)  # type: ignore[arg-type]
    return points([stage(f, "在谈", at(1, 5)), stage(f, "签约", at(3, 1))], "prog_")


# --- 二(四)1 县外投资比例不低于30% -------------------------------------------------------------


def test_seed004_4_1_outside_share_at_least_30_percent() -> None:
    industrial = {"amount": 5000, "industry": "新材料"}
    base = facts(1, origin="省外", **industrial)  # type: ignore[arg-type]
    at_29 = dataclasses.replace(base, outside_share=D("29.9"))
    at_30 = dataclasses.replace(base, outside_share=D(30))
    assert points([stage(at_29, "签约", at(3, 1))], "prog_") == {}
    assert points([stage(at_30, "签约", at(3, 1))], "prog_") == {"prog_signed": D(4)}


def test_seed004_4_1_unrecorded_share_is_0_percent_for_a_local_investor() -> None:
    assert signed(amount=5000, origin="本地") == {}
    assert signed(amount=5000, origin="市内县外") == {"prog_decided": D(2), "prog_signed": D(4)}


# --- 二(四)1① 工业、文旅 ≥ 2000万，农业 ≥ 1000万 ---------------------------------------------------


def test_seed004_4_1_industrial_threshold_2000wan() -> None:
    assert signed(amount=1999, industry="新材料") == {}
    assert signed(amount=2000, industry="新材料") == {"prog_decided": D(2), "prog_signed": D(4)}


def test_seed004_4_1_tourism_threshold_2000wan() -> None:
    assert signed(amount=1999, industry="文化旅游") == {}
    assert signed(amount=2000, industry="文化旅游") == {"prog_decided": D(2), "prog_signed": D(4)}


def test_seed004_4_1_agriculture_threshold_1000wan() -> None:
    assert signed(amount=999, industry="现代农业") == {}
    assert signed(amount=1000, industry="现代农业") == {"prog_decided": D(2), "prog_signed": D(4)}


def test_seed004_4_1_other_projects_count_once_in_stats() -> None:
    """ "其他完成统计入库的项目可参照纳入考核": an 其他 project scores from its 入统 node on."""
    f = facts(1, amount=5000, industry="其他", origin="省外")
    events = [stage(f, "在谈", at(1, 5)), stage(f, "签约", at(3, 1)), stage(f, "入统", at(6, 1))]
    assert points(events, "prog_") == {"prog_in_stats": D(5)}


# --- 二(四)1② 服务业项目税收15万元(含)以上 ----------------------------------------------------------


def test_seed004_4_1_service_tax_15wan() -> None:
    assert (
        signed(amount=50000, industry="现代服务业") == {}
    )  # no tax recorded: not yet a 新引进项目
    assert signed(amount=50000, industry="现代服务业", tax=D("14.99")) == {}
    assert signed(amount=50, industry="现代服务业", tax=D(15)) == {
        "prog_decided": D(2),
        "prog_signed": D(4),
    }


# --- 二(四)2 技改项目 ≥ 1亿 ------------------------------------------------------------------------


def test_seed004_4_2_technical_renovation_counted_only_at_1yi() -> None:
    assert signed(amount=9999, industry="新材料", tags={"技改"}) == {}
    assert signed(amount=10000, industry="新材料", tags={"技改"}) == {
        "prog_decided": D(2),
        "prog_signed": D(4),
    }


# --- the thresholds hold for 项目绩效 and the 时序 bonuses too --------------------------------------


def test_seed004_4_thresholds_apply_to_performance_and_schedule_bonuses() -> None:
    small = facts(1, amount=1500, industry="新材料", origin="省外")
    big = facts(2, amount=12000, industry="新材料", origin="省外")
    events = [
        e
        for f in (small, big)
        for e in (
            stage(f, "在谈", at(1, 5)),
            stage(f, "签约", at(3, 1)),
            stage(f, "入统", at(5, 1)),
        )
    ] + [funds(1000, at(6, 1), small), funds(1000, at(6, 1), big)]
    got = derive(KAIHUA, events, PERIODS)
    assert {e.rule_id for e in got if e.source.startswith(("stage:1", "funds:1"))} == set()
    # the 1.2亿 project: 时序 +3 at 签约 and 入统, 新签约亿元以上 3 × 1.1 (省外), funds 10 × 0.2 × 1.1
    assert points(events, "sched_") == {"sched_signed": D(3), "sched_in_stats": D(3)}
    assert points(events, "perf_") == {"perf_signed_1yi": D("3.3"), "perf_funds": D("2.2")}


# --- 二(五)1 到位资金以固定资产投资统计入库数据为准 ------------------------------------------------------


def test_seed004_5_1_funds_count_once_in_stats() -> None:
    f = facts(1, amount=5000, industry="新材料", origin="省内市外")
    before = [stage(f, "签约", at(3, 1)), funds(1000, at(4, 1), f)]
    assert "perf_funds" not in points(before)
    after = [*before, stage(f, "入统", at(5, 1)), funds(500, at(6, 1), f)]
    assert points(after, "perf_") == {"perf_funds": D(1)}  # only the 500万 after 入统: 5 × 0.2


# --- 二(六)3 系数1.3: 标准厂房的制造业项目, 盘活闲置资源的文旅项目 -------------------------------------------


def test_seed004_6_3_coefficient_1_3_keeps_its_industry_condition() -> None:
    def factor(industry: str, tag: str) -> str:
        f = facts(1, amount=5000, industry=industry, origin="省内市外", tags={tag})
        events = [stage(f, "签约", at(3, 1)), stage(f, "入统", at(4, 1)), funds(1000, at(5, 1), f)]
        return next(e.note for e in derive(KAIHUA, events, PERIODS) if e.rule_id == "perf_funds")

    assert factor("新材料", "标准厂房").endswith("×1.3（标准厂房，新材料）")
    assert factor("文化旅游", "盘活闲置").endswith("×1.3（盘活闲置，文化旅游）")
    assert "×1.3" not in factor("文化旅游", "标准厂房")  # a tourism project in a standard plant: no
    assert "×" not in factor("现代农业", "标准厂房")


# --- 二(七) 考核期限 12 / 24 / 36 个月 ---------------------------------------------------------------


def test_seed004_7_assessment_window_by_size() -> None:
    def scores_signing(amount: int, months_after: int) -> bool:
        f = facts(1, amount=amount, industry="新材料", origin="省外")
        decided = at(1, 10)
        signing = decided.replace(year=2026 + (months_after // 12), month=1 + months_after % 12)
        before = signing.replace(day=9)
        return "prog_signed" in points(
            [stage(f, "在谈", decided), stage(f, "签约", before)]
        ) and "prog_signed" not in points([stage(f, "在谈", decided), stage(f, "签约", signing)])

    assert scores_signing(9999, 12)  # < 1亿: 12 months -- 9 Jan 2027 counts, 10 Jan 2027 does not
    assert scores_signing(10000, 24)  # 1–5亿: 24 months
    assert scores_signing(49999, 24)
    assert scores_signing(50000, 36)  # ≥ 5亿: 36 months


# --- 二(八)2 连续两次扣分的单位纳入黑榜; 二(八)4 每次扣2分，累计3次及以上每次扣3分 ---------------------------


def test_seed004_8_2_two_deductions_in_a_row_put_the_unit_on_the_blacklist() -> None:
    leads = [facts(10 + i, amount=3000, origin="省外") for i in range(3)]
    decided = [stage(f, "在谈", at(1, 2)) for f in leads]
    missed_twice = [overdue(leads[0], "签约", at(4, 2)), overdue(leads[1], "签约", at(5, 2))]
    assert points(decided + missed_twice, "blacklist") == {"blacklist": D(-2)}
    # a node reached on time in between breaks the run: no 黑榜
    broken = [missed_twice[0], stage(leads[2], "签约", at(4, 20)), missed_twice[1]]
    assert points(decided + broken, "blacklist") == {}


def test_seed004_8_4_third_time_on_the_blacklist_costs_3() -> None:
    leads = [facts(10 + i, amount=3000, origin="省外") for i in range(6)]
    events = [stage(f, "在谈", at(1, 2)) for f in leads]
    events += [overdue(f, "签约", at(2 + i, 2)) for i, f in enumerate(leads)]  # Apr, Jun, Aug
    entries = [e for e in derive(KAIHUA, events, PERIODS) if e.rule_id.startswith("blacklist")]
    assert [(e.rule_id, e.points, e.at.month) for e in entries] == [
        ("blacklist", D(-2), 3),
        ("blacklist", D(-2), 5),
        ("blacklist_repeat", D(-3), 7),
    ]


# --- 二(四) the lead facts the report form asks for: only those the rules read ------------------


def test_seed004_4_1_kaihua_reads_share_and_service_tax_jiaocheng_neither() -> None:
    from bot.rules.uses import lead_fact_uses

    uses = lead_fact_uses(KAIHUA)
    assert uses.outside_share and uses.tax
    assert uses.tax_for("现代服务业") and not uses.tax_for("新能源")
    assert uses.tax_for(None)  # before the industry is known: maybe
    plain = lead_fact_uses(load_preset("jiaocheng"))
    assert not plain.outside_share and not plain.tax and not plain.tax_for("现代服务业")


def test_seed004_4_1_a_tax_condition_without_industries_asks_every_project() -> None:
    from bot.rules import load_rules_text
    from bot.rules.uses import lead_fact_uses

    rules = load_rules_text(
        '[[rules]]\nid = "t"\nkind = "event"\non = "lead_reported"\npoints = 1\n'
        'industries = ["现代农业"]\nany_of = [{ min_tax_wan = 5 }, { min_amount_wan = 1 }]\n'
    )
    assert lead_fact_uses(rules).tax_industries == frozenset({"现代农业"})  # the parent's
    rules = load_rules_text(
        '[[rules]]\nid = "t"\nkind = "event"\non = "lead_reported"\npoints = 1\nmin_tax_wan = 5\n'
    )
    assert lead_fact_uses(rules).tax_for("新能源")


def test_seed004_4_1_outside_share_parser() -> None:
    import pytest

    from bot.domain.leadfields import FieldError, parse_percent

    assert parse_percent("30%") == D(30) and parse_percent("百分之40") == D(40)
    assert parse_percent("３０％") == D(30) and parse_percent("100") == D(100)
    for bad in ("120%", "三成", "", "-5%"):
        with pytest.raises(FieldError):
            parse_percent(bad)


# --- 二(四)1② 服务业税收 ≥ 15万: the sum of the monthly tax records within the 考核期限 ----------------


def test_seed004_4_1_service_tax_is_the_sum_of_records_within_the_window() -> None:
    """By hand: a 3000万 现代服务业 project decided 5 Jan 2026 (12-month window). Tax records:
    10万 in Dec 2025 (before the window), 8万 Feb, 7万 Apr. At 签约 (1 Mar) the window holds 8万:
    no 项目推进 +4 (with the December 10万 it would be 18万); at 入统 (1 May) 8 + 7 = 15万 (含): +5."""
    records = ((at(12, 20, year=2025), D(10)), (at(2, 10), D(8)), (at(4, 10), D(7)))
    base = facts(1, amount=3000, industry="现代服务业", origin="省外")

    def as_of(when: object) -> object:
        paid = tuple(r for r in records if r[0] <= when)  # the records up to the event
        return dataclasses.replace(base, tax_paid=paid, tax_wan=sum((a for _, a in paid), D(0)))

    events = [
        stage(as_of(at(1, 5)), "在谈", at(1, 5)),  # type: ignore[arg-type]
        stage(as_of(at(3, 1)), "签约", at(3, 1)),  # type: ignore[arg-type]
        stage(as_of(at(5, 1)), "入统", at(5, 1)),  # type: ignore[arg-type]
    ]
    assert points(events, "prog_") == {"prog_in_stats": D(5)}
