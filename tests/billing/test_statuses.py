"""Status machine and thresholds: incomplete, past due, customer deletion,
threshold invoices whose tiers continue within the period."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import Invoice
from billing.services import (
    invoice_pay,
    subscription_create,
    subscription_invoice_threshold,
    subscriptions_close_due,
    subscriptions_settle_due,
)
from core.errors import InvalidState
from core.services.customers import customer_delete
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    hypernian,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_default_incomplete_until_the_first_invoice_is_paid():
    sub = subscription_create(
        customer=CustomerFactory(),
        params={
            "items": [{"price": PriceFactory().pk}],
            "payment_behavior": "default_incomplete",
        },
        now=APR1,
    )
    assert sub.status == "incomplete"
    invoice_pay(invoice=sub.latest_invoice, paid_out_of_band=True, now=APR1)
    sub.refresh_from_db()
    assert sub.status == "active"


def test_an_unpaid_incomplete_subscription_expires_after_23_hours():
    sub = subscription_create(
        customer=CustomerFactory(),
        params={
            "items": [{"price": PriceFactory().pk}],
            "payment_behavior": "default_incomplete",
        },
        now=APR1,
    )
    assert subscriptions_settle_due(now=APR1 + timedelta(hours=22)) == 0
    assert subscriptions_settle_due(now=APR1 + timedelta(hours=23)) == 1
    sub.refresh_from_db()
    assert sub.status == "incomplete_expired"
    assert sub.latest_invoice.status == "void"


def test_an_overdue_send_invoice_makes_the_subscription_past_due():
    sub = subscription_create(
        customer=CustomerFactory(),
        params={
            "items": [{"price": PriceFactory().pk}],
            "collection_method": "send_invoice",
            "days_until_due": 7,
        },
        now=APR1,
    )
    first = sub.latest_invoice
    assert first.due_date == APR1 + timedelta(days=7)
    assert subscriptions_settle_due(now=APR1 + timedelta(days=6)) == 0
    assert subscriptions_settle_due(now=APR1 + timedelta(days=7)) == 1
    sub.refresh_from_db()
    assert sub.status == "past_due"
    # Past due subscriptions keep billing.
    assert subscriptions_close_due(now=MAY1) == 1
    invoice_pay(invoice=first, paid_out_of_band=True, now=MAY1)
    sub.refresh_from_db()
    assert sub.status == "active"


def test_deleting_a_customer_cancels_its_subscriptions():
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": PriceFactory().pk}]}, now=APR1
    )
    customer_delete(customer=customer)
    sub.refresh_from_db()
    assert sub.status == "canceled"


def test_threshold_invoices_bill_usage_so_far_and_tiers_continue():
    flat, overage = hypernian()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={
            "items": [
                {"price": flat.pk},
                {"price": overage.pk, "billing_thresholds": {"usage_gte": 100_000}},
            ],
            "billing_thresholds": {"amount_gte": 50_000},
        },
        now=APR1,
    )
    meter = overage.recurring_meter
    record_usage(meter=meter, customer=customer, value=120_000, at=APR1 + timedelta(1))
    metered = sub.items.get(price=overage)
    invoice = subscription_invoice_threshold(
        subscription=sub,
        now=APR1 + timedelta(days=10),
        reason={
            "amount_gte": None,
            "item_reasons": [{"subscription_item": metered.pk, "usage_gte": 100_000}],
        },
    )
    assert invoice.billing_reason == "subscription_threshold"
    assert (invoice.status, invoice.total) == ("open", 2000)
    (line,) = invoice.lines.all()
    assert invoice.threshold_reason == {
        "amount_gte": None,
        "item_reasons": [{"line_item_ids": [line.pk], "usage_gte": 100_000}],
    }
    record_usage(meter=meter, customer=customer, value=30_000, at=APR1 + timedelta(20))
    subscriptions_close_due(now=MAY1)
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    usage_line = cycle.lines.get(kind="metered")
    # 150,000 in all: price(150,000) − price(120,000) = 30,000 × 0.1 cent.
    assert (usage_line.quantity, usage_line.amount) == (30_000, 3000)
    assert cycle.total == 23000


def test_thresholds_are_not_evaluated_during_trials():
    flat, overage = hypernian()
    sub = subscription_create(
        customer=CustomerFactory(),
        params={
            "items": [{"price": flat.pk}, {"price": overage.pk}],
            "trial_period_days": 7,
        },
        now=APR1,
    )
    with pytest.raises(InvalidState):
        subscription_invoice_threshold(
            subscription=sub, now=APR1 + timedelta(days=1), reason={}
        )
