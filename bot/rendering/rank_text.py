"""/rank and /score as text: the same words on every channel (Telegram, DingTalk).

Only the message catalog: each channel's adapter adds its own buttons around them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from bot import catalog
from bot.catalog import Html
from bot.forms.buttons import RankButton
from bot.rendering.board import pts
from bot.rendering.movement import move_text
from bot.services.ranking import RankTable, ScoreView


def _t(locale: str) -> Callable[..., Html]:
    def t(key: str, /, **values: Any) -> Html:
        return catalog.t(key, locale, **values)

    return t


BUTTON_KINDS = ("week", "month", "quarter", "year")


def rank_buttons(locale: str, table: RankTable) -> list[list[tuple[str, RankButton]]]:
    """[本周] [本月] [本季] [本年] (the shown one marked): typed values each channel encodes."""
    category = table.category or ""
    return [
        [
            (
                ("• " if kind == table.kind else "") + catalog.plain(f"rank.button.{kind}", locale),
                RankButton(kind, category),
            )
            for kind in BUTTON_KINDS
        ]
    ]


def signed(value: Decimal) -> str:
    return ("+" if value > 0 else "") + pts(value)


def render_rank(locale: str, table: RankTable) -> Html:
    loc = locale
    t = _t(locale)
    head_key = "rank.title_category" if table.category else "rank.title"
    lines = [t(head_key, period=table.span.label(loc), category=table.category or "")]
    for row in table.rows:
        move = move_text(locale, row.compare, row.move)
        lines.append(
            t("rank.line", rank=row.rank, unit=row.unit_name, points=pts(row.points), move=move)
        )
    if not table.rows:
        lines.append(t("rank.no_units"))
    compared = any(r.compare != "none" for r in table.rows)
    footer = "rank.footer" if compared or not table.rows else "rank.footer_none"
    lines.append(t(footer, previous=table.previous.label(loc)))
    return Html("\n".join(lines))


def render_score(locale: str, zone: tzinfo, view: ScoreView) -> Html:
    loc = locale
    t = _t(locale)
    out = [
        t(
            "score.title",
            unit=view.unit_name,
            period=view.span.label(loc),
            points=pts(view.total),
            rank=view.rank,
            units=view.of_units,
        )
    ]
    if view.modules:
        out.append(t("score.modules"))
        for m in view.modules:
            key = "score.module_capped" if m.capped != m.raw else "score.module"
            out.append(t(key, name=m.name, points=pts(m.capped), raw=pts(m.raw)))
    if view.rules:
        out.append(t("score.rules"))
        out += [t("score.rule", name=r.name, points=signed(r.points)) for r in view.rules]
    if view.caps:
        out.append(t("score.caps"))
        out += [
            t(
                "score.cap",
                label=c.label,
                cap=pts(c.cap),
                raw=pts(c.raw),
                capped=pts(c.capped),
                period=c.period_key,
            )
            for c in view.caps
        ]
    if not view.rules and not view.modules:
        out.append(t("score.nothing"))
    if view.recent:
        out.append(t("score.recent"))
        for e in view.recent:
            local = e.at.astimezone(zone)
            day = catalog.plain("score.date", locale, month=local.month, day=local.day)
            key = "score.entry" if e.note else "score.entry_bare"
            out.append(t(key, date=day, points=signed(e.points), name=e.name, note=e.note))
    if view.targets:
        out.append(t("score.targets", year=view.year))
        for goal in view.targets:
            key = "score.target_done" if goal.done >= goal.target else "score.target"
            out.append(t(key, name=goal.name, done=goal.done, target=goal.target))
    if view.funnel:
        out.append(t("score.funnel"))
        for f in view.funnel:
            if f.rate is None:
                out.append(
                    t(
                        "score.funnel_none",
                        a=f.from_stage,
                        b=f.to_stage,
                        benchmark=pts(f.benchmark),
                    )
                )
            else:
                key = "score.funnel_line_ok" if f.rate >= f.benchmark else "score.funnel_line"
                out.append(
                    t(
                        key,
                        a=f.from_stage,
                        b=f.to_stage,
                        rate=pts(f.rate),
                        reached=f.reached,
                        base=f.base,
                        benchmark=pts(f.benchmark),
                    )
                )
    return Html("\n".join(out))
