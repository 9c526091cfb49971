"""Usage of customers over periods: hourly rollups plus the partial edge hours."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import (
    F,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber

from metering.models import Meter, MeterEvent, MeterUsageRollup
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
)


# Whose usage a read covers: one customer id, a collection of ids, or None for all.
Customers = str | Collection[str] | None


def _of_customers(rows: QuerySet, customers: Customers) -> QuerySet:
    if customers is None:
        return rows
    if isinstance(customers, str):
        return rows.filter(customer_id=customers)
    return rows.filter(customer_id__in=list(customers))


def _rollups(meter: Meter, start: datetime, end: datetime, customers: Customers):
    rows = MeterUsageRollup.objects.filter(
        meter=meter, bucket__gte=start, bucket__lt=end
    )
    return _of_customers(rows, customers)


def _rollup_cells(rows: QuerySet) -> dict[str, list[Cell]]:
    cells: dict[str, list[Cell]] = {}
    for row in rows.values_list(*_CELL_FIELDS):
        customer_id, hour, total, count, last_ts, last_seq, last_value = row[:7]
        latest_seq, latest_value = row[7:]
        cells.setdefault(customer_id, []).append(
            Cell(
                hour=hour,
                total=total,
                count=count,
                last=(last_ts, last_seq, last_value) if last_seq is not None else None,
                latest=(latest_seq, latest_value) if latest_seq is not None else None,
            )
        )
    return cells


def _edge_cells(
    meter: Meter, edges: list[tuple[datetime, datetime]], customers: Customers
) -> dict[str, list[Cell]]:
    """Cells of the partial edge hours, from raw events (at most two hours)."""
    condition = Q()
    for edge_start, edge_end in edges:
        condition |= Q(timestamp__gte=edge_start, timestamp__lt=edge_end)
    if not condition:
        return {}
    events = MeterEvent.objects.filter(
        condition, meter=meter, cancellation__isnull=True
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
    for customer, seq, timestamp, value in events.values_list(
        "customer_id", "id", "timestamp", "value"
    ):
        by_customer.setdefault(customer, []).append(RawEvent(seq, timestamp, value))
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
    """One cell per customer summing whole hours in SQL (plain sum/count/last)."""
    totals = {
        customer_id: Cell(hour=_SUMMED, total=total, count=count)
        for customer_id, total, count in rows.values("customer_id")
        .annotate(total=Sum("value_sum"), count=Sum("event_count"))
        .filter(count__gt=0)
        .values_list("customer_id", "total", "count")
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


def _usage(
    meter: Meter, start: datetime, end: datetime, customers: Customers
) -> dict[str, Decimal]:
    inner, edges = split_period(start, end)
    parts = [_edge_cells(meter, edges, customers)]
    if inner is not None:
        rows = _rollups(meter, *inner, customers)
        parts.append(
            _plain_totals(meter, rows)
            if meter.event_time_window is None
            else _rollup_cells(rows)
        )
    return {
        customer: usage_of(
            formula=meter.formula, window=meter.event_time_window, cells=cells
        )
        for customer, cells in _merge(*parts).items()
    }


def meter_usage_for_period(
    *, meter: Meter, customer_id: str, start: datetime, end: datetime
) -> Decimal:
    """Usage of one customer over ``[start, end)``; 0 without events."""
    return _usage(meter, start, end, customer_id).get(customer_id, ZERO)


def meter_usage_by_customer(
    *, meter: Meter, start: datetime, end: datetime
) -> dict[str, Decimal]:
    """Usage over ``[start, end)`` of every customer with events in it."""
    return _usage(meter, start, end, None)


def meter_usage_for_customers(
    *, meter: Meter, customer_ids: Collection[str], start: datetime, end: datetime
) -> dict[str, Decimal]:
    """Usage over ``[start, end)`` of those of ``customer_ids`` with events in it.

    One grouped query over the rollups (plus the edge hours), whatever the number
    of customers: billing jobs read a whole chunk of subscriptions at once.
    """
    if not customer_ids:
        return {}
    return _usage(meter, start, end, list(customer_ids))


def meter_usage_for_periods(
    *, customer_id: str, reads: Sequence[tuple[Meter, datetime, datetime]]
) -> list[Decimal]:
    """Usage of one customer for each ``(meter, start, end)`` of ``reads``, in order.

    The whole hours of every read of a sum or count meter without a time window
    come from one query over the rollups (a filtered sum per read): an invoice
    preview reads all its meters and periods at once. Edge hours, ``last`` and
    windowed meters are read as ``meter_usage_for_period`` reads them.
    """
    values: list[Decimal] = [ZERO] * len(reads)
    plain: dict[int, tuple[Meter, tuple | None, list]] = {}
    for index, (meter, start, end) in enumerate(reads):
        if meter.event_time_window is None and meter.formula != Meter.Formula.LAST:
            plain[index] = (meter, *split_period(start, end))
        else:
            values[index] = _usage(meter, start, end, customer_id).get(
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
