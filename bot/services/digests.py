"""Periodic reports for leaders (seed 001 三(三)5–6, seed 003 (十六)–(十八)).

Four reports, each for one closed period:

* ``half`` — 信息汇总 (half-monthly, 1st–15th / 16th–end): the new leads of the half
  month by unit, the verified ones listed, duplicates counted apart;
* ``month`` — 每月通报 / 项目推进情况表: per unit seed 003's six figures for the
  month and the year to date (有效信息, 新签约, 新开工, 新纳统, 到位资金, 新投产),
  the units behind their annual targets' pace (序时进度), and per project at
  在谈 or later its stage, this month's change and its last progress note;
* ``quarter`` — 季度考评: each unit's quarter score and rank within its category
  (序列), the change against the previous quarter, annual targets' progress and
  the conversion rates against 75 % / 80 %;
* ``year`` — 年终考核: year totals and ranking per category, the six figures of
  the year, targets met, conversion rates.

Two halves. The **builders** (``build_half`` …) are pure: plain rows in (the
dataclasses below), a report dataclass out, so every figure can be checked on a
hand-built jurisdiction. :func:`collect` reads the rows (storage/digest_repo.py,
storage/funds_repo.py) and takes scores, ranks, targets and conversion rates from
the ranking service (bot/services/ranking.py): nothing here recomputes a score.
Rendering lives elsewhere: the message in bot/digest_text.py, the workbook in
bot/digest_xlsx.py.

Counting rules, the same as scoring's: only first reports count (首报认定: a
duplicate counts for nothing), rejected leads (不予认定) count for nothing; an
effective lead counts in the period it was verified in; a stage counts in the
period the lead reached it, as scoring sees it now (a skipped stage is reached at
the move, a stage a leader took back is no longer reached); funds count in the
month they are recorded for.
"""

from __future__ import annotations

import base64
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from bot.periods import Span
from bot.problems import problems_in
from bot.services import ServiceError, ranking, scoring
from bot.services.ranking import FunnelLine, RankTable, TargetLine
from bot.services.scoring import ScoringSetup
from storage import digest_repo, funds_repo, scoring_repo, weekly_repo
from storage.models import OutboxStatus, Review, lead_code

KINDS: tuple[str, ...] = ("half", "month", "quarter", "year")
KIND_WORDS: dict[str, str] = {
    "half": "half",
    "h": "half",
    "半月": "half",
    "半月报": "half",
    "信息汇总": "half",
    "month": "month",
    "m": "month",
    "月": "month",
    "月报": "month",
    "通报": "month",
    "每月通报": "month",
    "quarter": "quarter",
    "q": "quarter",
    "季": "quarter",
    "季度": "quarter",
    "季报": "quarter",
    "考评": "quarter",
    "year": "year",
    "y": "year",
    "年": "year",
    "年度": "year",
    "年报": "year",
    "考核": "year",
    "年终考核": "year",
}
KEY_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("half", re.compile(r"(\d{4})-(\d{1,2})-H(\d)")),
    ("quarter", re.compile(r"(\d{4})-Q(\d)")),
    ("month", re.compile(r"(\d{4})-(\d{1,2})")),
    ("year", re.compile(r"(\d{4})")),
)
KEY_EXAMPLES = {"half": "2026-10-H1", "month": "2026-10", "quarter": "2026-Q3", "year": "2026"}
FORWARD_STAGE = "在谈"  # the progress table lists the projects at this stage or later
PRODUCTION_STAGE = "投产"
NOTE_LOOKBACK = timedelta(days=366)  # how far back a "last progress note" is looked for
ZERO = Decimal(0)


# --------------------------------------------------------------------------- #
# Plain rows in
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    short_name: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class StageMove:
    at: datetime
    from_stage: str | None
    to_stage: str


