"""Meter event ingestion: bulk import, v1 through gunicorn, the v2 stream, raw COPY.

Targets (issue #4): v1 single events through gunicorn >= 1,000 events/s, v2 stream
>= 20,000 events/s, bulk import >= 100,000 events/s; each is also shown as a share of
a raw PostgreSQL ``COPY`` of the same rows into the events table itself (binary, as
bulk import writes it, rolled back), measured in the same run; bulk import with two
workers also as a share of two such COPYs at once, what two cores can store with no
other work. Events are in time order over the last day, spread over 200 customers, as
an export of a usage log would be. Each run first deletes what earlier runs stored
under its meter, so that runs start from the same table.

The machine is shared, so CPU per event is shown beside each rate: bulk import's
Python (command and worker processes) and PostgreSQL (its sessions); the HTTP
paths' server (gunicorn and its sessions) and client. The HTTP load comes from
plain-socket clients, one process per keep-alive connection, so that the client
takes little of the two cores it shares with the server.
"""

from __future__ import annotations

import json
import os
import random
import resource
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench import support
from bench.paced import EMPTY_VIEW_PATH

EVENT_NAME = "bench_tokens"
CUSTOMERS = 200
# gunicorn as config/gunicorn.conf.py sets it up for two cores.
WEB_WORKERS = 2
WEB_THREADS = 4
# Concurrent keep-alive connections (one client process each).
V1_CLIENTS = 8
STREAM_CLIENTS = 6


def _fixtures():
    from core.models import Customer
    from core.services.api_keys import api_key_create

    meter = support.sum_meter(EVENT_NAME, "Bench tokens")
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


def _forget_earlier_runs(meter) -> int:
    """Delete what earlier runs stored under the bench's meter; events left in the
    table (other benchmarks') are returned.

    Every run then starts from the same table: one that grew by each run's million
    events would make each run slower than the last (deeper indexes, fewer of their
    pages in memory). The vacuum and the checkpoint do now what the server would
    otherwise do in the background during the measurements, on the same two cores
    (the benchmarks before this one load millions of events).
    """
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("metering_meterevent", "metering_meterusagerollup"):
            cursor.execute(f"DELETE FROM {table} WHERE meter_id = %s", [meter.id])
        cursor.execute("VACUUM (ANALYZE)")
        cursor.execute("CHECKPOINT")
        cursor.execute("SELECT count(*) FROM metering_meterevent")
        return cursor.fetchone()[0]


def _vacuum() -> None:
    """Clear what the rolled-back COPYs left: dead rows, and their index entries."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM metering_meterevent")


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


# Binary COPY of the columns a plain event fills, as bulk import writes it: the
# baseline is the fastest raw COPY. (Values go as ints, as the import sends them.)
_COPY = (
    "COPY {table} (meter_id, customer_id, event_name, identifier, value, timestamp,"
    " created, livemode) FROM STDIN (FORMAT BINARY)"
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
        )
        for event in events
    ]


def _copy(cursor, table: str, rows: list[tuple]) -> None:
    from metering.storage.copy import COPY_TYPES, PLAIN_COLUMNS

    with cursor.copy(_COPY.format(table=table)) as copy:
        copy.set_types(COPY_TYPES[1 : PLAIN_COLUMNS + 1])
        for row in rows:
            copy.write_row(row)


def _raw_copy(meter_id: str, events: list[dict], now: datetime) -> float:
    """COPY the rows into the events table itself, then roll back; rows per second.

    Same table, same indexes, same size as what ingestion writes into: the fair
    baseline. (Ingestion then stores these very rows.)
    """
    from django.db import connection

    rows = _copy_rows(meter_id, events, now)
    connection.ensure_connection()
    raw = connection.connection
    # The connection is in autocommit mode: without a transaction of its own, the
    # COPY would commit, and the imports would then find every row stored already.
    with raw.transaction(force_rollback=True), raw.cursor() as cursor:
        started = time.perf_counter()
        _copy(cursor, "metering_meterevent", rows)
        cursor.execute("SELECT 1")  # the COPY has been applied
        elapsed = time.perf_counter() - started
    return len(rows) / elapsed


def _copy_session(url: str, rows: list[tuple], start_at: float):
    """One session's share of a parallel COPY, rolled back: (began, ended)."""
    import psycopg

    with psycopg.connect(url) as raw:
        with raw.transaction(force_rollback=True), raw.cursor() as cursor:
            while time.time() < start_at:
                time.sleep(0.001)
            began = time.time()
            _copy(cursor, "metering_meterevent", rows)
            cursor.execute("SELECT 1")
            ended = time.time()
    return began, ended


