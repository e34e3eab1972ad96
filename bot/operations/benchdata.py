"""``leadbot bench-data``: a large, realistic jurisdiction for the benchmarks (bench/*.py).

Units (乡镇、县直部门、园区), their liaisons and heads, leads with Chinese company
names over the years (stages moved forward over time, reviews, a few duplicates
and edits), activities and the weekly submissions of every week -- written with
bulk Core inserts in a few large transactions -- then the ledger and the
per-period scores derived by the real scoring code (``refresh_unit`` per unit),
so the ledger is what the bot itself would hold. Deterministic for a seed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, text

from bot.domain.dedup import company_key
from bot.services import scoring
from bot.services.scoring import ScoringSetup
from storage.db import Database
from storage.models import (
    Activity,
    Base,
    JobMark,
    Lead,
    LeadEvent,
    LedgerEntry,
    Member,
    Unit,
    WeeklySubmission,
    WeeklyVersion,
)

PLACES = [
    "城关",
    "华埠",
    "马金",
    "池淮",
    "杨林",
    "苏庄",
    "长虹",
    "何田",
    "齐溪",
    "音坑",
    "中村",
    "村头",
    "桐村",
    "张湾",
    "林山",
    "芹阳",
    "大溪边",
    "塘坞",
]
DEPARTMENTS = [
    "发展和改革局",
    "经济和信息化局",
    "商务局",
    "科学技术局",
    "财政局",
    "自然资源和规划局",
    "住房和城乡建设局",
    "交通运输局",
    "农业农村局",
    "文化和广电旅游体育局",
    "卫生健康局",
    "市场监督管理局",
    "生态环境分局",
    "水利局",
    "人力资源和社会保障局",
    "应急管理局",
    "统计局",
    "投资促进中心",
    "供销社",
    "工商联",
]
PARKS = ["经济开发区", "高新技术产业园", "生态工业园", "文旅度假区", "物流园区", "数字经济产业园"]
SYLLABLES = "华鑫泰宏盛达新通远恒源嘉瑞丰永信海天金银博创德隆浙衢开钱江越辰宇锦晟昊".strip()
TRADES = [
    "科技",
    "新能源",
    "新材料",
    "智能装备",
    "生物医药",
    "化工",
    "电子",
    "物流",
    "食品",
    "精密机械",
    "文旅",
    "数字科技",
    "环保",
    "纺织",
]
SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司", "实业有限公司"]
PROJECTS = [
    "年产10万吨",
    "智能制造",
    "总部基地",
    "研发中心",
    "生产线技改",
    "仓储物流中心",
    "光伏电站",
    "文旅综合体",
    "数据中心",
]
INDUSTRIES = [
    "新能源",
    "新材料",
    "高端装备",
    "生物医药",
    "数字经济",
    "文化旅游",
    "现代农业",
    "其他",
]
ORIGINS = ["省外", "省内", "境外", "本地"]
NOTES = [
    "已完成项目对接",
    "双方就用地问题再次洽谈",
    "存在问题：用地指标待落实",
    "项目方考察园区",
    "合同文本修改中",
]
TIMES = [1, 1, 1, 1, 2, 2, 3]


@dataclass(frozen=True)
class BenchSize:
    units: int = 300
    leads: int = 100_000
    ledger: int = 1_000_000
    years: int = 5
    seed: int = 20261117
    liaisons: int = 1
    """Liaisons a unit (1 to 9): bench/reminders.py wants three, as a busy unit has. The ones
    beyond the first get member ids after everybody else's, so the default writes what it did."""


@dataclass
class BenchReport:
    units: int
    leads: int
    lead_events: int
    activities: int
    weekly: int
    ledger: int
    seconds: float


def unit_names(n: int) -> list[tuple[str, str, str]]:
    """(name, short name, category): towns first, then departments, then parks, numbered beyond."""
    pool = [(f"{p}镇", p, "乡镇（街道）") for p in PLACES]
    pool += [(d, d[:4], "县直部门") for d in DEPARTMENTS]
    pool += [(p, p[:4], "园区平台") for p in PARKS]
    out = pool[:n]
    i = 0
    while len(out) < n:
        base = pool[i % len(pool)]
        out.append(
            (f"{base[0]}{i // len(pool) + 2}分部", f"{base[1]}{i // len(pool) + 2}", base[2])
        )
        i += 1
    return out


def company_name(rng: random.Random) -> str:
    return (
        "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4)))
        + rng.choice(TRADES)
        + rng.choice(SUFFIXES)
    )


