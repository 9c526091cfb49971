"""Shared plumbing of the benchmarks: the database, a gunicorn server, an HTTP load.

Nothing here is measured itself; each ``bench_*.py`` decides what to time.
"""

from __future__ import annotations

import http.client
import os
import resource
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tally_bench"
# The web server's database sessions carry this name, so their CPU can be counted.
WEB_APPLICATION_NAME = "tally-bench-web"
_TICKS = os.sysconf("SC_CLK_TCK")


def database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def setup_django(*, migrate: bool = True) -> None:
    """Point Django at the benchmark database, create and migrate it (not
    ``migrate``: a benchmark's own process, whose parent migrated it)."""
    url = database_url()
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Benchmarks need PostgreSQL: set DATABASE_URL=postgres://...")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # A local run, as `make run`: development settings, receivers on loopback.
    os.environ.setdefault("TALLY_DEV", "true")
    os.environ.setdefault("TALLY_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
    # Benchmarks measure throughput with one key: no per-key rate limits.
    os.environ.setdefault("TALLY_RATE_LIMIT_READ", "0")
    os.environ.setdefault("TALLY_RATE_LIMIT_WRITE", "0")
    _ensure_database(url)
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0, interactive=False)


def run_in_child(name: str, args, send) -> None:
    """A benchmark's run in the fresh process ``python -m bench`` starts for it;
    its figures go back through ``send``."""
    import importlib

    setup_django(migrate=False)
    send.send(importlib.import_module(f"bench.bench_{name}").run(args))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server(tuple):
    """``(host, port)`` of a running gunicorn, plus ``pid`` of its master process."""

    pid: int

    def __new__(cls, host: str, port: int, pid: int):
        server = super().__new__(cls, (host, port))
        server.pid = pid
        return server

    @property
    def host(self) -> str:
        return self[0]

    @property
    def port(self) -> int:
        return self[1]


def _process_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


class CpuReading(dict):
    """CPU seconds of each process at one moment; ``after - before`` is what they
    used in between. A process that ended in between (a database session closed
    when its connection aged out) drops out rather than subtracting its lifetime."""

    def __sub__(self, before: CpuReading) -> float:
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in self.items())


def server_cpu_seconds(server: Server) -> CpuReading:
    """CPU used so far by gunicorn (master and workers) and its database sessions.

    On a shared machine, wall-clock rates depend on the neighbours; CPU seconds per
    request do not, and give what two dedicated cores could serve.
    """
    from django.db import connection

    pids = [server.pid, *_children(server.pid)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            [WEB_APPLICATION_NAME],
        )
        pids += [pid for (pid,) in cursor.fetchall()]
    return CpuReading((pid, _process_seconds(pid)) for pid in pids)


