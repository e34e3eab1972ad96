"""Journey: funds in place, and the leaders' periodic reports — on demand, and on schedule exactly once.

The demo jurisdiction (jiaocheng preset): 招商引资部 and 经济发展局 in 一序列, 规划建设局 and
财政局 in 二序列; the clock starts on Tuesday 17 November 2026, 10:00 in Shanghai.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from bot.rendering.digest_text import rendered
from bot.services import digests, lead_updates, scoring
from bot.services.access import Actor, resolve_actor
from bot.services.leads import LeadDraft, report_lead
from tests.e2e.harness import Harness

# PTB itself warns when it builds a RetryAfter (retry_after becomes a timedelta in v23).
pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

SH = ZoneInfo("Asia/Shanghai")
ADMIN, LEADER = 1000, 1001
ZHAOSHANG, JINGFA, GUIJIAN, CAIZHENG = 1101, 1102, 1103, 1104  # liaisons of the four demo units
HEAD1 = 1201
UNIT_GROUP, LEADERS_GROUP = -1001000000001, -1001000000999
TITLES = ("招商引资信息汇总", "招商引资工作通报", "招商引资季度考评", "招商引资年终考核")


def local(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


async def actor(h: Harness, tg: int) -> Actor:
    async with h.db.session() as s:
        return await resolve_actor(s, h.settings, tg, "x", None)


async def report(
    h: Harness,
    tg: int,
    company: str,
    *,
    amount: str = "12000",
    stage: str = "在谈",
    origin: str = "省外",
) -> int:
    draft = LeadDraft(
        project=f"{company}项目",
        company=company,
        industry="新能源",
        amount_wan=Decimal(amount),
        origin=origin,
        stage=stage,
    )
    async with h.db.session() as s:
        return (await report_lead(s, h.clock.now(), await actor(h, tg), draft, h.settings)).lead_id


async def move(h: Harness, tg: int, lead_id: int, stage: str, note: str | None = None) -> None:
    async with h.db.session() as s:
        await lead_updates.move_stage(
            s, h.clock.now(), await actor(h, tg), lead_id, stage, note, h.settings
        )


async def verify(h: Harness, lead_id: int) -> None:
    async with h.db.session() as s:
        await lead_updates.verify_lead(
            s, h.clock.now(), await actor(h, LEADER), lead_id, setup=h.app.services.scoring
        )


async def build_october(h: Harness) -> None:
    """招商引资部: L0001 (1.2亿, 省外) verified and signed in October, 3000万 in place.
    经济发展局: L0002 signed on 10-10, moved back to 在谈 by a leader on 10-12, with a problem noted.
    规划建设局: L0003, a duplicate of L0001. 财政局: nothing."""
    h.clock.set(local(10, 9))
    first = await report(h, ZHAOSHANG, "宁德时代新能源科技股份有限公司")
    await verify(h, first)
    h.clock.set(local(10, 10))
    back = await report(h, JINGFA, "冷链物流有限公司", amount="3000", origin="本地")
    await move(h, JINGFA, back, "签约")
    h.clock.set(local(10, 12))
    await move(h, LEADER, back, "在谈", "签约信息有误；问题：投资主体需变更")
    h.clock.set(local(10, 20))
    await move(h, ZHAOSHANG, first, "签约", "举行签约仪式")
    await report(
        h, GUIJIAN, "宁德时代新能源科技", amount="5000"
    )  # another unit was first: a duplicate
    h.clock.set(local(11, 17))


def workbook(h: Harness, chat_id: int) -> tuple[str, openpyxl.Workbook]:
    message = h.api.last_bot_message(chat_id)
    assert message is not None and message.document is not None
    return message.document["file_name"], openpyxl.load_workbook(
        io.BytesIO(h.api.file_bytes(message.document["file_id"]))
    )


def digest_calls(h: Harness, since: int = 0) -> list[tuple[str, str]]:
    """What the leaders' group got of the reports: ("text", first line) and ("xlsx", file name), in order."""
    out = []
    for call in h.api.calls[since:]:
        if not call.ok or int(call.params.get("chat_id", 0)) != LEADERS_GROUP:
            continue
        if call.method == "sendMessage" and any(t in str(call.params.get("text")) for t in TITLES):
            out.append(("text", str(call.params["text"]).split("\n", 1)[0]))
        elif call.method == "sendDocument":
            out.append(("xlsx", str(call.params["document"]["file_name"])))
    return out


