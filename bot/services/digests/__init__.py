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
dataclasses in ``reports``), a report dataclass out, so every figure can be checked on a
hand-built jurisdiction. :func:`collect` reads the rows (storage/digest_repo.py,
storage/funds_repo.py) and takes scores, ranks, targets and conversion rates from
the ranking service (bot/services/ranking.py): nothing here recomputes a score.
Rendering lives elsewhere: the message in bot/rendering/digest_text.py, the workbook in
bot/rendering/digest_xlsx.py.

Counting rules, the same as scoring's: only first reports count (首报认定: a
duplicate counts for nothing), rejected leads (不予认定) count for nothing; an
effective lead counts in the period it was verified in; a stage counts in the
period the lead reached it, as scoring sees it now (a skipped stage is reached at
the move, a stage a leader took back is no longer reached); funds count in the
month they are recorded for.

The package: ``reports`` (rows in, reports out: the dataclasses), ``builders`` (pure),
``collect`` (reading the rows), ``query`` (which period) and ``schedule`` (when due,
planning).
"""

from bot.services.digests.builders import (
    build_half,
    build_month,
    build_quarter,
    build_year,
    figures,
    pace,
    progress_lines,
    reviews,
    score_blocks,
)
from bot.services.digests.collect import NOTE_LOOKBACK, collect
from bot.services.digests.query import (
    KEY_EXAMPLES,
    KEY_SHAPES,
    KIND_WORDS,
    KINDS,
    DigestQuery,
    key_kind,
    last_complete,
    parse_args,
    resolve,
)
from bot.services.digests.reports import (
    FORWARD_STAGE,
    PRODUCTION_STAGE,
    ZERO,
    CategoryBlock,
    Figures,
    FundsFigure,
    HalfLine,
    HalfReport,
    LeadInfo,
    MonthLine,
    MonthReport,
    Note,
    PaceLine,
    ProgressLine,
    QuarterReport,
    Report,
    ScoreLine,
    StageMove,
    StageNames,
    UnitInfo,
    UnitReview,
    YearReport,
)
from bot.services.digests.schedule import (
    GRACE,
    SETTING_OF,
    Rendered,
    due,
    enabled_kinds,
    leaders_chat,
    plan,
)

__all__ = [
    "FORWARD_STAGE",
    "GRACE",
    "KEY_EXAMPLES",
    "KEY_SHAPES",
    "KINDS",
    "KIND_WORDS",
    "NOTE_LOOKBACK",
    "PRODUCTION_STAGE",
    "SETTING_OF",
    "ZERO",
    "CategoryBlock",
    "DigestQuery",
    "Figures",
    "FundsFigure",
    "HalfLine",
    "HalfReport",
    "LeadInfo",
    "MonthLine",
    "MonthReport",
    "Note",
    "PaceLine",
    "ProgressLine",
    "QuarterReport",
    "Rendered",
    "Report",
    "ScoreLine",
    "StageMove",
    "StageNames",
    "UnitInfo",
    "UnitReview",
    "YearReport",
    "build_half",
    "build_month",
    "build_quarter",
    "build_year",
    "collect",
    "due",
    "enabled_kinds",
    "figures",
    "key_kind",
    "last_complete",
    "leaders_chat",
    "pace",
    "parse_args",
    "plan",
    "progress_lines",
    "resolve",
    "reviews",
    "score_blocks",
]
