"""A small demo jurisdiction, so a newcomer sees the bot working at once.

Seeded by ``leadbot console --demo`` into a fresh database: four units in two
categories (序列), each with a liaison and a head, a leader, an admin, and a
work group per unit plus the leaders' group, already bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat, ChatKind, Member, Role, Unit

ADMIN_ID = 1000
LEADER_ID = 1001
LEADERS_GROUP_ID = -1001000000999

UNITS = [
    # name, short name, category, liaison, head
    ("招商引资部", "招商部", "一序列", "张三", "赵主任"),
    ("经济发展局", "经发局", "一序列", "李四", "钱局长"),
    ("规划建设局", "规建局", "二序列", "王五", "孙局长"),
    ("财政局", "财政局", "二序列", "刘六", "周局长"),
]


@dataclass(frozen=True)
class DemoUser:
    handle: str
    tg_id: int
    name: str
    role: Role
    unit: str | None


@dataclass(frozen=True)
class DemoGroup:
    tg_chat_id: int
    title: str
    unit: str | None  # None: the leaders' group


@dataclass(frozen=True)
class DemoWorld:
    users: list[DemoUser]
    groups: list[DemoGroup]


def demo_world() -> DemoWorld:
    users = [
        DemoUser("admin", ADMIN_ID, "系统管理员", Role.ADMIN, None),
        DemoUser("leader", LEADER_ID, "王主任", Role.LEADER, None),
    ]
    groups = [DemoGroup(LEADERS_GROUP_ID, "招商引资领导小组", None)]
    for i, (name, _short, _cat, liaison, head) in enumerate(UNITS, start=1):
        users.append(DemoUser(f"liaison{i}", 1100 + i, liaison, Role.LIAISON, name))
        users.append(DemoUser(f"head{i}", 1200 + i, head, Role.HEAD, name))
        groups.append(DemoGroup(-1001000000000 - i, f"{name}工作群", name))
    return DemoWorld(users, groups)


async def seed_demo(session: AsyncSession, now: datetime) -> DemoWorld:
    world = demo_world()
    units: dict[str, Unit] = {}
    for name, short, category, _l, _h in UNITS:
        units[name] = Unit(name=name, short_name=short, category=category, active=True, created_at=now)
        session.add(units[name])
    await session.flush()
    for user in world.users:
        unit_id = units[user.unit].id if user.unit else None
        session.add(
            Member(
                tg_user_id=user.tg_id, unit_id=unit_id, role=user.role.value,
                display_name=user.name, active=True, joined_at=now,
            )
        )  # fmt: skip
    for group in world.groups:
        kind = ChatKind.UNIT if group.unit else ChatKind.LEADERS
        unit_id = units[group.unit].id if group.unit else None
        session.add(
            Chat(
                tg_chat_id=group.tg_chat_id, kind=kind.value, unit_id=unit_id,
                title=group.title, bound_by=ADMIN_ID, bound_at=now,
            )
        )  # fmt: skip
    return world
