"""Soak: a bounded mixed load on Tally's own processes, then what it left behind.

``python -m bench.bench_soak [--quick] [--minutes N] [--database sqlite|postgres]``

For each database (the embedded SQLite default and PostgreSQL, both by default),
a fresh installation is made as ``make run`` makes one (migrate, the demo data, a
staff user, a key, a customer-page link) and started as the Procfile starts it:
gunicorn, a Celery worker and Beat (the embedded default on the filesystem broker;
PostgreSQL on ``CELERY_BROKER_URL`` if it is Redis). Clients then send, for
``--minutes`` (10; ``--quick``: 1):

- meter events (v1, one each), the bulk of the traffic;
- invoice previews and invoice lists;
- dashboard pages (home, invoices, a customer) as a logged-in staff user;
- the customer's own pages through its signed link;
- period closes: a test clock with subscriptions advanced a month at a time, and
  Beat's own closes.

Reported: p50/p99 per route, 5xx answers, "database is locked" (in answers and in
every process's log), processes that ended and tracebacks they logged, and the peak
resident memory of each process (sampled every second; first half against second
half, since a leak keeps growing), with the load average during the run.
Not part of ``make bench`` nor of CI: it runs for minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import requests

from bench.soak_support import LOCKED, Installation, Memory
from bench.support import percentile

CLIENTS = 6
ROUTE_WEIGHTS = {
    "POST /v1/billing/meter_events": 60,
    "POST /v1/invoices/create_preview": 8,
    "GET /v1/invoices?limit=10": 8,
    "GET /admin/ (dashboard)": 4,
    "GET /admin/billing/invoice/": 4,
    "GET /admin/core/customer/<id>/change/": 4,
    "GET /customer/<token>/ (customer page)": 6,
    "GET /customer/<token>/invoices/": 6,
}


class Client(threading.Thread):
    """One user of every kind in turn, by weight, until ``until``."""

    def __init__(self, base: str, context: dict, until: float, number: int) -> None:
        super().__init__(daemon=True)
        self.base, self.context, self.until = base, context, until
        self.number = number
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.errors_5xx = 0
        self.locked = 0
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {context['secret']}"
        self.staff = _staff_session(base)
        self.page = requests.Session()
        self.sent = 0

    def run(self) -> None:
        routes, weights = zip(*ROUTE_WEIGHTS.items(), strict=True)
        chooser = random.Random(self.number)
        while time.monotonic() < self.until:
            route = chooser.choices(routes, weights)[0]
            started = time.perf_counter()
            try:
                response = self.send(route)
            except requests.RequestException as error:
                self.statuses[f"{route}: {type(error).__name__}"] += 1
                continue
            self.latencies[route].append(time.perf_counter() - started)
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.errors_5xx += 1
            if LOCKED in response.text:
                self.locked += 1

    def send(self, route: str) -> requests.Response:
        base, context = self.base, self.context
        self.sent += 1
        if route.startswith("POST /v1/billing/meter_events"):
            return self.api.post(
                f"{base}/v1/billing/meter_events",
                data={
                    "event_name": context["event_name"],
                    "identifier": f"soak-{self.number}-{self.sent}",
                    "payload[stripe_customer_id]": chooser_of(context["customers"]),
                    "payload[value]": "3",
                },
                timeout=30,
            )
        if route.startswith("POST /v1/invoices/create_preview"):
            return self.api.post(
                f"{base}/v1/invoices/create_preview",
                data={"customer": chooser_of(context["subscribed"])},
                timeout=30,
            )
        if route.startswith("GET /v1/invoices"):
            return self.api.get(f"{base}/v1/invoices?limit=10", timeout=30)
        if route.startswith("GET /admin/ "):
            return self.staff.get(f"{base}/admin/", timeout=30)
        if route.startswith("GET /admin/billing/invoice/"):
            return self.staff.get(f"{base}/admin/billing/invoice/", timeout=30)
        if route.startswith("GET /admin/core/customer/"):
            customer = chooser_of(context["customers"])
            return self.staff.get(
                f"{base}/admin/core/customer/{customer}/change/", timeout=30
            )
        if route.endswith("(customer page)"):
            return self.page.get(context["link"], timeout=30)
        return self.page.get(context["link"].rstrip("/") + "/invoices/", timeout=30)


def chooser_of(values: list[str]) -> str:
    return random.choice(values)


def _staff_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/admin/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    session.post(
        f"{base}/admin/login/",
        data={
            "username": "soak",
            "password": "soak-password-1",
            "csrfmiddlewaretoken": token.group(1) if token else "",
            "next": "/admin/",
        },
        headers={"Referer": f"{base}/admin/login/"},
        timeout=30,
    )
    return session


def _context(base: str, prepared: dict) -> dict:
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {prepared['secret']}"
    meters = api.get(f"{base}/v1/billing/meters?limit=100", timeout=30).json()["data"]
    customers = api.get(f"{base}/v1/customers?limit=100", timeout=30).json()["data"]
    subscriptions = api.get(f"{base}/v1/subscriptions?limit=100", timeout=30).json()
    clocks = api.get(f"{base}/v1/test_helpers/test_clocks", timeout=30).json()["data"]
    prices = api.get(f"{base}/v1/prices?limit=100", timeout=30).json()["data"]
    licensed = [
        p["id"]
        for p in prices
        if (p.get("recurring") or {}).get("usage_type") == "licensed"
    ]
    if licensed:
        clocks = [_clock_with_subscriptions(api, base, licensed[0])]
    return {
        **prepared,
        "event_name": next(m["event_name"] for m in meters if m["status"] == "active"),
        "customers": [c["id"] for c in customers if not c.get("test_clock")],
        "subscribed": sorted({s["customer"] for s in subscriptions["data"]}),
        "clock": clocks[0] if clocks else None,
    }


def _clock_with_subscriptions(api, base: str, price: str, count: int = 20) -> dict:
    """A test clock whose customers subscribe to ``price``: each advance closes
    their periods and finalizes their invoices on the worker."""
    clock = api.post(
        f"{base}/v1/test_helpers/test_clocks",
        data={"frozen_time": int(time.time()), "name": "soak"},
        timeout=30,
    ).json()
    for index in range(count):
        customer = api.post(
            f"{base}/v1/customers",
            data={"name": f"Soak {index}", "test_clock": clock["id"]},
            timeout=30,
        ).json()
        api.post(
            f"{base}/v1/subscriptions",
            data={"customer": customer["id"], "items[0][price]": price},
            timeout=30,
        )
    return clock


class PeriodCloser(threading.Thread):
    """Advance the demo's test clock a month every ``every`` seconds: period closes,
    finalization and credits on the worker while the load runs."""

    def __init__(self, base: str, context: dict, until: float, every: float) -> None:
        super().__init__(daemon=True)
        self.base, self.context, self.until, self.every = base, context, until, every
        self.advances: Counter = Counter()

    def run(self) -> None:
        clock = self.context["clock"]
        if clock is None:
            return
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {self.context['secret']}"
        frozen = clock["frozen_time"]
        while time.monotonic() + self.every < self.until:
            time.sleep(self.every)
            path = f"{self.base}/v1/test_helpers/test_clocks/{clock['id']}"
            state = api.get(path, timeout=30).json()
            if state.get("status") != "ready":
                self.advances["still advancing"] += 1
                continue
            frozen = state["frozen_time"] + 31 * 86400
            answer = api.post(
                f"{path}/advance", data={"frozen_time": frozen}, timeout=30
            )
            self.advances[answer.status_code] += 1


def soak(database: str, seconds: float) -> dict:
    folder = Path(tempfile.mkdtemp(prefix=f"tally-soak-{database}-"))
    installation = Installation(database, folder)
    print(f"[{database}] preparing in {folder} ...", flush=True)
    prepared = installation.prepare()
    base = f"http://127.0.0.1:{installation.port}"
    try:
        installation.start()
        context = _context(base, prepared)
        memory = Memory(installation.processes)
        memory.start()
        until = time.monotonic() + seconds
        clients = [Client(base, context, until, n) for n in range(CLIENTS)]
        closer = PeriodCloser(base, context, until, every=max(10.0, seconds / 8))
        print(f"[{database}] {CLIENTS} clients for {seconds:.0f} s ...", flush=True)
        for thread in (*clients, closer):
            thread.start()
        for thread in (*clients, closer):
            thread.join()
        memory.done.set()
        memory.join()
        exited = installation.exited()
        log_errors = installation.errors_in_logs()
    finally:
        installation.stop()
    latencies: dict[str, list[float]] = defaultdict(list)
    statuses: Counter = Counter()
    for client in clients:
        for route, values in client.latencies.items():
            latencies[route] += values
        statuses.update(client.statuses)
    return {
        "database": database,
        "seconds": seconds,
        "routes": {
            route: {
                "requests": len(values),
                "p50_ms": round(percentile(values, 0.50) * 1000, 1),
                "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            }
            for route, values in sorted(latencies.items())
        },
        "statuses": {str(key): value for key, value in statuses.items()},
        "5xx": sum(client.errors_5xx for client in clients),
        "database_is_locked": sum(c.locked for c in clients)
        + installation.locked_in_logs(),
        "advances": {str(k): v for k, v in closer.advances.items()},
        "exited": exited,
        "log_errors": log_errors,
        "max_rss_mib": {
            role: round(kib / 1024, 1) for role, kib in sorted(memory.peak.items())
        },
        "max_rss_mib_by_half": {
            role: [round(first / 1024, 1), round(second / 1024, 1)]
            for role, (first, second) in sorted(memory.halves().items())
        },
        "load_average_1m": {
            "min": round(min(memory.loads, default=0.0), 2),
            "mean": round(sum(memory.loads) / max(len(memory.loads), 1), 2),
            "max": round(max(memory.loads, default=0.0), 2),
        },
    }


def _print(report: dict) -> None:
    print(f"\n== {report['database']}: {report['seconds']:.0f} s ==")
    print(f"{'route':<42} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for route, figures in report["routes"].items():
        print(
            f"{route:<42} {figures['requests']:>9} {figures['p50_ms']:>8} "
            f"{figures['p99_ms']:>8}"
        )
    print(f"statuses: {report['statuses']}")
    print(f"5xx: {report['5xx']}; 'database is locked': {report['database_is_locked']}")
    print(f"test-clock advances: {report['advances']}")
    print(
        f"processes that ended during the run: {report['exited'] or 'none'}; "
        f"tracebacks in the logs: {report['log_errors']}"
    )
    print(
        "peak RSS (MiB): "
        + ", ".join(f"{k} {v}" for k, v in report["max_rss_mib"].items())
    )
    print(
        "peak RSS, first half / second half (MiB): "
        + ", ".join(
            f"{k} {a}/{b}" for k, (a, b) in report["max_rss_mib_by_half"].items()
        )
    )
    print(f"1-minute load average during the run: {report['load_average_1m']}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_soak")
    parser.add_argument("--quick", action="store_true", help="1 minute per database")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--database", choices=["sqlite", "postgres", "both"], default="both"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    seconds = 60.0 if args.quick else args.minutes * 60
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    reports = [soak(database, seconds) for database in databases]
    for report in reports:
        _print(report)
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2))
    failed = any(
        r["5xx"] or r["database_is_locked"] or r["exited"] or r["log_errors"]
        for r in reports
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