def _chunks(rows: Sequence[dict[str, Any]], size: int = 5000) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


async def _bulk(db: Database, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk Core inserts (the table's, not the ORM's bulk path: that one walks every row through
    the mapper first and took half the writing time), 50 000 rows per transaction (other
    writers still get their turn)."""
    table = model.__table__
    for i in range(0, len(rows), 50_000):
        async with db.session() as session:
            conn = await session.connection()
            for chunk in _chunks(rows[i : i + 50_000]):
                await conn.execute(insert(table), list(chunk))


async def _advance_sequences(db: Database) -> None:
    """PostgreSQL: the rows went in with their ids, so move each id sequence past them -- else
    the bot's first insert (the weekly close's submission rows) collides with row 1."""
    if db.is_sqlite:
        return
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            column = table.c.get("id")
            if column is None or not column.primary_key or column.autoincrement is False:
                continue
            sequence = await session.scalar(
                text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
            )
            if sequence:
                await session.execute(
                    text(
                        f"SELECT setval(:s, (SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                    ),
                    {"s": sequence},
                )


def _estimated_lines(stage_moves: int, leads: int, weekly: int) -> int:
    """Ledger lines the leads and weeks will give (≈): the rest is made up with activities."""
    return leads * 3 // 10 + weekly * 3 // 20


async def write(
    db: Database,
    setup: ScoringSetup,
    now: datetime,
    size: BenchSize,
    progress: Callable[[str], None] = lambda _: None,
) -> BenchReport:
    """Fill an empty, migrated database; returns the counts written.

    Every phase draws from one random stream in a fixed order, so a seed gives the same rows
    whatever the chunking; each progress line says the seconds since the start.
    """
    started = time.perf_counter()

    def said(line: str) -> None:
        progress(f"{line} ({time.perf_counter() - started:.0f} s)")

    rng = random.Random(size.seed)
    first = now - timedelta(days=365 * size.years)
    created = first - timedelta(days=30)
    units, members = _people(size.units, created, size.liaisons)
    await _bulk(db, Unit, units)
    await _bulk(db, Member, members)
    said(f"units {len(units)}, members {len(members)}")
    lead_events = await _write_leads(db, rng, setup, size, first, now)
    said(f"leads {size.leads}, lead events {lead_events}")
    weekly = await _write_weekly(db, rng, setup, units, first, now)
    said(f"weekly submissions {weekly}")
    n_acts = max(0, size.ledger - _estimated_lines(0, size.leads, weekly))
    await _write_activities(db, rng, setup, size.units, n_acts, first, now)
    said(f"activities {n_acts}")
    await _advance_sequences(db)
    await _derive(db, setup, [u["id"] for u in units], now, said)
    async with db.session() as session:
        await scoring.remember_rules(session, setup, now)
        counts = [
            int(await session.scalar(select(func.count()).select_from(t)) or 0)
            for t in (Lead, LeadEvent, Activity, WeeklySubmission, LedgerEntry)
        ]
    return BenchReport(
        size.units,
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        time.perf_counter() - started,
    )


def _people(
    n: int, created: datetime, liaisons: int = 1
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The units, then the leader and each unit's liaison and head, then (``liaisons`` > 1) each
    unit's further liaisons: the leads' reporter ids count on the first members' order."""
    if not 1 <= liaisons <= 9:
        raise ValueError("liaisons a unit: 1 to 9 (their Telegram ids are unit * 10 + k)")
    units: list[dict[str, Any]] = [
        {"id": i, "name": n, "short_name": s, "category": c, "active": True, "created_at": created}
        for i, (n, s, c) in enumerate(unit_names(n), start=1)
    ]
    members: list[dict[str, Any]] = [_member(1, 900_000_001, None, "leader", "县领导", created)]
    for u in units:
        for k, role in enumerate(("liaison", "head")):
            name = ("联络员" if k == 0 else "负责人") + u["short_name"]
            tg = 800_000_000 + u["id"] * 10 + k
            members.append(_member(len(members) + 1, tg, u["id"], role, name, created))
    for u in units:
        for k in range(2, liaisons + 1):
            tg = 800_000_000 + u["id"] * 10 + k
            name = f"联络员{u['short_name']}{k}"
            members.append(_member(len(members) + 1, tg, u["id"], "liaison", name, created))
    return units, members


