"""Usage grouped by dimension values (``dimension_group_by_keys``) and filtered by
them (``dimension_filters``): one figure per combination of values.

A group's usage is the meter's formula over the group's events only. For sum and
count the groups therefore add up to the ungrouped usage (events without a key
are the ``""`` group); for ``max`` the largest group is the whole's, for ``last``
the group of the latest event holds the whole's value, and ``time_weighted_sum``
adds up (each dimension set is its own gauge).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Max, Sum

from metering.dimensions import (
    Segment,
    dimension_sets_of,
    dimension_values_of,
    sets_matching,
)
from metering.models import Meter
from metering.selectors.days import Epoch, additive, rollup_parts, union
from metering.selectors.gauges import gauge_usage
from metering.selectors.periods import (
    _edge_cells,
    _rollup_cells,
    _rollups,
    unique_of,
)
from metering.usage import DAY, HOUR, ZERO, Cell, aggregate, floor_day, split_period

Row = tuple[datetime, datetime, dict[str, str], Decimal]


def _buckets(start: datetime, end: datetime, window: str | None):
    if window is None:
        return [(start, end)]
    step = HOUR if window == "hour" else DAY
    found, moment = [], start
    while moment < end:
        found.append((moment, moment + step))
        moment += step
    return found


def _hour_cells(meter: Meter, customers, start, end, sets) -> dict[str, list[Cell]]:
    """The cells over ``[start, end)`` by customer, per hour and set."""
    inner, edges = split_period(start, end)
    cells = _edge_cells(meter, edges, customers, sets)
    if inner is not None:
        rows = _rollups(meter, *inner, customers, sets)
        for customer, found in _rollup_cells(rows).items():
            cells.setdefault(customer, []).extend(found)
    return cells


def _summed_cells(meter: Meter, customers, start, end, sets, window):
    """Cells by customer summed in SQL per dimension set (and per hour or day
    with a window): what sum, count, max and unique_count need, a row per set
    rather than per set and hour. The partial edge hours come from raw events."""
    inner, edges = split_period(start, end)
    cells = _edge_cells(meter, edges, customers, sets)
    if inner is None:
        return cells
    keys = ["customer_id", "dimension_set"]
    if window == "hour":
        keys.append("bucket")
    elif window == "day":
        keys.append("slot")
    # Whole days of sum and count meters from the daily rollups (a row per day
    # and set, not per hour); max needs the hours' value_max.
    by_day = additive(meter) and window != "hour"
    sums = {"total": Sum("value_sum"), "count": Sum("event_count")}
    if not by_day:
        sums["maximum"] = Max("value_max")
    queries = []
    # A day as unix seconds from the database: thousands of rows (a month of a
    # hundred sets) each parsed as a datetime cost more than the query.
    day = Epoch("bucket") - Epoch("bucket") % int(DAY.total_seconds())
    for rows in rollup_parts(meter, *inner, customers, sets, by_day=by_day):
        if window == "day":
            rows = rows.annotate(slot=day)
        queries.append(
            rows.values(*keys)
            .annotate(**sums)
            .filter(count__gt=0)
            .values_list(*keys, *sums)
        )
    days: dict[int, datetime] = {}
    for customer_id, set_id, *slot, total, count, maximum in (
        (*row, None) if by_day else row for row in union(queries)
    ):
        if slot and window == "day":
            if slot[0] not in days:
                days[slot[0]] = datetime.fromtimestamp(slot[0], tz=UTC)
            slot = [days[slot[0]]]
        cells.setdefault(customer_id, []).append(
            Cell(
                hour=slot[0] if slot else start,
                total=total,
                count=count,
                maximum=maximum,
                dimension_set=set_id,
            )
        )
    return cells


def _cells(meter: Meter, customers, start, end, sets, window):
    if meter.event_time_window is None and meter.formula != Meter.Formula.LAST:
        return _summed_cells(meter, customers, start, end, sets, window)
    return _hour_cells(meter, customers, start, end, sets)


def _add(found: dict, key: tuple, value: Decimal) -> None:
    found[key] = found.get(key, ZERO) + value


class _Everything(dict):
    """Every dimension set in the one group ``()``: a read that neither groups nor
    filters (also of meters without dimensions, whose events are set 0)."""

    def __contains__(self, set_id) -> bool:
        return True

    def __getitem__(self, set_id) -> tuple:
        return ()


def _values(meter, customers, start, end, window, grouping, sets) -> dict:
    """{(bucket start, group): usage} for the groups' sets (``grouping`` None: all
    in one; else a function from the set ids read to each one's group); over
    several customers the sum of each customer's usage."""
    found: dict[tuple, Decimal] = {}
    if meter.formula == Meter.Formula.TIME_WEIGHTED_SUM:
        usages = [
            (bucket_start, by_set)
            for bucket_start, bucket_end in _buckets(start, end, window)
            for by_set in gauge_usage(
                meter, bucket_start, bucket_end, customers, sets
            ).values()
        ]
        group_of_set = _group_of_set(
            grouping, {set_id for _, by_set in usages for set_id in by_set}
        )
        for bucket_start, by_set in usages:
            for set_id, value in by_set.items():
                if set_id in group_of_set:
                    _add(found, (bucket_start, group_of_set[set_id]), value)
        return found
    if window is None:
        group_of = lambda hour: start  # noqa: E731
    else:
        group_of = (lambda hour: hour) if window == "hour" else floor_day
    counted = unique_of(meter)
    by_customer = _cells(meter, customers, start, end, sets, window)
    group_of_set = _group_of_set(
        grouping,
        {cell.dimension_set for cells in by_customer.values() for cell in cells},
    )
    for cells in by_customer.values():
        members: dict[tuple, list[Cell]] = {}
        for cell in cells:
            if cell.dimension_set in group_of_set:
                members.setdefault(group_of_set[cell.dimension_set], []).append(cell)
        for group, group_cells in members.items():
            values = aggregate(
                formula=meter.formula,
                window=meter.event_time_window,
                cells=group_cells,
                group_of=group_of,
                unique_of=counted,
            )
            for bucket, value in values.items():
                _add(found, (bucket, group), value)
    return found