@dataclass(frozen=True)
class LeadInfo:
    """A lead as the reports need it; ``reached`` and ``verified_at`` as scoring sees them now
    (bot.services.scoring.lead_timeline), ``moves`` the recorded stage changes in order."""

    id: int
    unit_id: int
    project: str
    company: str
    amount_wan: Decimal
    reported_at: datetime
    initial_stage: str
    review: str = Review.PENDING
    duplicate_of: int | None = None
    industry: str = ""
    origin: str = ""
    stage_now: str | None = None
    moves: tuple[StageMove, ...] = ()
    reached: Mapping[str, datetime] = field(default_factory=dict)
    verified_at: datetime | None = None

    @property
    def code(self) -> str:
        return lead_code(self.id)

    @property
    def counted(self) -> bool:
        """首报认定 and not 不予认定: what every figure counts."""
        return self.duplicate_of is None and self.review != Review.REJECTED

    def stage_before(self, t: datetime) -> str | None:
        """The stage just before ``t`` (None: not reported yet)."""
        if self.reported_at >= t:
            return None
        stage = self.initial_stage
        for move in self.moves:
            if move.at >= t:
                break
            stage = move.to_stage
        return stage


@dataclass(frozen=True)
class Note:
    lead_id: int
    at: datetime
    text: str
    source: str  # "stage" (a stage change's note) or "weekly" (项目进展 of a weekly submission)


@dataclass(frozen=True)
class FundsFigure:
    lead_id: int
    month: str  # "2026-10"
    amount_wan: Decimal


@dataclass(frozen=True)
class StageNames:
    """Which configured stages the six figures read; None when the stage list has no such stage."""

    order: tuple[str, ...]
    signed: str | None = "签约"
    started: str | None = "开工"
    in_stats: str | None = "入统"
    production: str | None = PRODUCTION_STAGE
    forward: str = FORWARD_STAGE

    @classmethod
    def of(cls, setup: ScoringSetup) -> StageNames:
        order = tuple(setup.rules.stages)
        signed, started, in_stats = (s if s in order else None for s in setup.funnel)
        forward = FORWARD_STAGE if FORWARD_STAGE in order else order[min(1, len(order) - 1)]
        return cls(
            order,
            signed,
            started,
            in_stats,
            PRODUCTION_STAGE if PRODUCTION_STAGE in order else None,
            forward,
        )

    def index(self, stage: str | None) -> int:
        return self.order.index(stage) if stage in self.order else -1


# --------------------------------------------------------------------------- #
# Reports out
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class HalfLine:
    unit: UnitInfo
    new: int  # first reports of the half month (not duplicates)
    verified: int
    pending: int
    rejected: int
    duplicates: int  # counted apart: they score nothing


@dataclass(frozen=True)
class HalfReport:
    span: Span
    as_of: datetime
    lines: tuple[HalfLine, ...]
    total: HalfLine
    verified: tuple[LeadInfo, ...]  # the verified first reports, by unit then id
    unit_names: Mapping[int, str]
    kind: str = "half"


@dataclass(frozen=True)
class Figures:
    """Seed 003's six figures (十六): 有效项目信息、新签约、新开工、新纳统、实际完成投资、新竣工投产."""

    effective: int = 0
    signed: int = 0
    started: int = 0
    in_stats: int = 0
    funds_wan: Decimal = ZERO
    production: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.effective + other.effective,
            self.signed + other.signed,
            self.started + other.started,
            self.in_stats + other.in_stats,
            self.funds_wan + other.funds_wan,
            self.production + other.production,
        )


@dataclass(frozen=True)
class PaceLine:
    """An annual target against its pace (序时进度): by the period's end ``expected`` should be done."""

    name: str
    done: int
    target: int
    expected: Decimal

    @property
    def below(self) -> bool:
        return Decimal(self.done) < self.expected

    @property
    def met(self) -> bool:
        return self.done >= self.target


