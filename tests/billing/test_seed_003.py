"""Seed 003, fixed fee + overage: Hypernian Pro, 200 USD/month including 100,000
tokens, then 0.001 USD per token (graduated tiers)."""

from datetime import UTC, datetime, timedelta

import pytest

from billing.models import Invoice
from billing.services import (
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from tests.billing.factories import CustomerFactory, hypernian, report_usage

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

pytestmark = pytest.mark.django_db


def _lines(invoice):
    return [
        (line.kind, line.amount, line.quantity, line.description)
        for line in invoice.lines.order_by("position")
    ]


def test_first_invoice_charges_the_fee_and_a_zero_usage_line():
    customer = CustomerFactory(invoice_prefix="HYPER")
    flat, overage = hypernian()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk, "quantity": 1}, {"price": overage.pk}]},
        now=APR1,
    )
    first = sub.latest_invoice
    assert first.billing_reason == "subscription_create"
    assert first.status == "open"
    assert first.number == "HYPER-0001"
    assert (first.subtotal, first.total, first.amount_due) == (20000, 20000, 20000)
    assert _lines(first) == [
        ("licensed", 20000, 1, "Hypernian Pro × 1 (Apr 1 – May 1, 2026)"),
        ("metered", 0, 0, "0 tokens · Hypernian Pro (Apr 1 – May 1, 2026)"),
    ]
    assert sub.status == "active"
    item = sub.items.get(price=flat)
    assert (item.current_period_start, item.current_period_end) == (APR1, MAY1)


def test_150000_tokens_bill_250_on_the_cycle_invoice():
    customer = CustomerFactory(invoice_prefix="HYPER")
    flat, overage = hypernian()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk, "quantity": 1}, {"price": overage.pk}]},
        now=APR1,
    )
    meter = overage.recurring_meter
    april20 = APR1 + timedelta(days=19)
    report_usage(meter=meter, customer=customer, value=100_000, at=april20, now=april20)
    late = MAY1 - timedelta(minutes=1)
    report_usage(meter=meter, customer=customer, value=50_000, at=late, now=late)

    assert subscriptions_close_due(now=MAY1) == 1
    assert subscriptions_close_due(now=MAY1) == 0
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert cycle.status == "draft"
    assert (cycle.period_start, cycle.period_end) == (APR1, MAY1)
    assert cycle.finalize_at == MAY1 + HOUR
    assert cycle.total == 25000

    assert invoices_finalize_due(now=MAY1 + HOUR) == 1
    cycle.refresh_from_db()
    assert cycle.status == "open"
    assert cycle.number == "HYPER-0002"
    assert (cycle.subtotal, cycle.total, cycle.amount_due) == (25000, 25000, 25000)
    assert _lines(cycle) == [
        (
            "metered",
            5000,
            150000,
            "150,000 tokens · Hypernian Pro (Apr 1 – May 1, 2026)",
        ),
        ("licensed", 20000, 1, "Hypernian Pro × 1 (May 1 – Jun 1, 2026)"),
    ]