@contextmanager
def gunicorn(*, workers: int = 2, threads: int = 4):
    """Run the app under gunicorn on a free local port; yields its ``Server``."""
    port = free_port()
    separator = "&" if "?" in database_url() else "?"
    web_url = f"{database_url()}{separator}application_name={WEB_APPLICATION_NAME}"
    env = {
        **os.environ,
        "DATABASE_URL": web_url,
        # The app's settings plus the reference views (bench.web_urls).
        "DJANGO_SETTINGS_MODULE": "bench.web_settings",
        "LOG_LEVEL": "WARNING",
        # Sessions live through the run, so that their CPU is all counted.
        "DATABASE_CONN_MAX_AGE": "3600",
    }
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "-c",
            str(ROOT / "config" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait_ready("127.0.0.1", port, process)
        yield Server("127.0.0.1", port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(host: str, port: int, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", "/v1/billing/meters")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 60 s")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failures: int
    seconds: float
    latencies: list[float]
    first_failure: str
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _drive(host: str, port: int, requests: list[Request], start_at: float):
    while time.time() < start_at:
        time.sleep(0.001)
    connection = http.client.HTTPConnection(host, port, timeout=60)
    latencies, failures, first_failure = [], 0, ""
    cpu, began = _cpu_seconds(), time.time()
    for request in requests:
        sent = time.perf_counter()
        connection.request(request.method, request.path, request.body, request.headers)
        response = connection.getresponse()
        body = response.read()
        latencies.append(time.perf_counter() - sent)
        if response.status >= 300:
            failures += 1
            first_failure = first_failure or f"{response.status} {body[:300]!r}"
    ended, cpu = time.time(), _cpu_seconds() - cpu
    connection.close()
    return began, ended, latencies, failures, first_failure, cpu


def drive_load(
    host: str, port: int, requests: list[Request], *, clients: int, server=None
) -> LoadResult:
    """Send ``requests`` over ``clients`` keep-alive connections, one process each.

    Given the ``Server``, also counts the CPU seconds that the server side (gunicorn
    and its database sessions) spent; the clients' CPU is always counted.
    """
    shares = [requests[index::clients] for index in range(clients)]
    start_at = time.time() + 1.0
    server_before = server_cpu_seconds(server) if server else 0.0
    with ProcessPoolExecutor(max_workers=clients) as pool:
        outcomes = list(
            pool.map(
                _drive, [host] * clients, [port] * clients, shares, [start_at] * clients
            )
        )
    server_cpu = server_cpu_seconds(server) - server_before if server else 0.0
    began = min(outcome[0] for outcome in outcomes)
    ended = max(outcome[1] for outcome in outcomes)
    return LoadResult(
        requests=len(requests),
        failures=sum(outcome[3] for outcome in outcomes),
        seconds=ended - began,
        latencies=[latency for outcome in outcomes for latency in outcome[2]],
        first_failure=next((outcome[4] for outcome in outcomes if outcome[4]), ""),
        client_cpu=sum(outcome[5] for outcome in outcomes),
        server_cpu=server_cpu,
    )


def timed_calls(call, repeats: int) -> tuple[list[float], float]:
    """Call ``call()`` ``repeats`` times in this process: the latency of each, and
    the CPU seconds per call of this process and its database session together
    (what a quiet machine would take; the latencies on a shared one wait too)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    timings = []
    cpu, db_cpu = _cpu_seconds(), _process_seconds(backend)
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    used = _cpu_seconds() - cpu + _process_seconds(backend) - db_cpu
    return timings, used / repeats


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def print_table(rows: list[tuple[str, str, object]]) -> None:
    width_name = max([len("benchmark")] + [len(row[0]) for row in rows])
    width_key = max([len("figure")] + [len(row[1]) for row in rows])
    print()
    print(f"{'benchmark':<{width_name}}  {'figure':<{width_key}}  value")
    print(f"{'-' * width_name}  {'-' * width_key}  {'-' * 12}")
    for name, key, value in rows:
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        print(f"{name:<{width_name}}  {key:<{width_key}}  {shown}")


def rollups_rebuild(raw, cursor, meter_id: str, *, time_ordered: bool = False) -> None:
    """Recompute a meter's hourly rollups from its raw events in one statement, then
    refresh the planner's statistics (bench setups bulk-load events with COPY).

    ``time_ordered`` writes them hour by hour, as ingestion does, so that one
    customer's month is spread over the table as in production (else each
    customer's rows end up side by side, which flatters reads of one customer)."""
    cursor.execute(
        "DELETE FROM metering_meterusagerollup WHERE meter_id = %s", [meter_id]
    )
    order = 'ORDER BY "timestamp" DESC, id DESC'
    # One row per hour and dimension set (0 for meters without dimensions).
    cursor.execute(
        "INSERT INTO metering_meterusagerollup (meter_id, customer_id, bucket,"
        " dimension_set, value_sum, event_count, last_timestamp, last_seq,"
        " last_value, latest_seq, latest_value, value_max)"
        " SELECT meter_id, customer_id,"
        " date_trunc('hour', \"timestamp\" AT TIME ZONE 'UTC')"
        " AT TIME ZONE 'UTC', dimension_set,"
        ' sum(value), count(*), max("timestamp"),'
        f" (array_agg(id {order}))[1], (array_agg(value {order}))[1],"
        " max(id), (array_agg(value ORDER BY id DESC))[1], max(value)"
        " FROM metering_meterevent WHERE meter_id = %s GROUP BY 1, 2, 3, 4"
        + (" ORDER BY 3, 2, 4" if time_ordered else ""),
        [meter_id],
    )
    raw.commit()
    cursor.execute("ANALYZE metering_meterevent")
    cursor.execute("ANALYZE metering_meterusagerollup")
    raw.commit()


def sum_meter(event_name: str, display_name: str):
    """The bench's active ``sum`` meter for ``event_name``, created on first use."""
    from datetime import UTC, datetime

    from metering.models import Meter
    from metering.services import meter_create

    meter = Meter.objects.filter(event_name=event_name, status="active").first()
    return meter or meter_create(
        display_name=display_name,
        event_name=event_name,
        formula="sum",
        now=datetime.now(UTC),
    )
