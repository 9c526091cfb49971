"""Meter event ingestion: bulk import, v1 through gunicorn, the v2 stream, raw COPY.

Targets (issue #4): v1 single events through gunicorn >= 1,000 events/s, v2 stream
>= 20,000 events/s, bulk import >= 100,000 events/s; each is also shown as a share of
a raw PostgreSQL ``COPY`` of the same rows into the events table itself (rolled
back), measured in the same run. Events are in time order over the last day, spread
over 200 customers, as an export of a usage log would be.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from bench import support

EVENT_NAME = "bench_tokens"
CUSTOMERS = 200


def _fixtures():
    from core.models import Customer
    from core.services.api_keys import api_key_create
    from metering.models import Meter
    from metering.services import meter_create

    meter = Meter.objects.filter(event_name=EVENT_NAME, status="active").first()
    if meter is None:
        meter = meter_create(
            display_name="Bench tokens",
            event_name=EVENT_NAME,
            formula="sum",
            now=datetime.now(UTC),
        )
    customers = list(
        Customer.objects.filter(metadata__bench="true").values_list("id", flat=True)
    )
    for index in range(len(customers), CUSTOMERS):
        customer = Customer.objects.create(
            name=f"Bench {index}",
            invoice_prefix=f"BEN{uuid.uuid4().hex[:8].upper()}",
            metadata={"bench": "true"},
        )
        customers.append(customer.id)
    _, secret = api_key_create(name="bench")
    return meter, customers, secret


def _events(count: int, customers: list[str], tag: str, now: datetime):
    """Events of random customers, in time order over the last day (like a log)."""
    rng = random.Random(tag)
    start = now - timedelta(days=1)
    step = timedelta(days=1) / count
    return [
        {
            "event_name": EVENT_NAME,
            "identifier": f"{tag}-{index}",
            "customer": rng.choice(customers),
            "value": rng.randint(1, 5000),
            "timestamp": start + step * index,
        }
        for index in range(count)
    ]


_COPY = (
    "COPY {table} (meter_id, customer_id, event_name, identifier, value, timestamp,"
    " created, livemode, dimensions) FROM STDIN"
)


def _copy_rows(meter_id: str, events: list[dict], now: datetime) -> list[tuple]:
    return [
        (
            meter_id,
            event["customer"],
            EVENT_NAME,
            event["identifier"],
            event["value"],
            event["timestamp"],
            now,
            False,
            None,
        )
        for event in events
    ]


def _raw_copy(meter_id: str, events: list[dict], now: datetime) -> float:
    """COPY the rows into the events table itself, then roll back; rows per second.

    Same table, same indexes, same size as what ingestion writes into: the fair
    baseline. (Ingestion then stores these very rows.)
    """
    from django.db import connection

    rows = _copy_rows(meter_id, events, now)
    raw = connection.connection
    with raw.cursor() as cursor:
        started = time.perf_counter()
        with cursor.copy(_COPY.format(table="metering_meterevent")) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute("SELECT 1")  # the COPY has been applied
        elapsed = time.perf_counter() - started
        raw.rollback()
    return len(rows) / elapsed


def _raw_copy_bare(meter_id: str, events: list[dict], now: datetime) -> float:
    """COPY the rows into a fresh table without any index: the upper bound."""
    from django.db import connection

    rows = _copy_rows(meter_id, events, now)
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_events")
        cursor.execute(
            "CREATE TABLE bench_copy_events (LIKE metering_meterevent"
            " INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        raw.commit()
        started = time.perf_counter()
        with cursor.copy(_COPY.format(table="bench_copy_events")) as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy_events")
        raw.commit()
    return len(rows) / elapsed


def _bulk_import(events: list[dict], workers: int) -> float:
    from django.core.management import call_command

    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as handle:
        for event in events:
            handle.write(
                json.dumps(
                    {
                        "event_name": EVENT_NAME,
                        "identifier": event["identifier"],
                        "timestamp": int(event["timestamp"].timestamp()),
                        "payload": {
                            "stripe_customer_id": event["customer"],
                            "value": str(event["value"]),
                        },
                    }
                )
                + "\n"
            )
    try:
        started = time.perf_counter()
        call_command(
            "import_meter_events",
            handle.name,
            "--no-progress",
            "--workers",
            str(workers),
            stdout=open(os.devnull, "w"),
        )
        return len(events) / (time.perf_counter() - started)
    finally:
        os.unlink(handle.name)


def _v1_requests(events: list[dict], secret: str) -> list[support.Request]:
    headers = {
        "Authorization": f"Bearer {secret}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return [
        support.Request(
            "POST",
            "/v1/billing/meter_events",
            urlencode(
                {
                    "event_name": EVENT_NAME,
                    "identifier": event["identifier"],
                    "timestamp": int(event["timestamp"].timestamp()),
                    "payload[stripe_customer_id]": event["customer"],
                    "payload[value]": event["value"],
                }
            ).encode(),
            headers,
        )
        for event in events
    ]


def _session_token(host: str, port: int, secret: str) -> str:
    import http.client

    connection = http.client.HTTPConnection(host, port)
    connection.request(
        "POST",
        "/v2/billing/meter_event_session",
        b"{}",
        {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    body = json.loads(connection.getresponse().read())
    connection.close()
    return body["authentication_token"]


def _stream_requests(events: list[dict], token: str) -> list[support.Request]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    requests = []
    for offset in range(0, len(events), 100):
        batch = [
            {
                "event_name": EVENT_NAME,
                "identifier": event["identifier"],
                "timestamp": event["timestamp"].isoformat(timespec="milliseconds"),
                "payload": {
                    "stripe_customer_id": event["customer"],
                    "value": str(event["value"]),
                },
            }
            for event in events[offset : offset + 100]
        ]
        requests.append(
            support.Request(
                "POST",
                "/v2/billing/meter_event_stream",
                json.dumps({"events": batch}).encode(),
                headers,
            )
        )
    return requests


def _http_figures(figures, label, result: support.LoadResult, events, copy_rate):
    """Measured rate, latency, and what the CPU it used says about dedicated cores.

    The machine is shared, so besides the wall-clock rate we count the CPU seconds
    gunicorn and its database sessions spent: two cores doing nothing else serve
    about ``2 / (CPU seconds per event)`` events a second.
    """
    rate = events / result.seconds
    figures[f"{label}: events/s measured"] = rate
    figures[f"{label}: % of COPY"] = 100 * rate / copy_rate
    figures[f"{label}: p95 per request (ms)"] = 1000 * support.percentile(
        result.latencies, 0.95
    )
    per_event = result.server_cpu / events
    figures[f"{label}: server CPU per event (us)"] = 1e6 * per_event
    figures[f"{label}: events/s on 2 dedicated cores"] = (
        2 / per_event if per_event else 0
    )


def _check(result: support.LoadResult, label: str) -> None:
    if result.failures:
        raise RuntimeError(
            f"{label}: {result.failures} failed, e.g. {result.first_failure}"
        )


def run(args) -> dict:
    bulk_count = args.events or (20_000 if args.quick else 500_000)
    v1_count = 2_000 if args.quick else 30_000
    stream_count = 20_000 if args.quick else 300_000
    meter, customers, secret = _fixtures()
    now = datetime.now(UTC)
    run_id = uuid.uuid4().hex[:8]
    figures: dict = {}

    batches = {
        workers: _events(bulk_count, customers, f"bulk{workers}-{run_id}", now)
        for workers in (1, 2)
    }
    copy_rate = _raw_copy(meter.id, batches[1], now)
    figures["raw COPY into the events table (rows/s)"] = copy_rate
    figures["raw COPY into a table without indexes (rows/s)"] = _raw_copy_bare(
        meter.id, batches[1], now
    )
    for workers, events in batches.items():
        rate = _bulk_import(events, workers)
        figures[f"bulk import, {workers} worker(s) (events/s)"] = rate
        figures[f"bulk import, {workers} worker(s), % of COPY"] = 100 * rate / copy_rate

    with support.gunicorn(workers=2, threads=4) as server:
        v1 = support.drive_load(
            *server,
            _v1_requests(_events(v1_count, customers, f"v1-{run_id}", now), secret),
            clients=8,
            server=server,
        )
        _check(v1, "v1")
        _http_figures(figures, "v1 single events", v1, v1_count, copy_rate)

        token = _session_token(*server, secret)
        stream = support.drive_load(
            *server,
            _stream_requests(
                _events(stream_count, customers, f"v2-{run_id}", now), token
            ),
            clients=6,
            server=server,
        )
        _check(stream, "v2 stream")
        _http_figures(figures, "v2 stream (100/call)", stream, stream_count, copy_rate)
    return figures
