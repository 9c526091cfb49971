"""Usage of ``time_weighted_sum`` meters: a gauge's value x hours (GB-hours).

Each dimension set of a customer is its own gauge (the storage of one region, one
bucket...): a reading holds until that gauge's next reading, and the meter's usage
is the sum over its gauges, so grouped usage adds up to the whole. The value held
at the start of a period is the gauge's last reading before it, however old (read
from the hourly rollups' ``last_*``, then corrected by the raw events of the
start's own hour); the last reading holds until the period's end. The readings
inside the period are read from raw events through the ``(customer, timestamp)``
index: gauges report rarely, and the integral needs each reading's time, which an
hourly rollup does not keep. Cancelled readings do not count (their rollup
``last_*`` is recomputed on cancel).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from metering.models import Meter, MeterEvent, MeterUsageRollup
from metering.usage import RawEvent, floor_hour, time_weighted_sum

Gauge = tuple[str, int]  # (customer, dimension set)


def _of(rows: QuerySet, customers, sets) -> QuerySet:
    if isinstance(customers, str):
        rows = rows.filter(customer_id=customers)
    elif customers is not None:
        rows = rows.filter(customer_id__in=list(customers))
    if sets is not None:
        rows = rows.filter(dimension_set__in=list(sets))
    return rows


def _held_before(meter: Meter, hour: datetime, customers, sets) -> dict[Gauge, tuple]:
    """(timestamp, seq, value) of each gauge's last reading before ``hour``."""
    rows = _of(
        MeterUsageRollup.objects.filter(
            meter=meter, bucket__lt=hour, last_seq__isnull=False
        ),
        customers,
        sets,
    )
    latest = (
        rows.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("customer_id"), F("dimension_set")],
                order_by=[F("last_timestamp").desc(), F("last_seq").desc()],
            )
        )
        .filter(rank=1)
        .values_list(
            "customer_id", "dimension_set", "last_timestamp", "last_seq", "last_value"
        )
    )
    return {(c, d): (ts, seq, value) for c, d, ts, seq, value in latest}


def gauge_usage(
    meter: Meter,
    start: datetime,
    end: datetime,
    customers: str | Collection[str] | None,
    sets: Collection[int] | None,
) -> dict[str, dict[int, Decimal]]:
    """Value x hours over ``[start, end)`` per customer and dimension set.

    Gauges holding a value (or with readings) appear; others are absent.
    """
    if end <= start:
        return {}
    hour = floor_hour(start)
    held = _held_before(meter, hour, customers, sets)
    events = _of(
        MeterEvent.objects.filter(
            meter=meter,
            timestamp__gte=hour,
            timestamp__lt=end,
            cancellation__isnull=True,
        ),
        customers,
        sets,
    )
    readings: dict[Gauge, list[RawEvent]] = {}
    for customer_id, dimension_set, seq, timestamp, value in events.values_list(
        "customer_id", "dimension_set", "id", "timestamp", "value"
    ):
        gauge = (customer_id, dimension_set)
        if timestamp < start:
            # A reading of the start's own hour, before the start: it may be the
            # one held at the start.
            if gauge not in held or (timestamp, seq) > held[gauge][:2]:
                held[gauge] = (timestamp, seq, value)
            continue
        readings.setdefault(gauge, []).append(RawEvent(seq, timestamp, value))
    usage: dict[str, dict[int, Decimal]] = {}
    for gauge in held.keys() | readings.keys():
        initial = held[gauge][2] if gauge in held else None
        value = time_weighted_sum(
            start=start, end=end, initial=initial, readings=readings.get(gauge, ())
        )
        usage.setdefault(gauge[0], {})[gauge[1]] = value
    return usage
