"""Tally on many processes: 2 web, 3 workers on separate queues, one Beat.

Against PostgreSQL and Redis (CELERY_BROKER_URL; its Tally queues are emptied
first): customers with subscriptions on a test clock are created over HTTP, a
webhook endpoint points at a receiver here, and the clock is advanced three months.
The invoicing worker is ``kill -9``-ed while it closes periods; a replacement takes
the advance over once the broker gives its unacknowledged task back (after the
visibility timeout). Every invoice must exist once, none missing, numbers without
gap, and every webhook event must reach the receiver exactly once.

Skipped (with the reason) without PostgreSQL or Redis; under CI=true on PostgreSQL
a missing Redis fails it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.system.processes import Processes
from tests.system.receiver import Api, Receiver

SUBSCRIPTIONS = 200
MONTHS = 3
PRICE = 1500
START = datetime(2026, 1, 1, tzinfo=UTC)
TARGET = datetime(2026, 1 + MONTHS, 1, 2, tzinfo=UTC)
WEBHOOK_TYPES = ["invoice.created", "invoice.finalized"]
# A task a killed worker held goes back on its queue after this many seconds.
VISIBILITY = 12
LEASE = 10  # seconds; below VISIBILITY
TIMEOUT = 150


def _unavailable() -> str:
    if not settings.IS_POSTGRES:
        return "needs PostgreSQL (DATABASE_URL=postgres://...)"
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith("redis://"):
        return "needs Redis (CELERY_BROKER_URL=redis://...)"
    import redis

    try:
        redis.Redis.from_url(broker, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {broker} is unreachable: {exc}"
    return ""


@pytest.fixture
def broker_url():
    reason = _unavailable()
    # CI runs on PostgreSQL and Redis (.ci/run): there a missing Redis is a failure;
    # the embedded SQLite default skips it wherever it runs.
    if reason and os.environ.get("CI") == "true" and settings.IS_POSTGRES:
        pytest.fail(f"CI=true but the multi-process test cannot run: {reason}")
    if reason:
        pytest.skip(reason)
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    # Messages left by an earlier run would name objects this database lacks.
    client.delete(*settings.CELERY_TASK_QUEUES, "unacked", "unacked_index")
    return settings.CELERY_BROKER_URL


def _test_database_url() -> str:
    params = connection.settings_dict
    return (
        f"postgres://{params['USER']}:{params['PASSWORD']}@{params['HOST'] or ''}"
        f":{params['PORT'] or 5432}/{params['NAME']}"
    )


def _wait(condition, *, what: str, timeout: float = TIMEOUT, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def _wait_progress(condition, progress, idle, *, stall: float = 5.0) -> bool:
    """Wait for ``condition``; False once ``progress()`` stays put ``stall`` s while
    ``idle()`` (no task that could still make progress)."""
    seen, since = progress(), time.monotonic()
    while not condition():
        if progress() != seen:
            seen, since = progress(), time.monotonic()
        elif time.monotonic() - since > stall and idle():
            return False
        time.sleep(0.2)
    return True


def _no_webhook_task(broker_url: str):
    """True when no webhook task waits in its queue or runs on a worker."""
    import redis

    client = redis.Redis.from_url(broker_url)

    def idle() -> bool:
        running = [
            raw for raw in client.hvals("unacked") if json.loads(raw)[2] == "webhooks"
        ]
        return client.llen("webhooks") == 0 and not running

    return idle


def _create_subscriptions(api: Api, clock_id: str, price_id: str, phases) -> list:
    with ThreadPoolExecutor(8) as pool:
        customers = list(
            pool.map(
                lambda index: api.post(
                    "/v1/customers", {"name": f"System {index}", "test_clock": clock_id}
                )["id"],
                range(SUBSCRIPTIONS),
            )
        )
        phases.done(f"create {SUBSCRIPTIONS} customers over HTTP")
        subscriptions = list(
            pool.map(
                lambda customer: api.post(
                    "/v1/subscriptions",
                    {
                        "customer": customer,
                        "items[0][price]": price_id,
                        "collection_method": "send_invoice",
                        "days_until_due": "30",
                    },
                )["id"],
                customers,
            )
        )
        phases.done(f"create {SUBSCRIPTIONS} subscriptions over HTTP")
    return subscriptions


class Phases:
    """Seconds each phase took, printed (pytest -s) to see where the time goes."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        print(f"  {now - self.last:6.1f} s  {what}", flush=True)
        self.last = now


