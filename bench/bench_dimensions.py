"""Dimensions (issue #18): ingestion with three dimensions per event against
dimensionless events in the same run, and event summaries grouped by a dimension
of 100 values over 10 million events.

Targets: ingestion of events with 3 declared dimensions at most 15 % slower than
dimensionless ones; ``event_summaries`` grouped by one dimension of 100 values, one
customer's 30-day month, 10 M events of the meter stored: p95 <= 50 ms.

Ingestion: bulk import (1 worker) and the v2 stream through gunicorn, each taking
the same events three ways, alternating over rounds so that the machine's drift
hits each alike: *plain* (customer and value only, a meter without dimensions),
*3 undeclared keys* (the same meter; the keys go to the event's JSON, the cost of
the payload alone) and *3 dimensions* (a meter declaring ``model``, ``region`` and
``tier``: 3 x 5 x 4 = 60 dimension sets). As an API's traffic would be, a
customer's region and tier are fixed and the model varies per event, so each
customer uses 3 sets. Each set of a customer's hour is a rollup row of its own, so
a fourth variant spreads every customer over all 60 sets (nearly every event then
a rollup row of its own), for contrast. The ratios use the best round of each.

Summaries: 10 M events of a meter with one dimension ``model`` (100 values) over
32 days for 200 customers (each customer's events spread over all 100 values),
generated inside PostgreSQL in 1-million-row chunks, each folded into its rollups
in the same statement as ingestion folds a batch (``bench.fill.events_generate``;
skipped when already done); then requests through gunicorn, sequentially, beside
an empty authenticated DRF view (the reference: what any request costs before its
endpoint works), and the selector in-process beside hand-written SQL. The grouped
figures are checked to add up to the ungrouped one.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from bench import fill, support
from bench.bench_ingest import _BackendCpu, _lean_load, _python_seconds
from bench.paced import EMPTY_VIEW_PATH

PLAIN = "bench_dim_plain"
DIMENSIONAL = "bench_dim_three"
SUMMARY = "bench_dim_summary"
CUSTOMERS = 200
VALUES = {
    "model": ["large", "medium", "small"],
    "region": ["eu", "us", "ap", "sa", "af"],
    "tier": ["free", "team", "business", "enterprise"],
}
MODELS = [f"model-{index:03d}" for index in range(100)]
CHUNK = 1_000_000
MONTH_START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=32)


def _meter(event_name: str, keys: list[str]):
    from metering.models import Meter
    from metering.services import meter_create

    meter = Meter.objects.filter(event_name=event_name, status="active").first()
    return meter or meter_create(
        display_name=event_name.replace("_", " ").capitalize(),
        event_name=event_name,
        formula="sum",
        dimension_payload_keys=keys,
        now=datetime.now(UTC),
    )


def _customers() -> list[str]:
    from core.models import Customer

    customers = list(
        Customer.objects.filter(metadata__bench_dimensions="true")
        .order_by("id")
        .values_list("id", flat=True)
    )
    for index in range(len(customers), CUSTOMERS):
        customer = Customer.objects.create(
            name=f"Dimension bench {index}",
            invoice_prefix=f"DIM{uuid.uuid4().hex[:8].upper()}",
            metadata={"bench_dimensions": "true"},
        )
        customers.append(customer.id)
    return sorted(customers)


def _forget(meters) -> None:
    """Delete the ingestion meters' events of earlier rounds, vacuum, checkpoint:
    each round starts from the same table."""
    from django.db import connection

    with connection.cursor() as cursor:
        for meter in meters:
            for table in ("metering_meterevent", "metering_meterusagerollup"):
                cursor.execute(f"DELETE FROM {table} WHERE meter_id = %s", [meter.id])
        cursor.execute("VACUUM (ANALYZE) metering_meterevent")
        cursor.execute("VACUUM (ANALYZE) metering_meterusagerollup")
        cursor.execute("CHECKPOINT")


def _payloads(count: int, customers: list[str], extra: str, tag: str):
    """(identifier, timestamp, payload) in time order over the last day; ``extra``
    adds the three dimension keys (the same values whichever meter takes them)."""
    now = datetime.now(UTC)
    start, step = now - timedelta(days=1), timedelta(days=1) / count
    found = []
    for index in range(count):
        customer = (index * 7919) % len(customers)
        payload = {
            "stripe_customer_id": customers[customer],
            "value": str(1 + (index * 31) % 5000),
        }
        if extra == "spread":  # every customer in every set
            # Each run of len(customers) events names every customer once; the
            # runs go through the 60 sets. (A set from the index alone gave each
            # customer 3 sets: the index modulo 60 and modulo 200 are tied.)
            spread = index // len(customers)
            for key, values in VALUES.items():
                payload[key] = values[spread % len(values)]
                spread //= len(values)
        elif extra:
            payload["model"] = VALUES["model"][(index * 13) % 3]
            payload["region"] = VALUES["region"][customer % 5]
            payload["tier"] = VALUES["tier"][customer // 5 % 4]
        found.append((f"{tag}-{index}", start + step * index, payload))
    return found


def _bulk(event_name: str, events) -> tuple[float, float, float]:
    """Import from a file with one worker: events/s, Python and PostgreSQL CPU
    microseconds per event."""
    from django.core.management import call_command

    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as handle:
        for identifier, timestamp, payload in events:
            line = {
                "event_name": event_name,
                "identifier": identifier,
                "timestamp": int(timestamp.timestamp()),
                "payload": payload,
            }
            handle.write(json.dumps(line) + "\n")
    try:
        backends = _BackendCpu()
        backends.start()
        python_before, started = _python_seconds(), time.perf_counter()
        with open(os.devnull, "w") as quiet:
            call_command(
                "import_meter_events",
                handle.name,
                "--no-progress",
                "--workers",
                "1",
                stdout=quiet,
            )
        elapsed = time.perf_counter() - started
        python = _python_seconds() - python_before
        count = len(events)
        return count / elapsed, 1e6 * python / count, 1e6 * backends.seconds() / count
    finally:
        os.unlink(handle.name)


def _stream_requests(event_name: str, events, token: str):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    requests = []
    for offset in range(0, len(events), 100):
        batch = [
            {
                "event_name": event_name,
                "identifier": identifier,
                "timestamp": timestamp.isoformat(timespec="milliseconds"),
                "payload": payload,
            }
            for identifier, timestamp, payload in events[offset : offset + 100]
        ]
        body = json.dumps({"events": batch}).encode()
        requests.append(
            support.Request("POST", "/v2/billing/meter_event_stream", body, headers)
        )
    return requests


def _ingestion(args, customers: list[str], secret: str) -> dict:
    from bench.bench_ingest import _session_token

    bulk_count = args.events or (20_000 if args.quick else 300_000)
    stream_count = min(bulk_count, 10_000 if args.quick else 200_000)
    rounds = 2 if args.quick else 3
    plain, three = _meter(PLAIN, []), _meter(DIMENSIONAL, list(VALUES))
    variants = (
        ("plain", plain, ""),
        ("3 undeclared keys", plain, "fixed"),
        ("3 dimensions", three, "fixed"),
        ("3 dimensions, 60 sets per customer", three, "spread"),
    )
    best: dict[str, float] = {}
    figures: dict = {}
    for round_index in range(rounds):
        run_id = uuid.uuid4().hex[:8]
        _forget([plain, three])
        for number, (label, meter, extra) in enumerate(variants):
            events = _payloads(bulk_count, customers, extra, f"b{number}-{run_id}")
            rate, python, database = _bulk(meter.event_name, events)
            key = f"bulk import, {label}"
            best[key] = max(best.get(key, 0.0), rate)
            figures[f"{key}: round {round_index + 1} (events/s)"] = rate
            figures[f"{key}: round {round_index + 1} CPU per event (us, py+pg)"] = (
                python + database
            )
        with support.gunicorn(workers=2, threads=4) as server:
            token = _session_token(*server, secret)
            for number, (label, meter, extra) in enumerate(variants):
                events = _payloads(
                    stream_count, customers, extra, f"s{number}-{run_id}"
                )
                result = _lean_load(
                    server,
                    _stream_requests(meter.event_name, events, token),
                    clients=6,
                )
                if result.failures:
                    raise RuntimeError(f"stream {label}: {result.first_failure}")
                rate = stream_count / result.seconds
                key = f"v2 stream, {label}"
                best[key] = max(best.get(key, 0.0), rate)
                figures[f"{key}: round {round_index + 1} (events/s)"] = rate
                figures[f"{key}: round {round_index + 1} server CPU (us/event)"] = (
                    1e6 * result.server_cpu / stream_count
                )
    for path in ("bulk import", "v2 stream"):
        for label, *_ in variants:
            figures[f"{path}, {label}: best (events/s)"] = best[f"{path}, {label}"]
        figures[f"{path}: 3 dimensions slower than plain by (%, goal <= 15)"] = 100 * (
            1 - best[f"{path}, 3 dimensions"] / best[f"{path}, plain"]
        )
        figures[f"{path}: 60 sets per customer slower than plain by (%)"] = 100 * (
            1
            - best[f"{path}, 3 dimensions, 60 sets per customer"]
            / best[f"{path}, plain"]
        )
    return figures


def _load_summary_events(meter, customers: list[str], rows: int) -> float:
    """Generate the summary meter's events up to ``rows`` server-side, each chunk
    folded into its rollups as ingestion folds a batch; seconds (0 when reused)."""
    from django.db import connection

    from metering.dimensions import dimension_set_id, dimension_sets_store

    set_ids = [dimension_set_id(meter.id, (model,)) for model in MODELS]
    dimension_sets_store(
        {
            set_id: (meter.id, {"model": model})
            for set_id, model in zip(set_ids, MODELS, strict=True)
        }
    )
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with raw.cursor() as cursor:
        fill.events_generate(
            raw,
            cursor,
            meter_id=meter.id,
            customers=customers,
            event_name=SUMMARY,
            prefix="dim-",
            start=MONTH_START - timedelta(days=1),
            span=SPAN,
            rows=rows,
            chunk=CHUNK,
            label="events",
            sets=set_ids,
        )
    return time.perf_counter() - started


def _summary_requests(meter_id, customer, secret, count, **extra):
    query = urlencode(
        {
            "customer": customer,
            "start_time": int(MONTH_START.timestamp()),
            "end_time": int((MONTH_START + timedelta(days=30)).timestamp()),
            **extra,
        }
    )
    headers = {"Authorization": f"Bearer {secret}"}
    path = f"/v1/billing/meters/{meter_id}/event_summaries?{query}"
    return [support.Request("GET", path, b"", headers) for _ in range(count)]


def _grouped_adds_up(meter, customer: str) -> Decimal:
    """The grouped month's total, checked against the ungrouped one."""
    from metering import selectors

    end = MONTH_START + timedelta(days=30)
    whole = selectors.meter_event_summaries(
        meter=meter,
        customer_id=customer,
        start=MONTH_START,
        end=end,
        grouping_window=None,
    )
    groups = selectors.meter_event_summaries(
        meter=meter,
        customer_id=customer,
        start=MONTH_START,
        end=end,
        grouping_window=None,
        group_by=["model"],
    )
    grouped = sum(Decimal(str(row.value)) for row in groups)
    total = sum(Decimal(str(row.value)) for row in whole)
    if grouped != total or len(groups) != len(MODELS):
        raise RuntimeError(f"grouped {grouped} over {len(groups)} != {total}")
    return total


