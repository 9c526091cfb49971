"""The meter page's chart over every customer, from ``MeterHourTotal``.

A meter with 100,000 customers has a rollup row per customer and hour: a month
of its chart summed a few million of them per visit (seconds). The hourly totals
(kept by the ingest statements and triggers, PostgreSQL) make it 720 rows per
shard in use. Only sums and counts add up over customers that way; other
formulas, windowed meters and SQLite read the rollups
(``metering.selectors.meter_usage_series``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import TruncDay

from metering.models import Meter, MeterHourTotal
from metering.usage import DAY, HOUR, ZERO


def totals_kept_for(meter: Meter) -> bool:
    """Whether the hourly totals answer ``meter``'s chart of every customer."""
    return (
        connection.vendor == "postgresql"
        and meter.formula in (Meter.Formula.SUM, Meter.Formula.COUNT)
        and meter.event_time_window is None
    )


def meter_totals_series(
    *, meter: Meter, start: datetime, end: datetime, grouping_window: str
) -> list[tuple[datetime, Decimal]]:
    """Usage of every customer per hour or UTC day of ``[start, end)`` (aligned),
    oldest first, as ``meter_usage_series`` answers it (``totals_kept_for``)."""
    column = "value_sum" if meter.formula == Meter.Formula.SUM else "event_count"
    rows = MeterHourTotal.objects.filter(meter=meter, bucket__gte=start, bucket__lt=end)
    step = HOUR
    if grouping_window != "hour":
        rows = rows.annotate(slot=TruncDay("bucket", tzinfo=UTC))
        step = DAY
    else:
        rows = rows.annotate(slot=F("bucket"))
    totals = {
        slot: Decimal(total)
        for slot, total in rows.values("slot")
        .annotate(total=Sum(column))
        .filter(event_count__gt=0)
        .values_list("slot", "total")
    }
    buckets = []
    moment = start
    while moment < end:
        buckets.append((moment, totals.get(moment, ZERO)))
        moment += step
    return buckets
