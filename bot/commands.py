"""The command registry: one list feeds /help and the Telegram command menus.

A command appears for the roles that may use it, in the chat kinds where it works.
Descriptions live in the catalog as ``cmd.<name>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Role

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


COMMANDS: list[Command] = [
    Command("start", MEMBER),
    Command("help", MEMBER, group=True),
    Command("lang", MEMBER),
    Command("report", UNIT, group=True),
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
]


def for_role(role: Role | None, *, group: bool = False) -> list[Command]:
    if role is None:
        return [c for c in COMMANDS if c.name in ("start", "help")]
    return [c for c in COMMANDS if role in c.roles and (c.group if group else c.private)]
