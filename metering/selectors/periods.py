"""Usage of customers over periods: hourly rollups plus the partial edge hours."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import (
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber

from metering.dimensions import Segment, dimension_sets_of, segment_sets
from metering.models import Meter, MeterEvent, MeterUsageRollup
from metering.selectors.days import additive, customer_totals
from metering.selectors.gauges import gauge_usage
from metering.usage import (
    ZERO,
    Cell,
    RawEvent,
    cells_from_events,
    floor_hour,
    split_period,
    usage_of,
)

# The hour of a cell that sums many hours in SQL; never used for grouping.
_SUMMED = datetime.min.replace(tzinfo=UTC)

_CELL_FIELDS = (
    "customer_id",
    "bucket",
    "value_sum",
    "event_count",
    "last_timestamp",
    "last_seq",
    "last_value",
    "latest_seq",
    "latest_value",
    "value_max",
    "dimension_set",
)


# Whose usage a read covers: one customer id, a collection of ids, or None for all.
Customers = str | Collection[str] | None
# Which dimension sets a read covers (``metering.dimensions``); None for all.
Sets = Collection[int] | None


def _of_customers(rows: QuerySet, customers: Customers) -> QuerySet:
    if customers is None:
        return rows
    if isinstance(customers, str):
        return rows.filter(customer_id=customers)
    return rows.filter(customer_id__in=list(customers))


def _of_sets(rows: QuerySet, sets: Sets) -> QuerySet:
    return rows if sets is None else rows.filter(dimension_set__in=sets)


def _rollups(
    meter: Meter,
    start: datetime,
    end: datetime,
    customers: Customers,
    sets: Sets = None,
):
    rows = MeterUsageRollup.objects.filter(
        meter=meter, bucket__gte=start, bucket__lt=end
    )
    return _of_sets(_of_customers(rows, customers), sets)


def _rollup_cells(rows: QuerySet) -> dict[str, list[Cell]]:
    cells: dict[str, list[Cell]] = {}
    for row in rows.values_list(*_CELL_FIELDS):
        customer_id, hour, total, count, last_ts, last_seq, last_value = row[:7]
        latest_seq, latest_value, maximum, dimension_set = row[7:]
        cells.setdefault(customer_id, []).append(
            Cell(
                hour=hour,
                total=total,
                count=count,
                last=(last_ts, last_seq, last_value) if last_seq is not None else None,
                latest=(latest_seq, latest_value) if latest_seq is not None else None,
                maximum=maximum,
                dimension_set=dimension_set,
            )
        )
    return cells


def _edge_cells(
    meter: Meter,
    edges: list[tuple[datetime, datetime]],
    customers: Customers,
    sets: Sets = None,
) -> dict[str, list[Cell]]:
    """Cells of the partial edge hours, from raw events (at most two hours)."""
    condition = Q()
    for edge_start, edge_end in edges:
        condition |= Q(timestamp__gte=edge_start, timestamp__lt=edge_end)
    if not condition:
        return {}
    events = _of_sets(
        MeterEvent.objects.filter(condition, meter=meter, cancellation__isnull=True),
        sets,
    )
    if customers is not None:
        events = _of_customers(events, customers)
    else:
        # The edge hours' rollups name the customers with events there, so the
        # (customer, timestamp) index serves the read instead of a scan.
        hours = {floor_hour(edge_start) for edge_start, _ in edges}
        customers = (
            MeterUsageRollup.objects.filter(
                meter=meter, bucket__in=hours, event_count__gt=0
            )
            .values_list("customer_id", flat=True)
            .distinct()
        )
        events = events.filter(customer_id__in=list(customers))
    by_customer: dict[str, list[RawEvent]] = {}
    for customer, seq, timestamp, value, dimension_set in events.values_list(
        "customer_id", "id", "timestamp", "value", "dimension_set"
    ):
        by_customer.setdefault(customer, []).append(
            RawEvent(seq, timestamp, value, dimension_set)
        )
    return {
        customer: cells_from_events(events) for customer, events in by_customer.items()
    }


def _merge(*parts: dict[str, list[Cell]]) -> dict[str, list[Cell]]:
    merged: dict[str, list[Cell]] = {}
    for part in parts:
        for customer_id, cells in part.items():
            merged.setdefault(customer_id, []).extend(cells)
    return merged


def _plain_totals(meter: Meter, rows: QuerySet) -> dict[str, list[Cell]]:
    """One cell per customer summing whole hours in SQL (no time window); per
    customer and dimension set for ``unique_count``."""
    if meter.formula == Meter.Formula.UNIQUE_COUNT:
        return _set_totals(rows)
    totals = {
        customer_id: Cell(hour=_SUMMED, total=total, count=count, maximum=maximum)
        for customer_id, total, count, maximum in rows.values("customer_id")
        .annotate(
            total=Sum("value_sum"), count=Sum("event_count"), maximum=Max("value_max")
        )
        .filter(count__gt=0)
        .values_list("customer_id", "total", "count", "maximum")
    }
    if meter.formula == Meter.Formula.LAST:
        latest = (
            rows.filter(last_seq__isnull=False)
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("customer_id")],
                    order_by=[F("last_timestamp").desc(), F("last_seq").desc()],
                )
            )
            .filter(rank=1)
            .values_list("customer_id", "last_timestamp", "last_seq", "last_value")
        )
        for customer_id, last_ts, last_seq, last_value in latest:
            cell = totals[customer_id]
            totals[customer_id] = Cell(
                hour=cell.hour,
                total=cell.total,
                count=cell.count,
                last=(last_ts, last_seq, last_value),
            )
    return {customer_id: [cell] for customer_id, cell in totals.items()}


def _set_totals(rows: QuerySet) -> dict[str, list[Cell]]:
    """One summed cell per customer and dimension set with events."""
    cells: dict[str, list[Cell]] = {}
    for customer_id, dimension_set, total, count in (
        rows.values("customer_id", "dimension_set")
        .annotate(total=Sum("value_sum"), count=Sum("event_count"))
        .filter(count__gt=0)
        .values_list("customer_id", "dimension_set", "total", "count")
    ):
        cells.setdefault(customer_id, []).append(
            Cell(hour=_SUMMED, total=total, count=count, dimension_set=dimension_set)
        )
    return cells


def unique_of(meter: Meter):
    """The counted dimension's value of a dimension set (``unique_count``), or None."""
    if meter.formula != Meter.Formula.UNIQUE_COUNT:
        return None
    sets, key = dimension_sets_of(meter), meter.unique_payload_key
    return lambda set_id: sets.get(set_id, {}).get(key, "")


