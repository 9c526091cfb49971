"""Reads of the metering app: usage per period, per customer, summaries, series.

Usage is served from the hourly rollups. Only the partial hours at the edges of a
period that is not hour-aligned (at most two hours, one customer or one meter) are
read from raw events, through the ``(customer, timestamp)`` index; a period
is never answered by scanning its raw events.

Every value is a ``Decimal`` whole number in the meter's unit, computed with the
meter's formula over events with timestamp in ``[start, end)`` (UTC), cancelled
events excluded and ``event_time_window`` honoured (see ``metering.usage``). Values
are raw: a sum may be negative; invoices bill ``usage.billable_quantity(value)``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from core.models import Customer
from metering.models import Meter, MeterEvent, MeterEventAdjustment, MeterUsageRollup
from metering.usage import (
    DAY,
    HOUR,
    ZERO,
    Cell,
    RawEvent,
    aggregate,
    cells_from_events,
    floor_day,
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


@dataclass(frozen=True)
class Summary:
    """Usage of one customer over ``[start, end)`` (``billing.meter_event_summary``)."""

    meter: Meter
    customer_id: str
    start: datetime
    end: datetime
    value: Decimal


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


def meter_usage_received_after(
    *,
    meter: Meter,
    after_event_ids: list[int],
    customers: QuerySet | list[str],
    received_from: datetime | None,
    received_until: datetime,
) -> dict[str, dict[int, Decimal]]:
    """Usage per customer of the events received after each of ``after_event_ids``.

    An event's id is its order of receipt, so the events after id ``W`` are those
    reported after ``W`` was the latest one: alerts count only usage reported after
    they were created. Returns ``{customer_id: {W: usage}}`` for the customers (ids,
    or a queryset of ids) with such events; cancelled events and events received
    (``created``) after ``received_until`` do not count. ``received_from``, not
    later than any counted event's ``created``, narrows the read to the pages the
    BRIN index on ``created`` names.

    One query whatever the number of boundaries: for sum and count meters the
    database groups events by customer and by the last boundary they pass, and the
    partial sums add up from the newest boundary down; other meters read events.
    """
    bounds = sorted(set(after_event_ids))
    if not bounds:
        return {}
    events = MeterEvent.objects.filter(
        meter=meter,
        customer_id__in=customers,
        id__gt=bounds[0],
        created__lte=received_until,
        cancellation__isnull=True,
    )
    if received_from is not None:
        events = events.filter(created__gte=received_from)
    if meter.event_time_window is None and meter.formula != Meter.Formula.LAST:
        return _received_partials(events, bounds, meter.formula)
    by_customer: dict[str, list[RawEvent]] = {}
    for customer_id, seq, timestamp, value in events.values_list(
        "customer_id", "id", "timestamp", "value"
    ):
        by_customer.setdefault(customer_id, []).append(RawEvent(seq, timestamp, value))
    return {
        customer_id: {
            bound: usage_of(
                formula=meter.formula,
                window=meter.event_time_window,
                cells=cells_from_events(e for e in raw if e.seq > bound),
            )
            for bound in bounds
        }
        for customer_id, raw in by_customer.items()
    }


def _received_partials(
    events: QuerySet, bounds: list[int], formula: str
) -> dict[str, dict[int, Decimal]]:
    # Slot i holds the events with bounds[i] < id <= bounds[i + 1] (the last: open).
    slot = Case(
        *(
            When(id__gt=bound, then=Value(index))
            for index, bound in reversed(list(enumerate(bounds)))
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    partials: dict[str, list[Decimal]] = {}
    for customer_id, index, total, count in (
        events.annotate(slot=slot)
        .values("customer_id", "slot")
        .annotate(total=Sum("value"), count=Count("id"))
        .values_list("customer_id", "slot", "total", "count")
    ):
        partial = partials.setdefault(customer_id, [ZERO] * len(bounds))
        partial[index] = Decimal(count) if formula == Meter.Formula.COUNT else total
    usage: dict[str, dict[int, Decimal]] = {}
    for customer_id, partial in partials.items():
        running, by_bound = ZERO, {}
        for index in reversed(range(len(bounds))):
            running += partial[index]
            by_bound[bounds[index]] = running
        usage[customer_id] = by_bound
    return usage


class _Epoch(Func):
    """Unix seconds of a datetime column, computed by the database.

    Grouping hours into days on integers spares Python from parsing one datetime
    per rollup row, which costs more than the query itself.
    """

    output_field = BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS bigint)",
            **extra,
        )

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="CAST(strftime('%%%%s', %(expressions)s) AS integer)",
            **extra,
        )


def _plain_grouped(rows: QuerySet, formula: str, seconds: int) -> dict[int, Decimal]:
    """Usage per slot (unix seconds of its start) for meters without a time window."""
    slot = _Epoch("bucket") - _Epoch("bucket") % seconds
    rows = rows.annotate(slot=slot)
    if formula != Meter.Formula.LAST:
        column = "value_sum" if formula == Meter.Formula.SUM else "event_count"
        return {
            key: Decimal(total)
            for key, total in rows.values("slot")
            .annotate(total=Sum(column))
            .filter(event_count__gt=0)
            .values_list("slot", "total")
        }
    # Per customer and slot, the hour holding the latest event; summed over customers.
    latest = (
        rows.filter(last_seq__isnull=False)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id"), F("slot")],
                order_by=[F("last_timestamp").desc(), F("last_seq").desc()],
            )
        )
        .filter(rank=1)
        .values_list("slot", "last_value")
    )
    totals: dict[int, Decimal] = {}
    for key, value in latest:
        totals[key] = totals.get(key, ZERO) + value
    return totals


def _grouped(
    meter: Meter, customer_id: str | None, start: datetime, end: datetime, window: str
) -> list[tuple[datetime, Decimal]]:
    """Usage per hour or per UTC day of ``[start, end)`` (aligned), oldest first.

    Over several customers, a bucket holds the sum of each customer's usage in it.
    """
    step = HOUR if window == "hour" else DAY
    rows = _rollups(meter, start, end, customer_id)
    totals: dict = {}
    if meter.event_time_window is None:
        by_slot = _plain_grouped(rows, meter.formula, int(step.total_seconds()))
        totals = {
            datetime.fromtimestamp(key, tz=UTC): value for key, value in by_slot.items()
        }
    else:
        group_of = (lambda hour: hour) if window == "hour" else floor_day
        for cells in _rollup_cells(rows).values():
            values = aggregate(
                formula=meter.formula,
                window=meter.event_time_window,
                cells=cells,
                group_of=group_of,
            )
            for key, value in values.items():
                totals[key] = totals.get(key, ZERO) + value
    buckets = []
    moment = start
    while moment < end:
        buckets.append((moment, totals.get(moment, ZERO)))
        moment += step
    return buckets


def meter_event_summaries(
    *,
    meter: Meter,
    customer_id: str,
    start: datetime,
    end: datetime,
    grouping_window: str | None,
) -> list[Summary]:
    """List what ``event_summaries`` shows: one summary, or one per hour or day.

    Newest first.

    ``start`` and ``end`` are minute-aligned; with a grouping window they are aligned
    to it (the API checks both).
    """
    if grouping_window is None:
        value = meter_usage_for_period(
            meter=meter, customer_id=customer_id, start=start, end=end
        )
        return [Summary(meter, customer_id, start, end, value)]
    step = HOUR if grouping_window == "hour" else DAY
    return [
        Summary(meter, customer_id, bucket, bucket + step, value)
        for bucket, value in reversed(
            _grouped(meter, customer_id, start, end, grouping_window)
        )
    ]


def meter_usage_series(
    *,
    meter: Meter,
    customer_id: str | None,
    start: datetime,
    end: datetime,
    grouping_window: str,
) -> list[tuple[datetime, Decimal]]:
    """Usage per hour or day for a chart, oldest first; all customers when None.

    For all customers a bucket shows the sum of each customer's usage in it.
    """
    return _grouped(meter, customer_id, start, end, grouping_window)


def meter_events_latest(
    *, meter: Meter, customer_id: str | None = None, limit: int = 25
) -> list[MeterEvent]:
    """The latest events by timestamp (cancelled ones flagged), newest first.

    The newest rollup hours say which customers to read and from when, so the
    ``(customer, timestamp)`` index serves this even on a huge table.
    """
    rollups = MeterUsageRollup.objects.filter(meter=meter)
    if customer_id is not None:
        rollups = rollups.filter(customer_id=customer_id)
    hours = list(rollups.order_by("-bucket").values_list("bucket", flat=True)[:limit])
    if not hours:
        return []
    since = hours[-1]
    customers = rollups.filter(bucket__gte=since).values_list("customer_id", flat=True)
    events = (
        MeterEvent.objects.filter(
            meter=meter,
            customer_id__in=list(customers.distinct()),
            timestamp__gte=since,
        )
        .select_related("customer", "meter")
        .annotate(
            cancelled=Exists(MeterEventAdjustment.objects.filter(event=OuterRef("pk")))
        )
        .order_by("-timestamp", "-id")
    )
    return list(events[:limit])


def customers_with_events_received(
    *, after_id: int, through_id: int
) -> list[tuple[str, str | None]]:
    """(customer id, test clock id) of the customers with events in the id range
    ``(after_id, through_id]``, in customer order: whose usage just changed."""
    customers = (
        MeterEvent.objects.filter(id__gt=after_id, id__lte=through_id)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return list(
        Customer.objects.filter(pk__in=customers)
        .order_by("pk")
        .values_list("pk", "test_clock_id")
    )
