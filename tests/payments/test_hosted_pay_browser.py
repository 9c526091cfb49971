"""A customer pays an invoice from its hosted page with a test card, in Chromium
(CSRF token and Origin check included): declined first, then paid."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from payments.models import PaymentAttempt, SimulatedCharge
from tests.billing.factories import CustomerFactory
from tests.payments.factories import open_invoice

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_an_invoice_is_paid_from_its_hosted_page_with_a_test_card(browser, live_server):
    invoice = open_invoice(CustomerFactory(name="Jenny", email="j@example.com"))
    page = browser.new_page()
    page.goto(f"{live_server.url}/i/{invoice.hosted_token}/")
    expect(page.locator("#pay h2")).to_contain_text("Pay this invoice")

    page.select_option("select[name=payment_method]", "pm_card_chargeDeclined")
    page.click("button[data-pay]")
    expect(page.locator("[data-attempt=failed]")).to_contain_text(
        "Your card was declined."
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.attempt_count) == ("open", 1)

    page.select_option("select[name=payment_method]", "pm_card_visa")
    page.click("button[data-pay]")
    expect(page.locator("[data-paid]")).to_contain_text("Paid, thank you")
    expect(page.locator(".portal-badge.paid")).to_be_visible()
    page.reload()  # the outcome page again: nothing is charged twice
    expect(page.locator("[data-paid]")).to_be_visible()
    page.close()

    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_remaining) == ("paid", 0)
    assert list(
        PaymentAttempt.objects.filter(invoice=invoice)
        .order_by("number")
        .values_list("status", flat=True)
    ) == ["failed", "succeeded"]
    assert SimulatedCharge.objects.filter(status="succeeded").count() == 1
