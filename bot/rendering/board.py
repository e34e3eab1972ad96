"""The 红黑榜 as text and as a picture: a horizontal bar chart of the month's scores.

Rendered with matplotlib's Agg backend (no display needed) in the Noto Sans CJK
font shipped by the PyPI package ``cvttf-NotoSansCJK-Regular``: the .otf file is
found inside the installed package with :mod:`importlib.resources` and
registered with matplotlib's font manager once per process. Without that font
Chinese unit names would come out as empty boxes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from bot import catalog
from bot.rules.describe import num

if TYPE_CHECKING:
    from bot.services.ranking import Board, RankRow, Tie

log = logging.getLogger(__name__)
FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
RED, BLACK, GREY = "#c0392b", "#2c3e50", "#95a5a6"


@dataclass(frozen=True)
class Bar:
    label: str
    points: Decimal
    colour: str  # "red", "black" or "plain"
    summary: bool = False  # several tied units in one bar (hatched)


@cache
def cjk_font() -> str | None:
    """Register the Noto Sans CJK font with matplotlib; its family name, or None if missing."""
    from matplotlib import font_manager

    try:
        package = resources.files(FONT_PACKAGE)
        found = [p for p in package.iterdir() if p.name.lower().endswith((".otf", ".ttf", ".ttc"))]
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        found = []
    if not found:
        log.warning(
            "font package %s not installed: Chinese labels in charts will not render", FONT_PACKAGE
        )
        return None
    with resources.as_file(found[0]) as path:
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()


def render_png(title: str, bars: Sequence[Bar], xlabel: str = "") -> bytes:
    """A PNG of the bars in the given order from the top, sized for a phone screen.

    Each bar has its own row (two bars may carry the same label), ticks are whole
    numbers, labels are large enough to read at a phone's width.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    family = cjk_font()
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    colours = {"red": RED, "black": BLACK}
    with plt.rc_context({"font.family": fonts, "axes.unicode_minus": False}):
        height = max(3.0, 0.5 * len(bars) + 1.6)
        fig, ax = plt.subplots(figsize=(6.4, height), dpi=150)
        try:
            ys = list(range(len(bars)))[::-1]
            values = [float(b.points) for b in bars]
            ax.barh(
                ys,
                values,
                height=0.7,
                color=[colours.get(b.colour, GREY) for b in bars],
                hatch=["//" if b.summary else "" for b in bars],
                edgecolor="white",
                linewidth=0.5,
            )
            ax.set_yticks(ys, [b.label for b in bars], fontsize=12)
            for y, value in zip(ys, values, strict=True):
                ax.annotate(
                    f"{value:g}",
                    (value, y),
                    xytext=(4 if value >= 0 else -4, 0),
                    textcoords="offset points",
                    va="center",
                    ha="left" if value >= 0 else "right",
                    fontsize=11,
                )
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.tick_params(axis="x", labelsize=11)
            ax.axvline(0, color="#7f8c8d", linewidth=0.8)
            ax.set_title(title, fontsize=15)
            if xlabel:
                ax.set_xlabel(xlabel, fontsize=12)
            ax.spines[["top", "right"]].set_visible(False)
            ax.margins(x=0.18, y=0.02)
            if not bars:
                ax.set_yticks([])
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png")
        finally:
            plt.close(fig)
    return out.getvalue()


def pts(value: Decimal) -> str:
    return num(Decimal(value))


def board_text(locale: str, board: Board) -> str:
    """Plain text (no markup): it also travels through the outbox, whose values are escaped."""

    def line(key: str, **values: Any) -> str:
        return catalog.plain(key, locale, **values)

    def listed(rows: tuple[RankRow, ...], tie: Tie | None) -> list[str]:
        out = [
            line("board.line", rank=r.rank, unit=r.unit_name, points=pts(r.points)) for r in rows
        ]
        if tie is not None:
            key = "board.tie" if rows else "board.tie_only"
            out.append(line(key, count=tie.count, points=pts(tie.points)))
        return out or [line("board.none")]

    out = [line("board.title", month=board.month.label(locale))]
    out.append(line("board.red"))
    out += listed(board.top, board.top_tie)
    out.append(line("board.black_streak" if board.black == "streak" else "board.black"))
    out += listed(board.bottom, board.bottom_tie)
    out.append(line("board.missing"))
    out += [line("board.missing_line", unit=name, count=n) for name, n in board.missing] or [
        line("board.none_missing")
    ]
    return "\n".join(out)


def board_bars(locale: str, board: Board) -> list[Bar]:
    """The picture's bars: exactly the units the text names, red then black, a tie as one bar."""
    bars = [Bar(r.unit_name, r.points, "red") for r in board.top]
    if board.top_tie is not None:
        label = catalog.plain("board.chart_tie", locale, count=board.top_tie.count)
        bars.append(Bar(label, board.top_tie.points, "red", summary=True))
    bars += [Bar(r.unit_name, r.points, "black") for r in board.bottom]
    if board.bottom_tie is not None:
        label = catalog.plain("board.chart_tie", locale, count=board.bottom_tie.count)
        bars.append(Bar(label, board.bottom_tie.points, "black", summary=True))
    return bars


def board_picture(locale: str, board: Board) -> bytes:
    title = catalog.plain("board.chart_title", locale, month=board.month.label(locale))
    return render_png(title, board_bars(locale, board), catalog.plain("board.chart_axis", locale))
