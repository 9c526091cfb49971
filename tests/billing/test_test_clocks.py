"""Test clocks: an advance closes every due period in order, finalizes drafts
after the grace period, and leaves real-time customers alone."""

from datetime import UTC, datetime

import pytest

from billing.models import Invoice
from billing.services import subscription_create, subscriptions_close_due
from core.services import test_clocks
from tests.billing.factories import (
    CustomerFactory,
    TestClockFactory,
    hypernian,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def d(month, day, hour=0):
    return datetime(2026, month, day, hour, tzinfo=UTC)


def test_a_three_month_advance_makes_three_cycle_invoices_with_their_usage(
    django_capture_on_commit_callbacks,
):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock, invoice_prefix="CLOCK")
    flat, overage = hypernian()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    meter = overage.recurring_meter
    for at, tokens in ((d(4, 10), 150_000), (d(5, 20), 90_000), (d(6, 5), 400_000)):
        record_usage(meter=meter, customer=customer, value=tokens, at=at)
    # A real-time customer whose periods are also due is not touched.
    other = subscription_create(
        customer=CustomerFactory(),
        params={"items": [{"price": flat.pk}]},
        now=APR1,
    )

    with django_capture_on_commit_callbacks(execute=True):
        test_clocks.test_clock_advance(test_clock=clock, frozen_time=d(7, 1, 2))

    clock.refresh_from_db()
    assert (clock.status, clock.frozen_time) == ("ready", d(7, 1, 2))
    cycles = list(
        Invoice.objects.filter(
            subscription=sub, billing_reason="subscription_cycle"
        ).order_by("period_start")
    )
    assert [
        (i.period_start, i.period_end, i.status, i.number, i.total, i.finalized_at)
        for i in cycles
    ] == [
        (d(4, 1), d(5, 1), "open", "CLOCK-0002", 25000, d(5, 1, 1)),
        (d(5, 1), d(6, 1), "open", "CLOCK-0003", 20000, d(6, 1, 1)),
        (d(6, 1), d(7, 1), "open", "CLOCK-0004", 50000, d(7, 1, 1)),
    ]
    usage = [invoice.lines.get(kind="metered").quantity for invoice in cycles]
    assert usage == [150_000, 90_000, 400_000]
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.current_period_end) == (d(7, 1), d(8, 1))
    assert Invoice.objects.filter(subscription=other).count() == 1
    # The real-time job, in turn, leaves the clock's subscription alone.
    assert subscriptions_close_due(now=d(9, 1)) == 5
    assert Invoice.objects.filter(subscription=sub).count() == 4


def test_a_trial_and_cancel_at_on_a_clock(django_capture_on_commit_callbacks):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock)
    flat, _ = hypernian()
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": flat.pk}],
            "trial_end": d(4, 8),
            "cancel_at": d(5, 23),
        },
        now=APR1,
    )
    with django_capture_on_commit_callbacks(execute=True):
        test_clocks.test_clock_advance(test_clock=clock, frozen_time=d(6, 30))
    sub.refresh_from_db()
    assert (sub.status, sub.ended_at) == ("canceled", d(5, 23))
    reasons = list(
        Invoice.objects.filter(subscription=sub)
        .order_by("created", "period_start")
        .values_list("billing_reason", "total", "status")
    )
    # Trial (free); Apr 8 – May 8 and May 8 – Jun 8 billed in advance; cancel_at
    # May 23 leaves 16 of the 31 days of the last period unused: 200 × 16/31.
    assert reasons == [
        ("subscription_create", 0, "paid"),
        ("subscription_cycle", 20000, "open"),
        ("subscription_cycle", 20000, "open"),
        ("subscription_update", -10323, "paid"),
    ]
    assert customer.__class__.objects.get(pk=customer.pk).balance == -10323


def test_deleting_a_clock_deletes_its_finalized_invoices():
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock)
    flat, _ = hypernian()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": flat.pk}]}, now=APR1
    )
    assert sub.latest_invoice.status == "open"
    test_clocks.test_clock_delete(test_clock=clock)
    assert not Invoice.objects.filter(customer_id=customer.pk).exists()
