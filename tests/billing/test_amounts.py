"""Exact amounts of usage invoices: pay as you go in every pricing model."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import (
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    record_usage,
    tiered_price,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)

pytestmark = pytest.mark.django_db

STEPS = [(5, "700", "0"), (10, "650", "0"), (None, "600", "0")]


def per_unit(amount: str):
    return lambda: PriceFactory(metered=True, unit_amount_decimal=Decimal(amount))


def package(amount: str, divide_by: int, rounding: str):
    return lambda: PriceFactory(
        metered=True,
        unit_amount_decimal=Decimal(amount),
        transform_quantity_divide_by=divide_by,
        transform_quantity_round=rounding,
    )


def tiers(mode: str, rows=STEPS):
    return lambda: tiered_price(
        mode=mode,
        tiers=rows,
        recurring_usage_type="metered",
        recurring_meter=PriceFactory(metered=True).recurring_meter,
    )


@pytest.mark.parametrize(
    ("make_price", "usage", "amount"),
    [
        # Seed 001: input tokens at 0.03 USD per token.
        (per_unit("3"), 1234, 3702),
        # 0.05 cent per token: 617.25 cents rounds half up once, to 617.
        (per_unit("0.05"), 12345, 617),
        (per_unit("0.5"), 3, 2),
        (per_unit("3"), 0, 0),
        # 10 USD per hour, usage in minutes: 150 min → 3 hours (up), 2 (down).
        (package("1000", 60, "up"), 150, 3000),
        (package("1000", 60, "down"), 150, 2000),
        (tiers("volume"), 6, 3900),
        (tiers("volume"), 20, 12000),
        (tiers("graduated"), 6, 4150),
        (tiers("graduated"), 20, 12750),
        # A first-tier flat amount is a base fee, charged even without usage.
        (tiers("graduated", [(1000, "0", "500"), (None, "1", "0")]), 0, 500),
        (tiers("volume", [(1000, "0", "500"), (None, "1", "100")]), 1500, 1600),
    ],
)
def test_pay_as_you_go(make_price, usage, amount):
    price = make_price()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    first = sub.latest_invoice
    assert (first.status, first.total) == ("paid", 0)  # zero-amount first invoice
    if usage:
        record_usage(
            meter=price.recurring_meter,
            customer=customer,
            value=usage,
            at=APR1 + timedelta(days=3),
        )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + timedelta(hours=1))
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    line = cycle.lines.get()
    assert line.quantity == usage
    assert line.amount == amount
    assert (cycle.subtotal, cycle.total) == (amount, amount)
    assert cycle.status == ("paid" if amount == 0 else "open")


def test_negative_net_usage_bills_as_zero():
    price = PriceFactory(metered=True, unit_amount_decimal=Decimal(3))
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    meter = price.recurring_meter
    record_usage(meter=meter, customer=customer, value=100, at=APR1 + timedelta(1))
    record_usage(meter=meter, customer=customer, value=-300, at=APR1 + timedelta(2))
    subscriptions_close_due(now=MAY1)
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert cycle.lines.get().amount == 0
