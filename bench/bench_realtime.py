"""Event to visible: how soon an accepted meter event shows, under steady ingestion.

Starts a private Redis broker, Celery workers, gunicorn and a webhook receiver
(as ``bench_webhooks`` does), then streams background usage through the v2 event
stream at a steady rate (``--rate``, default 5,000 events/s, 100 events a request)
for the probe customers' neighbours. Meanwhile probes: one v1 meter event for a
probe customer that has a subscription to a metered price and a usage alert at 1,
and the time from sending it until

- ``summary``: ``GET /v1/billing/meters/{id}/event_summaries`` counts it;
- ``preview``: ``POST /v1/invoices/create_preview`` bills it;
- ``alert webhook``: the receiver got ``billing.alert.triggered`` for the customer
  (the commit queues the evaluation, which fires the alert, whose webhook is
  delivered by a worker);
- ``balance``: ``GET /v1/billing/credit_balance_summary`` shows the event's cost
  taken from the customer's credit grant (the available balance after the usage
  not yet invoiced, the real-time burndown).

Then the check endpoint (``GET /v1/entitlements/check``) alone, paced at
``CHECK_RATE`` requests a second over ``CHECK_CLIENTS`` keep-alive connections
(``bench.paced``: wrk, or one Python event loop without it), over the probe
customers once each has been checked (the first check computes the customer's
snapshot, once), beside an empty authenticated DRF view behind the same gunicorn
at the same pace (``bench.web_urls``, the reference: what gunicorn and Django
cost before an endpoint's own work), with the server's CPU per request of each.

At full size the events table first holds the summaries benchmark's 10 million
events (``--rows`` another size; generated as ``bench_summaries`` does, reused when
already there), as issue #14 measures: reads and checks against a
production-sized table, not an empty one. ``--quick`` leaves the table as it is.

Figures: p50 / p99 / max of each, the ingestion rate reached, the check
endpoint's latency and rate reached, and the load average (the machine is shared:
read the latencies beside it).
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

from bench import support
from bench.bench_webhooks import _redis, _worker_cpu_seconds, _workers
from bench.paced import EMPTY_VIEW_PATH, paced_load

EVENT_NAME = "bench_realtime_tokens"
NEIGHBOURS = 200
PROBES = 120
QUICK_PROBES = 30
PROBE_GAP = 0.25  # seconds between probes
RATE = 5_000  # background events per second
STREAM_CLIENTS = 4
WORKER_CONCURRENCY = 2
POLL = 0.01  # seconds between two looks at a figure
CHECK_RATE = 1_000  # check requests per second
CHECK_SECONDS = 10
CHECK_CLIENTS = 8  # keep-alive connections, each waiting for its answer
GIVE_UP = 30.0  # seconds after which a probe counts as never visible
GRANT = 100_000  # minor units of credit each probe customer holds
PROBE_VALUE = "10"  # units of a probe event: 5 cents at the bench's price


class _Arrivals:
    """A webhook receiver that notes when each customer's alert arrived."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received = time.time()
                event = json.loads(body)
                if event["type"] == "billing.alert.triggered":
                    customer = event["data"]["object"]["customer"]
                    with arrivals.lock:
                        arrivals.at.setdefault(customer, received)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", support.free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/webhooks"

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()


def _fixtures(probes: int, webhook_url: str):
    """A meter, neighbours, and fresh probe customers with a plan and an alert."""
    from alerts.services import alert_create
    from billing.services import subscription_create
    from catalog.models import Price, Product
    from core.models import Customer, WebhookEndpoint
    from core.services.api_keys import api_key_create
    from core.services.webhooks import webhook_endpoint_create
    from credits.services import credit_grant_create

    now = datetime.now(UTC)
    meter = support.sum_meter(EVENT_NAME, "Bench real-time tokens")
    product = Product.objects.create(name="Bench real-time plan")
    price = Price.objects.create(
        product=product,
        currency="usd",
        type="recurring",
        recurring_interval="month",
        recurring_interval_count=1,
        recurring_usage_type="metered",
        recurring_meter=meter,
        unit_amount_decimal=Decimal("0.5"),
    )
    run = uuid.uuid4().hex[:5]
    neighbours = Customer.objects.bulk_create(
        Customer(name=f"Neighbour {i}", invoice_prefix=f"N{run}{i:04d}".upper())
        for i in range(NEIGHBOURS)
    )
    probe_customers = []
    for index in range(probes):
        customer = Customer.objects.create(
            name=f"Probe {index}", invoice_prefix=f"P{run}{index:04d}".upper()
        )
        subscription_create(
            customer=customer, params={"items": [{"price": price.pk}]}, now=now
        )
        alert_create(
            title="bench realtime", meter_id=meter.pk, gte=1, customer=customer, now=now
        )
        credit_grant_create(
            customer=customer,
            value=GRANT,
            currency="usd",
            prices=[price.pk],
            name="bench realtime",
            now=now,
        )
        probe_customers.append(customer.pk)
    WebhookEndpoint.objects.filter(metadata__bench="realtime").delete()
    webhook_endpoint_create(
        params={
            "url": webhook_url,
            "enabled_events": ["billing.alert.triggered"],
            "metadata": {"bench": "realtime"},
        },
        now=now,
    )
    _, secret = api_key_create(name="bench realtime")
    return meter, [c.pk for c in neighbours], probe_customers, secret


