"""Seed 003's prepayment in the browser: Create invoice → Hypernian Credits
100,000 USD → finalize → send → mark paid; then a subscription is created."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from billing.models import Invoice, Subscription
from tests.billing.factories import CustomerFactory, hypernian

pytestmark = pytest.mark.browser


def test_prepayment_invoice_and_subscription(staff_page, live_server):
    customer = CustomerFactory(name="Hypernian Enterprise", email="ap@hyp.example")
    flat, overage = hypernian()
    page = staff_page
    page.goto(f"{live_server.url}/admin/billing/invoice/")
    page.click("text=Create invoice")
    page.select_option("#id_customer", customer.pk)
    page.select_option("#id_currency", "usd")
    page.fill("#id_item_0", "Hypernian Credits")
    page.fill("#id_price_0", "100,000")
    page.click("#add-line")
    expect(page.locator("#id_item_1")).to_be_visible()
    page.click("input[type=submit]")
    page.wait_for_selector("text=Finalize invoice")
    assert "$100,000.00" in page.content()
    page.click("text=Finalize invoice")
    page.wait_for_selector("text=Send invoice")
    page.click("text=Send invoice")
    page.wait_for_selector("text=Sent the invoice")
    page.click("text=Mark paid")
    page.wait_for_selector(".invoice-head .tally-badge.paid")
    invoice = Invoice.objects.get(customer=customer)
    assert (invoice.status, invoice.amount_paid) == ("paid", 10_000_000)
    assert "Applied credits" in page.content()

    page.goto(
        f"{live_server.url}/admin/billing/subscription/add/?customer={customer.pk}"
    )
    page.select_option("#id_price_0", flat.pk)
    page.select_option("#id_price_1", overage.pk)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Upcoming invoice")
    subscription = Subscription.objects.get(customer=customer)
    assert subscription.latest_invoice.total == 20000
    assert "Usage so far this period" in page.content()
