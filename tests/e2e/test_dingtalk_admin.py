"""A DingTalk admin sets a unit up from the chat: /addunit, /units, /invite (a code the
person sends to the robot), /invites, /revoke — through the real SDK against the stand-in."""

from __future__ import annotations

import re

from tests.e2e.test_dingtalk import ADMIN_STAFF, DingTalkWorld
from tests.e2e.test_dingtalk import world as world  # the fixture, shared


def code_of(text: str) -> str:
    """The invite code in a reply (the markdown escapes ``_`` and ``-`` with ``\\``)."""
    found = re.search(r"邀请码：((?:\\[_-]|[A-Za-z0-9])+)", text)
    assert found, text
    return found.group(1).replace("\\", "")


async def test_an_admin_adds_a_unit_and_invites_its_liaison(world: DingTalkWorld) -> None:
    [added] = await world.say(ADMIN_STAFF, "/addunit 招商三局 三局 一序列")
    assert "招商三局" in added.text
    [listed] = await world.say(ADMIN_STAFF, "/units")
    assert "招商三局" in listed.text
    [created] = await world.say(ADMIN_STAFF, "/invite 招商三局 专干 3d")
    assert "已生成 1 个邀请链接" in created.text and "私聊机器人" in created.text
    [joined] = await world.say("liaison2", code_of(created.text))
    assert "欢迎" in joined.text and "招商三局" in joined.text
    [active] = await world.say(ADMIN_STAFF, "/invites")
    assert "#1 招商三局" in active.text
    [revoked] = await world.say(ADMIN_STAFF, "/revoke 1")
    assert "招商三局" in revoked.text
    [none] = await world.say(ADMIN_STAFF, "/invites")
    assert "#1" not in none.text
    [help_text] = await world.say(ADMIN_STAFF, "帮助")
    assert "/invite" in help_text.text
    [members] = await world.say(ADMIN_STAFF, "/members 招商三局")
    assert "李联络" in members.text and "招商三局" in members.text
    [renamed] = await world.say(ADMIN_STAFF, "/renameunit 招商三局 | 招商三处")
    assert "招商三局" in renamed.text and "招商三处" in renamed.text
    [unknown] = await world.say(ADMIN_STAFF, "/members 不存在的局")
    assert "李联络" not in unknown.text


async def test_invites_are_for_admins_and_one_to_one(world: DingTalkWorld) -> None:
    await world.join("liaison1", "招商一局")
    [refused] = await world.say("liaison1", "/invite 招商一局 专干")
    assert "管理员" in refused.text and "邀请码" not in refused.text
    [group] = await world.say(ADMIN_STAFF, "/invite 招商一局 专干", group="cidunit1")
    assert "请在与机器人的私聊中使用此命令" in group.text
    [usage] = await world.say(ADMIN_STAFF, "/invite 招商一局")
    assert "邀请码" not in usage.text


async def test_an_admin_sends_the_unit_sheet_to_the_robot(world: DingTalkWorld) -> None:
    sheet = "名称,简称\n招商四局,四局\n招商五局,五局\n招商四局,重复\n".encode()
    [report] = await world.send_file(ADMIN_STAFF, "units.csv", sheet)
    assert (
        "已导入 2 个单位，跳过 1 行" in report.text and "第 4 行：与「招商四局」重复" in report.text
    )
    [listed] = await world.say(ADMIN_STAFF, "/units")
    assert "招商四局" in listed.text and "招商五局" in listed.text
    await world.join("liaison1", "招商一局")
    [not_admin] = await world.send_file("liaison1", "units.csv", sheet)
    assert "已收到文件「units\\.csv」" in not_admin.text  # a liaison's sheet is just a file


async def test_an_admin_skips_a_week_and_takes_it_back(world: DingTalkWorld) -> None:
    [usage] = await world.say(ADMIN_STAFF, "/skipweek")
    assert "/skipweek" in usage.text
    [skipped] = await world.say(ADMIN_STAFF, "/skipweek 下周 春节")
    assert "2026\\-W48" in skipped.text and "春节" in skipped.text
    [listed] = await world.say(ADMIN_STAFF, "/skipweek")
    assert "2026\\-W48" in listed.text
    [back] = await world.say(ADMIN_STAFF, "/skipweek 2026-W48 off")
    assert "已取消" in back.text and "2026\\-W48" in back.text
