"""Event summaries and usage series: usage grouped by hour or day, from rollups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import (
    CharField,
    F,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import RowNumber

from metering.dimensions import check_dimension_keys, segment_of
from metering.models import Meter
from metering.selectors.days import Epoch, additive, rollup_parts, union
from metering.selectors.grouped import grouped_usage
from metering.selectors.periods import (
    _rollup_cells,
    _rollups,
    meter_usage_for_period,
)
from metering.usage import (
    DAY,
    HOUR,
    ZERO,
    aggregate,
    floor_day,
)


@dataclass(frozen=True)
class Summary:
    """Usage of one customer over ``[start, end)`` (``billing.meter_event_summary``);
    ``dimensions`` the grouped dimension values (None when not grouped)."""

    meter: Meter
    customer_id: str
    start: datetime
    end: datetime
    value: Decimal
    dimensions: dict[str, str] | None = None


def _slots(parts: list[QuerySet], column: str, seconds: int) -> dict[int, Decimal]:
    """The sum of ``column`` per slot (unix seconds of its start) over ``parts``."""
    slot = Epoch("bucket") - Epoch("bucket") % seconds
    totals: dict[int, Decimal] = {}
    for key, total in union(
        [
            rows.annotate(slot=slot)
            .values("slot")
            .annotate(total=Sum(column))
            .filter(event_count__gt=0)
            .values_list("slot", "total")
            for rows in parts
        ]
    ):
        totals[key] = totals.get(key, ZERO) + Decimal(total)
    return totals


def _plain_grouped(rows: QuerySet, seconds: int) -> dict[int, Decimal]:
    """Usage per slot (unix seconds of its start) for ``last`` meters without a
    time window."""
    slot = Epoch("bucket") - Epoch("bucket") % seconds
    rows = rows.annotate(slot=slot)
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
    if meter.formula not in (
        Meter.Formula.SUM,
        Meter.Formula.COUNT,
        Meter.Formula.LAST,
    ):
        # max, unique_count and time_weighted_sum: per bucket, from cells or
        # gauges (``metering.selectors.grouped``).
        rows = grouped_usage(
            meter=meter,
            customer_id=customer_id,
            start=start,
            end=end,
            grouping_window=window,
            group_by=(),
            segment=None,
        )
        return [(bucket, value) for bucket, _, _, value in reversed(rows)]
    rows = _rollups(meter, start, end, customer_id)
    totals: dict = {}
    if additive(meter):
        # A day's slot from its daily rollups (24 times fewer rows than hours).
        column = "value_sum" if meter.formula == Meter.Formula.SUM else "event_count"
        parts = rollup_parts(meter, start, end, customer_id, by_day=window == "day")
        by_slot = _slots(parts, column, int(step.total_seconds()))
        totals = {
            datetime.fromtimestamp(key, tz=UTC): value for key, value in by_slot.items()
        }
    elif meter.event_time_window is None:
        by_slot = _plain_grouped(rows, int(step.total_seconds()))
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
    group_by: Sequence[str] = (),
    filters: Mapping[str, str] | None = None,
) -> list[Summary]:
    """List what ``event_summaries`` shows: one summary, or one per hour or day.

    Newest first. ``group_by`` (dimension keys) splits each into one summary per
    combination of values with events, in value order; ``filters`` keeps only
    events with those dimension values. A key the meter does not declare is a 400.

    ``start`` and ``end`` are minute-aligned; with a grouping window they are aligned
    to it (the API checks both).
    """
    check_dimension_keys(meter, group_by, "dimension_group_by_keys")
    check_dimension_keys(meter, filters or {}, "dimension_filters")
    if group_by or filters:
        rows = grouped_usage(
            meter=meter,
            customer_id=customer_id,
            start=start,
            end=end,
            grouping_window=grouping_window,
            group_by=tuple(group_by),
            segment=segment_of(
                {"dimension": k, "value": v} for k, v in (filters or {}).items()
            ),
        )
        return [
            Summary(meter, customer_id, bucket_start, bucket_end, value, dimensions)
            for bucket_start, bucket_end, dimensions, value in rows
        ]
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


def customer_usage_series(
    *,
    meters: Sequence[Meter],
    customer_id: str,
    start: datetime,
    end: datetime,
    grouping_window: str,
) -> dict[str, list[tuple[datetime, Decimal]]]:
    """``meter_usage_series`` of one customer for each of ``meters``, by meter id.

    The sum and count meters (``additive``) are read together, in one query over
    the rollups (a page charting every meter asks once, not once a meter); the
    others as ``meter_usage_series`` reads them.
    """
    step = HOUR if grouping_window == "hour" else DAY
    series = {
        meter.pk: meter_usage_series(
            meter=meter,
            customer_id=customer_id,
            start=start,
            end=end,
            grouping_window=grouping_window,
        )
        for meter in meters
        if not additive(meter)
    }
    plain = [meter for meter in meters if additive(meter)]
    if not plain:
        return series
    seconds = int(step.total_seconds())
    slot = Epoch("bucket") - Epoch("bucket") % seconds
    parts = [
        rows.annotate(slot=slot, of=Value(meter.pk, output_field=CharField()))
        .values("of", "slot")
        .annotate(
            total=Sum(
                "value_sum" if meter.formula == Meter.Formula.SUM else "event_count"
            )
        )
        .filter(event_count__gt=0)
        .values_list("of", "slot", "total")
        for meter in plain
        for rows in rollup_parts(
            meter, start, end, customer_id, by_day=grouping_window == "day"
        )
    ]
    totals: dict[tuple[str, int], Decimal] = {}
    for meter_id, key, total in union(parts):
        totals[meter_id, key] = totals.get((meter_id, key), ZERO) + Decimal(total)
    for meter in plain:
        buckets = []
        moment = start
        while moment < end:
            key = int(moment.timestamp())
            buckets.append((moment, totals.get((meter.pk, key), ZERO)))
            moment += step
        series[meter.pk] = buckets
    return series
