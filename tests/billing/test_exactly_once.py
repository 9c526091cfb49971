"""Period close and finalization are exactly once: reruns, parallel workers,
failures mid-close; finalized invoices are immutable in the database."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, connections, transaction

from billing.models import Invoice, InvoiceLineItem
from billing.services import (
    cycle,
    invoice_finalize,
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    hypernian,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
JUL1 = datetime(2026, 7, 1, tzinfo=UTC)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


def _subscriptions(count: int):
    flat, overage = hypernian()
    subs = []
    for _ in range(count):
        customer = CustomerFactory()
        record_usage(
            meter=overage.recurring_meter,
            customer=customer,
            value=150_000,
            at=APR1 + timedelta(days=2),
        )
        subs.append(
            subscription_create(
                customer=customer,
                params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
                now=APR1,
            )
        )
    return subs


def _run_in_threads(target, count: int = 2) -> list:
    results, errors = [], []
    barrier = threading.Barrier(count)

    def work():
        try:
            barrier.wait()
            results.append(target())
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.django_db
def test_running_twice_makes_one_invoice_per_period():
    (sub,) = _subscriptions(1)
    assert subscriptions_close_due(now=JUL1) == 3
    assert subscriptions_close_due(now=JUL1) == 0
    invoices = Invoice.objects.filter(
        subscription=sub, billing_reason="subscription_cycle"
    )
    assert invoices.count() == 3
    assert invoices_finalize_due(now=JUL1 + timedelta(hours=1)) == 3
    assert invoices_finalize_due(now=JUL1 + timedelta(hours=1)) == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_in_parallel_make_one_invoice_per_period():
    subs = _subscriptions(6)
    made = _run_in_threads(lambda: subscriptions_close_due(now=JUL1))
    assert sum(made) == 18
    for sub in subs:
        periods = list(
            Invoice.objects.filter(
                subscription=sub, billing_reason="subscription_cycle"
            ).values_list("period_start", flat=True)
        )
        assert len(periods) == len(set(periods)) == 3
    finalized = _run_in_threads(
        lambda: invoices_finalize_due(now=JUL1 + timedelta(hours=1))
    )
    assert sum(finalized) == 18
    for sub in subs:
        numbers = sorted(
            Invoice.objects.filter(customer=sub.customer).values_list(
                "number", flat=True
            )
        )
        prefix = sub.customer.invoice_prefix
        assert numbers == [f"{prefix}-{n:04d}" for n in range(1, 5)]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_finalizations_number_without_gaps():
    customer = CustomerFactory(invoice_prefix="SEQ")
    price = PriceFactory(one_time=True)
    from billing.services import invoice_create, invoice_item_create

    drafts = []
    for _ in range(8):
        invoice = invoice_create(customer=customer, params={}, now=APR1)
        invoice_item_create(
            customer=customer,
            params={"price": price, "invoice": invoice.pk},
            now=APR1,
        )
        drafts.append(invoice)
    queue = list(drafts)
    lock = threading.Lock()

    def finalize_some():
        done = 0
        while True:
            with lock:
                if not queue:
                    return done
                invoice = queue.pop()
            invoice_finalize(invoice=invoice, now=APR1)
            done += 1

    _run_in_threads(finalize_some, count=4)
    numbers = sorted(
        Invoice.objects.filter(customer=customer).values_list("number", flat=True)
    )
    assert numbers == [f"SEQ-{n:04d}" for n in range(1, 9)]


@pytest.mark.django_db(transaction=True)
def test_failure_mid_close_leaves_nothing_and_the_next_run_completes(monkeypatch):
    (sub,) = _subscriptions(1)
    real = cycle._advance

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost mid-close")

    monkeypatch.setattr(cycle, "_advance", broken)
    with pytest.raises(RuntimeError):
        subscriptions_close_due(now=JUL1)
    assert not Invoice.objects.filter(billing_reason="subscription_cycle").exists()
    assert not InvoiceLineItem.objects.filter(
        invoice__billing_reason="subscription_cycle"
    )
    sub.refresh_from_db()
    assert sub.current_period_start == APR1
    monkeypatch.setattr(cycle, "_advance", real)
    assert subscriptions_close_due(now=JUL1) == 3


@pytest.mark.django_db
def test_the_unique_key_refuses_a_second_invoice_for_a_period():
    (sub,) = _subscriptions(1)
    subscriptions_close_due(now=APR1 + timedelta(days=31))
    existing = Invoice.objects.get(
        subscription=sub, billing_reason="subscription_cycle"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            customer=sub.customer,
            subscription=sub,
            billing_reason="subscription_cycle",
            currency="usd",
            period_start=existing.period_start,
            period_end=existing.period_end,
        )


@pytest.fixture
def finalized(db):
    (sub,) = _subscriptions(1)
    return sub.latest_invoice


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"total": 1},
        {"subtotal": 0},
        {"amount_due": 0},
        {"number": "OTHER-0001"},
        {"currency": "eur"},
        {"status": "draft"},
        {"total_pretax_credit_amounts": [{"amount": 5}]},
    ],
)
def test_the_database_refuses_changes_to_a_finalized_invoice(finalized, change):
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=finalized.pk).update(**change)


@pytest.mark.django_db
def test_the_database_refuses_line_changes_of_a_finalized_invoice(finalized):
    line = finalized.lines.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLineItem.objects.filter(pk=line.pk).update(amount=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLineItem.objects.filter(pk=line.pk).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLineItem.objects.create(
            invoice=finalized,
            position=99,
            kind="invoice_item",
            amount=1,
            currency="usd",
            period_start=APR1,
            period_end=APR1,
            created=APR1,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=finalized.pk).delete()


@pytest.mark.django_db
def test_status_moves_and_metadata_stay_writable(finalized):
    Invoice.objects.filter(pk=finalized.pk).update(
        metadata={"note": "ok"}, webhooks_delivered_at=JUL1
    )
    Invoice.objects.filter(pk=finalized.pk).update(
        status="paid", amount_paid=finalized.amount_due, amount_remaining=0
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=finalized.pk).update(status="open")
