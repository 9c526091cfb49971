"""A billing threshold compares the amount without tax (seed 002); the threshold
invoice itself is taxed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alerts.services import billing_thresholds_evaluate
from billing.models import Invoice
from billing.services import subscription_create
from billing.taxes.rates import tax_rate_create
from tests.alerts.factories import CustomerFactory, MeterFactory, PriceFactory, report

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def d(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 4, day, hour, tzinfo=UTC)


def test_threshold_amount_excludes_tax():
    meter = MeterFactory(event_name="api_calls")
    price = PriceFactory(
        unit_amount_decimal=Decimal(100),
        recurring_usage_type="metered",
        recurring_meter=meter,
    )
    vat = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(25), "inclusive": False},
        now=APR1,
    )
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": price.pk}],
            "billing_thresholds": {"amount_gte": 10000},
            "default_tax_rates": [vat.pk],
        },
        now=APR1,
    )
    # 90.00 of usage is 112.50 with tax: still under the 100.00 threshold.
    report(meter=meter, customer=customer, value=90, now=d(10))
    assert billing_thresholds_evaluate(now=d(10, 13)) == 0
    report(meter=meter, customer=customer, value=10, now=d(11))
    assert billing_thresholds_evaluate(now=d(11, 13)) == 1
    invoice = Invoice.objects.get(
        subscription=sub, billing_reason="subscription_threshold"
    )
    assert (invoice.subtotal, invoice.total) == (10000, 12500)
    assert [e["amount"] for e in invoice.total_taxes] == [2500]
