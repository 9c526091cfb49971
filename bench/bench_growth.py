"""How cost grows with the data (issue #19, *Growth*).

Ingestion and summaries with 1 M and then 10 M events in the table (the bench
meter's own history; the whole table's count is shown beside, as other
benchmarks leave events there too), period close
and finalize of 1,000 and then 10,000 subscriptions; ``--quick`` measures 100 k /
1 M events and 200 / 1,000 subscriptions (the same shape, in well under a
minute of measuring). Larger sizes are optional, by environment:
``BENCH_GROWTH_EVENTS=1000000,10000000,100000000`` (at 100 M about 31 GB of
data, 40 GB at the peak of the load, and 45 minutes of loading: ``bench.fill``)
and ``BENCH_GROWTH_SUBSCRIPTIONS=1000,10000,100000``.

At each events size, in-process (the table's size is what varies, not HTTP):

- **bulk** ingestion: ``storage.events_store`` of a batch (the COPY path of
  bulk import), events/s;
- **single** events: ``storage.events_write`` of one event at a time (the v1
  path's statement), ms per event;
- **summaries**: ``meter_event_summaries`` of one customer over 30 days, per day,
  p95 ms.

``BENCH_GROWTH_METER=summaries`` grows the summaries benchmark's data set (its
meter, customers and events) instead of a meter of its own, so that the largest
size reuses the table ``summaries --rows 100000000`` loaded (and a growth run on a
fresh data directory leaves a data set that ``summaries`` reuses). A size smaller
than the events already in the table is then not measured (it would be measured on
the larger table): the smaller sizes come from a fresh data directory.

The verdict compares the cost per unit at the largest size with the smallest:
"linear" when an event (or a subscription) costs at most 25 % more, so total
cost grows in proportion; summaries are "flat" when p95 grows by at most half
(they read hourly rollups, not events). Anything else says "worse than linear".
The batches ingested are deleted afterwards, so each size measures its own table.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench import fill, support
from bench.bench_summaries import CHUNK, SPAN

EVENT_NAME = "bench_growth_tokens"
CUSTOMERS = 200
MONTH_START = datetime(2026, 1, 1, tzinfo=UTC)
# Extra cost per unit still called linear (noise of a shared machine).
LINEAR_SLACK = 1.25
FLAT_SLACK = 1.5


def _sizes(name: str, quick: tuple[int, ...], full: tuple[int, ...], args):
    configured = os.environ.get(name)
    if configured:
        return tuple(int(size) for size in configured.split(","))
    return quick if args.quick else full


def _shared() -> bool:
    """Whether the history is the summaries benchmark's data set (docstring)."""
    return os.environ.get("BENCH_GROWTH_METER", "") == "summaries"


def _fixtures():
    from core.models import Customer

    if _shared():
        from bench import bench_summaries

        meter, customers, _ = bench_summaries._fixtures()
        return meter, customers
    meter = support.sum_meter(EVENT_NAME, "Bench growth tokens")
    customers = list(
        Customer.objects.filter(metadata__bench_growth="true")
        .order_by("id")
        .values_list("id", flat=True)
    )
    for index in range(len(customers), CUSTOMERS):
        customer = Customer.objects.create(
            name=f"Growth bench {index}",
            invoice_prefix=f"GRW{uuid.uuid4().hex[:8].upper()}",
            metadata={"bench_growth": "true"},
        )
        customers.append(customer.id)
    return meter, sorted(customers)


def _table_events(cursor) -> int:
    return cursor.execute("SELECT count(*) FROM metering_meterevent").fetchone()[0]


