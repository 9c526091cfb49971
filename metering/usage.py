"""The aggregation rules of meters, as pure functions (no ORM, no clock).

Usage is built from *cells*: the events of one customer in one UTC hour (by event
timestamp), summarised the way ``MeterUsageRollup`` stores them. A whole hour comes
from a rollup row; the partial hours at the edges of a period come from raw events.

Formulas (DESIGN.md "Metering", API.md §20.4):

- ``sum``: sum of values; ``count``: number of events; ``last``: value of the event
  latest by (timestamp, order of receipt), 0 when there is none.
- With ``event_time_window`` (hour or day), only the event received last in each UTC
  window counts; the formula then runs over those events (``count`` counts windows,
  ``last`` takes the latest window). Only sum, count and last take a window.
- Beyond Stripe: ``max``, the largest value (0 without events; a negative largest
  value is returned as is); ``unique_count``, the number of distinct non-empty
  values of the meter's ``unique_payload_key`` dimension among the events (events
  without the key count for no one); ``time_weighted_sum``, see
  ``time_weighted_sum``.

Cells are per dimension set as well as per hour (``metering.dimensions``): a
segment's usage is the formula over the segment's events only.

Values are ``Decimal`` whole numbers in the meter's unit; results are raw (a sum may be
negative) and ``billable_quantity`` clamps them for invoicing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Cell:
    """Usage of one customer in one hour: what a rollup row holds.

    ``last`` is (timestamp, seq, value) of the latest event by time, ``latest`` is
    (seq, value) of the event received last; ``seq`` is the event's id;
    ``maximum`` the largest value.
    """

    hour: datetime
    total: Decimal = ZERO
    count: int = 0
    last: tuple[datetime, int, Decimal] | None = None
    latest: tuple[int, Decimal] | None = None
    maximum: Decimal | None = None
    dimension_set: int = 0


@dataclass(frozen=True)
class RawEvent:
    """One counted (not cancelled) event, as the aggregation needs it."""

    seq: int
    timestamp: datetime
    value: Decimal
    dimension_set: int = 0


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
    """Summarise raw events into one cell per hour and dimension set, the way the
    rollups do."""
    by_hour: dict[tuple[datetime, int], list[RawEvent]] = {}
    for event in events:
        key = (floor_hour(event.timestamp), event.dimension_set)
        by_hour.setdefault(key, []).append(event)
    cells = []
    for (hour, dimension_set), group in by_hour.items():
        last = max(group, key=lambda event: (event.timestamp, event.seq))
        latest = max(group, key=lambda event: event.seq)
        cells.append(
            Cell(
                hour=hour,
                total=sum((event.value for event in group), ZERO),
                count=len(group),
                last=(last.timestamp, last.seq, last.value),
                latest=(latest.seq, latest.value),
                maximum=max(event.value for event in group),
                dimension_set=dimension_set,
            )
        )
    return cells


def aggregate(
    *,
    formula: str,
    window: str | None,
    cells: Iterable[Cell],
    group_of: Callable[[datetime], Hashable] = lambda hour: None,
    unique_of: Callable[[int], str] | None = None,
) -> dict[Hashable, Decimal]:
    """Apply the meter's formula to ``cells``, per group of hours.

    ``group_of(hour)`` names the group a cell's hour belongs to (a summary bucket);
    groups without events are absent from the result. Windows are resolved over all
    the cells before grouping, so an event superseded later in its window never
    counts in any group. ``unique_of(dimension set)`` is the counted dimension's
    value (``unique_count``).
    """
    if window is None:
        return _aggregate_plain(formula, cells, group_of, unique_of)
    return _aggregate_windowed(formula, window, cells, group_of)


def _aggregate_plain(formula, cells, group_of, unique_of) -> dict[Hashable, Decimal]:
    totals: dict[Hashable, Decimal] = {}
    counts: dict[Hashable, int] = {}
    lasts: dict[Hashable, tuple[datetime, int, Decimal]] = {}
    maxima: dict[Hashable, Decimal] = {}
    uniques: dict[Hashable, set[str]] = {}
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
        if cell.maximum is not None and (
            key not in maxima or cell.maximum > maxima[key]
        ):
            maxima[key] = cell.maximum
        if unique_of is not None:
            counted = uniques.setdefault(key, set())
            value = unique_of(cell.dimension_set)
            if value != "":  # events without the key name no one
                counted.add(value)
    if formula == "sum":
        return totals
    if formula == "count":
        return {key: Decimal(count) for key, count in counts.items()}
    if formula == "max":
        return maxima
    if formula == "unique_count":
        return {key: Decimal(len(values)) for key, values in uniques.items()}
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


def usage_of(
    *,
    formula: str,
    window: str | None,
    cells: Iterable[Cell],
    unique_of: Callable[[int], str] | None = None,
) -> Decimal:
    """Usage over all of ``cells``: 0 when there are no events."""
    return aggregate(
        formula=formula, window=window, cells=cells, unique_of=unique_of
    ).get(None, ZERO)


# Time-weighted sums are in value x hours, to 12 decimal places.
TIME_WEIGHTED_PLACES = Decimal("1e-12")
_MICROSECONDS_PER_HOUR = 3_600_000_000


def time_weighted_sum(
    *,
    start: datetime,
    end: datetime,
    initial: Decimal | None,
    readings: Iterable[RawEvent],
) -> Decimal:
    """A gauge's value x hours over ``[start, end)`` (e.g. GB-hours).

    Each reading holds from its timestamp until the next reading (by timestamp,
    then order of receipt); ``initial`` is the value held at ``start`` (the last
    reading before it; None: nothing held, i.e. 0). The last reading holds until
    ``end``. Readings outside ``[start, end)`` are ignored. Exact in microseconds,
    rounded once, half up, to 12 decimal places of an hour-unit.
    """
    if end <= start:
        return ZERO
    with localcontext(prec=80):
        return _time_weighted(start, end, initial, readings)


def _time_weighted(start, end, initial, readings) -> Decimal:
    ordered = sorted(
        (r for r in readings if start <= r.timestamp < end),
        key=lambda r: (r.timestamp, r.seq),
    )
    held, since, total = initial or ZERO, start, 0
    for reading in ordered:
        total += held * _microseconds(reading.timestamp - since)
        held, since = reading.value, reading.timestamp
    total += held * _microseconds(end - since)
    return (Decimal(total) / _MICROSECONDS_PER_HOUR).quantize(
        TIME_WEIGHTED_PLACES, rounding=ROUND_HALF_UP
    )


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def billable_quantity(usage: Decimal) -> Decimal:
    """The quantity an invoice bills: a negative net usage bills as 0."""
    return max(usage, ZERO)
