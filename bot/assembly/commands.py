"""The command registry: one list feeds /help and the Telegram command menus.

A command appears for the roles that may use it, in the chat kinds where it works.
Descriptions live in the catalog as ``cmd.<name>``. :data:`ALIASES` are the Chinese words
that run a command on every channel (a message that is exactly ``周报`` runs ``/weekly``
on Telegram and on DingTalk alike).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.enums import Role

MEMBER = frozenset({Role.LIAISON, Role.HEAD, Role.LEADER, Role.ADMIN})
UNIT = frozenset({Role.LIAISON, Role.HEAD})
LEADERS = frozenset({Role.LEADER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[Role]
    private: bool = True
    group: bool = False
    needs: str = ""  # a channel that must be on for the command to be listed ("dingtalk")


COMMANDS: list[Command] = [
    Command("start", MEMBER),
    Command("help", MEMBER, group=True),
    Command("lang", MEMBER),
    Command("report", UNIT, group=True),
    Command("leads", MEMBER),
    Command("lead", MEMBER),
    Command("stage", MEMBER),
    Command("edit", UNIT),
    Command("verify", LEADERS),
    Command("reject", LEADERS),
    Command("confirm", LEADERS),
    Command("weekly", UNIT, group=True),
    Command("status", MEMBER, group=True),
    Command("leave", UNIT),
    Command("activity", MEMBER, group=True),
    Command("activities", MEMBER),
    Command("verify_activity", LEADERS),
    Command("reject_activity", LEADERS),
    Command("trips", UNIT),
    Command("rank", MEMBER, group=True),
    Command("score", MEMBER, group=True),
    Command("board", LEADERS, group=True),
    Command("adjust", LEADERS),
    Command("funds", MEMBER),
    Command("tax", MEMBER),
    Command("export", LEADERS),
    Command("digest", LEADERS, group=True),
    Command("web", MEMBER),
    Command("link", MEMBER, needs="dingtalk"),
    Command("cancel", MEMBER),
    Command("units", LEADERS),
    Command("members", ADMIN),
    Command("addunit", ADMIN),
    Command("renameunit", ADMIN),
    Command("importunits", ADMIN),
    Command("invite", ADMIN),
    Command("invites", ADMIN),
    Command("revoke", ADMIN),
    Command("bind", ADMIN, private=False, group=True),
    Command("unbind", ADMIN, private=False, group=True),
    Command("skipweek", ADMIN),
    Command("health", ADMIN),
]


# One table for every channel: the alias → the command it runs.
ALIASES: dict[str, str] = {
    "开始": "start",
    "帮助": "help",
    "报送线索": "report",
    "报送": "report",
    "周报": "weekly",
    "状态": "status",
    "排名": "rank",
    "得分": "score",
    "线索": "leads",
    "活动": "activity",
    "资金": "funds",
    "税收": "tax",
    "绑定": "bind",
    "解绑": "unbind",
    "取消": "cancel",
    "关联": "link",
}


def alias_of(name: str) -> str | None:
    """The alias shown beside a command in /help (the first in the table), if any."""
    return next((alias for alias, command in ALIASES.items() if command == name), None)


def for_role(
    role: Role | None, *, group: bool = False, enabled: frozenset[str] = frozenset()
) -> list[Command]:
    """The commands ``role`` may use here; ``enabled`` names the channels that are on, so a
    command that needs one (``/link`` needs DingTalk) is listed only when it would work."""
    if role is None:
        return [c for c in COMMANDS if c.name in ("start", "help")]
    return [
        c
        for c in COMMANDS
        if role in c.roles
        and (c.group if group else c.private)
        and (not c.needs or c.needs in enabled)
    ]


def group_only(role: Role | None) -> list[Command]:
    """Commands of ``role`` that work only in a group (/bind, /unbind): /help lists them apart."""
    if role is None:
        return []
    return [c for c in COMMANDS if role in c.roles and c.group and not c.private]
