"""The Beat jobs work a chunk at a time: a constant number of queries per chunk,
exactly once across chunks, and one failing row never holds the others back."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, Subscription
from billing.services import (
    cycle,
    finalize,
    invoices_finalize_due,
    jobs,
    period_close,
    subscription_create,
    subscriptions_close_due,
)
from tests.billing.factories import CustomerFactory, hypernian, record_usage

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUL1 = datetime(2026, 7, 1, tzinfo=UTC)
GRACE = timedelta(hours=1)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prices():
    return hypernian()


def subscribe(prices, count: int) -> list[Subscription]:
    flat, overage = prices
    subs = []
    for n in range(count):
        customer = CustomerFactory()
        record_usage(
            meter=overage.recurring_meter,
            customer=customer,
            value=100_000 + 1_000 * n,
            at=APR1 + timedelta(days=3),
        )
        subs.append(
            subscription_create(
                customer=customer,
                params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
                now=APR1,
            )
        )
    return subs


def cycle_invoices():
    return Invoice.objects.filter(billing_reason="subscription_cycle")


def test_queries_do_not_grow_with_the_subscriptions(prices):
    subscribe(prices, 3)
    with CaptureQueriesContext(connection) as few:
        assert subscriptions_close_due(now=MAY1) == 3
    with CaptureQueriesContext(connection) as few_finalized:
        assert invoices_finalize_due(now=MAY1 + GRACE) == 3
    subscribe(prices, 12)
    with CaptureQueriesContext(connection) as many:
        assert subscriptions_close_due(now=MAY1) == 12
    with CaptureQueriesContext(connection) as many_finalized:
        assert invoices_finalize_due(now=MAY1 + GRACE) == 12

    assert len(many) == len(few)
    assert len(many_finalized) == len(few_finalized)


def test_small_chunks_catch_up_every_period_exactly_once(prices, monkeypatch):
    monkeypatch.setattr(period_close, "_CHUNK", 2)
    subs = subscribe(prices, 5)

    assert subscriptions_close_due(now=JUL1) == 15
    assert subscriptions_close_due(now=JUL1) == 0
    assert invoices_finalize_due(now=JUL1 + GRACE, chunk=2) == 15

    for sub in subs:
        periods = sorted(
            cycle_invoices()
            .filter(subscription=sub)
            .values_list("period_start", "number")
        )
        assert [start for start, _ in periods] == [
            APR1,
            MAY1,
            datetime(2026, 6, 1, tzinfo=UTC),
        ]
        prefix = sub.customer.invoice_prefix
        assert sorted(number for _, number in periods) == [
            f"{prefix}-0002",
            f"{prefix}-0003",
            f"{prefix}-0004",
        ]


def test_a_failing_subscription_leaves_the_others_closed(prices, monkeypatch):
    subs = subscribe(prices, 4)
    poisoned = sorted(subs, key=lambda sub: sub.pk)[1]
    real = cycle.cycle_plan

    def plan(inputs, *args, **kwargs):
        if inputs.subscription.pk == poisoned.pk:
            raise RuntimeError("bad data")
        return real(inputs, *args, **kwargs)

    monkeypatch.setattr(period_close, "cycle_plan", plan)
    with pytest.raises(RuntimeError, match="bad data"):
        subscriptions_close_due(now=MAY1)

    closed = set(cycle_invoices().values_list("subscription_id", flat=True))
    assert closed == {sub.pk for sub in subs} - {poisoned.pk}
    poisoned.refresh_from_db()
    assert poisoned.current_period_start == APR1  # left whole for the next run
    monkeypatch.setattr(period_close, "cycle_plan", real)
    assert subscriptions_close_due(now=MAY1) == 1
    assert cycle_invoices().count() == 4


def test_a_failing_draft_leaves_the_others_finalized(prices, monkeypatch):
    subscribe(prices, 4)
    subscriptions_close_due(now=MAY1)
    poisoned = cycle_invoices().order_by("id")[2]
    real = finalize._price_and_freeze

    def price(invoice, *args, **kwargs):
        if invoice.pk == poisoned.pk:
            raise RuntimeError("bad data")
        return real(invoice, *args, **kwargs)

    monkeypatch.setattr(finalize, "_price_and_freeze", price)
    with pytest.raises(RuntimeError, match="bad data"):
        invoices_finalize_due(now=MAY1 + GRACE)

    assert set(cycle_invoices().filter(status="draft")) == {poisoned}
    monkeypatch.setattr(finalize, "_price_and_freeze", real)
    assert invoices_finalize_due(now=MAY1 + GRACE) == 1
    assert not cycle_invoices().filter(status="draft").exists()


def test_a_chunk_runs_without_automatic_garbage_collection():
    """Full collector passes over a chunk's rows cost a fifth of the job's CPU."""
    seen = []

    def claim(after):
        return [] if after else [Invoice(pk="in_1")]

    def chunk_do(rows):
        seen.append(gc.isenabled())
        return len(rows)

    assert gc.isenabled()
    assert jobs.chunks_run(claim=claim, chunk_do=chunk_do, one_do=None) == 1
    assert seen
    assert not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:  # a caller's own choice is left as it was
        jobs.chunks_run(claim=claim, chunk_do=chunk_do, one_do=None)
        assert not gc.isenabled()
    finally:
        gc.enable()
