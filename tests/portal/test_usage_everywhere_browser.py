"""The staff subscription page, the customer page and ``create_preview`` show the
same period usage, for a customer on a test clock and for a real-time one."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote

from billing.services import subscription_create
from core import clock
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    TestClockFactory,
    hypernian,
    record_usage,
)

pytestmark = pytest.mark.browser
USAGE = 12_000


def _figure(text: str) -> Decimal:
    """A usage figure as shown ("12,000 tokens")."""
    return Decimal(text.split()[0].replace(",", ""))


def _customer(clocked: bool):
    """A Hypernian subscriber with 12,000 tokens this period.

    On a test clock, the clock stands at the very moment the period began and the
    usage carries that moment (what a meter event sent "now" records).
    """
    start = clock.now() - timedelta(days=2)
    test_clock = TestClockFactory(frozen_time=start) if clocked else None
    customer = CustomerFactory(name="Hypernian Labs", test_clock=test_clock)
    meter = MeterFactory(event_name="hypernian_api_tokens")
    flat, overage = hypernian(meter=meter)
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=start,
    )
    at = start if clocked else start + timedelta(days=1)
    record_usage(meter=meter, customer=customer, value=USAGE, at=at)
    return customer, sub


@pytest.mark.parametrize("clocked", [True, False], ids=["test_clock", "real_time"])
def test_staff_customer_page_and_create_preview_agree(
    staff_page, live_server, stripe_sdk, clocked
):
    customer, sub = _customer(clocked)

    staff_page.goto(
        f"{live_server.url}/admin/billing/subscription/{quote(sub.pk)}/change/"
    )
    staff = _figure(staff_page.inner_text("#usage [data-usage]"))

    staff_page.goto(
        f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/"
    )
    with staff_page.context.expect_page() as opened:
        staff_page.click("[data-open-customer-page]")
    page = opened.value
    page.wait_for_load_state()
    own = _figure(page.inner_text("[data-usage-item] [data-usage]"))
    page.close()

    preview = stripe_sdk.Invoice.create_preview(subscription=sub.pk)
    previewed = sum(
        Decimal(line.quantity or 0)
        for line in preview.lines.data
        if "tokens" in line.description
    )

    assert staff == own == previewed == USAGE
