"""Small charts for the dashboard, drawn on the server as inline SVG.

Pure layout: values in, markup out; no JavaScript and nothing fetched from
elsewhere. Every bar is a link to the list behind its figure, and carries its
figure as text (``<title>``) for a screen reader and a hover.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 10, 22


@dataclass(frozen=True)
class Column:
    """One bar: its height's ``value``, the ``text`` it shows, where it links."""

    value: int
    text: str
    url: str


@dataclass(frozen=True)
class ColumnGroup:
    """The bars of one x-axis label, one per series (e.g. invoiced, collected)."""

    label: str
    columns: tuple[Column, ...]


def _bar(column: Column, series: str, x: float, width: float, scale: float):
    height = round(max(column.value, 0) * scale, 2)
    y = round(TOP + (HEIGHT - TOP - BOTTOM) - height, 2)
    return format_html(
        '<a href="{}"><rect class="series-{}" x="{}" y="{}" width="{}" height="{}">'
        "<title>{}</title></rect></a>",
        column.url,
        series,
        round(x, 2),
        y,
        round(width, 2),
        height,
        column.text,
    )


def column_chart(
    groups: list[ColumnGroup], *, series: tuple[str, ...], label: str
) -> SafeString:
    """Grouped columns, one group per label, one column per series, from zero up."""
    high = max(
        (column.value for group in groups for column in group.columns), default=0
    )
    scale = (HEIGHT - TOP - BOTTOM) / high if high > 0 else 0.0
    step = (WIDTH - LEFT - RIGHT) / max(len(groups), 1)
    width = step * 0.8 / max(len(series), 1)
    parts = []
    for index, group in enumerate(groups):
        start = LEFT + index * step + step * 0.1
        parts += [
            _bar(column, str(position), start + position * width, width, scale)
            for position, column in enumerate(group.columns)
        ]
        parts.append(
            format_html(
                '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                round(LEFT + index * step + step / 2, 2),
                HEIGHT - 6,
                group.label,
            )
        )
    baseline = HEIGHT - BOTTOM
    return format_html(
        '<svg class="tally-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<line class="zero" x1="{}" x2="{}" y1="{}" y2="{}"></line>{}</svg>',
        WIDTH,
        HEIGHT,
        label,
        LEFT,
        WIDTH - RIGHT,
        baseline,
        baseline,
        mark_safe("".join(parts)),  # noqa: S308 - each part is format_html output
    )


def bar_rows(rows: list[tuple[str, str, str, int]]) -> SafeString:
    """Horizontal bars as table rows: (name, url, figure text, value) each, the
    longest bar the largest value."""
    high = max((value for _, _, _, value in rows), default=0)
    return format_html_join(
        "",
        '<tr><th scope="row"><a href="{}">{}</a></th>'
        '<td class="tally-bar-cell"><span class="tally-bar" style="width: {}%">'
        '</span></td><td class="num"><a href="{}">{}</a></td></tr>',
        (
            (
                url,
                name,
                round(100 * max(value, 0) / high, 1) if high > 0 else 0,
                url,
                text,
            )
            for name, url, text, value in rows
        ),
    )
