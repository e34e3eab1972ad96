"""The digests' data: the plain rows the builders read (units, leads, stage moves,
notes, funds) and the report dataclasses they return, one per kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from bot.domain.enums import Review, lead_code
from bot.domain.periods import Span
from bot.services.ranking import FunnelLine
from bot.services.scoring import ScoringSetup

FORWARD_STAGE = "在谈"  # the progress table lists the projects at this stage or later
PRODUCTION_STAGE = "投产"


ZERO = Decimal(0)
NOTHING_REACHED: Mapping[str, datetime] = MappingProxyType({})


# --------------------------------------------------------------------------- #
# Plain rows in
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class UnitInfo:
    id: int
    name: str
    short_name: str | None = None
    category: str | None = None


# A report holds one of each of these per project under way (thousands): plain named tuples,
# immutable like the frozen dataclasses around them, built in a fraction of the time (a
# frozen dataclass of fifteen fields sets each through object.__setattr__: ~7 µs a lead).


class StageMove(NamedTuple):
    at: datetime
    from_stage: str | None
    to_stage: str


class LeadInfo(NamedTuple):
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
    reached: Mapping[str, datetime] = NOTHING_REACHED
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


class Note(NamedTuple):
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


class ProgressLine(NamedTuple):
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
    ] = ()  # 存在问题 written in the month's notes (bot/domain/problems.py), oldest first

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
    compare: str = (
        "move"  # as RankRow.compare: "move", "new" (no such unit then), "none" (nobody scored then)
    )

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
