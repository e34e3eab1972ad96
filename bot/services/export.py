"""The ledger export: what ``/export`` and ``leadbot export`` put in the workbook.

:func:`collect` reads the data through the repositories and returns plain rows
(:class:`bot.rendering.export.ExportData`); :func:`bot.rendering.export.build_workbook` turns them
into the file. What each sheet holds for a chosen period (``month`` 2026-11 …):

* 线索台账: the leads reported in the period or with any history in it (a stage
  moved, an edit, a review); ``whole=True`` (``/export all``, ``leadbot export
  --all``): every lead, whatever the period (the whole 台账);
* 周报: the weekly periods whose deadline falls in the period and that have
  begun, one row per unit that existed by the deadline;
* 计分明细: the live ledger lines dated in the period (voided lines are left out);
* 排名: :func:`bot.services.ranking.rank` for the period.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar, cast, overload
from zoneinfo import ZoneInfo

from bot.domain.enums import activity_code, lead_code
from bot.domain.periods import Span, key_label
from bot.rendering.export import (
    SOURCE_WORDS,
    ExportData,
    LeadLine,
    LedgerLine,
    RankLine,
    WeeklyLine,
)
from bot.services import ServiceError, ranking
from bot.services.scoring import RANK_KINDS, ScoringSetup
from storage import export_repo, scoring_repo

DEFAULT_KIND = "month"
WHOLE_WORDS = frozenset({"all", "全部", "全量"})
_KEY_KINDS = (
    ("week", r"\d{4}-W\d{1,2}"),
    ("quarter", r"\d{4}-Q[1-4]"),
    ("month", r"\d{4}-\d{1,2}"),
    ("year", r"\d{4}"),
)
_TICK = timedelta(microseconds=1)
T = TypeVar("T")


@dataclass(frozen=True)
class ExportQuery:
    kind: str
    key: str | None  # None: the period containing now
    whole: bool = False  # every lead, not only the period's


def parse_export_args(text: str, default_kind: str = DEFAULT_KIND) -> ExportQuery:
    """``[week|month|quarter|year|本周|本月|本季|本年] [2026-11|2026-Q3|2026|2026-W45]``; anything else: usage."""
    word: str | None = None
    key: str | None = None
    key_kind: str | None = None
    whole = False
    for token in (text or "").split():
        low = token.lower()
        if low in WHOLE_WORDS and not whole:
            whole = True
        elif low in ranking.PERIOD_WORDS and word is None:
            word = ranking.PERIOD_WORDS[low]
        elif (found := _key_kind(token)) is not None and key is None:
            key_kind, key = found, token.strip().upper()
        else:
            raise ServiceError("export.usage")
    if word is not None and key_kind is not None and word != key_kind:
        raise ServiceError("export.usage")
    return ExportQuery(key_kind or word or default_kind, key, whole)


def key_kind(token: str) -> str | None:
    """The kind of period a key names: 2026-W45 week, 2026-11 month, 2026-Q3 quarter, 2026 year."""
    return _key_kind(token)


def _key_kind(token: str) -> str | None:
    t = token.strip().upper()
    return next((kind for kind, pattern in _KEY_KINDS if re.fullmatch(pattern, t)), None)


def span_for(setup: ScoringSetup, now: datetime, kind: str, key: str | None) -> Span:
    if kind not in RANK_KINDS:
        raise ServiceError("export.usage")
    if key and kind in ("week", "month") and re.fullmatch(r"\d{4}-W?\d", key):
        key = key[:-1] + "0" + key[-1]  # 2026-3 → 2026-03, 2026-W5 → 2026-W05
    try:
        return setup.periods.span_by_key(kind, key) if key else setup.periods.span(kind, now)
    except ValueError:
        raise ServiceError("export.bad_period", key=(key or "")[:20]) from None


async def collect(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    kind: str,
    key: str | None = None,
    *,
    whole: bool = False,
) -> ExportData:
    """Every row of the workbook for the period of ``kind`` named ``key`` (or containing ``now``);
    ``whole``: every lead, not only the period's."""
    span = span_for(setup, now, kind, key)
    zone = setup.zone
    names = await export_repo.member_names(session)
    units = await export_repo.units(session)
    found = lead_lines(session, zone, names, now, None if whole else span)
    leads = await SpilledRows.fill(LeadLine, found) if whole else [line async for line in found]
    weekly = await _weekly(session, setup, span, now, units, names)
    ledger = await _ledger(session, setup, span, {u.id: u.name for u in units}, names)
    table = await ranking.rank(session, setup, now, span.kind, None, span.key)
    rows = [
        RankLine(r.rank, r.unit_name, r.category, r.points, r.move, r.compare) for r in table.rows
    ]
    return ExportData(span, leads, weekly, ledger, rows)


