"""The leaders' periodic reports as text: one line per fact, in one locale.

Plain text, not HTML: the scheduled reports travel through the outbox, whose
values are escaped, and the CLI prints them. ``/digest`` (handlers/digest.py),
the schedule (scheduler/digests.py) and ``leadbot digest`` all render here; the
workbook is :mod:`bot.rendering.digest_xlsx`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot import catalog
from bot.domain.amounts import format_wan_human
from bot.rendering import digest_xlsx
from bot.rendering.movement import move_text
from bot.rules.describe import num
from bot.services import digests
from bot.services.digests import (
    Figures,
    HalfReport,
    MonthReport,
    PaceLine,
    QuarterReport,
    Report,
    ScoreLine,
    StageNames,
    UnitReview,
    YearReport,
)

Line = Callable[..., str]


# --------------------------------------------------------------------------- #
# Rendering (plain text, one line per fact)
# --------------------------------------------------------------------------- #


def digest_text(locale: str, report: Report, zone: ZoneInfo) -> str:
    """The report as the leaders' group reads it."""

    def line(key: str, **values: Any) -> str:
        return catalog.plain(key, locale, **values)

    if isinstance(report, HalfReport):
        out = _half(line, locale, report)
    elif isinstance(report, MonthReport):
        out = _month(line, locale, report, zone)
    elif isinstance(report, QuarterReport):
        out = _quarter(line, locale, report)
    else:
        out = _year(line, locale, report)
    if report.as_of < report.span.end:
        local = report.as_of.astimezone(zone)
        out.insert(
            1,
            line(
                "digest.in_progress",
                when=line(
                    "digest.date_time",
                    month=local.month,
                    day=local.day,
                    time=local.strftime("%H:%M"),
                ),
            ),
        )
    return "\n".join(out)


def title(locale: str, report: Report) -> str:
    return catalog.plain(f"digest.{report.kind}.title", locale, period=report.span.label(locale))


def money(value: Decimal, locale: str) -> str:
    return format_wan_human(value, locale) if value else "0"


def _signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + num(Decimal(value))


def _half(line: Line, locale: str, r: HalfReport) -> list[str]:
    out = [title(locale, r), line("digest.half.scope")]
    for u in r.lines:
        out.append(
            line(
                "digest.half.line",
                unit=u.unit.name,
                new=u.new,
                verified=u.verified,
                pending=u.pending,
                rejected=u.rejected,
                duplicates=u.duplicates,
            )
        )
    t = r.total
    out.append(
        line(
            "digest.half.total",
            new=t.new,
            verified=t.verified,
            pending=t.pending,
            rejected=t.rejected,
            duplicates=t.duplicates,
        )
    )
    out.append("")
    out.append(line("digest.half.verified_title", count=len(r.verified)))
    for lead in r.verified:
        out.append(
            line(
                "digest.half.verified_line",
                code=lead.code,
                project=lead.project,
                unit=r.unit_names.get(lead.unit_id, ""),
                industry=lead.industry,
                amount=money(lead.amount_wan, locale),
                origin=lead.origin,
                stage=lead.stage_now or lead.initial_stage,
            )
        )
    if not r.verified:
        out.append(line("digest.half.none_verified"))
    return out


def _figure(value: int, stage: str | None) -> str:
    return str(value) if stage is not None else "—"


def _figures_values(f: Figures, stages: StageNames, locale: str) -> dict[str, str]:
    return {
        "effective": str(f.effective),
        "signed": _figure(f.signed, stages.signed),
        "started": _figure(f.started, stages.started),
        "in_stats": _figure(f.in_stats, stages.in_stats),
        "funds": money(f.funds_wan, locale),
        "production": _figure(f.production, stages.production),
    }


def _both(month: Figures, year: Figures, stages: StageNames, locale: str) -> dict[str, str]:
    a, b = _figures_values(month, stages, locale), _figures_values(year, stages, locale)
    return {k: f"{a[k]}/{b[k]}" for k in a}


def _pace_items(line: Line, pace: tuple[PaceLine, ...], final: bool) -> str:
    items = []
    for p in pace:
        if final:
            items.append(
                line(
                    "digest.review.target_final",
                    name=p.name,
                    done=p.done,
                    target=p.target,
                    mark="✅" if p.met else "❌",
                )
            )
        else:
            items.append(
                line(
                    "digest.review.target",
                    name=p.name,
                    done=p.done,
                    target=p.target,
                    expected=num(p.expected),
                    mark=" ⚠️" if p.below else "",
                )
            )
    return "；".join(items)