async def tick(h: Harness, when: datetime, *, restart: bool = False) -> list[tuple[str, str]]:
    """Move the clock (optionally restart the bot), run what is due: the reports sent meanwhile."""
    since = len(h.api.calls)
    h.clock.set(when)
    if restart:
        await h.restart()
    assert h.app is not None
    await h.app.jobs.run_due()
    return digest_calls(h, since)


# --- funds in place ---------------------------------------------------------------------------------------


async def test_funds_are_recorded_corrected_and_shown(world_harness: Harness) -> None:
    h = world_harness
    lead = await report(h, ZHAOSHANG, "宁德时代新能源科技股份有限公司")
    r = await h.send(ZHAOSHANG, f"/funds L{lead:04d} 3000万 2026-10")
    assert "已登记 L0001 宁德时代新能源科技股份有限公司项目 2026年10月到位资金 3,000万元" in r.text
    assert "该项目本年累计：3,000万元" in r.text
    r = await h.send(HEAD1, "/funds L1 0.2亿")  # this month, by the unit's head
    assert "2026年11月到位资金 2,000万元" in r.text and "本年累计：5,000万元" in r.text
    r = await h.send(LEADER, "/funds 1 3500万 10月")
    assert (
        "已更正 L0001" in r.text
        and "3,000万元 → 3,500万元（原数字留档）" in r.text
        and "本年累计：5,500万元" in r.text
    )
    r = await h.send(ZHAOSHANG, "/funds L0001")
    assert "💰 L0001" in r.text and "2026年10月：3,000万元（11月17日 登记，已更正）" in r.text
    assert "2026年10月：3,500万元（11月17日 登记）" in r.text and "合计：5,500万元" in r.text
    assert "<s>2026年10月：3,000万元</s>" in r.items[0].html


async def test_bad_funds_input_is_refused_with_what_to_type(world_harness: Harness) -> None:
    h = world_harness
    await report(h, ZHAOSHANG, "宁德时代新能源科技股份有限公司")  # 1.2亿 planned
    r = await h.send(ZHAOSHANG, "/funds")
    assert "用法：/funds 线索编号 金额 [月份]" in r.text
    r = await h.send(ZHAOSHANG, "/funds L0001 -500万")
    assert "金额必须大于零" in r.text
    r = await h.send(ZHAOSHANG, "/funds L0001 2万亿")
    assert "过大，请检查单位" in r.text
    r = await h.send(ZHAOSHANG, "/funds L0001 120亿")  # 100 × the planned investment
    assert "超过 L0001 计划投资额 1.2亿元 的 10 倍" in r.text
    r = await h.send(ZHAOSHANG, "/funds L0001 3000万 2026-12")
    assert "2026-12 还没有到，不能登记到位资金" in r.text
    r = await h.send(ZHAOSHANG, "/funds L0001 3000万 2026-13")
    assert "“2026-13”不是有效的月份" in r.text
    r = await h.send(JINGFA, "/funds L0001 3000万")  # another unit's lead
    assert "只有报送单位（招商引资部）的成员和领导可以登记或查看 L0001 的到位资金" in r.text
    r = await h.send(JINGFA, "/funds L0001")
    assert "只有报送单位（招商引资部）" in r.text and "万元" not in r.text
    r = await h.send(ZHAOSHANG, "/funds L0001 3000万", chat_id=UNIT_GROUP)
    assert "私聊" in r.text  # a lead command: in private chat
    r = await h.send(LEADER, "/funds L0001")
    assert "尚未登记到位资金" in r.text  # nothing above was stored


# --- reports on demand -----------------------------------------------------------------------------------


