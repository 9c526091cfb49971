"""A usage bar chart as plain geometry, drawn as inline SVG by a template.

Pure: a series of (bucket start, value) in, bars and axis labels out. Negative
values (corrections) hang below the zero line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 10, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Decimal
    negative: bool


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    zero_y: float
    total: Decimal
    empty: bool


def _label(moment: datetime, hourly: bool) -> str:
    return moment.strftime("%Y-%m-%d %H:00" if hourly else "%Y-%m-%d")


def _number(value: Decimal) -> str:
    return f"{value:,.0f}"


def bar_chart(series: list[tuple[datetime, Decimal]], *, hourly: bool) -> Chart:
    """Lay out one bar per bucket; the y axis spans min(0, values)..max(0, values)."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    values = [value for _, value in series]
    high = max([Decimal(0), *values])
    low = min([Decimal(0), *values])
    span = (high - low) or Decimal(1)
    scale = Decimal(plot_height) / span
    zero_y = TOP + float(high * scale)
    step = plot_width / max(len(series), 1)
    gap = min(2.0, step * 0.2)
    bars = []
    for index, (moment, value) in enumerate(series):
        size = float(abs(value) * scale)
        bars.append(
            Bar(
                x=round(LEFT + index * step + gap / 2, 2),
                y=round(zero_y - size if value >= 0 else zero_y, 2),
                width=round(max(step - gap, 0.5), 2),
                height=round(size, 2),
                label=_label(moment, hourly),
                value=value,
                negative=value < 0,
            )
        )
    y_ticks = [
        Tick(
            position=round(zero_y - float((low + span * i / 4) * scale), 2),
            label=_number(low + span * i / 4),
        )
        for i in range(5)
    ]
    every = max(1, len(series) // 6)
    x_ticks = [
        Tick(
            position=round(LEFT + index * step + step / 2, 2),
            label=_label(moment, hourly)[5:],
        )
        for index, (moment, _) in enumerate(series)
        if index % every == 0
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        zero_y=round(zero_y, 2),
        total=sum(values, Decimal(0)),
        empty=not any(values),
    )