def _member(
    member_id: int, tg: int, unit: int | None, role: str, name: str, created: datetime
) -> dict[str, Any]:
    return {
        "id": member_id,
        "tg_user_id": tg,
        "unit_id": unit,
        "role": role,
        "display_name": name,
        "username": None,
        "locale": None,
        "active": True,
        "joined_at": created,
        "invite_id": None,
    }


async def _write_leads(
    db: Database,
    rng: random.Random,
    setup: ScoringSetup,
    size: BenchSize,
    first: datetime,
    now: datetime,
) -> int:
    """The leads, written 50 000 at a time as they are drawn, then their events in time order
    (the order gives the events' ids). Returns the events written."""
    stages = list(setup.rules.stages)
    span = (now - first).total_seconds()
    leads: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    firsts: dict[str, int] = {}
    for lead_id in range(1, size.leads + 1):
        leads.append(_lead(rng, lead_id, size.units, first, span, stages, firsts, now, events))
        if len(leads) == 50_000:
            await _bulk(db, Lead, leads)
            leads = []
    await _bulk(db, Lead, leads)
    events.sort(key=lambda e: (e["at"], e["lead_id"]))
    await _bulk(db, LeadEvent, events)
    return len(events)


def _lead(
    rng: random.Random,
    lead_id: int,
    n_units: int,
    first: datetime,
    span: float,
    stages: list[str],
    firsts: dict[str, int],
    now: datetime,
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    """One lead's row; its events (report, stage moves, review, an edit) go to ``events``."""
    unit = rng.randint(1, n_units)
    at = first + timedelta(seconds=rng.random() * span)
    at = at.replace(microsecond=0)
    name = company_name(rng)
    key = company_key(name)
    dup = firsts.get(key) if rng.random() < 0.6 else None
    if dup is None and key in firsts:
        name = name.replace("有限公司", f"第{lead_id}有限公司")
        key = company_key(name)
    roll = rng.random()
    review = "verified" if roll < 0.65 else ("rejected" if roll < 0.7 else "pending")
    amount = Decimal(rng.choice([500, 1000, 3000, 5000, 10000, 20000, 50000]))
    liaison = 800_000_000 + unit * 10

    def event(kind: str, when: datetime, **values: Any) -> None:
        row = {"from_value": None, "to_value": None, "field": None, "note": None} | values
        events.append(
            {"lead_id": lead_id, "unit_id": unit, "at": when, "kind": kind}
            | {"actor_tg_id": liaison}
            | row
        )

    stage = stages[0]
    event("report", at, to_value=stage)
    when = at
    for step, nxt in enumerate(stages[1:]):
        # Most leads stay leads; about one in twelve gets to talks, half of those further, …
        if rng.random() > (0.08 if step == 0 else 0.5) or dup is not None or review == "rejected":
            break
        when = when + timedelta(days=rng.randint(5, 200), hours=rng.randint(0, 8))
        if when >= now:
            break
        event("stage", when, from_value=stage, to_value=nxt, note=rng.choice(NOTES))
        stage = nxt
    reviewed_at = None
    if review != "pending":
        reviewed_at = min(at + timedelta(days=rng.randint(1, 20)), now - timedelta(hours=1))
        kind = "verify" if review == "verified" else "reject"
        event(kind, reviewed_at, actor_tg_id=900_000_001)
    if rng.random() < 0.05:
        edit_at = min(at + timedelta(days=rng.randint(1, 60)), now - timedelta(hours=2))
        before = amount
        amount = amount * 2
        event("edit", edit_at, from_value=f"{before}", to_value=f"{amount}", field="amount_wan")
    if dup is None:
        firsts[key] = lead_id
    return {
        "id": lead_id,
        "unit_id": unit,
        "reporter_id": 2 + (unit - 1) * 2,
        "reported_at": at,
        "updated_at": when,
        "project": f"{name[:4]}{rng.choice(PROJECTS)}项目",
        "company": name,
        "company_key": key,
        "first_key": None if dup is not None else key,
        "duplicate_of": dup,
        "industry": rng.choice(INDUSTRIES),
        "amount_wan": amount,
        "origin": rng.choice(ORIGINS),
        "stage": stage,
        "tags": [],
        "foreign_usd": None,
        "contact_name": None,
        "contact_phone": None,
        "channel": None,
        "notes": None,
        "attachments": [],
        "review": review,
        "review_note": None,
        "reviewed_by": 900_000_001 if reviewed_at else None,
        "reviewed_at": reviewed_at,
        "near_confirmed": False,
    }


async def _write_weekly(
    db: Database,
    rng: random.Random,
    setup: ScoringSetup,
    units: list[dict[str, Any]],
    first: datetime,
    now: datetime,
) -> int:
    """Every unit's submission of every week closed by ``now``, the accepted versions and the
    scheduler's close marks. Returns the submissions written."""
    periods = setup.periods
    subs: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    week = periods.week_of(first)
    while week.deadline < now:
        for u in units:
            roll = rng.random()
            outcome = "on_time" if roll < 0.85 else ("late" if roll < 0.95 else "missing")
            sub_id = len(subs) + 1
            version_id = None
            done_at = None
            if outcome != "missing":
                version_id = len(versions) + 1
                done_at = week.deadline + (
                    timedelta(hours=rng.randint(2, 60))
                    if outcome == "late"
                    else -timedelta(hours=rng.randint(1, 72))
                )
                versions.append(_version(version_id, sub_id, u["id"], done_at, outcome == "late"))
            subs.append(
                {
                    "id": sub_id,
                    "unit_id": u["id"],
                    "period_key": week.key,
                    "latest_number": 1 if version_id else 0,
                    "latest_status": "confirmed" if version_id else None,
                    "accepted_version_id": version_id,
                    "outcome": outcome,
                    "done_at": done_at,
                    "missing_marked_at": week.deadline if outcome == "missing" else None,
                    "updated_at": done_at or week.deadline,
                }
            )
        week = periods.next(week)
    await _bulk(
        db,
        JobMark,
        [{"name": f"close:{k}", "at": now} for k in sorted({s["period_key"] for s in subs})],
    )
    await _bulk(db, WeeklySubmission, subs)
    await _bulk(db, WeeklyVersion, versions)
    return len(subs)


def _version(
    version_id: int, sub_id: int, unit: int, done_at: datetime, late: bool
) -> dict[str, Any]:
    return {
        "id": version_id,
        "submission_id": sub_id,
        "number": 1,
        "content": {"work": "本周开展项目对接和走访", "trips": [], "progress": []},
        "submitted_by_tg": 800_000_000 + unit * 10,
        "submitted_by_name": "联络员",
        "submitted_at": done_at,
        "status": "confirmed",
        "late": late,
        "decided_at": done_at,
        "decided_by_tg": 800_000_001 + unit * 10,
        "return_reason": None,
    }


async def _write_activities(
    db: Database,
    rng: random.Random,
    setup: ScoringSetup,
    n_units: int,
    count: int,
    first: datetime,
    now: datetime,
) -> None:
    """``count`` verified activities over the years, written 50 000 at a time as they are drawn
    (a million rows held at once would be a gigabyte)."""
    kinds: list[str] = [
        k for k in ("training", "packaging", "event", "intent") if k in setup.rules.activities
    ]
    kinds = kinds or sorted(setup.rules.activities)
    days = max(1, (now.date() - first.date()).days)
    acts: list[dict[str, Any]] = []
    for i in range(1, count + 1):
        unit = rng.randint(1, n_units)
        on = first.date() + timedelta(days=rng.randrange(days))
        acts.append(
            {
                "id": i,
                "unit_id": unit,
                "reporter_id": 2 + (unit - 1) * 2,
                "created_by": 800_000_000 + unit * 10,
                "lead_id": None,
                "kind": rng.choice(kinds),
                "on_date": on,
                "text": f"开展招商活动{i}",
                "amount_usd": None,
                "attachments": [],
                "review": "verified",
                "review_note": None,
                "reviewed_by": None,
                "reviewed_at": None,
                "created_at": datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=10),
                "origin_ref": None,
            }
        )
        if len(acts) == 50_000:
            await _bulk(db, Activity, acts)
            acts = []
    await _bulk(db, Activity, acts)


async def _derive(
    db: Database,
    setup: ScoringSetup,
    unit_ids: list[int],
    now: datetime,
    progress: Callable[[str], None],
) -> None:
    """Each unit's ledger and scores by the real scoring code, as ``leadbot rescore`` would."""
    for unit_id in unit_ids:
        async with db.session() as session:
            await scoring.refresh_unit(session, unit_id, setup, None, now, full_scores=True)
        if unit_id % 50 == 0:
            progress(f"ledger derived for {unit_id} units")


def default_now() -> datetime:
    """The benches' fixed clock: a Tuesday in November (mid-month, mid-week)."""
    return datetime(2026, 11, 17, 2, 0, tzinfo=UTC)


def first_day(now: datetime, years: int) -> date:
    return (now - timedelta(days=365 * years)).date()