@dataclass(frozen=True)
class MonthLine:
    unit: UnitInfo
    month: Figures
    year: Figures
    pace: tuple[PaceLine, ...]

    @property
    def below_pace(self) -> bool:
        return any(p.below for p in self.pace)


@dataclass(frozen=True)
class ProgressLine:
    """One project at 在谈 or later at the month's end (项目推进情况表)."""

    lead: LeadInfo
    unit_name: str
    stage: str  # at the month's end
    path: tuple[str, ...]  # the month's stages in order: ("在谈", "签约"); one stage: unchanged
    backward: bool  # a leader moved it back this month
    funds_month_wan: Decimal
    funds_year_wan: Decimal
    note: Note | None  # the last progress note up to the month's end
    problems: tuple[
        str, ...
    ] = ()  # 存在问题 written in the month's notes (bot/problems.py), oldest first

    @property
    def changed(self) -> bool:
        return len(self.path) > 1


@dataclass(frozen=True)
class MonthReport:
    span: Span
    year_span: Span  # the year to date: the year's start to the month's end
    as_of: datetime
    stages: StageNames
    lines: tuple[MonthLine, ...]
    total_month: Figures
    total_year: Figures
    progress: tuple[ProgressLine, ...]
    pace_share: Decimal  # the part of the year elapsed at the month's end (10/12)
    kind: str = "month"


@dataclass(frozen=True)
class ScoreLine:
    unit: UnitInfo
    points: Decimal
    rank: int  # within the category
    previous_points: Decimal
    previous_rank: int  # within the category, in the previous period
    overall_rank: int

    @property
    def move(self) -> int:
        return self.previous_rank - self.rank

    @property
    def delta(self) -> Decimal:
        return self.points - self.previous_points


@dataclass(frozen=True)
class CategoryBlock:
    category: str | None  # None: units filed under no category
    lines: tuple[ScoreLine, ...]


@dataclass(frozen=True)
class UnitReview:
    unit: UnitInfo
    pace: tuple[PaceLine, ...]
    funnel: tuple[FunnelLine, ...]  # 签约→开工, 开工→入统 of the year to the period's end

    @property
    def below_pace(self) -> bool:
        return any(p.below for p in self.pace)

    @property
    def below_benchmark(self) -> bool:
        return any(f.rate is not None and f.rate < f.benchmark for f in self.funnel)


@dataclass(frozen=True)
class QuarterReport:
    span: Span
    previous: Span
    as_of: datetime
    categories: tuple[CategoryBlock, ...]
    reviews: tuple[UnitReview, ...]
    pace_share: Decimal
    kind: str = "quarter"


@dataclass(frozen=True)
class YearReport:
    span: Span
    previous: Span
    as_of: datetime
    stages: StageNames
    categories: tuple[CategoryBlock, ...]
    figures: tuple[tuple[UnitInfo, Figures], ...]
    total: Figures
    reviews: tuple[UnitReview, ...]
    kind: str = "year"


Report = HalfReport | MonthReport | QuarterReport | YearReport


# --------------------------------------------------------------------------- #
# Builders (pure)
# --------------------------------------------------------------------------- #


def build_half(
    span: Span, units: Sequence[UnitInfo], leads: Iterable[LeadInfo], as_of: datetime
) -> HalfReport:
    """The leads reported in ``span``, by unit: new (first reports) with their review, duplicates apart."""
    counts: dict[int, list[int]] = {u.id: [0, 0, 0, 0, 0] for u in units}
    verified = []
    for lead in leads:
        if lead.unit_id not in counts or not span.contains(lead.reported_at):
            continue
        c = counts[lead.unit_id]
        if lead.duplicate_of is not None:
            c[4] += 1
            continue
        c[0] += 1
        if lead.review == Review.VERIFIED:
            c[1] += 1
            verified.append(lead)
        elif lead.review == Review.REJECTED:
            c[3] += 1
        else:
            c[2] += 1
    lines = tuple(HalfLine(u, *counts[u.id]) for u in units)
    total = HalfLine(UnitInfo(0, ""), *(sum(line[i] for line in counts.values()) for i in range(5)))
    order = {u.id: i for i, u in enumerate(units)}
    verified.sort(key=lambda lead: (order[lead.unit_id], lead.id))
    return HalfReport(span, as_of, lines, total, tuple(verified), {u.id: u.name for u in units})


