"""Billing thresholds: when the job invoices, for how much, and only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from alerts.models import ThresholdInvoice
from alerts.services import billing_thresholds_evaluate
from billing.models import Invoice
from billing.services import subscription_create, subscriptions_close_due
from credits.services import credit_grant_create
from tests.alerts.factories import (
    CustomerFactory,
    MeterFactory,
    PriceFactory,
    report,
    tiered_price,
)

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)


def d(day: int, hour: int = 12, month: int = 4) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@pytest.fixture
def meter():
    return MeterFactory(display_name="API calls", event_name="api_calls")


@pytest.fixture
def customer():
    return CustomerFactory(invoice_prefix="THR")


@pytest.fixture
def per_unit(meter):
    """1.00 USD per call."""
    return PriceFactory(
        unit_amount_decimal=Decimal(100),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )


def subscribe(customer, *items, now=APR1, **params):
    return subscription_create(
        customer=customer,
        params={"items": [dict(item) for item in items], **params},
        now=now,
    )


def use(meter, customer, value, at):
    report(meter=meter, customer=customer, value=value, now=at)


def threshold_invoices(sub):
    return list(
        Invoice.objects.filter(
            subscription=sub, billing_reason="subscription_threshold"
        ).order_by("created")
    )


def cycle_usage_line(sub):
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    return invoice.lines.get(kind="metered")


def test_amount_gte_invoices_the_usage_so_far_once(meter, customer, per_unit):
    sub = subscribe(
        customer, {"price": per_unit.pk}, billing_thresholds={"amount_gte": 10000}
    )
    use(meter, customer, 60, d(10))
    assert billing_thresholds_evaluate(now=d(10, 13)) == 0
    use(meter, customer, 50, d(11))
    assert billing_thresholds_evaluate(now=d(11, 13)) == 1
    assert billing_thresholds_evaluate(now=d(11, 13)) == 0
    assert billing_thresholds_evaluate(now=d(12)) == 0

    (invoice,) = threshold_invoices(sub)
    assert invoice.billing_reason == "subscription_threshold"
    assert (invoice.subtotal, invoice.total, invoice.status) == (11000, 11000, "open")
    assert (invoice.period_start, invoice.period_end) == (APR1, d(11, 13))
    assert invoice.threshold_reason == {"amount_gte": 10000, "item_reasons": []}
    (line,) = invoice.lines.all()
    assert (line.quantity, line.amount) == (110, 11000)
    marker = ThresholdInvoice.objects.get()
    assert (marker.invoice, marker.sequence, marker.amount) == (invoice, 1, 11000)

    # The cycle invoice at period end bills only the rest.
    use(meter, customer, 30, d(20))
    assert billing_thresholds_evaluate(now=d(20, 13)) == 0
    subscriptions_close_due(now=MAY1)
    line = cycle_usage_line(sub)
    assert (line.quantity, line.amount) == (30, 3000)


def test_graduated_tiers_continue_after_a_threshold_invoice(meter, customer):
    # Tiers 1–5 @ 7.00, 6–10 @ 6.50, 11+ @ 6.00 (DESIGN.md's worked example).
    price = tiered_price(
        mode="graduated",
        tiers=[(5, "700", "0"), (10, "650", "0"), (None, "600", "0")],
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    sub = subscribe(
        customer, {"price": price.pk}, billing_thresholds={"amount_gte": 4000}
    )
    use(meter, customer, 6, d(3))
    assert billing_thresholds_evaluate(now=d(3, 13)) == 1
    (invoice,) = threshold_invoices(sub)
    assert invoice.total == 4150  # 5 × 7.00 + 1 × 6.50
    use(meter, customer, 14, d(9))
    # 20 units so far are 127.50; 41.50 are billed, 86.00 would be: over 40.00.
    assert billing_thresholds_evaluate(now=d(9, 13)) == 1
    second = threshold_invoices(sub)[1]
    assert second.total == 8600
    assert [row.sequence for row in ThresholdInvoice.objects.order_by("sequence")] == [
        1,
        2,
    ]
    use(meter, customer, 1, d(20))
    subscriptions_close_due(now=MAY1)
    line = cycle_usage_line(sub)
    assert (line.quantity, line.amount) == (1, 600)  # the 21st unit, still @ 6.00


def test_item_usage_gte_compares_the_items_usage_since_period_start(
    meter, customer, per_unit
):
    sub = subscribe(
        customer, {"price": per_unit.pk, "billing_thresholds": {"usage_gte": 100}}
    )
    use(meter, customer, 99, d(2))
    assert billing_thresholds_evaluate(now=d(2, 13)) == 0
    use(meter, customer, 21, d(3))
    assert billing_thresholds_evaluate(now=d(3, 13)) == 1
    (invoice,) = threshold_invoices(sub)
    (line,) = invoice.lines.all()
    assert (line.quantity, invoice.total) == (120, 12000)
    assert invoice.threshold_reason == {
        "amount_gte": None,
        "item_reasons": [{"line_item_ids": [line.pk], "usage_gte": 100}],
    }
    # The next crossing counts the usage not invoiced yet.
    use(meter, customer, 50, d(4))
    assert billing_thresholds_evaluate(now=d(4, 13)) == 0
    use(meter, customer, 60, d(5))
    assert billing_thresholds_evaluate(now=d(5, 13)) == 1
    assert threshold_invoices(sub)[1].lines.get().quantity == 110


def test_trialing_subscriptions_are_not_evaluated(meter, customer, per_unit):
    sub = subscribe(
        customer,
        {"price": per_unit.pk},
        billing_thresholds={"amount_gte": 10000},
        trial_end=d(20),
    )
    assert sub.status == "trialing"
    use(meter, customer, 500, d(10))
    assert billing_thresholds_evaluate(now=d(10, 13)) == 0
    assert threshold_invoices(sub) == []


@pytest.mark.parametrize(
    ("before_end", "invoiced"),
    [
        (timedelta(hours=24, seconds=1), 1),
        (timedelta(hours=24), 0),
        (timedelta(hours=3), 0),
    ],
)
def test_not_in_the_24_hours_before_renewal(
    meter, customer, per_unit, before_end, invoiced
):
    sub = subscribe(
        customer, {"price": per_unit.pk}, billing_thresholds={"amount_gte": 10000}
    )
    use(meter, customer, 500, d(28))
    assert billing_thresholds_evaluate(now=MAY1 - before_end) == invoiced
    assert len(threshold_invoices(sub)) == invoiced


def test_credits_count_in_the_amount(meter, customer, per_unit):
    sub = subscribe(
        customer, {"price": per_unit.pk}, billing_thresholds={"amount_gte": 10000}
    )
    credit_grant_create(customer=customer, value=5000, currency="usd", now=APR1)
    use(meter, customer, 120, d(5))
    # 120.00 of usage less 50.00 of credits is 70.00: under the threshold.
    assert billing_thresholds_evaluate(now=d(5, 13)) == 0
    use(meter, customer, 30, d(6))
    assert billing_thresholds_evaluate(now=d(6, 13)) == 1
    (invoice,) = threshold_invoices(sub)
    assert (invoice.subtotal, invoice.total) == (15000, 10000)
    assert ThresholdInvoice.objects.get().amount == 10000


def test_licensed_prices_are_not_part_of_the_amount(meter, customer, per_unit):
    seats = PriceFactory(unit_amount_decimal=Decimal(5000))
    sub = subscribe(
        customer,
        {"price": seats.pk, "quantity": 1},
        {"price": per_unit.pk},
        billing_thresholds={"amount_gte": 10000},
    )
    use(meter, customer, 99, d(5))
    assert billing_thresholds_evaluate(now=d(5, 13)) == 0
    use(meter, customer, 1, d(6))
    assert billing_thresholds_evaluate(now=d(6, 13)) == 1
    (invoice,) = threshold_invoices(sub)
    assert invoice.total == 10000
    assert [line.kind for line in invoice.lines.all()] == ["metered"]


def test_reset_billing_cycle_anchor_starts_a_new_period(meter, customer, per_unit):
    sub = subscribe(
        customer,
        {"price": per_unit.pk},
        billing_thresholds={"amount_gte": 10000, "reset_billing_cycle_anchor": True},
    )
    use(meter, customer, 100, d(10))
    now = d(10, 13)
    assert billing_thresholds_evaluate(now=now) == 1
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.current_period_end) == (
        now,
        datetime(2026, 5, 10, 13, tzinfo=UTC),
    )
    assert sub.billing_cycle_anchor == now
    (invoice,) = threshold_invoices(sub)
    assert invoice.total == 10000
    # Nothing left to invoice in the new period; usage there starts from zero.
    assert billing_thresholds_evaluate(now=d(11)) == 0
    use(meter, customer, 99, d(12))
    assert billing_thresholds_evaluate(now=d(12, 13)) == 0
    use(meter, customer, 1, d(13))
    assert billing_thresholds_evaluate(now=d(13, 13)) == 1
    assert ThresholdInvoice.objects.filter(period_start=now).get().sequence == 1


def test_subscriptions_without_thresholds_or_usage_are_left_alone(
    meter, customer, per_unit
):
    plain = subscribe(customer, {"price": per_unit.pk})
    idle = subscribe(
        CustomerFactory(),
        {"price": per_unit.pk},
        billing_thresholds={"amount_gte": 10000},
    )
    use(meter, customer, 10_000, d(5))
    assert billing_thresholds_evaluate(now=d(5, 13)) == 0
    assert threshold_invoices(plain) == threshold_invoices(idle) == []