async def test_a_leader_gets_the_monthly_notice_with_its_workbook(world_harness: Harness) -> None:
    h = world_harness
    await build_october(h)
    r = await h.send(ZHAOSHANG, "/funds L0001 3000万 2026-10")
    assert "已登记" in r.text
    r = await h.send(LEADER, "/digest month 2026-10")
    assert [i.method for i in r.items] == ["sendMessage", "sendDocument"]
    text = r.items[0].text
    assert text.startswith("📋 2026年10月 招商引资工作通报")
    assert (
        "招商引资部\n  有效信息 1/1 · 新签约 1/1 · 新开工 0/0 · 新入统 0/0 · 到位资金 3,000万元/3,000万元 · 新投产 0/0"
        in text
    )
    # 经济发展局's signing was taken back by a leader: not a new signing; it is behind its target's pace.
    assert "经济发展局 ⚠️低于序时进度\n  有效信息 0/0 · 新签约 0/0" in text
    assert (
        "规划建设局 ⚠️低于序时进度\n  有效信息 0/0 · 新签约 0/0" in text
    )  # its lead is a duplicate
    assert (
        "财政局 ⚠️低于序时进度\n  有效信息 0/0 · 新签约 0/0 · 新开工 0/0 · 新入统 0/0 · 到位资金 0/0 · 新投产 0/0"
        in text
    )
    assert "合计\n  有效信息 1/1 · 新签约 1/1" in text
    assert (
        "L0001 宁德时代新能源科技股份有限公司项目 · 签约（本月 线索→在谈→签约）" not in text
    )  # reported at 在谈
    assert "L0001 宁德时代新能源科技股份有限公司项目 · 签约（本月 在谈→签约）" in text
    assert "到位资金：本月 3,000万元，本年 3,000万元" in text
    assert "最新进展 10月20日：举行签约仪式（阶段备注）" in text
    assert "L0002 冷链物流有限公司项目 · 在谈（本月 在谈→签约→在谈，有退回）" in text
    assert "⚠️ 存在问题：投资主体需变更" in text and "本月有 1 个项目报告了存在问题" in text
    assert "招商引资部：签约亿元以上项目 1/1（序时应达 0.8 个）"  # issue 17: with its unit in text
    assert r.items[1].text == "📋 2026年10月 招商引资工作通报（Excel）"
    name, book = workbook(h, LEADER)
    assert name == "招商引资工作通报_2026-10.xlsx"
    assert book.sheetnames == ["六项指标", "项目推进情况", "目标序时进度", "说明"]
    assert [c.value for c in book["六项指标"][2]][:4] == ["招商引资部", "一序列", 1, 1]
    assert [c.value for c in book["项目推进情况"][3]][1:8] == [
        "L0002",
        "冷链物流有限公司项目",
        "冷链物流有限公司",
        3000,
        "在谈",
        "在谈→签约→在谈",
        "是",
    ]
    assert (
        book["项目推进情况"]["N1"].value == "本月存在问题"
        and book["项目推进情况"]["N3"].value == "投资主体需变更"
    )


async def test_the_half_month_quarter_and_year_on_demand(world_harness: Harness) -> None:
    h = world_harness
    await build_october(h)
    r = await h.send(LEADER, "/digest half 2026-10-H2")
    assert "📰 2026年10月下半月 招商引资信息汇总" in r.text
    assert "规划建设局：新报 0 条（有效 0，待核实 0，退回 0），重复 1 条" in r.text
    assert (
        "合计：新报 0 条（有效 0，待核实 0，退回 0），重复 1 条" in r.text
        and "本期暂无核实为有效的新线索" in r.text
    )
    r = await h.send(LEADER, "/digest 2026-10-H1")
    assert "招商引资部：新报 1 条（有效 1，待核实 0，退回 0），重复 0 条" in r.text
    assert (
        "L0001 宁德时代新能源科技股份有限公司项目 · 招商引资部 · 新能源 · 1.2亿元 · 省外 · 签约"
        in r.text
    )
    # The quarter so far: the ranking service's points (jiaocheng: 签约 +5, 省外亿元以上 +5), ranked per 序列.
    rank = await h.send(LEADER, "/rank 2026-Q4")
    assert "1. 招商引资部　10 分" in rank.text
    r = await h.send(LEADER, "/digest quarter 2026-Q4")
    assert (
        "🏆 2026年第4季度 招商引资季度考评" in r.text
        and "（本期尚未结束，数据截至 11月17日 10:00）" in r.text
    )
    assert (
        # issue 15: nobody scored in Q3, so there is no movement to show (it used to say –/↓1)
        "【一序列】\n1. 招商引资部　10 分（上季度 0 分，+10；名次 无可比）\n2. 经济发展局　0 分（上季度 0 分，±0；名次 无可比）"
        in r.text
    )
    assert (
        "【二序列】\n1. 规划建设局　0 分（上季度 0 分，±0；名次 无可比）\n1. 财政局　0 分" in r.text
    )
    assert "招商引资部：签约→开工 0%（1 个中 0 个） ⚠️；开工→入统 —（无开工项目）" in r.text
    name, book = workbook(h, LEADER)
    assert name == "招商引资季度考评_2026-Q4.xlsx" and book.sheetnames == [
        "季度得分",
        "目标进度",
        "转化率",
    ]
    r = await h.send(LEADER, "/digest year 2026")
    assert "🎖 2026年 招商引资年终考核" in r.text and "招商引资部：有效信息 1 · 新签约 1" in r.text
    assert (
        "招商引资部：签约亿元以上项目 1/1 ✅" in r.text
        and "财政局：签约亿元以上项目 0/1 ❌" in r.text
    )