@overload
def _local(t: datetime, zone: ZoneInfo) -> datetime: ...
@overload
def _local(t: datetime | None, zone: ZoneInfo) -> datetime | None: ...
def _local(t: datetime | None, zone: ZoneInfo) -> datetime | None:
    """The wall time in the jurisdiction's zone, without tzinfo (Excel has no zones)."""
    return None if t is None else t.astimezone(zone).replace(tzinfo=None)


PAGE = 2000  # leads read at a time: the whole library is never in memory at once


async def lead_lines(
    session: Any, zone: ZoneInfo, names: dict[int, str], now: datetime, span: Span | None
) -> AsyncIterator[LeadLine]:
    """The 线索台账 rows, oldest first, read a page of :data:`PAGE` leads (and their stage moves)
    at a time: 100 000 leads and their history would be hundreds of MB as one list."""
    this_year = now.astimezone(zone).year
    bounds = (span.start, span.end) if span is not None else (None, None)
    after = 0
    while rows := await export_repo.leads(session, *bounds, after=after, limit=PAGE):
        after = rows[-1].id
        moves = (
            await export_repo.stage_moves(session, id_range=(rows[0].id, after))
            if span is None  # every lead in the id range is on this page
            else await export_repo.stage_moves(session, [r.id for r in rows])
        )
        history: dict[int, list[str]] = {}
        for m in moves:
            local = m.at.astimezone(zone)
            when = f"{local:%m-%d}" if local.year == this_year else f"{local:%Y-%m-%d}"
            step = f"{m.from_value or ''}→{m.to_value or ''} {when}"
            who = names.get(m.actor_tg_id) if m.actor_tg_id is not None else None
            history.setdefault(m.lead_id, []).append(f"{step} {who}" if who else step)
        for r in rows:
            yield _lead_line(r, zone, "；".join(history.get(r.id, ())))


def _lead_line(r: Any, zone: ZoneInfo, history: str) -> LeadLine:
    return LeadLine(
        lead_code(r.id),
        r.project,
        r.company,
        r.industry,
        r.amount_wan,
        r.origin,
        r.stage,
        tuple(r.tags or ()),
        r.foreign_usd,
        r.contact_name,
        r.contact_phone,
        r.channel,
        r.unit_name,
        r.reporter_name or "",
        _local(r.reported_at, zone),
        r.review,
        lead_code(r.duplicate_of) if r.duplicate_of else None,
        history,
        r.notes,
        r.credit_code,
    )


class SpilledRows(Sized, Iterable[T]):
    """Dataclass rows pickled to a temporary file as they come (a page of field tuples at a time:
    unpickling a frozen dataclass one by one costs more than writing its cells), read back on
    every iteration: the workbook walks its rows twice (column widths, then the cells), and the
    whole library's 100 000 leads kept as objects would be most of the export's peak memory.
    One walk at a time."""

    def __init__(self, kind: type[T]) -> None:
        self._kind = kind
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the rows
        self._count = 0
        self._pages = 0

    @classmethod
    async def fill(cls, kind: type[T], rows: AsyncIterator[T]) -> SpilledRows[T]:
        spill = cls(kind)
        fields = attrgetter(*(f.name for f in dataclasses.fields(cast(Any, kind))))
        page: list[tuple[Any, ...]] = []
        async for row in rows:
            page.append(fields(row))
            if len(page) == PAGE:
                spill._dump(page)
                page = []
        spill._dump(page)
        spill._file.flush()
        return spill

    def _dump(self, page: list[tuple[Any, ...]]) -> None:
        if page:
            pickle.dump(page, self._file, pickle.HIGHEST_PROTOCOL)
            self._count += len(page)
            self._pages += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        self._file.seek(0)
        kind = self._kind
        for _ in range(self._pages):
            for values in pickle.load(self._file):
                yield kind(*values)