def _sql_grouped_ms(meter_id: str, customer: str, repeats: int) -> list[float]:
    """The reference: the grouped month in hand-written SQL on the daily rollups
    the selector reads, the model's value from the sets, one round trip, no ORM."""
    from django.db import connection

    end = MONTH_START + timedelta(days=30)
    timings = []
    with connection.cursor() as cursor:
        for _ in range(repeats):
            started = time.perf_counter()
            cursor.execute(
                "SELECT s.values ->> 'model', sum(d.value_sum)"
                " FROM metering_meterusageday d JOIN metering_meterdimensionset s"
                " ON s.id = d.dimension_set WHERE d.meter_id = %s"
                " AND d.customer_id = %s AND d.bucket >= %s AND d.bucket < %s"
                " GROUP BY 1 ORDER BY 1",
                [meter_id, customer, MONTH_START, end],
            )
            cursor.fetchall()
            timings.append(time.perf_counter() - started)
    return timings


def _summaries(args, customers: list[str], secret: str) -> dict:
    from metering import selectors

    rows = args.rows or (200_000 if args.quick else 10_000_000)
    requests = 50 if args.quick else 400
    meter = _meter(SUMMARY, ["model"])
    figures: dict = {
        "summary meter events": rows,
        "COPY load + rollups (s, 0 when reused)": _load_summary_events(
            meter, customers, rows
        ),
    }
    customer = customers[0]
    figures["customer's month total (grouped = ungrouped)"] = float(
        _grouped_adds_up(meter, customer)
    )
    by_model = {"dimension_group_by_keys[0]": "model", "limit": 100}
    # The reference: an empty authenticated DRF view behind the same gunicorn
    # (``bench.web_urls``), what any v1 request costs before its endpoint works.
    empty = [
        support.Request(
            "GET", EMPTY_VIEW_PATH, b"", {"Authorization": f"Bearer {secret}"}
        )
    ] * requests
    with support.gunicorn(workers=2, threads=4) as server:
        for label, extra, count in (
            ("reference: empty DRF view", None, requests),
            ("ungrouped month", {}, requests),
            ("grouped by model (100), month", by_model, requests),
            (
                "grouped by model, per day (100 of 3,000)",
                {**by_model, "value_grouping_window": "day"},
                max(20, requests // 8),
            ),
        ):
            result = support.drive_load(
                *server,
                empty
                if extra is None
                else _summary_requests(meter.id, customer, secret, count, **extra),
                clients=1,
                server=server,
            )
            if result.failures:
                raise RuntimeError(f"summaries failed: {result.first_failure}")
            for name, fraction in (("p50", 0.5), ("p95", 0.95)):
                figures[f"{label}: {name} (ms)"] = 1000 * support.percentile(
                    result.latencies, fraction
                )
            # Gunicorn's and its database sessions' CPU: the latency of a quiet
            # machine, whatever the neighbours do to the wall clock.
            figures[f"{label}: server CPU per request (ms)"] = (
                1000 * result.server_cpu / count
            )
    end = MONTH_START + timedelta(days=30)
    timings, cpu = support.timed_calls(
        lambda: selectors.meter_event_summaries(
            meter=meter,
            customer_id=customer,
            start=MONTH_START,
            end=end,
            grouping_window=None,
            group_by=["model"],
        ),
        requests,
    )
    figures["selector in-process, grouped month: p95 (ms)"] = 1000 * support.percentile(
        timings, 0.95
    )
    figures["selector in-process, grouped month: CPU per call, py+pg (ms)"] = 1000 * cpu
    reference = _sql_grouped_ms(meter.id, customer, requests)
    figures["reference: hand-written SQL, grouped month, daily rollups: p95 (ms)"] = (
        1000 * support.percentile(reference, 0.95)
    )
    return figures


def run(args) -> dict:
    from core.services.api_keys import api_key_create

    customers = _customers()
    _, secret = api_key_create(name="bench dimensions")
    # BENCH_DIMENSIONS_PART=summaries or ingestion runs only that half.
    part = os.environ.get("BENCH_DIMENSIONS_PART", "")
    figures = {"load average before": os.getloadavg()[0]}
    if part in ("", "summaries"):
        figures.update(_summaries(args, customers, secret))
        figures["load average after summaries"] = os.getloadavg()[0]
    if part in ("", "ingestion"):
        figures.update(_ingestion(args, customers, secret))
        figures["load average at the end"] = os.getloadavg()[0]
    return figures