async def test_reports_are_for_leaders_in_private_or_the_leaders_group(
    world_harness: Harness,
) -> None:
    h = world_harness
    r = await h.send(ZHAOSHANG, "/digest month")  # a liaison
    assert "此操作仅限领导和管理员" in r.text and "sendDocument" not in [i.method for i in r.items]
    r = await h.send(HEAD1, "/digest month")
    assert "此操作仅限领导和管理员" in r.text
    r = await h.send(
        LEADER, "/digest month", chat_id=UNIT_GROUP
    )  # a unit's work group must not read every unit's leads
    assert "请在与我的私聊或领导群中查看" in r.text and "sendDocument" not in [
        i.method for i in r.items
    ]
    r = await h.send(LEADER, "/digest month", chat_id=LEADERS_GROUP)
    assert (
        "2026年10月 招商引资工作通报" in r.text
        and [i.method for i in r.items][-1] == "sendDocument"
    )
    r = await h.send(ADMIN, "/digest year")
    assert "2025年 招商引资年终考核" in r.text  # the last complete year by default


async def test_bad_periods_get_a_specific_answer(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LEADER, "/digest month 2026-13")
    assert "“2026-13”不是有效的时段。请按 2026-10 的格式写" in r.text and "sendDocument" not in [
        i.method for i in r.items
    ]
    r = await h.send(LEADER, "/digest quarter 2026-Q5")
    assert "“2026-Q5”不是有效的时段" in r.text
    r = await h.send(LEADER, "/digest month 2027-01")
    assert "2027年1月还没有开始" in r.text
    r = await h.send(LEADER, "/digest")
    assert "用法：/digest 报表 [时段]" in r.text
    r = await h.send(LEADER, "/digest weekly")
    assert "用法：/digest 报表 [时段]" in r.text


# --- reports on schedule ----------------------------------------------------------------------------------