def _stream(server, token: str, customers: list[str], rate: int, stop):
    """Send 100-event requests at ``rate`` events/s until ``stop``, in threads.

    Returns a one-item list counting the events accepted so far, and the threads.
    """
    sent = [0]
    per_client = rate / STREAM_CLIENTS / 100  # requests per second per client

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=60)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        started, count = time.monotonic(), 0
        while not stop.is_set():
            due = started + count / per_client
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
            events = [
                {
                    "event_name": EVENT_NAME,
                    "identifier": uuid.uuid4().hex,
                    "timestamp": stamp,
                    "payload": {
                        "stripe_customer_id": customers[(offset + i) % len(customers)],
                        "value": "3",
                    },
                }
                for i in range(100)
            ]
            connection.request(
                "POST",
                "/v2/billing/meter_event_stream",
                json.dumps({"events": events}).encode(),
                headers,
            )
            response = connection.getresponse()
            response.read()
            if response.status < 300:
                sent[0] += 100
            count += 1
        connection.close()

    threads = [
        threading.Thread(target=client, args=(index * 50,), daemon=True)
        for index in range(STREAM_CLIENTS)
    ]
    for thread in threads:
        thread.start()
    return sent, threads


class _Api:
    def __init__(self, server, secret: str) -> None:
        self.server = server
        self.connection = http.client.HTTPConnection(server.host, server.port)
        self.headers = {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def call(self, method: str, path: str, params: dict) -> dict:
        body = urlencode(params)
        if method == "GET":
            path, body = f"{path}?{body}", None
        try:
            self.connection.request(method, path, body, self.headers)
            response = self.connection.getresponse()
        except (ConnectionError, http.client.HTTPException):
            # The server closed an idle keep-alive connection: open another.
            self.connection.close()
            self.connection = http.client.HTTPConnection(
                self.server.host, self.server.port
            )
            self.connection.request(method, path, body, self.headers)
            response = self.connection.getresponse()
        data = json.loads(response.read())
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data}")
        return data


def _wait(check, since: float) -> float | None:
    """Seconds from ``since`` until ``check()`` holds; None if it never did."""
    while time.time() - since < GIVE_UP:
        if check():
            return time.time() - since
        time.sleep(POLL)
    return None


def _probe(api: _Api, meter_id: str, customer: str, arrivals: _Arrivals) -> dict:
    minute = int(time.time()) // 60 * 60
    sent = time.time()
    api.call(
        "POST",
        "/v1/billing/meter_events",
        {
            "event_name": EVENT_NAME,
            "payload[stripe_customer_id]": customer,
            "payload[value]": PROBE_VALUE,
        },
    )

    def summary_counts() -> bool:
        data = api.call(
            "GET",
            f"/v1/billing/meters/{meter_id}/event_summaries",
            {"customer": customer, "start_time": minute, "end_time": minute + 3600},
        )["data"]
        return sum(row["aggregated_value"] for row in data) >= 1

    def preview_bills() -> bool:
        invoice = api.call(
            "POST", "/v1/invoices/create_preview", {"customer": customer}
        )
        return any(
            line["quantity"] and line["quantity"] >= 1
            for line in invoice["lines"]["data"]
        )

    def balance_burns() -> bool:
        (balance,) = api.call(
            "GET",
            "/v1/billing/credit_balance_summary",
            {
                "customer": customer,
                "filter[type]": "applicability_scope",
                "filter[applicability_scope][price_type]": "metered",
            },
        )["balances"]
        after = balance["available_balance_after_unbilled_usage"]
        return after is not None and after["monetary"]["value"] < GRANT

    figures = {
        "summary": _wait(summary_counts, sent),
        "preview": _wait(preview_bills, sent),
        "balance": _wait(balance_burns, sent),
    }
    figures["alert webhook"] = _wait(lambda: customer in arrivals.at, sent)
    if customer in arrivals.at:
        figures["alert webhook"] = arrivals.at[customer] - sent
    return figures