def figures(
    leads: Iterable[LeadInfo],
    funds: Iterable[FundsFigure],
    span: Span,
    months: tuple[str, str],
    stages: StageNames,
) -> dict[int, Figures]:
    """Per unit id: the six figures of ``span`` (funds: the figures of months ``months[0]``..``months[1]``)."""
    counted = {lead.id: lead for lead in leads if lead.counted}
    found: dict[int, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, ZERO, 0])
    names = (stages.signed, stages.started, stages.in_stats)
    for lead in counted.values():
        f = found[lead.unit_id]
        if lead.verified_at is not None and span.contains(lead.verified_at):
            f[0] += 1
        for i, stage in enumerate(names, start=1):
            if stage is not None and stage in lead.reached and span.contains(lead.reached[stage]):
                f[i] += 1
        if (
            stages.production is not None
            and stages.production in lead.reached
            and span.contains(lead.reached[stages.production])
        ):
            f[5] += 1
    for figure in funds:
        lead = counted.get(figure.lead_id)
        if lead is not None and months[0] <= figure.month <= months[1]:
            found[lead.unit_id][4] += Decimal(figure.amount_wan)
    return {unit: Figures(*f) for unit, f in found.items()}


def pace(targets: Sequence[TargetLine], share: Decimal) -> tuple[PaceLine, ...]:
    """Each target's 序时进度: ``share`` of the year elapsed → that share of the count expected."""
    return tuple(
        PaceLine(
            t.name,
            t.done,
            t.target,
            (Decimal(t.target) * share).quantize(Decimal("0.1"), ROUND_HALF_UP),
        )
        for t in targets
    )


def _note_index(notes: Iterable[Note], before: datetime) -> dict[int, Note]:
    last: dict[int, Note] = {}
    for note in notes:
        if note.at >= before or not note.text.strip():
            continue
        known = last.get(note.lead_id)
        if known is None or (note.at, note.source == "weekly") >= (
            known.at,
            known.source == "weekly",
        ):
            last[note.lead_id] = note
    return last


def _problem_index(notes: Iterable[Note], span: Span) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for note in sorted((n for n in notes if span.contains(n.at)), key=lambda n: n.at):
        known = found.setdefault(note.lead_id, [])
        known += [p for p in problems_in(note.text) if p not in known]
    return found


def build_month(
    span: Span,
    year_span: Span,
    units: Sequence[UnitInfo],
    leads: Sequence[LeadInfo],
    funds: Sequence[FundsFigure],
    notes: Iterable[Note],
    targets: Mapping[int, Sequence[TargetLine]],
    stages: StageNames,
    as_of: datetime,
) -> MonthReport:
    """项目推进情况表: six figures for the month and the year to date, targets' pace, the projects at 在谈+."""
    month_key, first_month = span.key, f"{span.key[:4]}-01"
    in_month = figures(leads, funds, span, (month_key, month_key), stages)
    in_year = figures(leads, funds, year_span, (first_month, month_key), stages)
    share = Decimal(int(month_key[5:7])) / 12
    lines = tuple(
        MonthLine(
            u,
            in_month.get(u.id, Figures()),
            in_year.get(u.id, Figures()),
            pace(targets.get(u.id, ()), share),
        )
        for u in units
    )
    total_month = sum((line.month for line in lines), Figures())
    total_year = sum((line.year for line in lines), Figures())
    return MonthReport(
        span,
        year_span,
        as_of,
        stages,
        lines,
        total_month,
        total_year,
        progress_lines(span, units, leads, funds, notes, stages),
        share,
    )