def _fill(meter_id: str, customers: list[str], rows: int) -> int | None:
    """Grow the meter's history to ``rows`` events over 32 days (as summaries do);
    how many events the whole table holds then. None when the table already holds
    more than ``rows`` events of the summaries data set (``BENCH_GROWTH_METER``)."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        if _shared():
            from bench import bench_summaries

            cursor.execute(
                "SELECT 1 FROM metering_meterevent WHERE livemode = false"
                " AND event_name = %s AND identifier = %s",
                [bench_summaries.EVENT_NAME, f"{bench_summaries.PREFIX}{rows}"],
            )
            if cursor.fetchone():
                return None
        fill.events_generate(
            raw,
            cursor,
            meter_id=meter_id,
            customers=customers,
            event_name=_event_name(),
            prefix=_prefix(),
            start=MONTH_START - timedelta(days=1),
            span=SPAN,
            rows=rows,
            chunk=CHUNK,
            label="growth events",
        )
        cursor.execute("VACUUM (ANALYZE) metering_meterevent")
        cursor.execute("CHECKPOINT")
        return _table_events(cursor)


def _event_name() -> str:
    from bench import bench_summaries

    return bench_summaries.EVENT_NAME if _shared() else EVENT_NAME


def _prefix() -> str:
    from bench import bench_summaries

    return bench_summaries.PREFIX if _shared() else "grow-"


def _rows(meter_id: str, customers: list[str], count: int, tag: str):
    from metering.storage import EventRow

    now = datetime.now(UTC)
    step = timedelta(hours=20) / count
    return [
        EventRow(
            meter_id=meter_id,
            customer_id=customers[(index * 7919) % len(customers)],
            event_name=_event_name(),
            identifier=f"{tag}-{index}",
            value=Decimal(1 + index % 1000),
            timestamp=now - timedelta(hours=21) + step * index,
            created=now,
            livemode=False,
            dimensions=None,
        )
        for index in range(count)
    ]


def _forget(meter_id: str, tag: str, since: datetime) -> None:
    """Delete a measured batch and its rollups: the next size starts clean."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM metering_meterevent WHERE meter_id = %s AND created >= %s",
            [meter_id, since],
        )
        cursor.execute(
            "DELETE FROM metering_metereventkey WHERE identifier LIKE %s",
            [f"{tag}-%"],
        )
        cursor.execute(
            "DELETE FROM metering_meterusagerollup WHERE meter_id = %s"
            " AND bucket >= %s",
            [meter_id, MONTH_START + SPAN],
        )


def _ingest(meter_id: str, customers: list[str], bulk: int, single: int):
    """(bulk events/s, single-event ms) on the table as it is."""
    from metering import storage

    tag = f"g{uuid.uuid4().hex[:8]}"
    since = datetime.now(UTC) - timedelta(minutes=1)
    rows = _rows(meter_id, customers, bulk + single, tag)
    started = time.perf_counter()
    for offset in range(0, bulk, 10_000):
        storage.events_store(rows[offset : offset + 10_000], sync_commit=False)
    bulk_rate = bulk / (time.perf_counter() - started)
    started = time.perf_counter()
    for row in rows[bulk:]:
        storage.events_write([row])
    single_ms = 1000 * (time.perf_counter() - started) / single
    _forget(meter_id, tag, since)
    return bulk_rate, single_ms


def _summaries_p95(meter, customers: list[str], repeats: int) -> float:
    from metering import selectors

    end = MONTH_START + timedelta(days=30)
    timings = []
    for index in range(repeats):
        started = time.perf_counter()
        selectors.meter_event_summaries(
            meter=meter,
            customer_id=customers[index % len(customers)],
            start=MONTH_START,
            end=end,
            grouping_window="day",
        )
        timings.append(time.perf_counter() - started)
    return 1000 * support.percentile(timings, 0.95)


def rollups_sql_p95(meter_id: str, customers: list[str], repeats: int) -> float:
    """p95 ms of the reference: the same month per day, hand-written SQL on the
    hourly rollups (one round trip, no ORM, no Python fold)."""
    from django.db import connection

    end = MONTH_START + timedelta(days=30)
    timings = []
    with connection.cursor() as cursor:
        for index in range(repeats):
            started = time.perf_counter()
            cursor.execute(
                "SELECT date_trunc('day', bucket AT TIME ZONE 'UTC'), sum(value_sum)"
                " FROM metering_meterusagerollup WHERE meter_id = %s"
                " AND customer_id = %s AND bucket >= %s AND bucket < %s"
                " GROUP BY 1 ORDER BY 1",
                [meter_id, customers[index % len(customers)], MONTH_START, end],
            )
            cursor.fetchall()
            timings.append(time.perf_counter() - started)
    return 1000 * support.percentile(timings, 0.95)


