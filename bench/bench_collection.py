"""Collection at scale: charge attempts over 10,000 due invoices, and the time from
finalization to the ``invoice.paid`` webhook.

Setup writes customers, their test cards (the simulator's ``visa``) and open
``charge_automatically`` invoices due for their first attempt with bulk inserts
(not measured). The attempts then run as the Beat job does
(``invoice_payment_attempt`` per invoice: plan under the invoice lock, charge,
record under the lock), in ``BENCH_COLLECTION_WORKERS`` processes side by side
(default 2), each taking every n-th invoice. Every invoice must end paid by exactly
one simulated charge.

The end-to-end figure finalizes one-off invoices one at a time with a local
webhook receiver listening to ``invoice.paid``: finalization queues the charge
after commit, the charge pays the invoice, the event fans out and is delivered.
Tasks run in-process here (Celery eager), so the figure is Tally's own path
without a broker's queueing delay.

Run with the others (``python -m bench collection``) or alone
(``python -m bench.bench_collection [--quick]``).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import support

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
AMOUNT = 4_900  # minor units per invoice
BATCH = 1_000
LATENCY_SAMPLES = 50
PROGRESS_EVERY = 500  # attempts per worker between progress lines


def _setup(count: int, tag: str) -> list[str]:
    """``count`` customers with a default card and an open invoice due now."""
    from billing.models import Invoice
    from core.models import Customer
    from payments.models import PaymentMethod

    ids: list[str] = []
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        customers = Customer.objects.bulk_create(
            Customer(
                name=f"Bench {tag} {start + n}",
                email=f"bench-{tag}-{start + n}@example.com",
                invoice_prefix=f"C{tag[:5].upper()}{start + n:06d}"[:12],
                created=NOW,
            )
            for n in range(size)
        )
        methods = PaymentMethod.objects.bulk_create(
            PaymentMethod(
                customer=customer,
                card={
                    "brand": "visa",
                    "last4": "4242",
                    "exp_month": 12,
                    "exp_year": 2030,
                },
                processor="simulator",
                processor_reference="visa",
                created=NOW,
            )
            for customer in customers
        )
        for customer, method in zip(customers, methods, strict=True):
            customer.invoice_settings = {"default_payment_method": method.pk}
        Customer.objects.bulk_update(customers, ["invoice_settings"])
        invoices = Invoice.objects.bulk_create(
            Invoice(
                customer=customer,
                status="open",
                billing_reason="manual",
                collection_method="charge_automatically",
                currency="usd",
                number=f"{customer.invoice_prefix}-0001",
                period_start=NOW,
                period_end=NOW,
                subtotal=AMOUNT,
                total=AMOUNT,
                amount_due=AMOUNT,
                amount_remaining=AMOUNT,
                finalized_at=NOW,
                effective_at=NOW,
                next_payment_attempt=NOW,
                created=NOW,
            )
            for customer in customers
        )
        ids += [invoice.pk for invoice in invoices]
    return ids


def _attempt_share(args: tuple[list[str], int, int]) -> tuple[int, float]:
    """A worker process: attempt every ``workers``-th invoice from ``index``."""
    ids, index, workers = args
    from django.apps import apps

    if not apps.ready:  # a spawned (not forked) process
        support.setup_django()
    from django.db import connection

    from payments.services.collection import invoice_payment_attempt

    started = time.perf_counter()
    done = 0
    share = ids[index::workers]
    for invoice_id in share:
        if invoice_payment_attempt(invoice_id=invoice_id, number=1, now=NOW):
            done += 1
        if done % PROGRESS_EVERY == 0:
            # A partial figure survives a run cut short (a shared machine).
            elapsed = time.perf_counter() - started
            print(
                f"   worker {index}: {done}/{len(share)} attempts in {elapsed:.0f} s"
                f" ({done / elapsed:.1f}/s), load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    connection.close()
    return done, time.perf_counter() - started


def _attempts(ids: list[str], workers: int) -> tuple[float, int]:
    from django.db import connections

    connections.close_all()  # forked workers must not share the parent's
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        shares = list(
            pool.map(_attempt_share, [(ids, n, workers) for n in range(workers)])
        )
    return time.perf_counter() - started, sum(done for done, _ in shares)


def _check(ids: list[str]) -> None:
    from billing.models import Invoice
    from payments.models import PaymentAttempt, SimulatedCharge

    paid = Invoice.objects.filter(pk__in=ids, status="paid").count()
    charges = SimulatedCharge.objects.filter(
        idempotency_key__in=[f"tally_{pk}_attempt_1" for pk in ids]
    ).count()
    succeeded = PaymentAttempt.objects.filter(invoice_id__in=ids, status="succeeded")
    if paid != len(ids) or charges != len(ids) or succeeded.count() != len(ids):
        raise RuntimeError(f"expected {len(ids)} paid invoices: {paid=} {charges=}")


class _Receiver:
    """A local endpoint that notes when each ``invoice.paid`` arrives."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("type") == "invoice.paid":
                    with receiver.event:
                        receiver.arrived[body["data"]["object"]["id"]] = (
                            time.perf_counter()
                        )
                        receiver.event.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", support.free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/hooks"

    def wait(self, invoice_id: str, timeout: float = 30) -> float:
        with self.event:
            self.event.wait_for(lambda: invoice_id in self.arrived, timeout=timeout)
        return self.arrived[invoice_id]