def progress_lines(
    span: Span,
    units: Sequence[UnitInfo],
    leads: Sequence[LeadInfo],
    funds: Sequence[FundsFigure],
    notes: Iterable[Note],
    stages: StageNames,
) -> tuple[ProgressLine, ...]:
    """Every counted lead at 在谈 or later at the span's end, by unit, furthest stage first."""
    order = {u.id: i for i, u in enumerate(units)}
    names = {u.id: u.name for u in units}
    notes = list(notes)
    last_note = _note_index(notes, span.end)
    problems = _problem_index(notes, span)
    first_month = f"{span.key[:4]}-01"
    month_funds: dict[int, Decimal] = defaultdict(Decimal)
    year_funds: dict[int, Decimal] = defaultdict(Decimal)
    for f in funds:
        if first_month <= f.month <= span.key:
            year_funds[f.lead_id] += Decimal(f.amount_wan)
            if f.month == span.key:
                month_funds[f.lead_id] += Decimal(f.amount_wan)
    threshold = stages.index(stages.forward)
    out = []
    for lead in leads:
        if not lead.counted or lead.unit_id not in order:
            continue
        stage = lead.stage_before(span.end)
        if stage is None or stages.index(stage) < threshold:
            continue
        start = lead.stage_before(span.start) or lead.initial_stage
        moves = [m for m in lead.moves if span.start <= m.at < span.end]
        path = (start, *(m.to_stage for m in moves)) if moves else (stage,)
        backward = any(stages.index(m.to_stage) < stages.index(m.from_stage) for m in moves)
        out.append(
            ProgressLine(
                lead,
                names[lead.unit_id],
                stage,
                path,
                backward,
                month_funds[lead.id],
                year_funds[lead.id],
                last_note.get(lead.id),
                tuple(problems.get(lead.id, ())),
            )
        )
    out.sort(key=lambda p: (order[p.lead.unit_id], -stages.index(p.stage), p.lead.id))
    return tuple(out)


def score_blocks(
    units: Sequence[UnitInfo], table: RankTable, previous: RankTable
) -> tuple[CategoryBlock, ...]:
    """The period's points ranked within each category (序列), with the previous period's, by the
    ranking service's own rule (equal points share a place: 1, 2, 2, 4)."""
    now_pts = {r.unit_id: r.points for r in table.rows}
    before = {r.unit_id: r.points for r in previous.rows}
    overall = {r.unit_id: r.rank for r in table.rows}
    groups: dict[str | None, list[UnitInfo]] = defaultdict(list)
    for u in units:
        if u.id in now_pts:
            groups[u.category].append(u)
    blocks = []
    for category in sorted(groups, key=lambda c: (c is None, c or "")):
        members = groups[category]
        pts = {u.id: now_pts[u.id] for u in members}
        old = {u.id: before.get(u.id, ZERO) for u in members}
        ranks, old_ranks = ranking.ranked(pts), ranking.ranked(old)
        lines = sorted(
            (
                ScoreLine(u, pts[u.id], ranks[u.id], old[u.id], old_ranks[u.id], overall[u.id])
                for u in members
            ),
            key=lambda line: (line.rank, line.unit.id),
        )
        blocks.append(CategoryBlock(category, tuple(lines)))
    return tuple(blocks)


def reviews(
    units: Sequence[UnitInfo],
    targets: Mapping[int, Sequence[TargetLine]],
    funnels: Mapping[int, Sequence[FunnelLine]],
    share: Decimal,
) -> tuple[UnitReview, ...]:
    return tuple(
        UnitReview(u, pace(targets.get(u.id, ()), share), tuple(funnels.get(u.id, ())))
        for u in units
    )