def usage_cells(
    meter: Meter, start: datetime, end: datetime, customers: Customers, sets: Sets
) -> dict[str, list[Cell]]:
    """The cells of ``[start, end)`` by customer: whole hours from the rollups,
    edge hours from raw events (any formula but ``time_weighted_sum``)."""
    inner, edges = split_period(start, end)
    parts = [_edge_cells(meter, edges, customers, sets)]
    if inner is not None and additive(meter):
        parts.append(customer_totals(meter, *inner, customers, sets))
    elif inner is not None:
        rows = _rollups(meter, *inner, customers, sets)
        parts.append(
            _plain_totals(meter, rows)
            if meter.event_time_window is None
            else _rollup_cells(rows)
        )
    return _merge(*parts)


def _usage(
    meter: Meter,
    start: datetime,
    end: datetime,
    customers: Customers,
    segment: Segment | None = None,
) -> dict[str, Decimal]:
    sets = segment_sets(meter, segment)
    if sets is not None and not sets:
        return {}  # no event has the segment's values
    if meter.formula == Meter.Formula.TIME_WEIGHTED_SUM:
        return {
            customer: sum(by_set.values(), ZERO)
            for customer, by_set in gauge_usage(
                meter, start, end, customers, sets
            ).items()
        }
    counted = unique_of(meter)
    return {
        customer: usage_of(
            formula=meter.formula,
            window=meter.event_time_window,
            cells=cells,
            unique_of=counted,
        )
        for customer, cells in usage_cells(meter, start, end, customers, sets).items()
    }


