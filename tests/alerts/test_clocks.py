"""Test clocks: advancing one fires alerts and issues threshold invoices in time."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alerts.models import AlertTrigger, ClockEvaluation
from billing.models import Invoice
from billing.services import subscription_create
from core.services import test_clocks
from tests.alerts.factories import (
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    TestClockFactory,
    make_alert,
    report,
)
from tests.billing.factories import hypernian, record_usage

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def d(month: int, day: int, hour: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, 0, second, tzinfo=UTC)


@pytest.fixture
def advance(django_capture_on_commit_callbacks):
    def call(clock, frozen_time):
        with django_capture_on_commit_callbacks(execute=True):
            test_clocks.test_clock_advance(test_clock=clock, frozen_time=frozen_time)
        clock.refresh_from_db()
        assert clock.status == "ready", clock.failure_message

    return call


def test_usage_reported_at_the_frozen_time_fires_on_the_next_advance(advance):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock)
    meter = MeterFactory()
    alert = make_alert(meter=meter, customer=customer, gte=100, now=APR1)
    assert alert.created == APR1
    report(meter=meter, customer=customer, value=150, now=APR1)
    # The real-time job leaves the clock's customer alone.
    from alerts.services import alerts_evaluate

    assert alerts_evaluate(now=datetime.now(UTC)) == 0
    advance(clock, d(4, 2))
    trigger = AlertTrigger.objects.get()
    assert (trigger.customer_id, trigger.value, trigger.created) == (
        customer.pk,
        150,
        APR1,
    )
    assert ClockEvaluation.objects.get(test_clock=clock).evaluated_at <= d(4, 2)


def test_usage_inside_an_advance_fires_when_the_clock_reaches_it(advance):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock)
    meter = MeterFactory()
    make_alert(meter=meter, gte=1_000, title="everyone")
    make_alert(meter=meter, customer=customer, gte=300, title="mine", now=APR1)
    for day, value in ((5, 200), (9, 200), (20, 700)):
        record_usage(meter=meter, customer=customer, value=value, at=d(4, day))
    advance(clock, d(5, 1))
    fired = {
        trigger.alert.title: trigger.created
        for trigger in AlertTrigger.objects.select_related("alert")
    }
    # One second after the event that crossed, on the clock's time.
    assert fired == {"mine": d(4, 9, second=1), "everyone": d(4, 20, second=1)}


def test_a_threshold_crossed_inside_an_advance_invoices_at_that_moment(advance):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock, invoice_prefix="CLK")
    flat, overage = hypernian()
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": flat.pk}, {"price": overage.pk}],
            # Over the 200.00 flat fee: overage beyond 100,000 tokens @ 0.1 cent.
            "billing_thresholds": {"amount_gte": 25000},
        },
        now=APR1,
    )
    meter = overage.recurring_meter
    record_usage(meter=meter, customer=customer, value=200_000, at=d(4, 5))
    record_usage(meter=meter, customer=customer, value=200_000, at=d(4, 12))
    record_usage(meter=meter, customer=customer, value=50_000, at=d(4, 30, 12))
    advance(clock, d(5, 1, 2))
    (threshold,) = Invoice.objects.filter(
        subscription=sub, billing_reason="subscription_threshold"
    )
    # 400,000 tokens by Apr 12: (400,000 − 100,000) × 0.1 cent = 300.00.
    assert (threshold.created, threshold.total) == (d(4, 12, second=1), 30000)
    assert threshold.threshold_reason["amount_gte"] == 25000
    # Apr 30 12:00 is within 24 hours of renewal: the rest goes on the cycle
    # invoice, with tiers continuing (50,000 more tokens: 50.00).
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert cycle.lines.get(kind="metered").amount == 5000
    assert cycle.total == 5000 + 20000


def test_a_clock_without_alerts_or_thresholds_has_no_extra_stops(advance):
    clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(test_clock=clock)
    meter = MeterFactory()
    PriceFactory(
        unit_amount_decimal=Decimal(1),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    record_usage(meter=meter, customer=customer, value=5, at=d(4, 3))
    advance(clock, d(4, 10))
    assert not ClockEvaluation.objects.exists()
