"""Units of the jurisdiction: add, rename, list, import from a sheet."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, overload

from rapidfuzz import fuzz, process
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import ServiceError
from storage import repo
from storage.models import Unit

NAME_MAX = 100
SHORT_MAX = 40
CATEGORY_MAX = 40
MAX_IMPORT_ROWS = 10_000
_SPACES = re.compile(r"\s+")
_SPLIT = re.compile(r"\s*[|｜]\s*")


def parse_unit_words(text: str) -> tuple[str, str | None, str | None]:
    """``/addunit 招商引资部 招商部 一序列`` (or with ``|`` when a name has spaces):
    the name, the short name, the 序列."""
    parts = _SPLIT.split(text) if _SPLIT.search(text) else text.split()
    name, short, category = [*parts, None, None, None][:3]
    return name or "", short, category


def parse_rename_words(text: str) -> tuple[str, str] | None:
    """``/renameunit 旧名 | 新名`` (or two words): the old and new name, None if not two."""
    parts = _SPLIT.split(text) if _SPLIT.search(text) else text.split(maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else None


@overload
def clean_field(value: object, limit: int, field_name: str, required: Literal[True]) -> str: ...
@overload
def clean_field(
    value: object, limit: int, field_name: str, required: bool = False
) -> str | None: ...
def clean_field(value: object, limit: int, field_name: str, required: bool = False) -> str | None:
    """Trim, fold inner whitespace, drop control characters; enforce a length."""
    text = _SPACES.sub(" ", "" if value is None else str(value))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if not text:
        if required:
            raise ServiceError(f"units.{field_name}_empty")
        return None
    if len(text) > limit:
        raise ServiceError(f"units.{field_name}_too_long", limit=limit, length=len(text))
    return text


@dataclass(frozen=True)
class UnitRow:
    id: int
    name: str
    short_name: str | None
    category: str | None
    members: int = 0


@dataclass(frozen=True)
class MemberRow:
    name: str
    role: str
    unit: str | None
    principal: int  # the Telegram user id, or a DingTalk principal (bot/services/identities.py)


async def list_members(session: AsyncSession, ref: str = "") -> list[MemberRow]:
    """``/members [单位]``: everyone, or one unit's people (an unknown unit is refused)."""
    unit = await find_unit(session, ref) if ref else None
    people = await repo.members(session, unit.id if unit else None)
    return [
        MemberRow(m.display_name, m.role, m.unit.name if m.unit else None, m.tg_user_id)
        for m in people
    ]


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str, dict[str, object]]] = field(
        default_factory=list
    )  # (row, code, params)


async def add_unit(
    session: AsyncSession,
    now: datetime,
    name: str,
    short_name: str | None = None,
    category: str | None = None,
    actor: int | None = None,
) -> Unit:
    clean = clean_field(name, NAME_MAX, "name", required=True)
    short = clean_field(short_name, SHORT_MAX, "short_name")
    cat = clean_field(category, CATEGORY_MAX, "category")
    if await repo.unit_by_name(session, clean) is not None:
        raise ServiceError("units.exists", name=clean)
    unit = Unit(name=clean, short_name=short, category=cat, active=True, created_at=now)
    session.add(unit)
    await session.flush()
    repo.audit(session, now, actor, "unit.add", unit_id=unit.id, name=clean)
    return unit


async def rename_unit(
    session: AsyncSession, now: datetime, ref: str, new_name: str, actor: int | None = None
) -> tuple[str, str]:
    unit = await find_unit(session, ref)
    clean = clean_field(new_name, NAME_MAX, "name", required=True)
    other = await repo.unit_by_name(session, clean)
    if other is not None and other.id != unit.id:
        raise ServiceError("units.exists", name=clean)
    old, unit.name = unit.name, clean
    repo.audit(session, now, actor, "unit.rename", unit_id=unit.id, old=old, new=clean)
    return old, clean


async def list_units(session: AsyncSession, order: Sequence[str] = ()) -> list[UnitRow]:
    """Units by 序列 in ``order`` (the rules' categories), then as :func:`category_key` says."""
    counts = await repo.member_counts(session)
    rows = [
        UnitRow(u.id, u.name, u.short_name, u.category, counts.get(u.id, 0))
        for u in await repo.units(session)
    ]
    return sorted(rows, key=lambda r: (category_key(r.category, order), r.id))


_NUMERALS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_ORDINAL = re.compile(r"第?([一二三四五六七八九十]|\d+)\s*序列")


def category_key(category: str | None, order: Sequence[str] = ()) -> tuple[int, int, str]:
    """Configured categories first, in their order; then 一序列 < 二序列 < 三序列 by the numeral
    (not by Unicode, where 三 sorts before 二); then any other name; no category last."""
    if not category:
        return (3, 0, "")
    if category in order:
        return (0, list(order).index(category), "")
    match = _ORDINAL.search(category)
    if match:
        word = match.group(1)
        return (1, int(word) if word.isdigit() else _NUMERALS[word], category)
    return (2, 0, category)


async def find_unit(session: AsyncSession, ref: str) -> Unit:
    """By id (``#3``), exact name or short name, else one clear fuzzy match.

    Liaisons type unit names on phones; a near miss should find the unit, an
    ambiguous one should list the candidates rather than guess.
    """
    ref = (ref or "").strip()
    if not ref:
        raise ServiceError("units.not_found", ref=ref)
    if ref.startswith("#") and ref[1:].isdigit():
        unit = await repo.unit_by_id(session, int(ref[1:]))
        if unit:
            return unit
    unit = await repo.unit_by_name(session, ref)
    if unit:
        return unit
    all_units = list(await repo.units(session))
    choices = {u.id: u.name for u in all_units} | {
        -u.id: u.short_name for u in all_units if u.short_name
    }
    found = process.extract(ref, choices, scorer=fuzz.WRatio, score_cutoff=80, limit=5)
    ids = list(dict.fromkeys(abs(key) for _, _, key in found))
    if len(ids) == 1 or (found and found[0][1] >= 95 and (len(found) == 1 or found[1][1] < 95)):
        return next(u for u in all_units if u.id == ids[0])
    if ids:
        names = "、".join(u.name for u in all_units if u.id in ids)
        raise ServiceError("units.ambiguous", ref=ref, names=names)
    raise ServiceError("units.not_found", ref=ref)


async def import_units(
    session: AsyncSession,
    now: datetime,
    rows: Sequence[dict[str, object]],
    actor: int | None = None,
) -> ImportReport:
    """Add every good row, report every bad one by its sheet row number."""
    if len(rows) > MAX_IMPORT_ROWS:
        raise ServiceError("import.too_many_rows", rows=len(rows), limit=MAX_IMPORT_ROWS)
    report = ImportReport()
    seen = await repo.unit_names(session)
    batch: list[dict[str, object]] = []
    for row in rows:
        number = int(str(row.get("_row", 0)))
        try:
            name = clean_field(row.get("name"), NAME_MAX, "name", required=True)
            short = clean_field(row.get("short_name"), SHORT_MAX, "short_name")
            cat = clean_field(row.get("category"), CATEGORY_MAX, "category")
        except ServiceError as err:
            report.skipped.append((number, err.code, err.params))
            continue
        if name in seen:
            report.skipped.append((number, "import.duplicate", {"name": name}))
            continue
        seen.add(name)
        batch.append(
            {"name": name, "short_name": short, "category": cat, "active": True, "created_at": now}
        )
        report.added.append(name)
    await repo.add_units(session, batch)
    repo.audit(
        session, now, actor, "unit.import", added=len(report.added), skipped=len(report.skipped)
    )
    return report
