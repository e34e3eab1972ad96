"""A small demo jurisdiction, so a newcomer sees the bot working at once.

Seeded by ``leadbot console --demo`` into a fresh database: four units in two
categories (序列), each with a liaison and a head, a leader, an admin, and a
work group per unit plus the leaders' group, already bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.enums import ChatKind, Role
from storage.models import Chat, Member, Unit

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


async def seed_demo(
    session: AsyncSession, now: datetime, since: datetime | None = None
) -> DemoWorld:
    """``since``: when the units and members came to be (the console backdates them so
    that the history :func:`seed_history` adds falls within their lifetime)."""
    world = demo_world()
    now = since or now
    units: dict[str, Unit] = {}
    for name, short, category, _l, _h in UNITS:
        units[name] = Unit(
            name=name, short_name=short, category=category, active=True, created_at=now
        )
        session.add(units[name])
    await session.flush()
    for user in world.users:
        unit_id = units[user.unit].id if user.unit else None
        session.add(
            Member(
                tg_user_id=user.tg_id,
                unit_id=unit_id,
                role=user.role.value,
                display_name=user.name,
                active=True,
                joined_at=now,
            )
        )
    for group in world.groups:
        kind = ChatKind.UNIT if group.unit else ChatKind.LEADERS
        unit_id = units[group.unit].id if group.unit else None
        session.add(
            Chat(
                tg_chat_id=group.tg_chat_id,
                kind=kind.value,
                unit_id=unit_id,
                title=group.title,
                bound_by=ADMIN_ID,
                bound_at=now,
            )
        )
    return world


# --- a few weeks of history, made through the services ---------------------------------
# (so the ledger, /rank and /score are derived exactly as in real use)

DEMO_LEADS = [
    # unit index, weeks ago, project, company, industry, 万元, origin, stage path, verified
    (
        0,
        5,
        "高端轴承生产线",
        "洛阳精工轴承股份有限公司",
        "装备制造",
        "12000",
        "省外",
        ["在谈", "签约", "落地"],
        True,
    ),
    (
        0,
        3,
        "锂电池正极材料",
        "湖南新材料科技有限公司",
        "新材料",
        "30000",
        "省外",
        ["在谈", "签约"],
        True,
    ),
    (
        1,
        4,
        "数据中心二期",
        "北京云算科技有限公司",
        "大数据和新一代信息技术",
        "50000",
        "省外",
        ["在谈"],
        True,
    ),
    (1, 2, "冷链物流园", "本地冷链物流有限公司", "现代服务业", "3000", "本地", [], False),
    (
        2,
        4,
        "光伏组件",
        "浙江阳光能源集团有限公司",
        "新能源",
        "8000",
        "省外",
        ["在谈", "签约"],
        True,
    ),
    (2, 1, "生物医药中间体", "江苏康润医药化工有限公司", "生物医药", "6000", "省外", [], False),
    (3, 2, "文旅综合体", "山西文旅投资有限公司", "文化旅游", "20000", "省内市外", ["在谈"], False),
    (
        1,
        1,
        "高端轴承配套",
        "洛阳精工轴承有限公司",
        "装备制造",
        "2000",
        "省外",
        [],
        False,
    ),  # a duplicate of L0001
]


async def seed_history(db: Any, settings: Any, now: datetime) -> None:
    """Leads with stage moves and reviews, weekly submissions and an activity, over five weeks."""
    from bot.services import access, activities, lead_updates, leads, scoring
    from bot.services.weekly import WeeklyConfig

    setup = scoring.setup_for(settings)
    world = demo_world()
    actors = {}
    async with db.session() as session:
        for user in world.users:
            actors[user.handle] = await access.resolve_actor(
                session, settings, user.tg_id, user.name, None
            )
    leader = actors["leader"]
    for unit_index, weeks, project, company, industry, amount, origin, path, verified in DEMO_LEADS:
        at = now - timedelta(weeks=weeks)
        liaison = actors[f"liaison{unit_index + 1}"]
        draft = leads.LeadDraft(
            project,
            company,
            industry,
            Decimal(amount),
            origin,
            "线索",
            ("高新技术",) if verified else (),
        )
        async with db.session() as session:
            result = await leads.report_lead(session, at, liaison, draft, settings)
        for step, stage in enumerate(path, start=1):
            async with db.session() as session:
                await lead_updates.move_stage(
                    session,
                    at + timedelta(days=step),
                    liaison,
                    result.lead_id,
                    stage,
                    None,
                    settings,
                )
        if verified:
            async with db.session() as session:
                await lead_updates.verify_lead(
                    session, at + timedelta(hours=3), leader, result.lead_id, setup=setup
                )
    await _seed_weekly(
        db, settings, now, actors, WeeklyConfig.from_settings(settings, setup.periods, setup)
    )
    async with db.session() as session:
        made = await activities.record_activity(
            session,
            now - timedelta(days=9),
            actors["liaison2"],
            activities.ActivityDraft(
                "training",
                (now - timedelta(days=9)).astimezone(setup.zone).date(),
                "参加全省招商引资业务培训",
            ),
            setup,
        )
    async with db.session() as session:
        await activities.verify_activity(
            session, now - timedelta(days=8), leader, made.activity_id, setup
        )


async def _seed_weekly(
    db: Any, settings: Any, now: datetime, actors: dict[str, Any], cfg: Any
) -> None:
    """Three past weeks: most units on time, one late, one missing; this week still open."""
    from bot.services import weekly

    plan = {
        1: ["liaison1", "liaison2", "liaison3"],
        2: ["liaison1", "liaison2", "liaison4"],
        3: ["liaison1", "liaison3"],
    }
    for weeks_ago, handles in plan.items():
        period = cfg.periods.week_of(now - timedelta(weeks=weeks_ago))
        for handle in handles:
            late = handle == "liaison4"
            when = period.deadline + (timedelta(hours=20) if late else -timedelta(hours=26))
            actor = actors[handle]
            async with db.session() as session:
                form = await weekly.open_form(session, when, cfg, actor)
                for section in ("leads", "trips", "progress", "work"):
                    form = await weekly.set_none(session, when, cfg, actor, section)
                result = await weekly.submit(
                    session, when, cfg, actor, form.draft_id, form.rev, settings
                )
            head = actors[handle.replace("liaison", "head")]
            async with db.session() as session:
                await weekly.decide(
                    session, when + timedelta(hours=1), cfg, head, result.version_id, confirm=True
                )
