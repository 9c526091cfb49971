"""``event_summaries`` for one customer over a 30-day month, 10 million events stored.

Target (issue #4): p95 <= 20 ms. Setup (skipped when already done): 10 million
events of one meter for 200 customers over 32 days are generated inside PostgreSQL
(``INSERT ... SELECT FROM generate_series``, the server-side equivalent of a COPY,
in 1-million-row chunks), each chunk folded into its hourly rollups in the same
statement as ingestion folds a batch (``bench.fill``). The requests
then go through gunicorn, sequentially (latency, not throughput), and also straight
to the selector in-process. The reference, in the same run: the same month per
day in hand-written SQL on the daily rollups the selector reads (and, for
contrast, on the hourly ones, and by scanning the raw events through their index).
``--rows 100000000`` measures at 100 M events (about 31 GB of data, 40 GB at the
peak of the load; ``bench.fill``); a second run with the same data directory and
``--rows`` measures without filling.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from bench import fill, support

EVENT_NAME = "bench_summary_tokens"
PREFIX = "sum-"
CUSTOMERS = 200
CHUNK = 1_000_000
MONTH_START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=32)


def _fixtures():
    from core.models import Customer
    from core.services.api_keys import api_key_create

    meter = support.sum_meter(EVENT_NAME, "Bench summary tokens")
    customers = list(
        Customer.objects.filter(metadata__bench_summaries="true")
        .order_by("id")
        .values_list("id", flat=True)
    )
    for index in range(len(customers), CUSTOMERS):
        customer = Customer.objects.create(
            name=f"Summary bench {index}",
            invoice_prefix=f"SUM{uuid.uuid4().hex[:8].upper()}",
            metadata={"bench_summaries": "true"},
        )
        customers.append(customer.id)
    _, secret = api_key_create(name="bench summaries")
    return meter, sorted(customers), secret


def _generate(meter_id: str, customers: list[str], rows: int) -> float:
    """Fill the events table up to ``rows`` events of the meter; returns seconds."""
    from django.db import connection

    raw = connection.connection
    with raw.cursor() as cursor:
        started = time.perf_counter()
        fill.events_generate(
            raw,
            cursor,
            meter_id=meter_id,
            customers=customers,
            event_name=EVENT_NAME,
            prefix=PREFIX,
            start=MONTH_START - timedelta(days=1),
            span=SPAN,
            rows=rows,
            chunk=CHUNK,
            label="events",
        )
    print(f"   events table: about {_table_events():,} rows", flush=True)
    return time.perf_counter() - started


def _requests(meter_id, customer_id, secret, count, **extra):
    end = MONTH_START + timedelta(days=30)
    query = urlencode(
        {
            "customer": customer_id,
            "start_time": int(MONTH_START.timestamp()),
            "end_time": int(end.timestamp()),
            **extra,
        }
    )
    headers = {"Authorization": f"Bearer {secret}"}
    return [
        support.Request(
            "GET",
            f"/v1/billing/meters/{meter_id}/event_summaries?{query}",
            b"",
            headers,
        )
        for _ in range(count)
    ]


def _raw_scan_ms(meter_id: str, customer_id: str, repeats: int = 5) -> float:
    from django.db import connection

    end = MONTH_START + timedelta(days=30)
    timings = []
    with connection.cursor() as cursor:
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(
                "SELECT sum(value) FROM metering_meterevent WHERE customer_id = %s"
                " AND meter_id = %s AND timestamp >= %s AND timestamp < %s",
                [customer_id, meter_id, MONTH_START, end],
            )
            cursor.fetchone()
            timings.append(time.perf_counter() - started)
    return 1000 * support.percentile(timings, 0.5)


def _sql_timings(meter_id: str, customer_id: str, table: str, repeats: int):
    """The reference: the month per day in hand-written SQL on the rollups
    (``table``: the daily or the hourly ones), one round trip, no ORM."""
    from django.db import connection

    end = MONTH_START + timedelta(days=30)
    timings = []
    with connection.cursor() as cursor:
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(
                "SELECT date_trunc('day', bucket AT TIME ZONE 'UTC'), sum(value_sum)"
                f" FROM {table} WHERE meter_id = %s AND customer_id = %s"
                " AND bucket >= %s AND bucket < %s GROUP BY 1 ORDER BY 1",
                [meter_id, customer_id, MONTH_START, end],
            )
            cursor.fetchall()
            timings.append(time.perf_counter() - started)
    return timings


def _in_process(meter, customer_id: str, repeats: int):
    """The selector's latencies, and its CPU seconds per call (Python and the
    database session's)."""
    from metering import selectors

    end = MONTH_START + timedelta(days=30)
    return support.timed_calls(
        lambda: selectors.meter_event_summaries(
            meter=meter,
            customer_id=customer_id,
            start=MONTH_START,
            end=end,
            grouping_window="day",
        ),
        repeats,
    )


def run(args) -> dict:
    rows = args.rows or (200_000 if args.quick else 10_000_000)
    requests = 50 if args.quick else 500
    meter, customers, secret = _fixtures()
    setup_seconds = _generate(meter.id, customers, rows)
    customer = customers[0]
    figures: dict = {
        "events of the meter": rows,
        "setup (s, 0 when reused)": setup_seconds,
    }
    with support.gunicorn(workers=2, threads=4) as server:
        for label, extra in (
            ("one summary", {}),
            ("per day (30)", {"value_grouping_window": "day"}),
            ("per hour (100 of 720)", {"value_grouping_window": "hour", "limit": 100}),
        ):
            result = support.drive_load(
                *server,
                _requests(meter.id, customer, secret, requests, **extra),
                clients=1,
                server=server,
            )
            if result.failures:
                raise RuntimeError(f"summaries failed: {result.first_failure}")
            figures[f"{label}: p50 (ms)"] = 1000 * support.percentile(
                result.latencies, 0.5
            )
            figures[f"{label}: p95 (ms)"] = 1000 * support.percentile(
                result.latencies, 0.95
            )
            # Gunicorn's and its database sessions' CPU: the latency of a quiet
            # machine, whatever the neighbours do to the wall clock.
            figures[f"{label}: server CPU per request (ms)"] = (
                1000 * result.server_cpu / requests
            )
    timings, cpu = _in_process(meter, customer, requests)
    figures["selector in-process, per day: p95 (ms)"] = 1000 * support.percentile(
        timings, 0.95
    )
    figures["selector in-process, per day: CPU per call, py+pg (ms)"] = 1000 * cpu
    daily = _sql_timings(meter.id, customer, "metering_meterusageday", requests)
    hourly = _sql_timings(meter.id, customer, "metering_meterusagerollup", requests)
    reference = 1000 * support.percentile(daily, 0.95)
    figures["reference: hand-written SQL per day on the daily rollups: p95 (ms)"] = (
        reference
    )
    figures["hand-written SQL per day on the hourly rollups: p95 (ms)"] = (
        1000 * support.percentile(hourly, 0.95)
    )
    # A latency's ratio as a speed: 100 % would be as fast as the bare SQL.
    figures["per day (30): speed, % of hand-written SQL on the rollups"] = (
        100 * reference / figures["per day (30): p95 (ms)"]
    )
    figures["raw-event scan of the month, no rollups (ms)"] = _raw_scan_ms(
        meter.id, customer
    )
    figures["events in the whole table"] = _table_events()
    return figures


def _table_events() -> int:
    """The events table's size (its planner estimate: a count of 100 M rows
    would take longer than the benchmark)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
            ["metering_meterevent"],
        )
        return int(cursor.fetchone()[0])
