"""A newcomer's first day (issue 17): admin, liaison and head, through the real adapter."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.e2e.harness import ADMIN, Harness

SH = ZoneInfo("Asia/Shanghai")
LIAISON3, HEAD3 = 1103, 1203  # 规划建设局 in the demo
NEWBIE, STRANGER = 7001, 7002


def links(text: str) -> list[str]:
    return re.findall(r"https://t\.me/\S+\?start=([A-Za-z0-9_-]+)", text)


async def test_admins_help_and_start_name_bind_and_unbind(world_harness: Harness) -> None:
    h = world_harness
    for command in ("/help", "/start"):
        text = (await h.send(ADMIN, command)).text
        assert "/bind — 在群内绑定单位或领导群" in text and "/unbind — 解除本群绑定" in text
        assert "在群内使用" in text
    liaison = (await h.send(LIAISON3, "/help")).text
    assert "/bind" not in liaison


async def test_head_and_leader_links_work_once_and_are_not_for_groups(harness: Harness) -> None:
    h = harness
    h.user(ADMIN, "管理员")
    await h.send(ADMIN, "/addunit 招商引资部 招商部 一序列")
    r = await h.send(ADMIN, "/invite 招商部 负责人 领导")
    assert "转发到单位的工作群" not in r.text and "私下发给本人" in r.text
    assert r.text.count(" · 单次有效") == 2 and "可多次使用" not in r.text
    head, _leader = links(r.text)
    h.user(NEWBIE, "赵主任")
    assert "单位负责人" in (await h.send(NEWBIE, f"/start {head}")).text
    h.user(STRANGER, "群里的人")
    assert "已被使用过" in (await h.send(STRANGER, f"/start {head}")).text


async def test_only_liaison_links_may_be_shared(harness: Harness) -> None:
    h = harness
    h.user(ADMIN, "管理员")
    await h.send(ADMIN, "/addunit 招商引资部 招商部 一序列")
    r = await h.send(ADMIN, "/invite 招商部 专干×2 负责人")
    assert r.text.count(" · 可多次使用") == 2 and r.text.count(" · 单次有效") == 1
    assert "专干链接可多次使用，可转发到单位的工作群" in r.text and "私下发给本人" in r.text
    token = links(r.text)[0]
    for uid, name in ((NEWBIE, "张三"), (STRANGER, "李四")):
        h.user(uid, name)
        assert "招商专干" in (await h.send(uid, f"/start {token}")).text


async def test_units_are_listed_in_the_order_of_their_categories(world_harness: Harness) -> None:
    h = world_harness
    await h.send(ADMIN, "/addunit 文化旅游局 文旅局 四序列")
    await h.send(ADMIN, "/addunit 农业农村局 农业局 三序列")
    text = (await h.send(ADMIN, "/units")).text
    order = re.findall(r"序列：(\S+?)；", text)
    assert order == ["一序列", "一序列", "二序列", "二序列", "三序列", "四序列"], order


async def test_a_head_confirming_a_late_report_sees_the_real_limit(world_harness: Harness) -> None:
    h = world_harness
    h.clock.set(datetime(2026, 11, 19, 17, 1, tzinfo=SH))  # 2026-W47's deadline just passed
    await h.send(LIAISON3, "/weekly")
    for _ in range(4):
        r = await h.send(LIAISON3, "无")
    assert "迟交" in r.text
    r = await h.press(LIAISON3, "✅ 提交")
    ask = r.to(HEAD3).text
    assert "迟交" in ask and "11月26日" in ask, ask  # the late window ends at 2026-W48's deadline
    assert "截止 11月19日" not in ask
    assert "（迟交）" in (await h.press(HEAD3, "✅ 确认")).text


async def test_leave_understands_tomorrow_next_monday_and_a_chinese_date(
    world_harness: Harness,
) -> None:
    h = world_harness  # Tuesday 17 November 2026
    r = await h.send(LIAISON3, "/leave 明天")
    assert "已登记休假至 11月18日" in r.text
    r = await h.send(LIAISON3, "/leave 下周一")
    assert "已登记休假至 11月23日" in r.text
    r = await h.send(LIAISON3, "/leave 12月3日")
    assert "已登记休假至 12月3日" in r.text
    r = await h.send(LIAISON3, "/leave 昨天")
    assert "用法" not in r.text and "11月16日" in r.text  # named, but in the past