def _close(count: int) -> float:
    """Seconds to close and finalize ``count`` subscriptions (bench_billing's set)."""
    from bench import bench_billing

    workers = int(os.environ.get("BENCH_BILLING_WORKERS", "2"))
    bench_billing._setup(count)
    close_seconds, close = bench_billing._timed("close", workers)
    finalize_seconds, finalize = bench_billing._timed("finalize", workers)
    if close.done != count or finalize.done != count:
        raise RuntimeError(f"expected {count} invoices: {close=} {finalize=}")
    return close_seconds + finalize_seconds


def verdict(small: float, large: float, *, per_unit: bool, flat: bool = False):
    """ "linear"/"flat" or "worse than linear", with the cost ratio per unit."""
    ratio = large / small if small else float("inf")
    if flat:
        kind = "flat" if ratio <= FLAT_SLACK else "worse than flat"
        return f"{kind} (p95 ×{ratio:.2f})"
    kind = "linear" if ratio <= LINEAR_SLACK else "worse than linear"
    unit = "per unit" if per_unit else ""
    return f"{kind} (cost {unit} ×{ratio:.2f})".replace("  ", " ")


def run(args) -> dict:
    events = _sizes(
        "BENCH_GROWTH_EVENTS", (100_000, 1_000_000), (1_000_000, 10_000_000), args
    )
    subscriptions = _sizes(
        "BENCH_GROWTH_SUBSCRIPTIONS", (200, 1_000), (1_000, 10_000), args
    )
    bulk, single = (20_000, 300) if args.quick else (200_000, 2_000)
    repeats = 50 if args.quick else 300
    meter, customers = _fixtures()
    figures: dict = {"growth: batch per size (bulk, single)": f"{bulk:,}, {single:,}"}
    measured: dict[str, list[float]] = {"bulk": [], "single": [], "summary": []}
    for size in events:
        total = _fill(meter.id, customers, size)
        label = f"{size:,} events"
        if total is None:
            figures[f"not measured @ {label}"] = (
                "the table already holds more of the summaries data set"
            )
            continue
        rate, single_ms = _ingest(meter.id, customers, bulk, single)
        p95 = _summaries_p95(meter, customers, repeats)
        figures[f"events in the whole table @ {label}"] = total
        figures[f"ingest, bulk (events/s) @ {label}"] = rate
        figures[f"ingest, single events (ms/event) @ {label}"] = single_ms
        figures[f"summary, 30 days per day, p95 (ms) @ {label}"] = p95
        figures[f"reference: SQL on the rollups, p95 (ms) @ {label}"] = rollups_sql_p95(
            meter.id, customers, repeats
        )
        # Each size as measured: a long run's first sizes survive its end.
        support.print_table(
            [("growth", key, value) for key, value in figures.items() if label in key]
        )
        measured["bulk"].append(1 / rate)
        measured["single"].append(single_ms)
        measured["summary"].append(p95)
    if len(measured["bulk"]) >= 2:
        # A verdict compares two measured sizes (one run may measure only one).
        figures["ingest, bulk (events/s): growth"] = verdict(
            measured["bulk"][0], measured["bulk"][-1], per_unit=True
        )
        figures["ingest, single events (ms/event): growth"] = verdict(
            measured["single"][0], measured["single"][-1], per_unit=True
        )
        figures["summary, 30 days per day, p95 (ms): growth"] = verdict(
            measured["summary"][0], measured["summary"][-1], per_unit=False, flat=True
        )
    per_subscription = []
    for count in subscriptions:
        seconds = _close(count)
        figures[f"period close + finalize (s) @ {count:,} subscriptions"] = seconds
        per_subscription.append(seconds / count)
    figures["period close + finalize (s): growth"] = verdict(
        per_subscription[0], per_subscription[-1], per_unit=True
    )
    return figures