def build_quarter(
    span: Span,
    units: Sequence[UnitInfo],
    table: RankTable,
    previous: RankTable,
    targets: Mapping[int, Sequence[TargetLine]],
    funnels: Mapping[int, Sequence[FunnelLine]],
    as_of: datetime,
) -> QuarterReport:
    share = Decimal(int(span.key[-1])) / 4
    return QuarterReport(
        span,
        previous.span,
        as_of,
        score_blocks(units, table, previous),
        reviews(units, targets, funnels, share),
        share,
    )


def build_year(
    span: Span,
    units: Sequence[UnitInfo],
    table: RankTable,
    previous: RankTable,
    leads: Sequence[LeadInfo],
    funds: Sequence[FundsFigure],
    targets: Mapping[int, Sequence[TargetLine]],
    funnels: Mapping[int, Sequence[FunnelLine]],
    stages: StageNames,
    as_of: datetime,
) -> YearReport:
    found = figures(leads, funds, span, (f"{span.key}-01", f"{span.key}-12"), stages)
    per_unit = tuple((u, found.get(u.id, Figures())) for u in units)
    total = sum((f for _, f in per_unit), Figures())
    return YearReport(
        span,
        previous.span,
        as_of,
        stages,
        score_blocks(units, table, previous),
        per_unit,
        total,
        reviews(units, targets, funnels, Decimal(1)),
    )


# --------------------------------------------------------------------------- #
# Which period
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class DigestQuery:
    kind: str
    key: str | None


def parse_args(text: str) -> DigestQuery:
    """``half|month|quarter|year [KEY]`` (or 半月/月/季/年), or a key alone (its shape names the kind)."""
    kind = key = None
    for token in (text or "").split():
        low = token.lower()
        if low in KIND_WORDS and kind is None:
            kind = KIND_WORDS[low]
            continue
        shape = key_kind(token)
        if shape is None or key is not None:
            raise ServiceError("digest.usage")
        key = token
        if kind is None:
            kind = shape
        elif shape != kind:
            raise ServiceError("digest.bad_period", key=token[:20], example=KEY_EXAMPLES[kind])
    if kind is None:
        raise ServiceError("digest.usage")
    return DigestQuery(kind, key)


def key_kind(token: str) -> str | None:
    t = token.strip().upper()
    for kind, pattern in KEY_SHAPES:
        if pattern.fullmatch(t):
            return kind
    return None


def _normal_key(kind: str, key: str) -> str:
    """``2026-1`` → ``2026-01``; the periods module wants two-digit months."""
    t = key.strip().upper()
    match = (
        KEY_SHAPES[0][1].fullmatch(t)
        if kind == "half"
        else KEY_SHAPES[2][1].fullmatch(t)
        if kind == "month"
        else None
    )
    if match is None:
        return t
    month = f"{int(match[2]):02d}"
    return f"{match[1]}-{month}-H{match[3]}" if kind == "half" else f"{match[1]}-{month}"


def last_complete(setup: ScoringSetup, kind: str, now: datetime) -> Span:
    """The period of ``kind`` that ended most recently."""
    return setup.periods.previous_span(setup.periods.span(kind, now))


def resolve(setup: ScoringSetup, kind: str, key: str | None, now: datetime) -> Span:
    """The span a request names (default: the last complete one); a period not begun yet is refused."""
    if kind not in KINDS:
        raise ServiceError("digest.usage")
    if key is None:
        return last_complete(setup, kind, now)
    try:
        span = setup.periods.span_by_key(kind, _normal_key(kind, key))
    except ValueError:
        raise ServiceError("digest.bad_period", key=key[:20], example=KEY_EXAMPLES[kind]) from None
    if span.start > now:
        raise ServiceError("digest.future", period=span.label())
    return span


# --------------------------------------------------------------------------- #
# The schedule
# --------------------------------------------------------------------------- #

GRACE = timedelta(
    days=3
)  # a report missed while the bot was down still goes out this long after its time
SETTING_OF = {
    "half": "digest_half_monthly",
    "month": "digest_monthly",
    "quarter": "digest_quarterly",
    "year": "digest_annual",
}