def _raw_copy_parallel(
    meter_id: str, events: list[dict], now: datetime, sessions: int
) -> float:
    """Rows per second of ``sessions`` COPYs of a share each, at once (processes,
    as the import's workers are): what the machine can store with no work at all
    besides, the ceiling for an import with as many workers."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections

    rows = _copy_rows(meter_id, events, now)
    shares = [rows[index::sessions] for index in range(sessions)]
    start_at = time.time() + 1.0
    connections.close_all()  # forked sessions must not share ours
    fork = multiprocessing.get_context("fork")  # as the import forks its workers
    with ProcessPoolExecutor(max_workers=sessions, mp_context=fork) as pool:
        spans = list(
            pool.map(
                _copy_session,
                [support.database_url()] * sessions,
                shares,
                [start_at] * sessions,
            )
        )
    return len(rows) / (max(end for _, end in spans) - min(one for one, _ in spans))


def _raw_copy_bare(meter_id: str, events: list[dict], now: datetime) -> float:
    """COPY the rows into a fresh table without any index: the upper bound."""
    from django.db import connection

    rows = _copy_rows(meter_id, events, now)
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_events")
        cursor.execute(
            "CREATE TABLE bench_copy_events (LIKE metering_meterevent"
            " INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        raw.commit()
        started = time.perf_counter()
        _copy(cursor, "bench_copy_events", rows)
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_copy_events")
        raw.commit()
    return len(rows) / elapsed


class _BackendCpu(threading.Thread):
    """CPU seconds of this database's sessions while it runs (bulk import).

    Polls their /proc entries every 50 ms and keeps each session's last reading,
    since the import workers' sessions end with them; a session's first and last
    50 ms may be missed.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.ignore: set[int] = set()
        self.seen: dict[int, float] = {}
        self.started: dict[int, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(support.database_url(), autocommit=True) as watcher:
            self.ignore.add(watcher.info.backend_pid)
            while not self.stopping.is_set():
                rows = watcher.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND backend_type = 'client backend'"
                ).fetchall()
                for (pid,) in rows:
                    if pid not in self.ignore:
                        seconds = _process_seconds(pid)
                        self.started.setdefault(pid, seconds)
                        self.seen[pid] = max(seconds, self.seen.get(pid, 0.0))
                self.stopping.wait(0.05)

    def seconds(self) -> float:
        self.stopping.set()
        self.join()
        return sum(self.seen[pid] - self.started[pid] for pid in self.seen)


