"""Webhook delivery under load: 10,000 events to 3 local endpoints, real workers.

Starts three receivers (a process each: a threaded HTTP server that verifies every
``Stripe-Signature`` like ``stripe.Webhook.construct_event``), a private Redis
broker and Celery workers, then records the events in transactions of 100 (the
after-commit hook fans each out) and waits until every delivery succeeded. It checks
that each receiver got each event exactly once, all signatures verified, and counts
events that arrived out of commit order.

Figures: events/s and deliveries/s from the first commit to the last delivery, the
recording rate (fan-out included), and event-to-delivery latency percentiles, of the
burst and of a paced phase that offers 1,000 deliveries/s (a burst's latency is
its own queue). The reference, in the same run: a client process per endpoint
POSTing the same body in order, on a keep-alive connection, to receivers that only
count (no database, no signing): what ordered lanes could reach on this machine.

Run with the others (``python -m bench webhooks``) or alone
(``python -m bench.bench_webhooks [--quick] [--events N]``). Endpoints get their
events in order by default; ``TALLY_WEBHOOK_ORDERED=false`` in the environment
measures side-by-side delivery instead.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import support

EVENTS = 10_000
QUICK_EVENTS = 1_000
ENDPOINTS = 3
BATCH = 100
WORKER_CONCURRENCY = 4
DRAIN_TIMEOUT = 30 * 60  # seconds
STALL_TIMEOUT = 120  # seconds without a delivery
COST_EVENTS = 300
# The latency phase offers 1,000 deliveries/s (3 endpoints), in small transactions.
PACED_RATE = 1000 / 3  # events/s
PACED_BATCH = 10
PACED_SECONDS = 20
QUICK_PACED_SECONDS = 5
REFERENCE_POSTS = 2_000  # per endpoint
WORKER_APPLICATION_NAME = "tally-bench-worker"


# ---- receivers (child processes) ----------------------------------------------


def _receive(secret: str | None, port: int, ready, stop, results) -> None:
    """Serve until ``stop`` is set; report the event ids received, in order.

    Without a secret it only counts the requests (the reference receiver).
    """
    import stripe

    received: list[str] = []
    bad: list[int] = [0]
    connections: list[int] = [0]
    counted: list[int] = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as production receivers
        # TCP_NODELAY, as production servers set it: without it the body ("ok",
        # written after the headers) waits for the client's delayed ACK, ~40 ms.
        disable_nagle_algorithm = True

        def setup(self):  # once per TCP connection, however many requests on it
            super().setup()
            with lock:
                connections[0] += 1

        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if secret is None:
                with lock:
                    counted[0] += 1
                self._answer_ok()
                return
            try:
                stripe.WebhookSignature.verify_header(
                    body, self.headers.get("Stripe-Signature"), secret, tolerance=300
                )
                event_id = json.loads(body)["id"]
            except (stripe.SignatureVerificationError, ValueError, KeyError):
                with lock:
                    bad[0] += 1
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            with lock:
                received.append(event_id)
            self._answer_ok()

        def _answer_ok(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.send(server.server_port)
    stop.wait()
    server.shutdown()
    results.send(
        {
            "ids": received,
            "bad_signatures": bad[0],
            "connections": connections[0],
            "counted": counted[0],
        }
    )


class _Receiver:
    def __init__(self, context, secret: str | None, port: int) -> None:
        self.stop = context.Event()
        ready_in, ready_out = context.Pipe(duplex=False)
        self._results_in, results_out = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_receive,
            args=(secret, port, ready_out, self.stop, results_out),
        )
        self.process.start()
        self.port = ready_in.recv()

    def finish(self) -> dict:
        self.stop.set()
        result = self._results_in.recv()
        self.process.join(timeout=30)
        return result


# ---- the reference: plain POSTs to receivers that only count --------------------


def _post_many(url: str, count: int, body: bytes, go, done) -> None:
    """POST ``body`` ``count`` times, one after the other, on one keep-alive
    connection, as a lane sends its events; report the seconds it took."""
    import requests

    session = requests.Session()
    session.trust_env = False
    headers = {"Content-Type": "application/json", "Stripe-Signature": "t=0,v1=0"}
    session.post(url, data=body, headers=headers, timeout=30).close()  # connect
    go.wait()
    started = time.perf_counter()
    for _ in range(count):
        with session.post(url, data=body, headers=headers, timeout=30) as response:
            response.raise_for_status()
            response.content  # noqa: B018 (read the answer, as a delivery does)
    done.send(time.perf_counter() - started)


def _reference(context, count: int, body: bytes) -> float:
    """Deliveries/s of a client process per endpoint POSTing ``count`` bodies in
    order to receivers that only count: the machine's ceiling for ordered lanes."""
    ports = [support.free_port() for _ in range(ENDPOINTS)]
    receivers = [_Receiver(context, None, port) for port in ports]
    go = context.Event()
    clients = []
    try:
        for port in ports:
            done_in, done_out = context.Pipe(duplex=False)
            process = context.Process(
                target=_post_many,
                args=(f"http://127.0.0.1:{port}/webhooks", count, body, go, done_out),
            )
            process.start()
            clients.append((process, done_in))
        time.sleep(2)  # let the clients start and connect
        started = time.perf_counter()
        go.set()
        for _, done_in in clients:
            done_in.recv()
        seconds = time.perf_counter() - started
    finally:
        for process, _ in clients:
            process.join(timeout=30)
        counted = sum(receiver.finish()["counted"] for receiver in receivers)
    if counted != count * ENDPOINTS + ENDPOINTS:
        raise RuntimeError(f"reference: {counted} requests counted")
    return count * ENDPOINTS / seconds


