"""``leadbot console --channel dingtalk`` replays a script through the DingTalk stand-in."""

from __future__ import annotations

import io

from bot.assembly.config import Settings
from bot.assembly.dingtalk_console import run_dingtalk_console

SCRIPT = """\
:user liaison1
报送线索
动力电池项目
某某新材料有限公司
:press 11
:chat group 招商引资部
周报
/importunitz
:user stranger
:chat private
排名
:quit
"""


async def test_console_shows_cards_with_numbered_buttons_and_presses_them() -> None:
    out = io.StringIO()
    rc = await run_dingtalk_console(Settings(), demo=True, stdin=io.StringIO(SCRIPT), stdout=out)
    text = out.getvalue()
    assert rc == 0
    assert "robot [DingTalk sampleActionCard5]:" in text and "[1 新能源]" in text
    assert "[11 其他]" in text and "[press 其他]" in text
    assert "请输入计划投资额" in text  # the press moved the form on
    assert "请在与机器人的私聊中使用此命令" in text  # 周报 in a group: forms are 1:1
    assert "没有这个命令" in text  # a typo of a command
    assert "仅供已登记的单位使用" in text  # the stranger
