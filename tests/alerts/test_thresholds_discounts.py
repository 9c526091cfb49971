"""Seed 002: a monetary billing threshold is judged on the amount without tax but
with discounts and credits, to the cent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alerts.models import ThresholdInvoice
from alerts.services import billing_thresholds_evaluate
from billing.models import Invoice
from billing.services import subscription_create
from billing.services.coupons import coupon_create
from billing.services.discounts import customer_discount_set
from credits.services import credit_grant_create
from tests.alerts.factories import CustomerFactory, MeterFactory, PriceFactory, report

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def d(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 4, day, hour, tzinfo=UTC)


@pytest.fixture
def meter():
    return MeterFactory(display_name="API calls", event_name="api_calls")


@pytest.fixture
def per_unit(meter):
    """1.00 USD per call."""
    return PriceFactory(
        unit_amount_decimal=Decimal(100),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )


def subscribe(customer, price, **params):
    return subscription_create(
        customer=customer,
        params={
            "items": [{"price": price.pk}],
            "billing_thresholds": {"amount_gte": 10000},
            **params,
        },
        now=APR1,
    )


def threshold_invoice(sub) -> Invoice:
    return Invoice.objects.get(
        subscription=sub, billing_reason="subscription_threshold"
    )


def test_a_percent_coupon_counts_in_the_amount(meter, per_unit):
    customer = CustomerFactory()
    coupon = coupon_create(
        params={"percent_off": Decimal(20), "duration": "forever"}, now=APR1
    )
    sub = subscribe(customer, per_unit, discounts=[{"coupon": coupon.pk}])
    report(meter=meter, customer=customer, value=124, now=d(5))
    # 124.00 less 20% is 99.20: one cent short of 100.00 would still not do.
    assert billing_thresholds_evaluate(now=d(5, 13)) == 0
    report(meter=meter, customer=customer, value=1, now=d(6))
    # 125.00 less 25.00 is exactly 100.00.
    assert billing_thresholds_evaluate(now=d(6, 13)) == 1
    invoice = threshold_invoice(sub)
    assert (invoice.subtotal, invoice.total) == (12500, 10000)
    assert ThresholdInvoice.objects.get().amount == 10000


def test_a_customer_amount_off_and_credits_count_in_the_amount(meter, per_unit):
    customer = CustomerFactory()
    coupon = coupon_create(
        params={"amount_off": 1001, "currency": "usd", "duration": "forever"},
        now=APR1,
    )
    customer_discount_set(customer=customer, entry={"coupon": coupon.pk}, now=APR1)
    credit_grant_create(customer=customer, value=2000, currency="usd", now=APR1)
    sub = subscribe(customer, per_unit)
    # 130.00 − 10.01 − 20.00 = 99.99: under.
    report(meter=meter, customer=customer, value=130, now=d(5))
    assert billing_thresholds_evaluate(now=d(5, 13)) == 0
    # 131.00 − 10.01 − 20.00 = 100.99: over.
    report(meter=meter, customer=customer, value=1, now=d(6))
    assert billing_thresholds_evaluate(now=d(6, 13)) == 1
    invoice = threshold_invoice(sub)
    assert (invoice.subtotal, invoice.total) == (13100, 10099)
    assert ThresholdInvoice.objects.get().amount == 10099
