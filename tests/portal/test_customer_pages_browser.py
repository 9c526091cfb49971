"""The customer's pages in Chromium: staff open them from the dashboard; on a phone
they fit the screen; printing an invoice leaves out the navigation."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from django.contrib.admin.utils import quote
from playwright.sync_api import expect

from billing.services import subscription_create
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    TestClockFactory,
    hypernian,
    record_usage,
)

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("TALLY_SCREENSHOTS")
APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def _hypernian_customer():
    test_clock = TestClockFactory(frozen_time=APR1)
    customer = CustomerFactory(
        name="Hypernian Labs", email="ops@hypernian.test", test_clock=test_clock
    )
    meter = MeterFactory(
        display_name="Hypernian API tokens", event_name="hypernian_api_tokens"
    )
    flat, overage = hypernian(meter=meter)
    subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk, "quantity": 1}, {"price": overage.pk}]},
        now=APR1,
    )
    record_usage(meter=meter, customer=customer, value=150_000, at=APR1.replace(day=9))
    test_clock.frozen_time = APR1.replace(day=25)
    test_clock.save(update_fields=["frozen_time"])
    return customer


def test_staff_open_the_customer_page_and_it_fits_a_phone(staff_page, live_server):
    customer = _hypernian_customer()
    staff_page.goto(
        f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/"
    )
    with staff_page.context.expect_page() as opened:
        staff_page.click("[data-open-customer-page]")
    page = opened.value
    page.wait_for_load_state()
    assert "/customer/cps_" in page.url
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("text=Plan and usage this period")).to_be_visible()
    assert page.inner_text("[data-upcoming-total]") == "$250.00"
    assert page.inner_text("[data-usage-item] [data-amount]") == "$50.00"
    expect(page.locator("#section-usage svg[data-chart]")).to_be_visible()
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    _shot(page, "customer_overview_phone")

    page.click("#section-invoices a >> nth=0")
    page.wait_for_url("**/invoices/in_*/")
    expect(page.locator(".invoice-amount-due")).to_contain_text("$200.00")
    page.emulate_media(media="print")
    expect(page.locator(".portal-nav")).to_be_hidden()
    expect(page.locator("text=Download PDF")).to_be_hidden()
    _shot(page, "customer_invoice_print")
    page.close()
