"""Geometry of the server-drawn SVG bar charts of the forecast and the pipeline reports.

A chart is plain numbers for `sales/insights/_bar_chart.html` to draw, so
it renders without JavaScript and in an e-mail alike.
"""

from dataclasses import dataclass
from decimal import Decimal

LABEL_WIDTH = 180
BAR_AREA = 320
TEXT_WIDTH = 110  # room for a value such as "1,234,567.00" after the longest bar
ROW_HEIGHT = 26
BAR_HEIGHT = 18
ATTAINMENT_CEILING = Decimal(2)  # beyond double the quota a bar stops growing


@dataclass
class Bar:
    label: str
    text: str
    x: int
    y: int
    width: int
    text_x: int


@dataclass
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    # Where a vertical line marks a target (100 % of quota), else None.
    marker_x: int | None = None
    bar_height: int = BAR_HEIGHT

    @property
    def label_x(self) -> int:
        return LABEL_WIDTH - 8


def bar_chart(title: str, items: list[tuple[str, Decimal | int | None, str]], *,
              centred: bool = False, maximum: Decimal | None = None,
              marker: Decimal | None = None) -> BarChart:
    """Horizontal bars for (label, value, text) rows, the largest value filling the width.

    `centred` draws a funnel; `maximum` fixes the scale instead of the
    largest value; `marker` draws a line at that value. A value of None draws
    no bar but keeps the row and its text.
    """
    values = [Decimal(value) for _, value, _ in items if value is not None]
    top = maximum if maximum is not None else max(values, default=Decimal(0))
    bars = []
    for index, (label, value, text) in enumerate(items):
        share = min(Decimal(value) / top, Decimal(1)) if value and top > 0 else Decimal(0)
        width = int(share * BAR_AREA)
        x = LABEL_WIDTH + ((BAR_AREA - width) // 2 if centred else 0)
        bars.append(Bar(label=label, text=text, x=x, y=index * ROW_HEIGHT + 4, width=width,
                        text_x=(LABEL_WIDTH + BAR_AREA if centred else x + width) + 6))
    marker_x = None
    if marker is not None and top > 0:
        marker_x = LABEL_WIDTH + int(min(marker / top, Decimal(1)) * BAR_AREA)
    return BarChart(title=title, bars=bars, width=LABEL_WIDTH + BAR_AREA + TEXT_WIDTH,
                    height=max(len(items), 1) * ROW_HEIGHT + 8, marker_x=marker_x)


def attainment_chart(title: str, items: list[tuple[str, Decimal | None, str]]) -> BarChart:
    """Bars of quota attainment (1 is the whole quota) with a line at 100 %."""
    reached = [value for _, value, _ in items if value is not None]
    top = min(max([Decimal(1), *reached]), ATTAINMENT_CEILING)
    return bar_chart(title, items, maximum=top, marker=Decimal(1))