def _finalize_to_webhook(samples: int, tag: str) -> list[float]:
    """Seconds from ``invoice_finalize`` to the receiver getting ``invoice.paid``."""
    from billing.services import invoice_create, invoice_finalize, invoice_item_create
    from config.celery import app
    from core.services.webhooks import webhook_endpoint_create
    from payments.services.payment_methods import (
        customer_default_payment_method_set,
        payment_method_attach,
    )
    from tests.core.factories import CustomerFactory

    app.conf.task_always_eager = True
    receiver = _Receiver()
    webhook_endpoint_create(
        params={"url": receiver.url, "enabled_events": ["invoice.paid"]},
        livemode=False,
        now=NOW,
    )
    latencies = []
    for sample in range(samples):
        # The run's own prefixes: a data directory kept from an earlier run
        # holds the factory's default ones already.
        customer = CustomerFactory(
            email="e2e@example.com", invoice_prefix=f"E{tag}{sample:04d}".upper()
        )
        method = payment_method_attach(
            payment_method_id="pm_card_visa", customer=customer
        )
        customer_default_payment_method_set(customer=customer, payment_method=method)
        invoice = invoice_create(customer=customer, params={"currency": "usd"}, now=NOW)
        invoice_item_create(
            customer=customer,
            params={"amount": AMOUNT, "currency": "usd", "invoice": invoice.pk},
            now=NOW,
        )
        invoice.refresh_from_db()
        started = time.perf_counter()
        invoice_finalize(invoice=invoice, now=NOW)
        latencies.append(receiver.wait(invoice.pk) - started)
    receiver.server.shutdown()
    return latencies


def run(args) -> dict:
    quick = getattr(args, "quick", False)
    count = 1_000 if quick else 10_000
    workers = int(os.environ.get("BENCH_COLLECTION_WORKERS", "2"))
    tag = uuid.uuid4().hex[:6]
    ids = _setup(count, tag)
    seconds, done = _attempts(ids, workers)
    _check(ids)
    latencies = _finalize_to_webhook(10 if quick else LATENCY_SAMPLES, tag)
    return {
        "due invoices": count,
        "workers": workers,
        "attempts": done,
        "attempt s": seconds,
        "attempts/s": count / seconds,
        "finalize → invoice.paid webhook p50 ms": support.percentile(latencies, 0.5)
        * 1000,
        "finalize → invoice.paid webhook p95 ms": support.percentile(latencies, 0.95)
        * 1000,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    support.setup_django()
    figures = run(parser.parse_args())
    support.print_table([("collection", key, value) for key, value in figures.items()])