def _delivery_states(deliveries) -> dict:
    from django.db.models import Count, Max, Min, Q

    return deliveries.aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(status="pending")),
        leased=Count("id", filter=Q(status="pending", lease_token__gt="")),
        tried=Count("id", filter=Q(status="pending", attempt_count__gt=0)),
        first_pending=Min("id", filter=Q(status="pending")),
        last_sent=Max("id", filter=Q(status="succeeded")),
    )


def _attempts_of(event_ids: list[str]) -> list:
    from core.models import WebhookDeliveryAttempt

    return list(
        WebhookDeliveryAttempt.objects.filter(delivery__event_id__in=event_ids[:5])
        .order_by("delivery_id", "number")
        .values_list(
            "delivery_id", "delivery__event__type", "number", "attempted_at",
            "succeeded", "status_code", "duration_ms",
        )
    )  # fmt: skip


def _catch_up_beat() -> None:
    """Do what Beat's webhook jobs would do minutes from now, without waiting.

    A worker killed between a commit and its after-commit fan-out leaves a lane
    leased to a task it never queued (Beat's dispatcher restarts it once the
    5-minute lease lapses), or events without deliveries (the reconciler fans out
    events older than a minute, every 5 minutes). Called only while no webhook task
    is queued or running, so every lease still held is a dead worker's: they lapse
    now, and the jobs run at the real time (the reconciler a minute ahead, which
    cannot take a live 5-minute lease over).
    """
    from core import clock
    from core.models import WebhookDelivery
    from core.webhooks import dispatch

    now = clock.now()
    WebhookDelivery.objects.filter(status="pending").exclude(lease_token="").update(
        leased_until=now
    )
    dispatch.deliveries_dispatch_due(now=now)
    dispatch.fanout_reconcile(
        now=now + dispatch.RECONCILE_SETTLE + timedelta(seconds=1)
    )


