"""Sums and counts over whole hours, read a day at a time where the days are whole.

A ``sum`` or ``count`` meter without a time window needs, per customer (and
dimension set, and summary bucket), only the total and the number of events: the
daily rollups (``MeterUsageDay``) hold them for each UTC day, so a 30-day month of
one customer is 30 rows per dimension set instead of 720. The hours before the
first whole day and after the last come from the hourly rollups; the parts are
read in one ``UNION ALL`` and a caller adds up rows of the same key.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from django.db.models import BigIntegerField, Func, QuerySet, Sum

from metering.models import Meter, MeterUsageDay, MeterUsageRollup
from metering.usage import DAY, Cell, floor_day

# The hour of a cell that sums many hours in SQL; never used for grouping.
SUMMED = datetime.min.replace(tzinfo=UTC)


class Epoch(Func):
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


def additive(meter: Meter) -> bool:
    """Whether the meter's usage is a sum of the rollups' totals or counts."""
    return meter.event_time_window is None and meter.formula in (
        Meter.Formula.SUM,
        Meter.Formula.COUNT,
    )


def _narrow(rows: QuerySet, customers, sets: Collection[int] | None) -> QuerySet:
    if isinstance(customers, str):
        rows = rows.filter(customer_id=customers)
    elif customers is not None:
        rows = rows.filter(customer_id__in=list(customers))
    return rows if sets is None else rows.filter(dimension_set__in=sets)


def rollup_parts(
    meter: Meter,
    start: datetime,
    end: datetime,
    customers,
    sets: Collection[int] | None = None,
    *,
    by_day: bool = True,
) -> list[QuerySet]:
    """Rows covering the whole hours ``[start, end)`` (hour-aligned), each with
    ``customer_id``, ``bucket``, ``dimension_set``, ``value_sum`` and
    ``event_count``: the whole UTC days from the daily rollups (``by_day``), the
    other hours from the hourly ones."""

    def hours(since: datetime, until: datetime) -> QuerySet:
        rows = MeterUsageRollup.objects.filter(
            meter=meter, bucket__gte=since, bucket__lt=until
        )
        return _narrow(rows, customers, sets)

    first = floor_day(start)
    first = first if first == start else first + DAY
    last = floor_day(end)
    if not by_day or first >= last:
        return [hours(start, end)]
    days = MeterUsageDay.objects.filter(meter=meter, bucket__gte=first, bucket__lt=last)
    parts = [_narrow(days, customers, sets)]
    if start < first:
        parts.append(hours(start, first))
    if last < end:
        parts.append(hours(last, end))
    return parts


def union(queries: list[QuerySet]):
    """The rows of every query (values lists of the same shape), in one query."""
    first, *others = queries
    return first.union(*others, all=True) if others else first


def customer_totals(
    meter: Meter, start: datetime, end: datetime, customers, sets=None
) -> dict[str, list[Cell]]:
    """Summed cells by customer over the whole hours ``[start, end)`` (a cell per
    part read): all that ``sum`` and ``count`` need."""
    query = union(
        [
            part.values("customer_id")
            .annotate(total=Sum("value_sum"), count=Sum("event_count"))
            .filter(count__gt=0)
            .values_list("customer_id", "total", "count")
            for part in rollup_parts(meter, start, end, customers, sets)
        ]
    )
    cells: dict[str, list[Cell]] = {}
    for customer_id, total, count in query:
        cells.setdefault(customer_id, []).append(
            Cell(hour=SUMMED, total=total, count=count)
        )
    return cells