def meter_usage_for_period(
    *,
    meter: Meter,
    customer_id: str,
    start: datetime,
    end: datetime,
    segment: Segment | None = None,
) -> Decimal:
    """Usage of one customer over ``[start, end)``; 0 without events.

    ``segment``: only the events whose dimensions meet its conditions.
    """
    return _usage(meter, start, end, customer_id, segment).get(customer_id, ZERO)


def meter_usage_by_customer(
    *, meter: Meter, start: datetime, end: datetime, segment: Segment | None = None
) -> dict[str, Decimal]:
    """Usage over ``[start, end)`` of every customer with events in it."""
    return _usage(meter, start, end, None, segment)


def meter_usage_for_customers(
    *,
    meter: Meter,
    customer_ids: Collection[str],
    start: datetime,
    end: datetime,
    segment: Segment | None = None,
) -> dict[str, Decimal]:
    """Usage over ``[start, end)`` of those of ``customer_ids`` with events in it.

    One grouped query over the rollups (plus the edge hours), whatever the number
    of customers: billing jobs read a whole chunk of subscriptions at once.
    """
    if not customer_ids:
        return {}
    return _usage(meter, start, end, list(customer_ids), segment)


def meter_usage_for_periods(
    *, customer_id: str, reads: Sequence[tuple]
) -> list[Decimal]:
    """Usage of one customer for each ``(meter, start, end[, segment])`` of
    ``reads``, in order.

    The whole hours of every read of a sum or count meter without a time window
    or segment come from one query over the rollups (a filtered sum per read): an
    invoice preview reads all its meters and periods at once. Other reads are
    read as ``meter_usage_for_period`` reads them.
    """
    values: list[Decimal] = [ZERO] * len(reads)
    plain: dict[int, tuple[Meter, tuple | None, list]] = {}
    for index, (meter, start, end, *segment) in enumerate(reads):
        segment = segment[0] if segment else None
        if (
            meter.event_time_window is None
            and meter.formula in (Meter.Formula.SUM, Meter.Formula.COUNT)
            and segment is None
        ):
            plain[index] = (meter, *split_period(start, end))
        else:
            values[index] = _usage(meter, start, end, customer_id, segment).get(
                customer_id, ZERO
            )
    totals = _filtered_totals(
        customer_id,
        {index: (meter, inner) for index, (meter, inner, _) in plain.items() if inner},
    )
    for index, (meter, _, edges) in plain.items():
        cells = _edge_cells(meter, edges, customer_id).get(customer_id, [])
        if index in totals:
            cells.append(totals[index])
        values[index] = usage_of(formula=meter.formula, window=None, cells=cells)
    return values


def _filtered_totals(
    customer_id: str, inners: dict[int, tuple[Meter, tuple[datetime, datetime]]]
) -> dict[int, Cell]:
    """One summed cell per read with events, from one query over the rollups.

    A sum meter needs only the sum of values, a count meter only the count.
    """
    if not inners:
        return {}
    sums = {}
    for index, (meter, (start, end)) in inners.items():
        column = "event_count" if meter.formula == Meter.Formula.COUNT else "value_sum"
        within = Q(meter_id=meter.pk, bucket__gte=start, bucket__lt=end)
        sums[f"read_{index}"] = Sum(column, filter=within)
    found = MeterUsageRollup.objects.filter(
        customer_id=customer_id,
        meter__in={meter for meter, _ in inners.values()},
        bucket__gte=min(start for _, (start, _) in inners.values()),
        bucket__lt=max(end for _, (_, end) in inners.values()),
    ).aggregate(**sums)
    cells = {}
    for index, (meter, _) in inners.items():
        value = found[f"read_{index}"]
        if value is None:
            continue  # no rollup in the period: no events
        if meter.formula == Meter.Formula.COUNT:
            cells[index] = Cell(hour=_SUMMED, count=int(value))
        else:  # any positive count: the sum formula reads only the total
            cells[index] = Cell(hour=_SUMMED, total=value, count=1)
    return cells