# ---- broker and workers -------------------------------------------------------


@contextmanager
def _redis():
    """A throwaway Redis on a free port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("bench_webhooks needs redis-server (apt-get install redis-server)")
    port = support.free_port()
    folder = tempfile.mkdtemp(prefix="tally-bench-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


def _worker_database_url() -> str:
    """The database URL for workers: their sessions are named, to count their CPU."""
    url = support.database_url()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}application_name={WORKER_APPLICATION_NAME}"


def _worker_cpu_seconds(process) -> float:
    """CPU used so far by the worker processes and their database sessions."""
    from django.db import connection

    pids = [process.pid, *support._children(process.pid)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            [WORKER_APPLICATION_NAME],
        )
        pids += [pid for (pid,) in cursor.fetchall()]
    return sum(support._process_seconds(pid) for pid in pids)


@contextmanager
def _workers(broker_url: str, concurrency: int):
    env = {
        **os.environ,
        "DATABASE_URL": _worker_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [str(support.ROOT / ".venv" / "bin" / "celery"), "-A", "config", "worker",
         "--pool", "prefork", "--concurrency", str(concurrency),
         "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--loglevel", "WARNING"],
        cwd=support.ROOT,
        env=env,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- cost per delivery, in this process ------------------------------------------


def _cost(context, count: int) -> dict:
    """Database queries, tasks and CPU per delivery, with no broker and one process.

    The tasks the fan-out queues are kept in a list and run here one after another,
    as a single worker would: the figures do not depend on the machine's load.
    """
    from collections import deque
    from unittest import mock

    from celery.app.task import Task
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    jobs: deque = deque()
    tasks_run = [0]

    def keep(task, args=None, kwargs=None, **options):
        jobs.append((task, args or (), kwargs or {}))

    ports = [support.free_port() for _ in range(ENDPOINTS)]
    endpoints = _endpoints(ports)
    receivers = [
        _Receiver(context, endpoint.secret, port)
        for endpoint, port in zip(endpoints, ports, strict=True)
    ]
    deliveries = count * ENDPOINTS
    try:
        with mock.patch.object(Task, "apply_async", keep):
            with CaptureQueriesContext(connection) as fanout_queries:
                started = time.process_time()
                _record(count, tag=f"cost{int(time.time())}")
                fanout_cpu = time.process_time() - started
            with CaptureQueriesContext(connection) as worker_queries:
                started = time.process_time()
                while jobs:
                    task, args, kwargs = jobs.popleft()
                    task(*args, **kwargs)
                    tasks_run[0] += 1
                worker_cpu = time.process_time() - started
    finally:
        results = [receiver.finish() for receiver in receivers]
    received = sum(len(result["ids"]) for result in results)
    if received != deliveries:
        raise RuntimeError(f"cost run: {received} of {deliveries} deliveries arrived")
    return {
        "cost: events (in-process, no broker)": count,
        "cost: fan-out queries per event": len(fanout_queries) / count,
        "cost: fan-out CPU ms per event": fanout_cpu * 1000 / count,
        "cost: tasks per delivery": tasks_run[0] / deliveries,
        "cost: worker queries per delivery": len(worker_queries) / deliveries,
        "cost: worker CPU ms per delivery": worker_cpu * 1000 / deliveries,
        "cost: receiver connections": sum(r["connections"] for r in results),
    }


# ---- the benchmark -------------------------------------------------------------


def _endpoints(ports: list[int]):
    from core import clock
    from core.models import WebhookEndpoint
    from core.services.webhooks import webhook_endpoint_create

    WebhookEndpoint.objects.filter(metadata__bench="webhooks").delete()
    others = WebhookEndpoint.objects.filter(status="enabled").count()
    if others:
        print(f"   note: {others} other enabled endpoint(s) also get these events")
    return [
        webhook_endpoint_create(
            params={
                "url": f"http://127.0.0.1:{port}/webhooks",
                "enabled_events": ["customer.updated"],
                "metadata": {"bench": "webhooks"},
            },
            now=clock.now(),
        )
        for port in ports
    ]


def _record_paced(seconds: float, tag: str) -> list[str]:
    """Record PACED_RATE events/s for ``seconds``, PACED_BATCH per transaction
    (or as many as the recording keeps up with); returns ids in order."""
    ids: list[str] = []
    started = next_at = time.perf_counter()
    while time.perf_counter() - started < seconds:
        ids += _record(len(ids) + PACED_BATCH, tag, first=len(ids), batch=PACED_BATCH)
        next_at += PACED_BATCH / PACED_RATE
        time.sleep(max(0.0, next_at - time.perf_counter()))
    return ids


def _record(count: int, tag: str, first: int = 0, batch: int = BATCH) -> list[str]:
    """Record events ``first`` to ``count`` in transactions of ``batch``; returns
    ids in order."""
    from django.db import transaction

    from core.services.events import event_record

    ids: list[str] = []
    for start in range(first, count, batch):
        with transaction.atomic():
            for index in range(start, min(start + batch, count)):
                event = event_record(
                    type="customer.updated",
                    data_object={
                        "id": f"cus_bench{index:06d}",
                        "object": "customer",
                        "email": f"bench-{tag}-{index}@example.com",
                        "metadata": {"bench": tag, "index": str(index)},
                    },
                    previous_attributes={"email": None},
                )
                ids.append(event.id)
    return ids


def _wait_drained(endpoint_ids: list[str], expected: int) -> float:
    from core.models import WebhookDelivery

    deliveries = WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    last_report = 0.0
    progress = (-1, time.monotonic())  # (delivered, since when)
    while True:
        done = deliveries.filter(status="succeeded").count()
        if done >= expected:
            return time.perf_counter()
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {expected} deliveries after timeout")
        if done != progress[0]:
            progress = (done, time.monotonic())
        elif time.monotonic() - progress[1] > STALL_TIMEOUT:
            # No Beat runs here to restart a lane whose worker failed: say so.
            leased = deliveries.filter(status="pending").exclude(lease_token="")
            raise RuntimeError(
                f"stalled at {done} of {expected} deliveries for {STALL_TIMEOUT} s "
                f"({leased.count()} still leased): see the worker log above"
            )
        if time.monotonic() - last_report > 10:
            print(f"   {done:,} / {expected:,} delivered", flush=True)
            last_report = time.monotonic()
        time.sleep(0.2)


def _latencies_ms(endpoint_ids: list[str], event_ids: list[str]) -> list[float]:
    from core.models import WebhookDelivery

    rows = WebhookDelivery.objects.filter(
        endpoint_id__in=endpoint_ids, event_id__in=event_ids
    ).values_list("event__created", "completed_at")
    return [(done - created).total_seconds() * 1000 for created, done in rows]


def _body(event_id: str) -> bytes:
    from core.models import Event
    from core.webhooks import signing

    return signing.render_body(Event.objects.get(pk=event_id))


def _out_of_order(received: list[str], order: dict[str, int]) -> int:
    """Arrivals whose event was committed before one that arrived earlier."""
    late, highest = 0, -1
    for event_id in received:
        position = order.get(event_id, -1)
        if position < highest:
            late += 1
        highest = max(highest, position)
    return late


def run(args) -> dict:
    from django.conf import settings

    from config.celery import app
    from core.models import WebhookDelivery

    count = args.events or (QUICK_EVENTS if args.quick else EVENTS)
    context = multiprocessing.get_context("spawn")
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        broker_url = stack.enter_context(_redis())
        app.conf.broker_url = broker_url
        app.conf.task_always_eager = False
        cost = _cost(context, min(count, COST_EVENTS))
        # Ports first (endpoints need them), then receivers (they need secrets).
        ports = [support.free_port() for _ in range(ENDPOINTS)]
        endpoints = _endpoints(ports)
        receivers = [
            _Receiver(context, endpoint.secret, port)
            for endpoint, port in zip(endpoints, ports, strict=True)
        ]
        workers = stack.enter_context(_workers(broker_url, WORKER_CONCURRENCY))
        time.sleep(3)  # let the workers connect
        endpoint_ids = [endpoint.id for endpoint in endpoints]

        worker_cpu = _worker_cpu_seconds(workers)
        started = time.perf_counter()
        ids = _record(count, tag=str(int(time.time())))
        recorded = time.perf_counter()
        drained = _wait_drained(endpoint_ids, count * ENDPOINTS)
        worker_cpu = _worker_cpu_seconds(workers) - worker_cpu
        # Latency at a steady offered load: a burst only measures its own queue.
        paced_seconds = QUICK_PACED_SECONDS if args.quick else PACED_SECONDS
        paced_started = time.perf_counter()
        paced = _record_paced(paced_seconds, tag=f"paced{int(time.time())}")
        paced_recorded = time.perf_counter()
        _wait_drained(endpoint_ids, (count + len(paced)) * ENDPOINTS)
        results = [receiver.finish() for receiver in receivers]
        body = _body(ids[0])
        load_reference = os.getloadavg()[0]
        reference = _reference(context, min(count, REFERENCE_POSTS), body)

    order = {event_id: index for index, event_id in enumerate(ids + paced)}
    expected = set(ids + paced)
    duplicates = sum(len(r["ids"]) - len(set(r["ids"])) for r in results)
    lost = sum(len(expected - set(r["ids"])) for r in results)
    attempts = WebhookDelivery.objects.filter(endpoint_id__in=endpoint_ids)
    extra_attempts = (
        sum(attempts.values_list("attempt_count", flat=True))
        - len(expected) * ENDPOINTS
    )
    latencies = _latencies_ms(endpoint_ids, ids)
    paced_latencies = _latencies_ms(endpoint_ids, paced)
    seconds = drained - started
    figures = {
        "ordered": "yes" if settings.TALLY_WEBHOOK_ORDERED else "no",
        "events": count,
        "endpoints": ENDPOINTS,
        "deliveries": count * ENDPOINTS,
        "worker processes": WORKER_CONCURRENCY,
        "seconds": seconds,
        "events/s (commit to last delivery)": count / seconds,
        "deliveries/s": count * ENDPOINTS / seconds,
        "reference: receiver-only deliveries/s (a client per endpoint, in order)": (
            reference
        ),
        "deliveries/s: % of the reference": 100
        * count
        * ENDPOINTS
        / seconds
        / reference,
        "load average (1 min) at the reference": load_reference,
        "events/s recorded (with fan-out)": count / (recorded - started),
        "latency p50 ms": support.percentile(latencies, 0.50),
        "latency p95 ms": support.percentile(latencies, 0.95),
        "latency max ms": max(latencies) if latencies else 0.0,
        "paced: deliveries/s offered (target 1,000)": len(paced)
        * ENDPOINTS
        / (paced_recorded - paced_started),
        "paced: latency p50 ms": support.percentile(paced_latencies, 0.50),
        "paced: latency p95 ms": support.percentile(paced_latencies, 0.95),
        "worker CPU ms per delivery (with their DB sessions)": worker_cpu
        * 1000
        / (count * ENDPOINTS),
        "receiver connections (keep-alive)": sum(r["connections"] for r in results),
        "load average (1 min) before / after": (
            f"{load_before:.2f} / {os.getloadavg()[0]:.2f}"
        ),
        "lost (endpoint, event)": lost,
        "duplicates (endpoint, event)": duplicates,
        "extra attempts": extra_attempts,
        "bad signatures": sum(r["bad_signatures"] for r in results),
        "out-of-order arrivals": sum(_out_of_order(r["ids"], order) for r in results),
    }
    figures.update(cost)
    if lost or duplicates or figures["bad signatures"]:
        raise RuntimeError(f"webhook delivery lost or doubled events: {figures}")
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_webhooks")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EVENTS} events")
    parser.add_argument("--events", type=int, default=None)
    args = parser.parse_args(argv)
    support.setup_django()
    support.print_table([("webhooks", k, v) for k, v in run(args).items()])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
