"""Charts drawn on the server as SVG: no chart library, no script, a few KB on a county network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from handlers.web.html import esc

ROW_HEIGHT = 26
LABEL_WIDTH = 118
CHART_WIDTH = 360


@dataclass(frozen=True)
class BarRow:
    label: str
    value: Decimal
    tone: str = ""  # "red", "black" or "" (the 红黑榜 colours)


def bar_chart(rows: Sequence[BarRow], title: str) -> str:
    """Horizontal bars, one per unit, the value written at the bar's end; fits 360 px."""
    if not rows:
        return ""
    top = max((abs(r.value) for r in rows), default=Decimal(0)) or Decimal(1)
    span = CHART_WIDTH - LABEL_WIDTH - 44
    height = ROW_HEIGHT * len(rows) + 8
    parts = [
        f'<svg class="bars" role="img" aria-label="{esc(title)}" viewBox="0 0 {CHART_WIDTH} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title>"
    ]
    for i, row in enumerate(rows):
        y = 4 + i * ROW_HEIGHT
        width = max(1, int(abs(row.value) / top * span)) if row.value else 0
        label = row.label if len(row.label) <= 8 else row.label[:7] + "…"
        tone = f" {row.tone}" if row.tone else (" neg" if row.value < 0 else "")
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 17}" text-anchor="end" class="lbl">{esc(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width}" height="{ROW_HEIGHT - 8}"'
            f' rx="3" class="bar{tone}"><title>{esc(row.label)}: {esc(_num(row.value))}</title></rect>'
            f'<text x="{LABEL_WIDTH + width + 4}" y="{y + 17}" class="val">{esc(_num(row.value))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _num(value: Decimal) -> str:
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
