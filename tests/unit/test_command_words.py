"""The words every channel reads the same way: the alias table, ``/invite`` and ``/addunit``
arguments, and DingTalk's command parsing on top of them."""

from __future__ import annotations

import pytest

from bot.assembly.commands import ALIASES, COMMANDS, alias_of
from bot.domain.enums import Role
from bot.services import ServiceError
from bot.services.invites import parse_invite_command
from bot.services.units import parse_rename_words, parse_unit_words
from handlers.aliases import alias_of_text
from handlers.dingtalk.adapter import parse_command
from handlers.dingtalk.commands import lead_ref


def test_every_alias_names_a_command_and_help_shows_the_first() -> None:
    names = {c.name for c in COMMANDS}
    assert set(ALIASES.values()) <= names
    assert alias_of("report") == "报送线索" and alias_of("weekly") == "周报"
    assert alias_of("lang") is None


def test_an_alias_on_telegram_is_the_whole_message() -> None:
    assert alias_of_text(" 周报 ") == "weekly"
    assert alias_of_text("周报 本周") is None and alias_of_text(None) is None


def test_an_alias_on_dingtalk_may_carry_arguments() -> None:
    assert parse_command("资金 L0007 3000万", private=True) == ("funds", "L0007 3000万")
    assert parse_command("/Rank@bot 月", private=False) == ("rank", "月")
    assert parse_command("周报进度怎么样", private=True) is None


def test_a_bare_lead_code_is_one_word() -> None:
    assert lead_ref("L0007") == 7 and lead_ref(" l7 ") == 7
    assert lead_ref("L0007 签约") is None and lead_ref("7") is None


def test_invite_words() -> None:
    command = parse_invite_command("招商 引资部 专干×2 负责人 once 3d")
    assert command.unit == "招商 引资部" and command.single and command.days == 3
    assert [(r.role, r.count) for r in command.requests] == [(Role.LIAISON, 2), (Role.HEAD, 1)]
    assert parse_invite_command("领导").unit is None
    with pytest.raises(ServiceError) as err:
        parse_invite_command("招商引资部")
    assert err.value.code == "invite.usage"


def test_unit_words() -> None:
    assert parse_unit_words("招商引资部 招商部 一序列") == ("招商引资部", "招商部", "一序列")
    assert parse_unit_words("经济 发展局 | 经发局") == ("经济 发展局", "经发局", None)
    assert parse_unit_words("") == ("", None, None)
    assert parse_rename_words("旧名 | 新 名") == ("旧名", "新 名")
    assert (
        parse_rename_words("旧名 新名") == ("旧名", "新名") and parse_rename_words("旧名") is None
    )