async def test_each_report_goes_to_the_leaders_group_once_across_month_and_quarter_ends(
    world_harness: Harness,
) -> None:
    h = world_harness
    await build_october(h)
    # 17 Nov: the half month that ended on the 15th is still within its grace time.
    assert await tick(h, local(11, 17)) == [
        ("text", "📰 2026年11月上半月 招商引资信息汇总"),
        ("xlsx", "招商引资信息汇总_2026-11-H1.xlsx"),
    ]
    assert await tick(h, local(11, 17, 11), restart=True) == []
    assert await tick(h, local(12, 1, 8, 59)) == []  # not before 09:00
    sent = await tick(h, local(12, 1, 9, 30))  # the 1st, and the first working day of December
    assert sent == [
        ("text", "📰 2026年11月下半月 招商引资信息汇总"),
        ("xlsx", "招商引资信息汇总_2026-11-H2.xlsx"),
        ("text", "📋 2026年11月 招商引资工作通报"),
        ("xlsx", "招商引资工作通报_2026-11.xlsx"),
    ]  # each text with its own workbook, in order
    assert await tick(h, local(12, 1, 10), restart=True) == []
    assert await tick(h, local(12, 2, 10)) == []
    assert await tick(h, local(12, 16, 9, 5)) == [
        ("text", "📰 2026年12月上半月 招商引资信息汇总"),
        ("xlsx", "招商引资信息汇总_2026-12-H1.xlsx"),
    ]
    # Across the year's (and the quarter's) end, restarting on the way.
    setup = scoring.setup_for(h.settings)
    first = setup.periods.first_workday_of_month(2027, 1)
    sent = await tick(h, local(1, 1, 9, 30, year=2027), restart=True)
    sent += await tick(h, datetime.combine(first, time(9, 30), tzinfo=SH), restart=True)
    sent += await tick(h, datetime.combine(first, time(15, 0), tzinfo=SH), restart=True)
    assert sorted(sent) == sorted(
        [
            ("text", "📰 2026年12月下半月 招商引资信息汇总"),
            ("xlsx", "招商引资信息汇总_2026-12-H2.xlsx"),
            ("text", "📋 2026年12月 招商引资工作通报"),
            ("xlsx", "招商引资工作通报_2026-12.xlsx"),
            ("text", "🏆 2026年第4季度 招商引资季度考评"),
            ("xlsx", "招商引资季度考评_2026-Q4.xlsx"),
            ("text", "🎖 2026年 招商引资年终考核"),
            ("xlsx", "招商引资年终考核_2026.xlsx"),
        ]
    )
    quarterly = next(
        str(c.params["text"])
        for c in h.api.calls
        if c.method == "sendMessage" and "季度考评" in str(c.params.get("text"))
    )
    rank = await h.send(
        LEADER, "/rank 2026-Q4"
    )  # the quarter's points are the ranking service's (weekly penalties included)
    points = re.findall(r"\d+\. (\S+)　(-?[\d.]+) 分", rank.items[-1].text)
    assert len(points) == 4 and all(
        f"{unit}　{pts} 分（上季度 0 分" in quarterly for unit, pts in points
    )
    # Everything the leaders' group got, counted call by call: one text and one workbook per report.
    everything = digest_calls(h)
    assert len(everything) == 2 * 8 and len(set(everything)) == 2 * 8


async def test_a_report_planned_before_a_crash_is_sent_once_after_the_restart(
    world_harness: Harness,
) -> None:
    h = world_harness
    assert h.app is not None
    h.clock.set(local(12, 1, 9, 30))
    setup = scoring.setup_for(h.settings)
    for kind in (
        "half",
        "month",
    ):  # what the job plans into the outbox; the bot stops before the drain
        span, due = digests.due(setup, kind, h.clock.now(), 9)
        async with h.db.session() as s:
            assert await digests.plan(
                s,
                setup,
                h.clock.now(),
                kind,
                span,
                due + digests.GRACE,
                "zh_CN",
                rendered("zh_CN", SH),
            )
    assert digest_calls(h) == []
    sent = await tick(h, local(12, 1, 9, 31), restart=True)
    assert [kind for kind, _ in sent] == ["text", "xlsx", "text", "xlsx"]
    assert await tick(h, local(12, 1, 9, 32), restart=True) == []


async def test_a_report_switched_off_is_not_sent_and_the_hour_is_configurable(
    world_harness: Harness,
) -> None:
    h = world_harness
    h.settings.digest_half_monthly = False
    h.settings.digest_hour = 14
    assert await tick(h, local(12, 1, 9, 30), restart=True) == []
    assert await tick(h, local(12, 1, 14, 0)) == [
        ("text", "📋 2026年11月 招商引资工作通报"),
        ("xlsx", "招商引资工作通报_2026-11.xlsx"),
    ]


async def test_no_leaders_group_no_report_until_one_is_bound(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(ADMIN, "/unbind", chat_id=LEADERS_GROUP)
    assert r.text
    assert await tick(h, local(12, 1, 9, 30)) == []
    r = await h.send(ADMIN, "/bind 领导", chat_id=LEADERS_GROUP)
    sent = await tick(h, local(12, 2, 9, 30))  # still within the grace time: sent now
    assert [name for kind, name in sent if kind == "xlsx"] == [
        "招商引资信息汇总_2026-11-H2.xlsx",
        "招商引资工作通报_2026-11.xlsx",
    ]


def test_utc_clock_start_is_tuesday_morning_in_shanghai() -> None:
    assert datetime(2026, 11, 17, 2, 0, tzinfo=UTC).astimezone(SH) == local(11, 17)