def _process_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _python_seconds() -> float:
    """CPU seconds of this process and of its ended children (import workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _bulk_import(events: list[dict], workers: int) -> tuple[float, float, float]:
    """Import the events from a file: events/s, and Python and PostgreSQL CPU seconds
    per event."""
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
        backends = _BackendCpu()
        backends.start()
        python_before = _python_seconds()
        started = time.perf_counter()
        call_command(
            "import_meter_events",
            handle.name,
            "--no-progress",
            "--workers",
            str(workers),
            stdout=open(os.devnull, "w"),
        )
        elapsed = time.perf_counter() - started
        python = _python_seconds() - python_before
        return (
            len(events) / elapsed,
            python / len(events),
            backends.seconds() / len(events),
        )
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
    figures[f"{label}: client CPU per event (us)"] = 1e6 * result.client_cpu / events
    figures[f"{label}: events/s on 2 dedicated cores"] = (
        2 / per_event if per_event else 0
    )


def _raw_request(request: support.Request, host: str, port: int) -> bytes:
    """The request as bytes on the wire, encoded once before the clock starts."""
    headers = {
        "Host": f"{host}:{port}",
        "Content-Length": str(len(request.body)),
        **request.headers,
    }
    head = f"{request.method} {request.path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode() + b"\r\n" + request.body


def _read_response(sock, buffer: bytes) -> tuple[int, bytes, bytes]:
    """(status, body, what follows) of one response with a Content-Length."""
    while b"\r\n\r\n" not in buffer:
        buffer += _receive(sock)
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += _receive(sock)
    return status, rest[:length], rest[length:]


def _receive(sock) -> bytes:
    data = sock.recv(65536)
    if not data:
        raise ConnectionError("the server closed the connection")
    return data


def _lean_drive(host: str, port: int, requests: list[bytes], start_at: float):
    """One client: its requests in turn on one keep-alive connection.

    Plain sockets and requests encoded beforehand: a tenth of ``http.client``'s
    CPU per request, which matters when client and server share two cores.
    """
    import socket

    while time.time() < start_at:
        time.sleep(0.001)
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies, failures, first_failure, buffer = [], 0, "", b""
    cpu, began = time.process_time(), time.time()
    for raw in requests:
        sent = time.perf_counter()
        sock.sendall(raw)
        status, body, buffer = _read_response(sock, buffer)
        latencies.append(time.perf_counter() - sent)
        if status >= 300:
            failures += 1
            first_failure = first_failure or f"{status} {body[:300]!r}"
    ended, cpu = time.time(), time.process_time() - cpu
    sock.close()
    return began, ended, latencies, failures, first_failure, cpu


def _lean_load(server, requests: list[support.Request], *, clients: int):
    """``support.drive_load`` with the lean client: one process per connection."""
    from concurrent.futures import ProcessPoolExecutor

    raw = [_raw_request(request, *server) for request in requests]
    shares = [raw[index::clients] for index in range(clients)]
    start_at = time.time() + 1.0
    server_before = support.server_cpu_seconds(server)
    with ProcessPoolExecutor(max_workers=clients) as pool:
        outcomes = list(
            pool.map(
                _lean_drive,
                [server.host] * clients,
                [server.port] * clients,
                shares,
                [start_at] * clients,
            )
        )
    server_cpu = support.server_cpu_seconds(server) - server_before
    return support.LoadResult(
        requests=len(requests),
        failures=sum(outcome[3] for outcome in outcomes),
        seconds=max(o[1] for o in outcomes) - min(o[0] for o in outcomes),
        latencies=[latency for outcome in outcomes for latency in outcome[2]],
        first_failure=next((outcome[4] for outcome in outcomes if outcome[4]), ""),
        client_cpu=sum(outcome[5] for outcome in outcomes),
        server_cpu=server_cpu,
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
    figures: dict = {
        "events of other benchmarks in the table": _forget_earlier_runs(meter)
    }
    now = datetime.now(UTC)
    run_id = uuid.uuid4().hex[:8]

    batches = {
        workers: _events(bulk_count, customers, f"bulk{workers}-{run_id}", now)
        for workers in (1, 2)
    }
    # A first COPY (of a tenth, rolled back too) brings the table's hot index pages
    # into memory, as the first import batches do for the imports.
    _raw_copy(meter.id, batches[1][: bulk_count // 10], now)
    copy_rate = _raw_copy(meter.id, batches[1], now)
    figures["raw COPY into the events table (rows/s)"] = copy_rate
    parallel_rate = _raw_copy_parallel(meter.id, batches[1], now, sessions=2)
    figures["raw COPY into the events table, 2 sessions at once (rows/s)"] = (
        parallel_rate
    )
    figures["raw COPY into a table without indexes (rows/s)"] = _raw_copy_bare(
        meter.id, batches[1], now
    )
    _vacuum()  # the imports start from a table as clean as the COPYs found it
    for workers, events in batches.items():
        rate, python, database = _bulk_import(events, workers)
        label = f"bulk import, {workers} worker(s)"
        figures[f"{label} (events/s)"] = rate
        figures[f"{label}, % of COPY"] = 100 * rate / copy_rate
        if workers == 2:
            figures[f"{label}, % of 2-session COPY"] = 100 * rate / parallel_rate
        figures[f"{label}: Python CPU per event (us)"] = 1e6 * python
        figures[f"{label}: PostgreSQL CPU per event (us)"] = 1e6 * database

    with support.gunicorn(workers=WEB_WORKERS, threads=WEB_THREADS) as server:
        v1 = _lean_load(
            server,
            _v1_requests(_events(v1_count, customers, f"v1-{run_id}", now), secret),
            clients=V1_CLIENTS,
        )
        _check(v1, "v1")
        _http_figures(figures, "v1 single events", v1, v1_count, copy_rate)
        # The reference of v1 (#19): an empty authenticated DRF view
        # (bench.web_urls), behind the same gunicorn with the same clients.
        empty = _lean_load(
            server,
            [
                support.Request(
                    "GET",
                    EMPTY_VIEW_PATH,
                    b"",
                    {"Authorization": f"Bearer {secret}"},
                )
            ]
            * v1_count,
            clients=V1_CLIENTS,
        )
        _check(empty, "empty view")
        empty_rate = v1_count / empty.seconds
        figures["empty DRF view: requests/s"] = empty_rate
        figures["empty DRF view: server CPU per request (us)"] = (
            1e6 * empty.server_cpu / v1_count
        )
        figures["empty DRF view: p99 per request (ms)"] = 1000 * support.percentile(
            empty.latencies, 0.99
        )
        figures["v1 single events: % of an empty view"] = (
            100 * figures["v1 single events: events/s measured"] / empty_rate
        )
        figures["v1 single events: p99 per request (ms)"] = 1000 * support.percentile(
            v1.latencies, 0.99
        )

        token = _session_token(*server, secret)
        stream = _lean_load(
            server,
            _stream_requests(
                _events(stream_count, customers, f"v2-{run_id}", now), token
            ),
            clients=STREAM_CLIENTS,
        )
        _check(stream, "v2 stream")
        _http_figures(figures, "v2 stream (100/call)", stream, stream_count, copy_rate)
    return figures