def due(setup: ScoringSetup, kind: str, now: datetime, hour: int) -> tuple[Span, datetime]:
    """The last complete period of ``kind`` and when its report is due: the half month's on the 1st
    or 16th, the others on the first working day of the next period (China's calendar: after
    National Day or Spring Festival it waits), from ``hour`` o'clock local time."""
    current = setup.periods.span(kind, now)
    first = current.start.astimezone(setup.zone)
    day = (
        first.date()
        if kind == "half"
        else setup.periods.first_workday_of_month(first.year, first.month)
    )
    return setup.periods.previous_span(current), datetime.combine(
        day, time(hour), tzinfo=setup.zone
    )


def enabled_kinds(settings: Any) -> list[str]:
    return [kind for kind in KINDS if getattr(settings, SETTING_OF[kind], True)]


@dataclass(frozen=True)
class Rendered:
    """What goes to the leaders' group: the message (plain text) and the workbook."""

    text: str
    filename: str
    workbook: bytes
    caption: str  # HTML


async def plan(
    session: Any,
    setup: ScoringSetup,
    now: datetime,
    kind: str,
    span: Span,
    until: datetime,
    locale: str,
    render: Callable[[Report], Rendered],
) -> bool:
    """Plan one report for the leaders' group, once: True when it was planned now.

    The job mark ``digest:<kind>:<key>`` and the outbox row are written in one
    transaction, so across restarts and instances the report is planned once; the
    outbox sends the text and then the workbook (``_document``), exactly once. No
    leaders' group bound: nothing is planned (and nothing marked), so binding one
    within the grace time still gets the report.
    """
    chat = await weekly_repo.leaders_chat(session)
    if chat is None or not await weekly_repo.take_mark(session, f"digest:{kind}:{span.key}", now):
        return False
    report = await collect(session, setup, now, kind, span.key)
    out = render(report)
    document = {
        "filename": out.filename,
        "data": base64.b64encode(out.workbook).decode("ascii"),
        "caption": out.caption,
    }
    row = {
        "kind": f"digest:{kind}",
        "period_key": span.key,
        "chat_id": chat,
        "unit_id": None,
        "recipient": "leaders",
        "template": "digest.outbox",
        "params": {"text": out.text, "_document": document},
        "locale": locale,
        "buttons": [],
        "due_at": now,
        "not_after": max(until, now + timedelta(minutes=10)),
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "claim_token": None,
        "claimed_at": None,
        "sent_at": None,
        "message_id": None,
        "error": None,
        "reported": False,
        "created_at": now,
    }
    await weekly_repo.enqueue(session, [row])
    return True


async def leaders_chat(session: Any) -> int | None:
    """The bound leaders' group, where ``/digest`` may be asked besides the private chat."""
    return await weekly_repo.leaders_chat(session)


# --------------------------------------------------------------------------- #
# Reading the rows
# --------------------------------------------------------------------------- #


