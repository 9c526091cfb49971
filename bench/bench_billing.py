"""Period close and finalization at scale, and invoice previews.

Targets (issue #5), on PostgreSQL: close and finalize 10,000 subscriptions (one
licensed and two metered items each, usage in the hourly rollups) in ≤ 60 s;
``POST /v1/invoices/create_preview`` p95 ≤ 30 ms.

Setup writes customers, subscriptions, items and rollups with bulk inserts (it is
not what is measured). Each customer has a 10 % coupon (forever) and each
subscription a 19 % exclusive tax rate, so every invoice and preview runs every
step of the composition pipeline (discounts, credits, taxes, balance);
``BENCH_BILLING_PLAIN=1`` leaves both out, to compare with a version that had
neither. The close
and the finalization then run as the Beat jobs do, with ``BENCH_BILLING_WORKERS``
processes side by side (default 2, this machine's cores), each claiming chunks
of subscriptions (drafts) the other does not hold; every subscription is closed
exactly once. Besides wall-clock seconds, the figures give the workers' and their
database sessions' CPU per subscription and the queries per subscription, which
do not depend on the neighbours on a shared machine.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import resource
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from bench import support

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
GRACE = timedelta(hours=1)
TAG = {"bench": "billing"}
PREVIEWS = 300


def _catalog():
    from catalog.models import Price, PriceTier, Product
    from metering.models import Meter

    meters = []
    for name in ("bench_billing_input", "bench_billing_output"):
        meter = Meter.objects.filter(event_name=name, status="active").first()
        meters.append(
            meter
            or Meter.objects.create(display_name=name, event_name=name, formula="sum")
        )
    product = Product.objects.create(name="Bench Pro", unit_label="tokens")
    flat = Price.objects.create(
        product=product,
        currency="usd",
        type="recurring",
        unit_amount_decimal=Decimal(20000),
        recurring_interval="month",
        recurring_interval_count=1,
        recurring_usage_type="licensed",
    )
    per_unit = Price.objects.create(
        product=product,
        currency="usd",
        type="recurring",
        unit_amount_decimal=Decimal("0.3"),
        recurring_interval="month",
        recurring_interval_count=1,
        recurring_usage_type="metered",
        recurring_meter=meters[0],
    )
    graduated = Price.objects.create(
        product=product,
        currency="usd",
        type="recurring",
        billing_scheme="tiered",
        tiers_mode="graduated",
        recurring_interval="month",
        recurring_interval_count=1,
        recurring_usage_type="metered",
        recurring_meter=meters[1],
    )
    PriceTier.objects.bulk_create(
        [
            PriceTier(
                price=graduated,
                position=0,
                up_to=100_000,
                unit_amount_decimal=Decimal(0),
                flat_amount_decimal=Decimal(0),
            ),
            PriceTier(
                price=graduated,
                position=1,
                up_to=None,
                unit_amount_decimal=Decimal("0.1"),
                flat_amount_decimal=Decimal(0),
            ),
        ]
    )
    return meters, (flat, per_unit, graduated)


def _clean() -> None:
    """Remove an earlier run's data (finalized invoices only go by TRUNCATE).

    CASCADE also empties tables that point at invoices (threshold invoices of
    alerts): this is the benchmark's own database.
    """
    from django.db import connection

    from core.models import Customer
    from metering.models import MeterUsageRollup

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE billing_invoicelineitem, billing_invoiceitem, billing_invoice, "
            "billing_subscriptionitem, billing_subscription CASCADE"
        )
    customers = Customer.objects.filter(metadata__bench="billing")
    MeterUsageRollup.objects.filter(customer__in=customers).delete()
    customers.delete()


def _discount_and_tax():
    """The coupon every customer has and the tax rate every subscription applies."""
    from billing.models import Coupon, TaxRate

    coupon, _ = Coupon.objects.get_or_create(
        pk="bench_billing_10_off",
        defaults={
            "name": "Bench 10% off",
            "percent_off": Decimal(10),
            "duration": "forever",
        },
    )
    rate, _ = TaxRate.objects.get_or_create(
        pk="txr_bench_billing_vat",
        defaults={"display_name": "VAT", "percentage": Decimal(19), "inclusive": False},
    )
    return coupon, rate


def _setup(count: int) -> list[str]:
    from billing.models import Discount, Subscription, SubscriptionItem
    from core.models import Customer
    from metering.models import MeterUsageRollup

    _clean()
    meters, (flat, per_unit, graduated) = _catalog()
    coupon, rate = _discount_and_tax()
    rng = random.Random(5)
    customers = [
        Customer(
            name=f"Bench billing {index}",
            email=f"bench{index}@example.com",
            invoice_prefix=f"B{uuid.uuid4().hex[:10].upper()}",
            metadata=TAG,
            created=APR1,
        )
        for index in range(count)
    ]
    Customer.objects.bulk_create(customers, batch_size=2000)
    plain = os.environ.get("BENCH_BILLING_PLAIN") == "1"
    Discount.objects.bulk_create(
        (Discount(customer=c, coupon=coupon, start=APR1) for c in customers)
        if not plain
        else (),
        batch_size=2000,
    )
    subs = [
        Subscription(
            customer=customer,
            status="active",
            currency="usd",
            interval="month",
            interval_count=1,
            billing_cycle_anchor=APR1,
            anchor_day=1,
            start_date=APR1,
            current_period_start=APR1,
            current_period_end=MAY1,
            default_tax_rates=[] if plain else [rate.pk],
            created=APR1,
        )
        for customer in customers
    ]
    Subscription.objects.bulk_create(subs, batch_size=2000)
    items, rollups = [], []
    for sub in subs:
        for position, price in enumerate((flat, per_unit, graduated)):
            items.append(
                SubscriptionItem(
                    subscription=sub,
                    position=position,
                    price=price,
                    quantity=None if price.is_metered else 1,
                    current_period_start=APR1,
                    current_period_end=MAY1,
                    created=APR1,
                )
            )
        for meter in meters:
            for _ in range(3):
                hour = APR1 + timedelta(hours=rng.randrange(0, 29 * 24))
                rollups.append(
                    MeterUsageRollup(
                        meter=meter,
                        customer_id=sub.customer_id,
                        bucket=hour,
                        value_sum=Decimal(rng.randrange(1, 80_000)),
                        event_count=1,
                    )
                )
    SubscriptionItem.objects.bulk_create(items, batch_size=5000)
    MeterUsageRollup.objects.bulk_create(
        rollups, batch_size=5000, ignore_conflicts=True
    )
    _analyze()
    return [customer.pk for customer in customers]


def _analyze() -> None:
    """Refresh the planner's statistics after the bulk load, as a live database has."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@dataclass(frozen=True)
