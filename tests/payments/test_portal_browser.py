"""A customer pays an open invoice with a test card in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core import clock
from core.services.portal import portal_session_create
from tests.billing.factories import CustomerFactory
from tests.payments.factories import open_invoice

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_a_customer_pays_an_invoice_with_a_test_card(browser, live_server):
    invoice = open_invoice(CustomerFactory(name="Jenny", email="j@example.com"))
    link = portal_session_create(
        customer=invoice.customer, now=clock.now(), base_url=live_server.url
    ).url
    page = browser.new_page()
    page.goto(link)
    page.click(f"[data-open-invoice='{invoice.pk}'] a.portal-button")
    expect(page.locator("h2")).to_contain_text(invoice.number)
    page.select_option("select[name=payment_method]", "pm_card_visa")
    page.click("button[type=submit]")
    expect(page.locator("[data-paid]")).to_contain_text("Paid, thank you")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    page.goto(f"{link}payment-methods/")
    expect(page.locator("[data-card]")).to_contain_text("4242")
    page.close()
