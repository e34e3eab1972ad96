"""The 红黑榜 picture: a horizontal bar chart of the month's scores, Chinese labels.

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

log = logging.getLogger(__name__)
FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
RED, BLACK, GREY = "#c0392b", "#2c3e50", "#95a5a6"


@dataclass(frozen=True)
class Bar:
    label: str
    points: Decimal
    colour: str  # "red", "black" or "plain"


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
    """A PNG of the bars, best first from the top."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    family = cjk_font()
    rc = {
        "font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
        "axes.unicode_minus": False,
    }
    colours = {"red": RED, "black": BLACK}
    with plt.rc_context(rc):
        height = max(2.5, 0.45 * len(bars) + 1.4)
        fig, ax = plt.subplots(figsize=(8, height), dpi=100)
        try:
            labels = [b.label for b in bars][::-1]
            values = [float(b.points) for b in bars][::-1]
            ax.barh(labels, values, color=[colours.get(b.colour, GREY) for b in bars][::-1])
            for y, value in enumerate(values):
                ax.annotate(
                    f"{value:g}",
                    (value, y),
                    xytext=(4 if value >= 0 else -4, 0),
                    textcoords="offset points",
                    va="center",
                    ha="left" if value >= 0 else "right",
                    fontsize=9,
                )
            ax.axvline(0, color="#7f8c8d", linewidth=0.8)
            ax.set_title(title, fontsize=14)
            if xlabel:
                ax.set_xlabel(xlabel)
            ax.spines[["top", "right"]].set_visible(False)
            ax.margins(x=0.15)
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png")
        finally:
            plt.close(fig)
    return out.getvalue()
