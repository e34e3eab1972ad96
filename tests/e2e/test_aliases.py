"""Chinese aliases on Telegram: the same table as DingTalk (bot/assembly/commands.py).

A private message that is exactly an alias runs the command; an open form's typed answer
is never taken for one.
"""

from __future__ import annotations

import pytest

from tests.e2e.harness import Harness
from tests.e2e.test_weekly import GROUP, LIAISON, seed_lead

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")


async def test_each_alias_runs_its_command_in_private(world_harness: Harness) -> None:
    h = world_harness
    await seed_lead(h, LIAISON[1], "动力电池项目", "宁德时代新能源科技股份有限公司")
    cases = {
        "状态": "招商引资部 · 2026年第47周 周报",
        "排名": "排名",
        "得分": "招商引资部",
        "帮助": "/weekly（周报） — ",  # /help shows each command's alias
        "线索": "L0001 动力电池项目",
        " 开始 ": "/report",
    }
    for alias, expected in cases.items():
        r = await h.send(LIAISON[1], alias)
        assert expected in r.text, (alias, r.text)
    for alias, command in (("状态", "/status"), ("线索", "/leads"), ("资金", "/funds")):
        by_alias, by_command = await h.send(LIAISON[1], alias), await h.send(LIAISON[1], command)
        assert by_alias.text == by_command.text  # the command's own handler, the same words


async def test_form_aliases_open_the_form(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LIAISON[1], "周报")
    assert "第 1/4 项 · 新增线索" in r.text
    r = await h.send(LIAISON[1], "取消")  # typed: leaves the form, as /cancel
    assert "已暂停填写，草稿已保存" in r.text
    r = await h.send(LIAISON[1], "报送线索")
    assert "项目名称" in r.text
    await h.send(LIAISON[1], "/cancel")
    r = await h.send(LIAISON[1], "活动")
    assert "登记工作记录" in r.text


async def test_an_open_form_keeps_its_answer(world_harness: Harness) -> None:
    h = world_harness
    await h.send(LIAISON[1], "/weekly")
    await h.send(LIAISON[1], "无")
    r = await h.send(LIAISON[1], "状态")  # the trips step awaits text: this is a trip
    assert "已记录 1 条行程" in r.text and "尚未提交" not in r.text
    r = await h.send(LIAISON[1], "/report")
    r = await h.send(LIAISON[1], "排名")  # the project's name, however odd
    assert "第 2/13 步" in r.text and "投资方" in r.text


async def test_no_alias_in_groups_and_strangers_are_refused(world_harness: Harness) -> None:
    h = world_harness
    r = await h.send(LIAISON[1], "状态", chat_id=GROUP[1])
    assert not r.items
    h.user(4242)
    r = await h.send(4242, "状态")
    assert "仅供已登记的单位使用" in r.text
