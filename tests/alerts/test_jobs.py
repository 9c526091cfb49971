"""The Beat jobs: scheduled every minute, idempotent, and safe with two workers.

The parallel tests need PostgreSQL (SQLite serialises whole transactions).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from alerts.models import AlertTrigger, ThresholdInvoice
from alerts.services import alerts_evaluate, billing_thresholds_evaluate
from alerts.tasks import alerts_evaluate_task, billing_thresholds_evaluate_task
from billing.models import Invoice
from billing.services import subscription_create
from core import clock
from core.models import Event
from tests.alerts.factories import (
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    make_alert,
    report,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
THREADS = 4
# These tests race the Beat jobs themselves: usage must wait for them.
pytestmark = pytest.mark.usefixtures("usage_evaluated_by_jobs_only")
postgres_only = pytest.mark.skipif(
    not settings.IS_POSTGRES, reason="row locks need PostgreSQL (SQLite has none)"
)


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("alerts-evaluate", "alerts.tasks.alerts_evaluate_task"),
        (
            "billing-thresholds-evaluate",
            "alerts.tasks.billing_thresholds_evaluate_task",
        ),
        ("usage-limits-evaluate", "alerts.tasks.limits_evaluate_task"),
    ],
)
def test_the_jobs_run_every_minute(name, task):
    entry = settings.CELERY_BEAT_SCHEDULE[name]
    assert (entry["task"], entry["schedule"]) == (task, timedelta(minutes=1))


@pytest.mark.django_db
def test_the_tasks_read_the_clock_and_run_once(django_capture_on_commit_callbacks):
    now = clock.now()
    meter = MeterFactory()
    customer = CustomerFactory()
    make_alert(meter=meter, gte=10, now=now - timedelta(minutes=5))
    report(meter=meter, customer=customer, value=10, now=now - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts_evaluate_task.delay().get() == 1
        assert alerts_evaluate_task.delay().get() == 0
    assert billing_thresholds_evaluate_task.delay().get() == 0


def _in_threads(work, count: int = THREADS) -> list:
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_evaluating_alerts_at_once_fire_each_once():
    meter = MeterFactory()
    customers = [CustomerFactory() for _ in range(5)]
    make_alert(meter=meter, gte=10, title="everyone", now=APR1)
    make_alert(meter=meter, customer=customers[0], gte=5, title="mine", now=APR1)
    for customer in customers:
        report(meter=meter, customer=customer, value=10, now=APR1)
    later = APR1 + timedelta(minutes=1)
    fired = _in_threads(lambda: alerts_evaluate(now=later))
    assert sum(fired) == 6
    assert alerts_evaluate(now=later) == 0
    assert AlertTrigger.objects.count() == 6
    assert Event.objects.filter(type="billing.alert.triggered").count() == 6


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_evaluating_thresholds_at_once_invoice_each_crossing_once():
    meter = MeterFactory()
    price = PriceFactory(
        unit_amount_decimal=Decimal(100),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    subs = []
    for _ in range(3):
        customer = CustomerFactory()
        subs.append(
            subscription_create(
                customer=customer,
                params={
                    "items": [{"price": price.pk}],
                    "billing_thresholds": {"amount_gte": 10000},
                },
                now=APR1,
            )
        )
        report(meter=meter, customer=customer, value=150, now=APR1 + timedelta(days=2))
    later = APR1 + timedelta(days=2, hours=1)
    issued = _in_threads(lambda: billing_thresholds_evaluate(now=later))
    assert sum(issued) == 3
    assert billing_thresholds_evaluate(now=later) == 0
    for sub in subs:
        (invoice,) = Invoice.objects.filter(
            subscription=sub, billing_reason="subscription_threshold"
        )
        assert invoice.total == 15000
    assert ThresholdInvoice.objects.count() == 3
