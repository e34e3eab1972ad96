"""Issue 15 through the bot: the form's choices from the rules file, 县外投资比例 and 税收 by /edit,
``leadbot rules check`` warnings, /score wording, kaihua's 黑榜 on the board."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.assembly import cli
from bot.assembly.clock import ManualClock
from bot.assembly.config import Settings
from bot.rules import Entry, load_preset
from bot.rules.describe import ui_warnings
from bot.services import ranking, scoring
from bot.services.access import resolve_actor
from bot.services.leads import LeadDraft, report_lead
from storage import lead_repo, scoring_repo
from storage.db import Database
from storage.models import LedgerEntry, Unit
from tests.e2e.conftest import make_settings
from tests.e2e.harness import Harness

LIAISON, LEADER = 1101, 1001
T_MARCH = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
KAIHUA_TAGS = ("2+2产业链", "数字经济", "标准厂房", "盘活闲置", "技改")


# --- choices from the rules file ------------------------------------------------------------------


def test_kaihua_offers_its_tags_and_jiaocheng_its_own() -> None:
    kaihua = scoring.setup_for(Settings(rules_file="kaihua"))
    assert set(KAIHUA_TAGS) <= set(scoring.choices_for(kaihua, "tags"))
    assert "光伏半导体" in scoring.choices_for(kaihua, "industry")
    jiaocheng = scoring.setup_for(Settings(rules_file="jiaocheng"))
    assert "新兴技术" in scoring.choices_for(jiaocheng, "tags")
    assert not set(KAIHUA_TAGS) & set(scoring.choices_for(jiaocheng, "tags"))


def test_a_configured_tag_list_overrides_the_rules_file() -> None:
    setup = scoring.setup_for(Settings(rules_file="kaihua", tags=["高新技术", "标准厂房"]))
    assert scoring.choices_for(setup, "tags") == ("高新技术", "标准厂房")


# --- leadbot rules check ------------------------------------------------------------------------------


def test_rules_check_warns_about_a_tag_the_config_does_not_offer() -> None:
    settings = Settings(rules_file="kaihua", tags=["高新技术", "标准厂房"])
    rules = load_preset("kaihua")
    warnings = ui_warnings(rules, scoring.lead_choices(settings, rules))
    assert any('rule "coef_1_2": tag "2+2产业链" is not offered' in w for w in warnings)
    assert any('conditions "new_project": tag "技改"' in w for w in warnings)
    assert not any('"标准厂房"' in w for w in warnings)  # offered by the configuration
    # With the rules file's own lists, nothing is missing.
    assert ui_warnings(rules, scoring.lead_choices(Settings(rules_file="kaihua"), rules)) == []


def test_rules_check_warns_about_stages_and_industries(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = load_preset("kaihua")
    choices = {
        "tags": (*KAIHUA_TAGS, "专精特新", "独角兽", "央企国企", "上市公司", "民营500强"),
        "industries": ("新材料",),
        "origins": ("省外",),
        "stages": ("线索", "在谈", "签约"),
    }
    warnings = ui_warnings(rules, choices)
    assert any('rule "prog_in_stats": stage "入统"' in w for w in warnings)
    assert any('industry "现代农业"' in w for w in warnings)


def test_rules_check_accepts_a_preset_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADBOT_TAGS", "高新技术,独角兽")
    assert cli.main(["rules", "check", "kaihua"]) == 0
    out, err = capsys.readouterr()
    assert "开化县 2024 年度招商引资工作考核（百分制）" in out
    assert 'warning: rule "coef_1_2": tag "2+2产业链" is not offered by the lead form' in err


# --- /edit: 县外投资比例 and 税收 -------------------------------------------------------------------------


async def test_outside_share_is_edited_and_tax_recorded_by_month_and_judged(
    world_harness: Harness,
) -> None:
    """县外投资比例 by /edit; 税收 by /tax, one record a month (no longer a field of the lead)."""
    h = world_harness
    draft = LeadDraft(
        project="服务项目",
        company="甲服务公司",
        industry="现代服务业",
        amount_wan=Decimal(500),
        origin="省外",
        stage="线索",
    )
    async with h.db.session() as s:
        actor = await resolve_actor(s, h.settings, LIAISON, "x", None)
        code = (await report_lead(s, h.clock.now(), actor, draft, h.settings)).code
    await h.send(LIAISON, f"/edit {code}")
    await h.press(LIAISON, "县外投资比例")
    assert "没看懂这个比例" in (await h.send(LIAISON, "130%")).text
    assert "30%" in (await h.send(LIAISON, "30%")).text
    await h.send(LIAISON, f"/edit {code}")
    r = await h.send(LIAISON, f"/edit {code}")
    assert "已缴税收" not in r.labels
    month = h.clock.now().astimezone(h.settings.zone)
    r = await h.send(LIAISON, f"/tax {code} 10万")
    assert "已登记" in r.text and "已缴税收 10万元" in r.text
    r = await h.send(LIAISON, f"/tax {code} 5万 上月")
    assert "本年已缴税收合计" in r.text
    async with h.db.session() as s:
        lead = await lead_repo.lead_by_id(s, int(code[1:]))
        assert lead is not None and lead.outside_share == Decimal(30)
        history = await scoring.collect_unit(
            s, lead.unit_id, scoring.setup_for(Settings(rules_file="kaihua"))
        )
    facts = history.timelines[lead.id].facts()
    assert facts.outside_share == Decimal(30) and facts.tax_wan == Decimal(15)
    assert [a for _, a in facts.tax_paid] == [Decimal(5), Decimal(10)]  # last month's first
    assert month.month == h.clock.now().astimezone(h.settings.zone).month


# --- /score wording -------------------------------------------------------------------------------------


def test_score_notes_never_repeat_the_rule_name() -> None:
    assert ranking.entry_note("周报漏报", "周报漏报") == ""
    assert ranking.entry_note("日常工作（周报漏报）", "周报漏报") == ""
    assert ranking.entry_note("签约省外项目", "签约 L0003（省外）") == "签约 L0003（省外）"
    assert ranking.entry_note("签约", "签约 L0003（省外）") == "L0003（省外）"


def test_score_names_rules_by_the_presets_titles() -> None:
    setup = scoring.setup_for(Settings(rules_file="jiaocheng"))
    assert ranking.rule_name(setup, "base_signed_outside") == "签约省外项目"
    assert ranking.rule_name(setup, "weekly_missing") == "周报漏报"
    assert ranking.rule_name(setup, "manual") == "人工调整"


# --- kaihua's 黑榜 on the board ------------------------------------------------------------------------


async def test_kaihua_board_lists_the_units_put_on_the_blacklist(sqlite_db: Database) -> None:
    setup = scoring.setup_for(Settings(rules_file="kaihua"))
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    async with sqlite_db.session() as s:
        units = [
            Unit(name=n, active=True, created_at=datetime(2026, 1, 1, tzinfo=UTC))
            for n in ("甲镇", "乙镇", "丙局")
        ]
        s.add_all(units)
        await s.flush()
        nov = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
        lines = [
            Entry(units[1].id, "sched_overdue", "deduct", Decimal(-2), nov, "a", "x"),
            Entry(
                units[1].id, "blacklist", "deduct", Decimal(-2), nov, "blacklisted:a", "纳入黑榜"
            ),
            Entry(units[2].id, "sched_overdue", "deduct", Decimal(-2), nov, "b", "x"),
        ]
        await scoring_repo.append_entries(s, [scoring._row(e, now) for e in lines])
        for u in units:
            await scoring.rebuild_scores(s, setup, u.id, now)
    async with sqlite_db.session() as s:
        board = await ranking.board(s, setup, "2026-11", 5, now)
    assert board.black == "streak"
    assert [r.unit_name for r in board.bottom] == ["乙镇"]  # 丙局 has −2 too, but once: not on it


# --- 逐节点认定: 决策咨询 scores once a leader confirms it (kaihua) ------------------------------------------


@pytest.fixture
async def kaihua(sqlite_db: Database) -> AsyncIterator[Harness]:
    h = Harness(sqlite_db, ManualClock(T_MARCH), make_settings(sqlite_db.url, rules_file="kaihua"))
    await h.start()
    try:
        await h.seed()
        yield h
    finally:
        await h.close()


async def live_rules(h: Harness) -> list[tuple[str, Decimal, datetime]]:
    async with h.db.session() as s:
        rows = (
            (await s.execute(select(LedgerEntry).where(LedgerEntry.voided_at.is_(None))))
            .scalars()
            .all()
        )
        return sorted((r.rule_id, r.points, r.at.astimezone(UTC)) for r in rows)


async def test_seed004_3_decision_node_scores_only_once_a_leader_confirms_it(
    kaihua: Harness,
) -> None:
    h = kaihua
    draft = LeadDraft(
        project="甲项目",
        company="甲公司",
        industry="新能源",
        amount_wan=Decimal(12000),
        origin="省外",
        stage="在谈",
    )
    async with h.db.session() as s:
        actor = await resolve_actor(s, h.settings, LIAISON, "x", None)
        code = (await report_lead(s, h.clock.now(), actor, draft, h.settings)).code
    await h.send(LEADER, f"/verify {code}")  # 有效信息: the lead, not the node
    assert [rule for rule, _, _ in await live_rules(h)] == ["info_verified", "info_verified_big"]
    assert "认定节点仅限领导和管理员" in (await h.send(LIAISON, f"/confirm {code}")).text
    h.clock.advance(timedelta(days=3))
    r = await h.send(LEADER, f"/confirm {code}")
    assert f"已认定 {code}「甲项目」的「在谈」节点" in r.text
    assert ("prog_decided", Decimal(2), h.clock.now()) in await live_rules(
        h
    )  # dated at the confirmation
    r = await h.send(LEADER, f"/confirm {code} 在谈")
    assert "已经认定过了" in r.text
    r = await h.send(LEADER, f"/confirm {code} 线索")  # 项目信息 is the lead itself: /verify
    assert "不是需要认定的节点" in r.text
    r = await h.send(LEADER, f"/confirm {code} 签约")
    assert "还没有到「签约」阶段" in r.text


async def kaihua_lead(h: Harness, stage: str = "在谈") -> tuple[int, str]:
    """甲项目: 新能源, 1.2亿, 省外 (县外投资比例 presumed 100 %): a 新引进项目, ×1.1 for 项目绩效."""
    draft = LeadDraft(
        project="甲项目",
        company="甲公司",
        industry="新能源",
        amount_wan=Decimal(12000),
        origin="省外",
        stage=stage,
    )
    async with h.db.session() as s:
        actor = await resolve_actor(s, h.settings, LIAISON, "x", None)
        done = await report_lead(s, h.clock.now(), actor, draft, h.settings)
    return done.lead_id, done.code


async def move_to(h: Harness, lead_id: int, stage: str) -> None:
    from bot.services import lead_updates

    async with h.db.session() as s:
        leader = await resolve_actor(s, h.settings, LEADER, "x", None)
        await lead_updates.move_stage(s, h.clock.now(), leader, lead_id, stage, None, h.settings)


def node_rules(lines: list[tuple[str, Decimal, datetime]]) -> list[tuple[str, Decimal, datetime]]:
    return [line for line in lines if line[0].startswith(("prog_", "sched_", "perf_"))]


def test_seed004_3_kaihua_confirms_every_node_after_the_information_jiaocheng_none() -> None:
    """二(三) 项目信息、决策咨询、正式签约、土地摘牌、项目备案、统计入库、投资出数 "分阶段……予以考核认定赋分":
    the six nodes after 项目信息 (which is the lead itself, verified by /verify) need a leader."""
    assert load_preset("kaihua").confirm_stages == ("在谈", "签约", "落地", "开工", "入统", "投产")
    assert load_preset("jiaocheng").confirm_stages == ()


async def test_seed004_3_each_stage_node_scores_only_once_a_leader_confirms_it(
    kaihua: Harness,
) -> None:
    """By hand (kaihua): 签约 reached on day 10 scores nothing until confirmed on day 20, then
    项目推进 4 + 时序 3 + 新签约亿元以上 3 × 1.1 (省外) = 3.3, all dated day 20; 落地 likewise
    (4 + 3) at its own confirmation; /confirm without a node takes the first one waiting."""
    h = kaihua
    t0 = h.clock.now()
    lead_id, code = await kaihua_lead(h)
    await h.send(LEADER, f"/verify {code}")
    await h.send(LEADER, f"/confirm {code} 在谈")
    assert node_rules(await live_rules(h)) == [("prog_decided", Decimal(2), t0)]
    h.clock.set(t0 + timedelta(days=10))
    await move_to(h, lead_id, "签约")
    assert node_rules(await live_rules(h)) == [("prog_decided", Decimal(2), t0)]
    card = await h.send(LEADER, f"/lead {code}")
    assert "节点认定：在谈 ✅、签约 待认定" in card.text and "✔️ 认定节点" in card.labels
    h.clock.set(t0 + timedelta(days=20))
    r = await h.send(LEADER, f"/confirm {code}")
    assert f"已认定 {code}「甲项目」的「签约」节点" in r.text
    day20 = h.clock.now()
    assert node_rules(await live_rules(h)) == [
        ("perf_signed_1yi", Decimal("3.3"), day20),
        ("prog_decided", Decimal(2), t0),
        ("prog_signed", Decimal(4), day20),
        ("sched_signed", Decimal(3), day20),
    ]
    h.clock.set(t0 + timedelta(days=30))
    await move_to(h, lead_id, "落地")
    assert not [r for r in await live_rules(h) if r[0].endswith("_land")]
    h.clock.set(t0 + timedelta(days=31))
    assert "「落地」节点" in (await h.send(LEADER, f"/confirm {code} 落地")).text
    day31 = h.clock.now()
    assert [r for r in await live_rules(h) if r[0].endswith("_land")] == [
        ("prog_land", Decimal(4), day31),
        ("sched_land", Decimal(3), day31),
    ]
    assert "没有待认定的节点" in (await h.send(LEADER, f"/confirm {code}")).text


async def test_seed004_8_2_a_node_reached_in_time_and_confirmed_after_its_deadline_is_on_time(
    kaihua: Harness,
) -> None:
    """时序进度 runs on the real timeline: 签约 on day 80 of 在谈's 90 days, confirmed on day 100,
    earns 时序 +3 (dated day 100) and no −2; the confirmation is not a late arrival."""
    h = kaihua
    t0 = h.clock.now()
    lead_id, code = await kaihua_lead(h)
    await h.send(LEADER, f"/verify {code}")
    h.clock.set(t0 + timedelta(days=80))
    await move_to(h, lead_id, "签约")
    h.clock.set(t0 + timedelta(days=100))
    await h.send(LEADER, f"/confirm {code} 签约")
    got = [r for r in await live_rules(h) if r[0].startswith("sched_")]
    assert got == [("sched_signed", Decimal(3), h.clock.now())]


async def test_seed004_3_a_lead_reported_signed_waits_for_both_nodes(kaihua: Harness) -> None:
    """Reported already at 签约: 决策咨询 and 正式签约 are two nodes, confirmed one by one."""
    h = kaihua
    _, code = await kaihua_lead(h, stage="签约")
    await h.send(LEADER, f"/verify {code}")
    assert node_rules(await live_rules(h)) == []
    assert "「在谈」节点" in (await h.send(LEADER, f"/confirm {code}")).text
    assert [r[0] for r in node_rules(await live_rules(h))] == ["prog_decided"]
    assert "「签约」节点" in (await h.send(LEADER, f"/confirm {code}")).text
    assert [r[0] for r in node_rules(await live_rules(h))] == [
        "perf_signed_1yi",
        "prog_decided",
        "prog_signed",
        "sched_signed",
    ]
