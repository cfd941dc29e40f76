"""Bar charts drawn on the page as inline SVG: geometry here, markup in the template."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
HEIGHT = 200
LABEL_SPACE = 36
MAX_BAR = 72.0


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value_text: str


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    empty: bool = False
    width: int = WIDTH
    height: int = HEIGHT + LABEL_SPACE
    baseline: int = HEIGHT


def bar_chart(title: str, points: list[tuple[str, int, str]]) -> BarChart:
    """Bars for (label, value, value as text) points, scaled to the largest value. Values
    are integers (minor units, counts): scaling is layout only, never money."""
    top = max((value for _label, value, _text in points), default=0) or 1
    slot = WIDTH / max(len(points), 1)
    gap = min(8.0, slot * 0.2)
    bars = []
    for index, (label, value, text) in enumerate(points):
        height = max(value, 0) / top * (HEIGHT - 16)
        width = min(slot - gap, MAX_BAR)
        bars.append(
            Bar(
                x=index * slot + (slot - width) / 2,
                y=HEIGHT - height,
                width=width,
                height=height,
                label=label,
                value_text=text,
            )
        )
    return BarChart(title=title, bars=bars, empty=not any(v > 0 for _l, v, _t in points))
