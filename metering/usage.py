"""The aggregation rules of meters, as pure functions (no ORM, no clock).

Usage is built from *cells*: the events of one customer in one UTC hour (by event
timestamp), summarised the way ``MeterUsageRollup`` stores them. A whole hour comes
from a rollup row; the partial hours at the edges of a period come from raw events.

Formulas (DESIGN.md "Metering", API.md §20.4):

- ``sum``: sum of values; ``count``: number of events; ``last``: value of the event
  latest by (timestamp, order of receipt), 0 when there is none.
- With ``event_time_window`` (hour or day), only the event received last in each UTC
  window counts; the formula then runs over those events (``count`` counts windows,
  ``last`` takes the latest window).

Values are ``Decimal`` whole numbers in the meter's unit; results are raw (a sum may be
negative) and ``billable_quantity`` clamps them for invoicing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Cell:
    """Usage of one customer in one hour: what a rollup row holds.

    ``last`` is (timestamp, seq, value) of the latest event by time, ``latest`` is
    (seq, value) of the event received last; ``seq`` is the event's id.
    """

    hour: datetime
    total: Decimal = ZERO
    count: int = 0
    last: tuple[datetime, int, Decimal] | None = None
    latest: tuple[int, Decimal] | None = None


@dataclass(frozen=True)
class RawEvent:
    """One counted (not cancelled) event, as the aggregation needs it."""

    seq: int
    timestamp: datetime
    value: Decimal


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return floor_hour(moment).replace(hour=0)


def ceil_hour(moment: datetime) -> datetime:
    floored = floor_hour(moment)
    return floored if floored == moment else floored + HOUR


def floor_window(moment: datetime, window: str) -> datetime:
    return floor_day(moment) if window == "day" else floor_hour(moment)


def split_period(start: datetime, end: datetime):
    """Split ``[start, end)`` into whole hours and the partial hours at its edges.

    Returns ``(inner, edges)``: ``inner`` is an hour-aligned ``(from, to)`` or None,
    ``edges`` the ``(from, to)`` ranges (at most two, each within one hour) that
    rollups cannot answer and raw events must.
    """
    if end <= start:
        return None, []
    inner_start, inner_end = ceil_hour(start), floor_hour(end)
    if inner_start >= inner_end:
        if floor_hour(start) == floor_hour(end - timedelta(microseconds=1)):
            return None, [(start, end)]
        return None, [(start, inner_start), (inner_start, end)]
    edges = []
    if start < inner_start:
        edges.append((start, inner_start))
    if inner_end < end:
        edges.append((inner_end, end))
    return (inner_start, inner_end), edges


def cells_from_events(events: Iterable[RawEvent]) -> list[Cell]:
    """Summarise raw events into one cell per hour, the way the rollups do."""
    by_hour: dict[datetime, list[RawEvent]] = {}
    for event in events:
        by_hour.setdefault(floor_hour(event.timestamp), []).append(event)
    cells = []
    for hour, group in by_hour.items():
        last = max(group, key=lambda event: (event.timestamp, event.seq))
        latest = max(group, key=lambda event: event.seq)
        cells.append(
            Cell(
                hour=hour,
                total=sum((event.value for event in group), ZERO),
                count=len(group),
                last=(last.timestamp, last.seq, last.value),
                latest=(latest.seq, latest.value),
            )
        )
    return cells


def aggregate(
    *,
    formula: str,
    window: str | None,
    cells: Iterable[Cell],
    group_of: Callable[[datetime], Hashable] = lambda hour: None,
) -> dict[Hashable, Decimal]:
    """Apply the meter's formula to ``cells``, per group of hours.

    ``group_of(hour)`` names the group a cell's hour belongs to (a summary bucket);
    groups without events are absent from the result. Windows are resolved over all
    the cells before grouping, so an event superseded later in its window never
    counts in any group.
    """
    if window is None:
        return _aggregate_plain(formula, cells, group_of)
    return _aggregate_windowed(formula, window, cells, group_of)


def _aggregate_plain(formula, cells, group_of) -> dict[Hashable, Decimal]:
    totals: dict[Hashable, Decimal] = {}
    counts: dict[Hashable, int] = {}
    lasts: dict[Hashable, tuple[datetime, int, Decimal]] = {}
    for cell in cells:
        if cell.count == 0:
            continue
        key = group_of(cell.hour)
        totals[key] = totals.get(key, ZERO) + cell.total
        counts[key] = counts.get(key, 0) + cell.count
        if cell.last is not None and (
            key not in lasts or cell.last[:2] > lasts[key][:2]
        ):
            lasts[key] = cell.last
    if formula == "sum":
        return totals
    if formula == "count":
        return {key: Decimal(count) for key, count in counts.items()}
    return {key: last[2] for key, last in lasts.items()}


def _aggregate_windowed(formula, window, cells, group_of) -> dict[Hashable, Decimal]:
    # The one event that counts per window: the one received last, and its hour.
    chosen: dict[datetime, tuple[int, Decimal, datetime]] = {}
    for cell in cells:
        if cell.latest is None:
            continue
        start = floor_window(cell.hour, window)
        if start not in chosen or cell.latest[0] > chosen[start][0]:
            chosen[start] = (cell.latest[0], cell.latest[1], cell.hour)
    totals: dict[Hashable, Decimal] = {}
    counts: dict[Hashable, int] = {}
    lasts: dict[Hashable, tuple[datetime, Decimal]] = {}
    for start, (_seq, value, hour) in chosen.items():
        key = group_of(hour)
        totals[key] = totals.get(key, ZERO) + value
        counts[key] = counts.get(key, 0) + 1
        if key not in lasts or start > lasts[key][0]:
            lasts[key] = (start, value)
    if formula == "sum":
        return totals
    if formula == "count":
        return {key: Decimal(count) for key, count in counts.items()}
    return {key: last[1] for key, last in lasts.items()}


def usage_of(*, formula: str, window: str | None, cells: Iterable[Cell]) -> Decimal:
    """Usage over all of ``cells``: 0 when there are no events."""
    return aggregate(formula=formula, window=window, cells=cells).get(None, ZERO)


def billable_quantity(usage: Decimal) -> Decimal:
    """The quantity an invoice bills: a negative net usage bills as 0."""
    return max(usage, ZERO)