async def collect(
    session: Any, setup: ScoringSetup, now: datetime, kind: str, key: str | None = None
) -> Report:
    """The report of ``kind`` for ``key`` (default: the last complete period), from the database."""
    span = resolve(setup, kind, key, now)
    as_of = min(now, span.end)
    unit_rows = await scoring_repo.units(session)
    units = [UnitInfo(u.id, u.name, u.short_name, u.category) for u in unit_rows]
    if kind == "half":
        rows = await digest_repo.leads_reported_between(session, span.start, span.end)
        return build_half(span, units, [_lead_info(r, r.stage) for r in rows], as_of)
    year = setup.periods.span("year", span.start)
    to_date = Span("year", year.key, year.start, span.end)  # the year up to the period's end
    # Targets and conversion rates as /score computes them (ranking service), over the year to date.
    histories = {u.id: await scoring.collect_unit(session, u.id, setup) for u in unit_rows}
    targets = {u.id: ranking.targets_for(setup, u, histories[u.id], to_date) for u in unit_rows}
    funnels = {uid: ranking.funnel_for(setup, h, to_date) for uid, h in histories.items()}
    if kind == "quarter":
        table, previous = await _rank_tables(session, setup, span)
        return build_quarter(span, units, table, previous, targets, funnels, as_of)
    events = await digest_repo.stage_events(session, span.end)
    leads = _leads(histories, events, span.end)
    last_month = span.key if kind == "month" else f"{year.key}-12"
    funds = [
        FundsFigure(r.lead_id, r.month, r.amount_wan)
        for r in await funds_repo.live_between(session, f"{year.key}-01", last_month)
    ]
    stages = StageNames.of(setup)
    if kind == "year":
        table, previous = await _rank_tables(session, setup, span)
        return build_year(
            span, units, table, previous, leads, funds, targets, funnels, stages, as_of
        )
    notes = await _notes(session, events, span.end)
    return build_month(span, to_date, units, leads, funds, notes, targets, stages, as_of)


async def _rank_tables(
    session: Any, setup: ScoringSetup, span: Span
) -> tuple[RankTable, RankTable]:
    """The period's ranking and the previous period's, from the ranking service (stored scores)."""
    table = await ranking.rank(session, setup, span.start, span.kind, key=span.key)
    return table, await ranking.rank(session, setup, span.start, span.kind, key=table.previous.key)


def _lead_info(r: Any, initial_stage: str, **timeline: Any) -> LeadInfo:
    """A lead row (light row or model) as the builders take it."""
    return LeadInfo(
        id=r.id,
        unit_id=r.unit_id,
        project=r.project,
        company=r.company,
        amount_wan=Decimal(r.amount_wan),
        reported_at=r.reported_at,
        initial_stage=initial_stage,
        review=r.review,
        duplicate_of=r.duplicate_of,
        industry=r.industry,
        origin=r.origin,
        stage_now=r.stage,
        **timeline,
    )


def _leads(
    histories: Mapping[int, scoring.UnitHistory], events: Sequence[Any], before: datetime
) -> list[LeadInfo]:
    """The leads reported before ``before``, with scoring's timelines (rejected leads have none)."""
    by_lead: dict[int, list[Any]] = defaultdict(list)
    for e in events:
        by_lead[e.lead_id].append(e)
    out = []
    for history in histories.values():
        for tl in history.timelines.values():
            lead = tl.lead
            if lead.reported_at >= before:
                continue
            mine = by_lead.get(lead.id, [])
            moves = tuple(
                StageMove(e.at, e.from_value, e.to_value)
                for e in mine
                if e.kind == "stage" and e.to_value
            )
            report = next((e for e in mine if e.kind == "report" and e.to_value), None)
            initial = (
                report.to_value
                if report
                else (moves[0].from_stage if moves and moves[0].from_stage else lead.stage)
            )
            out.append(
                _lead_info(
                    lead, initial, moves=moves, reached=dict(tl.reached), verified_at=tl.verified_at
                )
            )
    out.sort(key=lambda lead: lead.id)
    return out


async def _notes(session: Any, events: Sequence[Any], before: datetime) -> list[Note]:
    """Progress notes up to ``before``: stage changes' notes and the weekly submissions' 项目进展."""
    notes = [
        Note(e.lead_id, e.at, e.note, "stage")
        for e in events
        if e.kind == "stage" and e.note and e.at < before
    ]
    for _unit_id, submitted_at, content in await digest_repo.accepted_progress(
        session, before - NOTE_LOOKBACK, before
    ):
        for entry in (content or {}).get("progress") or []:
            if entry.get("lead") and entry.get("text"):
                notes.append(Note(int(entry["lead"]), submitted_at, str(entry["text"]), "weekly"))
    return notes