class _Run:
    """What one worker process did: items, its CPU, its session's, its queries."""

    done: int
    cpu: float
    db_cpu: float
    queries: int


def _worker(job: str) -> _Run:
    from django.apps import apps

    if not apps.ready:  # a spawned (not forked) process
        support.setup_django()
    from django.db import connection, connections

    from billing import services

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        cpu, db_cpu = _cpu_seconds(), support._process_seconds(backend)
        with connection.execute_wrapper(count):
            if job == "close":
                done = services.subscriptions_close_due(now=MAY1)
            else:
                done = services.invoices_finalize_due(now=MAY1 + GRACE)
        return _Run(
            done=done,
            cpu=_cpu_seconds() - cpu,
            db_cpu=support._process_seconds(backend) - db_cpu,
            queries=queries,
        )
    finally:
        connections.close_all()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(job: str, workers: int) -> tuple[float, _Run]:
    """Run ``job`` in ``workers`` processes at once; wall seconds and their sums."""
    from django.db import connections

    connections.close_all()
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(_worker, [job] * workers))
    return time.perf_counter() - started, _Run(
        done=sum(run.done for run in runs),
        cpu=sum(run.cpu for run in runs),
        db_cpu=sum(run.db_cpu for run in runs),
        queries=sum(run.queries for run in runs),
    )


def _previews(customers: list[str]) -> tuple[list[float], float]:
    """Latencies of sequential previews, and the server's CPU seconds per preview."""
    from core.services.api_keys import api_key_create

    _, secret = api_key_create(name="bench billing")
    rng = random.Random(7)
    latencies = []
    with support.gunicorn(workers=2, threads=2) as server:
        host, port = server
        connection = http.client.HTTPConnection(host, port, timeout=30)
        headers = {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        for index in range(PREVIEWS + 20):
            body = urlencode({"customer": rng.choice(customers)})
            started = time.perf_counter()
            connection.request("POST", "/v1/invoices/create_preview", body, headers)
            response = connection.getresponse()
            payload = response.read()
            elapsed = time.perf_counter() - started
            if response.status != 200:
                raise RuntimeError(f"preview failed: {response.status} {payload[:300]}")
            if index == 19:  # the first requests warm the workers up
                server_cpu = support.server_cpu_seconds(server)
            if index >= 20:
                latencies.append(elapsed)
        json.loads(payload)
        connection.close()
        server_cpu = support.server_cpu_seconds(server) - server_cpu
    return latencies, server_cpu / PREVIEWS


def run(args) -> dict:
    from billing.models import Invoice

    count = 500 if getattr(args, "quick", False) else 10_000
    workers = int(os.environ.get("BENCH_BILLING_WORKERS", "2"))
    customers = _setup(count)
    close_seconds, close = _timed("close", workers)
    finalize_seconds, finalize = _timed("finalize", workers)
    cycles = Invoice.objects.filter(billing_reason="subscription_cycle")
    if close.done != count or finalize.done != count or cycles.count() != count:
        raise RuntimeError(f"expected {count} invoices: {close=} {finalize=}")
    if cycles.exclude(status="open").exists():
        raise RuntimeError("every cycle invoice should be open")
    latencies, preview_cpu = _previews(customers)
    return {
        "subscriptions": count,
        "workers": workers,
        "close s": close_seconds,
        "finalize s": finalize_seconds,
        "close + finalize s (target ≤ 60)": close_seconds + finalize_seconds,
        "subscriptions/s": count / (close_seconds + finalize_seconds),
        **_per_subscription("close", close, count),
        **_per_subscription("finalize", finalize, count),
        "create_preview p50 ms": support.percentile(latencies, 0.5) * 1000,
        "create_preview p95 ms (target ≤ 30)": support.percentile(latencies, 0.95)
        * 1000,
        "create_preview server CPU ms/request": preview_cpu * 1000,
    }


def _per_subscription(job: str, run: _Run, count: int) -> dict:
    """CPU and queries per subscription: they do not depend on the neighbours."""
    return {
        f"{job} worker CPU ms/subscription": run.cpu / count * 1000,
        f"{job} database CPU ms/subscription": run.db_cpu / count * 1000,
        f"{job} queries/1,000 subscriptions": run.queries / count * 1000,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    support.setup_django()
    figures = run(parser.parse_args())
    support.print_table([("billing", key, value) for key, value in figures.items()])