async def _weekly(
    session: Any, setup: ScoringSetup, span: Span, now: datetime, units: Any, names: dict[int, str]
) -> list[WeeklyLine]:
    keys = [span.key] if span.kind == "week" else ranking.weeks_due_in(setup, span)
    periods = [
        p for p in (setup.periods.by_key(k) for k in keys) if p.start < now
    ]  # begun: not future weeks
    keys = [p.key for p in periods]
    found = {(s.unit_id, s.period_key): s for s in await export_repo.weekly(session, keys)}
    skipped = await export_repo.skipped(session, keys)
    zone = setup.zone
    out: list[WeeklyLine] = []
    for period in periods:
        for unit in units:
            sub = found.get((unit.id, period.key))
            if sub is None and (not unit.active or unit.created_at >= period.deadline):
                continue  # closed, or did not exist when the period ended
            outcome = sub.outcome if sub is not None else None
            if outcome is None:
                if period.key in skipped:
                    outcome = "skipped"
                else:
                    outcome = "open" if now <= period.deadline else "missing"
            elif outcome == "missing" and period.key in skipped:
                outcome = "skipped"
            by = sub.decided_by_tg if sub is not None else None
            out.append(
                WeeklyLine(
                    period.key,
                    _local(period.deadline, zone),
                    unit.name,
                    outcome,
                    _local(sub.submitted_at, zone) if sub is not None else None,
                    names.get(by, str(by)) if by is not None else None,
                    _local(sub.decided_at, zone) if sub is not None and by is not None else None,
                )
            )
    return out


async def _ledger(
    session: Any, setup: ScoringSetup, span: Span, unit_names: dict[int, str], names: dict[int, str]
) -> list[LedgerLine]:
    # A week is (start, deadline]; the other spans are [start, end).
    start, end = (
        (span.start + _TICK, span.end + _TICK) if span.kind == "week" else (span.start, span.end)
    )
    rows = sorted(
        await scoring_repo.live_entries_between(session, start, end), key=lambda r: (r.at, r.id)
    )
    modules = {m.id: m.name for m in setup.rules.modules}
    rule_names: dict[str, str] = {}
    out = []
    for r in rows:
        if r.rule_id not in rule_names:
            rule_names[r.rule_id] = ranking.rule_name(setup, r.rule_id)
        out.append(
            LedgerLine(
                r.at.astimezone(setup.zone).date(),
                unit_names.get(r.unit_id, str(r.unit_id)),
                rule_names[r.rule_id],
                modules.get(r.module, r.module) if r.module else None,
                r.points,
                source_label(r.source, names, lambda rule: ranking.rule_name(setup, rule)),
                r.note or "",
            )
        )
    return out


def source_label(
    source: str, names: dict[int, str], rule_title: Callable[[str], str] | None = None
) -> str:
    """``lead:12:stage:签约`` → ``L0012 签约``, ``activity:5`` → ``A0005``, ``manual:1001`` → ``人工调整 王主任``;
    with ``rule_title``, ``threshold:base_info_quarterly:2026-Q4`` → ``<the rule's title> · 2026年第4季度``."""
    parts = source.split(":")
    try:
        if parts[0] == "threshold" and len(parts) == 3 and rule_title is not None:
            key, _, nth = parts[2].partition("#")
            label = f"{rule_title(parts[1])} · {key_label(key)}"
            return f"{label} · 第 {int(nth)} 次" if nth else label
        if parts[0] == "lead" and len(parts) == 4 and parts[2] == "overdue":
            return f"{lead_code(int(parts[1]))} {parts[3]}节点超期"
        if parts[0] == "funds" and len(parts) == 3:
            return f"{lead_code(int(parts[1]))} 到位资金 {key_label(parts[2])}"
        if parts[0] == "lead" and len(parts) >= 3:
            what = (
                parts[3]
                if parts[2] == "stage" and len(parts) > 3
                else SOURCE_WORDS.get(parts[2], parts[2])
            )
            return f"{lead_code(int(parts[1]))} {what}"
        if parts[0] == "activity" and len(parts) == 2:
            return activity_code(int(parts[1]))
        if parts[0] == "weekly" and len(parts) == 2:
            return f"{SOURCE_WORDS['weekly']} {parts[1]}"
        if parts[0] == "manual" and len(parts) == 2:
            tg = int(parts[1])
            return f"{SOURCE_WORDS['manual']} {names.get(tg, parts[1])}"
    except ValueError:
        pass
    return source