def _month(line: Line, locale: str, r: MonthReport, zone: ZoneInfo) -> list[str]:
    out = [title(locale, r), line("digest.month.scope"), "", line("digest.month.figures_title")]
    for u in r.lines:
        out.append(
            line(
                "digest.month.unit",
                unit=u.unit.name,
                mark=line("digest.month.mark_below") if u.below_pace else "",
            )
        )
        out.append(line("digest.month.figures", **_both(u.month, u.year, r.stages, locale)))
    out.append(line("digest.month.unit", unit=line("digest.total"), mark=""))
    out.append(line("digest.month.figures", **_both(r.total_month, r.total_year, r.stages, locale)))
    out += ["", line("digest.month.progress_title", count=len(r.progress), stage=r.stages.forward)]
    by_unit: dict[str, list[Any]] = {}
    for p in r.progress:
        by_unit.setdefault(p.unit_name, []).append(p)
    for unit, lines in by_unit.items():
        out.append(line("digest.month.progress_unit", unit=unit, count=len(lines)))
        quiet = 0
        for p in lines:
            if not (
                p.changed
                or p.funds_month_wan
                or (p.note is not None and r.span.contains(p.note.at))
            ):
                quiet += 1
                continue
            change = ""
            if p.changed:
                change = line(
                    "digest.month.change_back" if p.backward else "digest.month.change",
                    path="→".join(p.path),
                )
            out.append(
                line(
                    "digest.month.progress_line",
                    code=p.lead.code,
                    project=p.lead.project,
                    stage=p.stage,
                    change=change,
                )
            )
            if p.funds_month_wan:
                out.append(
                    line(
                        "digest.month.funds_line",
                        month=money(p.funds_month_wan, locale),
                        year=money(p.funds_year_wan, locale),
                    )
                )
            if p.note is not None:
                local = p.note.at.astimezone(zone)
                out.append(
                    line(
                        "digest.month.note",
                        date=line("digest.date", month=local.month, day=local.day),
                        text=_short(p.note.text),
                        source=line(f"digest.source.{p.note.source}"),
                    )
                )
            out += [
                line("digest.month.problem_line", text=_short(problem)) for problem in p.problems
            ]
        if quiet:
            out.append(line("digest.month.quiet", count=quiet))
    if not r.progress:
        out.append(line("digest.month.no_progress", stage=r.stages.forward))
    with_problems = sum(1 for p in r.progress if p.problems)
    out.append(
        line("digest.month.problems", count=with_problems)
        if with_problems
        else line("digest.month.no_problems")
    )
    out += [
        "",
        line("digest.month.pace_title", share=num((r.pace_share * 100).quantize(Decimal(1)))),
    ]
    targets = [u for u in r.lines if u.pace]
    for u in targets:
        out.append(
            line(
                "digest.review.line", unit=u.unit.name, items=_pace_items(line, u.pace, final=False)
            )
        )
    if not targets:
        out.append(line("digest.no_targets"))
    return out


def _short(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _category(line: Line, category: str | None) -> str:
    return line("digest.category", category=category) if category else line("digest.no_category")


def _score_line(line: Line, locale: str, key: str, s: ScoreLine) -> str:
    return line(
        key,
        rank=s.rank,
        unit=s.unit.name,
        points=num(s.points),
        previous=num(s.previous_points),
        delta=_signed(s.delta) if s.delta else "±0",
        # ↑/↓ only against a previous period the unit existed in and somebody scored in
        move=move_text(locale, s.compare, s.move, say_none=True),
    )


def _funnel_items(line: Line, review: UnitReview) -> str:
    items = []
    for f in review.funnel:
        if f.rate is None:
            items.append(line("digest.review.funnel_none", a=f.from_stage, b=f.to_stage))
        else:
            items.append(
                line(
                    "digest.review.funnel",
                    a=f.from_stage,
                    b=f.to_stage,
                    rate=num(f.rate),
                    base=f.base,
                    reached=f.reached,
                    mark=" ⚠️" if f.rate < f.benchmark else "",
                )
            )
    return "；".join(items)


def _reviews(line: Line, reviews: tuple[UnitReview, ...], share: Decimal, final: bool) -> list[str]:
    out = [
        line("digest.year.targets_title")
        if final
        else line("digest.quarter.targets_title", share=num((share * 100).quantize(Decimal(1))))
    ]
    with_targets = [rv for rv in reviews if rv.pace]
    out += [
        line("digest.review.line", unit=rv.unit.name, items=_pace_items(line, rv.pace, final))
        for rv in with_targets
    ]
    if not with_targets:
        out.append(line("digest.no_targets"))
    out += ["", line("digest.funnel_title")]
    with_funnel = [rv for rv in reviews if rv.funnel]
    out += [
        line("digest.review.line", unit=rv.unit.name, items=_funnel_items(line, rv))
        for rv in with_funnel
    ]
    if not with_funnel:
        out.append(line("digest.no_funnel"))
    return out


def _ranking(line: Line, locale: str, r: QuarterReport | YearReport, line_key: str) -> list[str]:
    """Title, then each 序列's places and points, then what they are compared with."""
    out = [title(locale, r)]
    for block in r.categories:
        out.append(_category(line, block.category))
        out += [_score_line(line, locale, line_key, s) for s in block.lines]
    if not r.categories:
        out.append(line("digest.no_units"))
    out.append(line("digest.rank_footer", previous=r.previous.label(locale)))
    return out


def _quarter(line: Line, locale: str, r: QuarterReport) -> list[str]:
    out = _ranking(line, locale, r, "digest.quarter.line")
    out.append("")
    out += _reviews(line, r.reviews, r.pace_share, final=False)
    return out


def _year(line: Line, locale: str, r: YearReport) -> list[str]:
    out = _ranking(line, locale, r, "digest.year.line")
    out += ["", line("digest.year.figures_title")]
    for unit, f in r.figures:
        out.append(
            line("digest.year.figures_line", unit=unit.name, **_figures_values(f, r.stages, locale))
        )
    out.append(
        line(
            "digest.year.figures_line",
            unit=line("digest.total"),
            **_figures_values(r.total, r.stages, locale),
        )
    )
    out.append("")
    out += _reviews(line, r.reviews, Decimal(1), final=True)
    return out


def rendered(locale: str, zone: ZoneInfo) -> Callable[[Report], digests.Rendered]:
    """What the schedule sends: the text, the workbook and its caption, in one locale."""

    def render(report: Report) -> digests.Rendered:
        caption = catalog.t("digest.caption", locale, title=title(locale, report))
        return digests.Rendered(
            digest_text(locale, report, zone),
            digest_xlsx.file_name(report),
            digest_xlsx.build_workbook(report, zone),
            caption,
        )

    return render