def _fill_table(rows: int) -> float:
    """The summaries benchmark's events up to ``rows`` (0: none); seconds spent
    generating them (0 when they are there)."""
    if not rows:
        return 0.0
    from bench import bench_summaries

    meter, customers, _ = bench_summaries._fixtures()
    return bench_summaries._generate(meter.id, customers, rows)


def run(args) -> dict:
    from bench.bench_summaries import _table_events
    from config.celery import app

    probes = QUICK_PROBES if args.quick else PROBES
    rate = args.events or RATE
    table_setup = _fill_table(args.rows or (0 if args.quick else 10_000_000))
    load_before = os.getloadavg()
    with ExitStack() as stack:
        broker_url = stack.enter_context(_redis())
        os.environ["CELERY_BROKER_URL"] = broker_url
        app.conf.broker_url = broker_url
        app.conf.task_always_eager = False
        arrivals = stack.enter_context(_Arrivals())
        meter, neighbours, probe_customers, secret = _fixtures(probes, arrivals.url)
        workers = stack.enter_context(_workers(broker_url, WORKER_CONCURRENCY))
        server = stack.enter_context(support.gunicorn())
        time.sleep(3)  # let the workers connect
        from bench.bench_ingest import _session_token

        token = _session_token(server.host, server.port, secret)
        stop = threading.Event()
        sent, streamers = _stream(server, token, neighbours, rate, stop)
        time.sleep(2)  # reach the steady rate
        api = _Api(server, secret)
        started, sent_before = time.monotonic(), sent[0]
        cpu_before = support.server_cpu_seconds(server), _worker_cpu_seconds(workers)
        results = []
        for index, customer in enumerate(probe_customers):
            results.append(_probe(api, meter.pk, customer, arrivals))
            if index % 20 == 19:
                print(f"   {index + 1} probes: last {results[-1]}", flush=True)
            time.sleep(PROBE_GAP)
        probing = time.monotonic() - started
        ingested = (sent[0] - sent_before) / probing
        # What the stream, the probes and the evaluations they queue cost the web
        # server, the workers and their database sessions: under 2 cores, two
        # dedicated cores keep up, and the latencies above are waits for the CPU
        # the machine's neighbours hold.
        pipeline_cpu = (support.server_cpu_seconds(server) - cpu_before[0]) + (
            _worker_cpu_seconds(workers) - cpu_before[1]
        )
        stop.set()
        for thread in streamers:
            thread.join(60)
        check_paths = [f"/v1/entitlements/check?customer={c}" for c in probe_customers]
        # A product checks the same customers again and again: the first check of
        # each computes its snapshot (once), the load measures the ones after.
        for customer in probe_customers:
            api.call("GET", "/v1/entitlements/check", {"customer": customer})
        time.sleep(3)  # the workers finish the evaluations the stream queued
        # The reference: an empty authenticated DRF view behind the same gunicorn,
        # at the same pace from the same generator.
        checks, empty = (
            paced_load(
                server,
                paths,
                {"Authorization": f"Bearer {secret}"},
                rate=CHECK_RATE,
                seconds=CHECK_SECONDS,
                connections=CHECK_CLIENTS,
            )
            for paths in (check_paths, [EMPTY_VIEW_PATH])
        )
    figures: dict = {
        "events in the whole table (planner estimate)": _table_events(),
        "table fill (s, 0 when reused)": table_setup,
        "probes": probes,
        "background ingestion target events/s": rate,
        "background ingestion reached events/s": round(ingested),
        "web + workers + their sessions while probing: CPU (cores)": (
            pipeline_cpu / probing
        ),
    }
    for name in ("summary", "preview", "balance", "alert webhook"):
        seen = [r[name] * 1000 for r in results if r[name] is not None]
        figures[f"{name}: never visible"] = len(results) - len(seen)
        figures[f"{name}: p50 ms"] = support.percentile(seen, 0.50)
        figures[f"{name}: p99 ms"] = support.percentile(seen, 0.99)
        figures[f"{name}: max ms"] = max(seen) if seen else 0.0
    load_after = os.getloadavg()
    for name, result in (("check endpoint", checks), ("empty DRF view", empty)):
        for key, value in result.items():
            figures[f"{name}: {key}"] = value
    if empty["p99 ms"]:
        figures["check endpoint: p99, % of the empty view's"] = (
            100 * checks["p99 ms"] / empty["p99 ms"]
        )
    figures["load average (1, 5 min) before"] = (
        f"{load_before[0]:.2f}, {load_before[1]:.2f}"
    )
    figures["load average (1, 5 min) after"] = (
        f"{load_after[0]:.2f}, {load_after[1]:.2f}"
    )
    return figures
