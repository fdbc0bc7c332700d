"""Geometry of a report's chart, drawn as SVG by `reports/_chart.svg`.

The chart is numbers only; the template writes the SVG, with a title and a
description for screen readers, beside the table that is its text fallback.
The same SVG goes into the scheduled e-mail as an attachment.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

from .engine import Result
from .models import Chart

WIDTH = 640
BAR_ROW = 24  # one horizontal bar and the gap under it
LABEL_WIDTH = 200
VALUE_WIDTH = 110  # room for "1,234,567.00 EUR" after the longest bar
LINE_HEIGHT = 240
PIE_RADIUS = 110
# The quiet palette the stylesheet uses; slices take the colours in turn.
COLOURS = ("#2f6f9f", "#7aa6c2", "#4c956c", "#a3b18a", "#b5838d", "#e0a458", "#6d6875",
           "#9aa5b1")


@dataclass
class Bar:
    label: str
    text: str
    y: int
    width: int
    href: str


@dataclass
class Point:
    label: str
    text: str
    x: float
    y: float
    href: str


@dataclass
class Slice:
    label: str
    text: str
    path: str
    colour: str
    href: str


@dataclass
class Drawing:
    kind: str
    title: str
    description: str
    width: int
    height: int
    bars: list[Bar]
    points: list[Point]
    slices: list[Slice]
    label_width: int = LABEL_WIDTH

    @property
    def polyline(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)


def draw(result: Result, title: str, links: list[str], texts: list[str]) -> Drawing | None:
    """The chart of `result`, each mark linked to `links[i]` and read as `texts[i]`.

    None for a table-only report or one without rows. Negative values (a
    sum of credits) draw no bar; the table shows them.
    """
    kind = result.definition["chart"]
    if kind == Chart.TABLE or not result.rows:
        return None
    values = [max(Decimal(row.value or 0), Decimal(0)) for row in result.rows]
    labels = [row.label for row in result.rows]
    description = "; ".join(f"{label}: {text}" for label, text in zip(labels, texts,
                                                                       strict=True))
    drawing = Drawing(kind, title, description, WIDTH, 0, [], [], [])
    if kind == Chart.PIE:
        _pie(drawing, labels, values, texts, links)
    elif kind == Chart.LINE:
        _line(drawing, labels, values, texts, links)
    else:
        _bars(drawing, labels, values, texts, links)
    return drawing


def _bars(drawing, labels, values, texts, links) -> None:
    top = max(values, default=Decimal(0))
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    for index, (label, value, text, href) in enumerate(zip(labels, values, texts, links,
                                                           strict=True)):
        width = int(value / top * room) if top > 0 else 0
        drawing.bars.append(Bar(label, text, index * BAR_ROW + 4, width, href))
    drawing.height = len(labels) * BAR_ROW + 8


def _line(drawing, labels, values, texts, links) -> None:
    top = max(values, default=Decimal(0))
    left, right, upper, lower = 40, WIDTH - 20, 20, LINE_HEIGHT - 40
    step = (right - left) / max(len(values) - 1, 1)
    for index, (label, value, text, href) in enumerate(zip(labels, values, texts, links,
                                                           strict=True)):
        share = float(value / top) if top > 0 else 0.0
        drawing.points.append(Point(label, text, left + index * step,
                                    lower - share * (lower - upper), href))
    drawing.height = LINE_HEIGHT


def _pie(drawing, labels, values, texts, links) -> None:
    total = sum(values)
    centre = PIE_RADIUS + 10
    angle = -math.pi / 2
    for index, (label, value, text, href) in enumerate(zip(labels, values, texts, links,
                                                           strict=True)):
        if total <= 0 or value <= 0:
            continue
        sweep = float(value / total) * 2 * math.pi
        colour = COLOURS[index % len(COLOURS)]
        if sweep >= 2 * math.pi - 1e-9:
            # One slice is the whole circle, which a single arc cannot draw.
            path = (f"M {centre - PIE_RADIUS} {centre} a {PIE_RADIUS} {PIE_RADIUS} 0 1 0 "
                    f"{2 * PIE_RADIUS} 0 a {PIE_RADIUS} {PIE_RADIUS} 0 1 0 "
                    f"{-2 * PIE_RADIUS} 0 Z")
        else:
            start = _on_circle(centre, angle)
            end = _on_circle(centre, angle + sweep)
            large = 1 if sweep > math.pi else 0
            path = (f"M {centre} {centre} L {start[0]:.2f} {start[1]:.2f} "
                    f"A {PIE_RADIUS} {PIE_RADIUS} 0 {large} 1 {end[0]:.2f} {end[1]:.2f} Z")
        drawing.slices.append(Slice(label, text, path, colour, href))
        angle += sweep
    drawing.height = max(2 * centre, len(drawing.slices) * 20 + 20)


def _on_circle(centre: int, angle: float) -> tuple[float, float]:
    return centre + PIE_RADIUS * math.cos(angle), centre + PIE_RADIUS * math.sin(angle)