def _group_of_set(grouping, set_ids: set[int]):
    return _Everything() if grouping is None else grouping(set_ids)


def _grouping(meter: Meter, group_by: Sequence[str], segment: Segment | None):
    """(grouping, sets to read) for ``_values``: the groups of the sets read,
    named by their ``group_by`` values; a segment reads only its sets."""
    if not group_by and segment is None:
        return None, None

    def named(values: dict[str, str]) -> tuple[str, ...]:
        return tuple(values.get(name, "") for name in group_by)

    if segment is None:
        # Only the sets with usage are named, their values from memory: the
        # meter's every set would be a query per read.
        def grouping(set_ids):
            values = dimension_values_of(meter, set_ids)
            return {set_id: named(found) for set_id, found in values.items()}

        return grouping, None
    sets = dimension_sets_of(meter)
    chosen = sets_matching(sets, segment)
    groups = {set_id: named(sets[set_id]) for set_id in chosen}
    return (lambda set_ids: groups), chosen


def grouped_usage(
    *,
    meter: Meter,
    customer_id: str | None,
    start: datetime,
    end: datetime,
    grouping_window: str | None,
    group_by: Sequence[str],
    segment: Segment | None,
) -> list[Row]:
    """(start, end, dimension values, usage) per bucket and group, newest bucket
    first, groups in value order; every group with usage in the range appears in
    every bucket (0 where it has none). ``customer_id`` None: all customers, each
    bucket the sum of each customer's usage."""
    grouping, read_sets = _grouping(meter, group_by, segment)
    if read_sets is not None and not read_sets:
        return []  # no set meets the segment
    values = _values(
        meter, customer_id, start, end, grouping_window, grouping, read_sets
    )
    # Grouped: the groups with usage; ungrouped: the one group, every bucket.
    grouped = grouping is not None
    present = sorted({group for _, group in values}) if grouped else [()]
    fixed = dict(segment or ())
    return [
        (
            bucket_start,
            bucket_end,
            {**fixed, **dict(zip(group_by, group, strict=True))},
            values.get((bucket_start, group), ZERO),
        )
        for bucket_start, bucket_end in reversed(_buckets(start, end, grouping_window))
        for group in present
    ]