@pytest.mark.django_db(transaction=True)
def test_many_processes_survive_a_killed_worker(broker_url):
    from billing.models import Invoice, InvoiceLineItem
    from config.celery import app
    from core.models import Customer, Event, TestClock, WebhookDelivery
    from core.services.api_keys import api_key_create

    _, secret = api_key_create(name="system test")
    receiver = Receiver()
    processes = Processes(
        database_url=_test_database_url(),
        broker_url=broker_url,
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY),
        # A redelivered advance takes over once the dead worker's lease lapsed.
        TALLY_TEST_CLOCK_LEASE_SECONDS=str(LEASE),
    )
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # the catch-up's tasks go to the workers
    folder = Path(tempfile.mkdtemp(prefix="tally-system-"))
    phases = Phases()
    try:
        address = processes.web(workers=2)
        processes.worker("realtime", ["realtime", "default"])
        invoicing = processes.worker("invoicing", ["invoicing"])
        processes.worker("webhooks", ["webhooks"], concurrency=2)
        processes.beat(folder)
        api = Api(address, secret)
        phases.done("start 2 web processes, 3 workers and Beat")

        endpoint = api.post(
            "/v1/webhook_endpoints",
            {
                "url": f"http://127.0.0.1:{receiver.server_port}/hook",
                **{f"enabled_events[{i}]": t for i, t in enumerate(WEBHOOK_TYPES)},
            },
        )
        receiver.secret = endpoint["secret"]
        test_clock = api.post(
            "/v1/test_helpers/test_clocks", {"frozen_time": int(START.timestamp())}
        )
        product = api.post("/v1/products", {"name": "System plan"})
        price = api.post(
            "/v1/prices",
            {
                "product": product["id"],
                "currency": "usd",
                "unit_amount": str(PRICE),
                "recurring[interval]": "month",
            },
        )
        subscription_ids = _create_subscriptions(
            api, test_clock["id"], price["id"], phases
        )
        assert len(set(subscription_ids)) == SUBSCRIPTIONS

        cycles = Invoice.objects.filter(billing_reason="subscription_cycle")
        api.post(
            f"/v1/test_helpers/test_clocks/{test_clock['id']}/advance",
            {"frozen_time": int(TARGET.timestamp())},
        )
        advanced_at = time.monotonic()
        # Kill the invoicing worker once the first month is closed, mid-advance.
        _wait(lambda: cycles.count() >= SUBSCRIPTIONS, what="the first period close")
        processes.kill(invoicing)
        phases.done("close the first month, kill the invoicing worker")
        closed_at_kill = cycles.count()
        assert TestClock.objects.get(pk=test_clock["id"]).status == "advancing"
        assert closed_at_kill < SUBSCRIPTIONS * MONTHS

        # The broker gives the unacknowledged advance back after the visibility
        # timeout; the replacement's first look at the broker finds it.
        time.sleep(max(0.0, advanced_at + VISIBILITY + 1 - time.monotonic()))
        processes.worker("invoicing-2", ["invoicing"])
        _wait(
            lambda: TestClock.objects.get(pk=test_clock["id"]).status != "advancing",
            what="the replacement worker to finish the advance",
        )
        assert TestClock.objects.get(pk=test_clock["id"]).status == "ready"
        phases.done("replacement worker finishes the advance")

        events = Event.objects.filter(type__in=WEBHOOK_TYPES)
        deliveries = WebhookDelivery.objects.filter(endpoint_id=endpoint["id"])

        def delivered() -> bool:
            return (
                len(receiver.received) >= events.count()
                and not deliveries.exclude(status="succeeded").exists()
            )

        # Beat's catch-up would take leases over from a sender that is merely slow:
        # it runs only once no webhook task is left anywhere.
        idle = _no_webhook_task(broker_url)
        if not _wait_progress(delivered, lambda: len(receiver.received), idle):
            _catch_up_beat()
            phases.done(
                f"deliveries stalled at {len(receiver.received)} of {events.count()} "
                f"events ({_delivery_states(deliveries)}): Beat's catch-up"
            )
            _wait(delivered, what="the deliveries after Beat's catch-up", every=0.2)
        phases.done(f"deliver {deliveries.count()} webhook events")
    finally:
        app.conf.task_always_eager = eager
        processes.stop_all()
        shutil.rmtree(folder, ignore_errors=True)
        receiver.shutdown()
        receiver.server_close()

    # Every invoice exactly once: the first and one per closed month, per subscription.
    invoices = Invoice.objects.filter(subscription_id__in=subscription_ids)
    per_period = Counter(
        invoices.values_list("subscription_id", "billing_reason", "period_start")
    )
    assert set(per_period.values()) == {1}
    assert invoices.filter(billing_reason="subscription_create").count() == (
        SUBSCRIPTIONS
    )
    assert cycles.count() == SUBSCRIPTIONS * MONTHS
    starts = Counter(
        cycles.values_list("period_start", flat=True).order_by("period_start")
    )
    assert sorted(starts.values()) == [SUBSCRIPTIONS] * MONTHS
    assert not invoices.exclude(status="open").exists()

    # Ledgers: numbers without gap or repeat per customer, amounts that add up.
    numbers: dict[str, list[str]] = {}
    for customer_id, number in invoices.values_list("customer_id", "number"):
        numbers.setdefault(customer_id, []).append(number)
    for customer_id, seen in numbers.items():
        prefix = Customer.objects.get(pk=customer_id).invoice_prefix
        assert sorted(seen) == [f"{prefix}-{n:04d}" for n in range(1, MONTHS + 2)]
    for invoice in invoices.only("id", "subtotal", "total", "amount_due"):
        assert invoice.subtotal == invoice.total == invoice.amount_due == PRICE
    lines = InvoiceLineItem.objects.filter(invoice__in=invoices)
    assert sum(lines.values_list("amount", flat=True)) == PRICE * invoices.count()
    assert not Customer.objects.exclude(balance=0).exists()

    # Every webhook event exactly once at the receiver, with a valid signature.
    expected = set(events.values_list("id", flat=True))
    assert len(expected) == len(WEBHOOK_TYPES) * SUBSCRIPTIONS * (MONTHS + 1)
    assert receiver.bad == 0
    assert set(receiver.received) == expected
    twice = [event_id for event_id, count in receiver.received.items() if count > 1]
    assert twice == [], _attempts_of(twice)
