"""Issue 21's job (b) in the browser, as a new staff member would: a customer on a
test clock from Add customer, a subscription with flat + metered prices, a billing
threshold set on its page, the clock advanced by a shortcut; the History panel
names who did it. And a read-only user sees the invoice without its buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from billing.models import Subscription
from billing.services import invoice_create_with_items
from core import roles
from core.models import Customer
from tests.billing.factories import CustomerFactory, TestClockFactory, hypernian

pytestmark = pytest.mark.browser

APR1 = datetime(2026, 4, 1, tzinfo=UTC)


def test_customer_on_a_clock_subscription_and_threshold(staff_page, live_server):
    test_clock = TestClockFactory(frozen_time=APR1, name="April")
    flat, overage = hypernian()
    page = staff_page
    page.goto(f"{live_server.url}/admin/core/customer/add/")
    page.fill("#id_name", "Clocked Co")
    page.fill("#id_email", "ap@clocked.example")
    expect(page.locator("#id_test_clock")).to_be_enabled()
    page.select_option("#id_test_clock", test_clock.pk)
    page.click("input[name=_save]")
    customer = Customer.objects.get(name="Clocked Co")
    assert customer.test_clock_id == test_clock.pk

    page.goto(
        f"{live_server.url}/admin/billing/subscription/add/?customer={customer.pk}"
    )
    page.select_option("#id_price_0", flat.pk)
    page.select_option("#id_price_1", overage.pk)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Upcoming invoice")
    expect(page.locator("#id_when")).to_have_value("")
    assert "Hypernian Pro" in page.locator("#items").inner_text()

    page.fill("#id_amount_gte", "275")
    page.click("text=Set threshold")
    page.wait_for_selector("text=Saved the billing threshold.")
    progress = page.locator("[data-threshold-progress]").inner_text()
    assert "$0.00 of $275.00 after credits" in progress
    assert Subscription.objects.get().threshold_amount_gte == 27500
    history = page.locator("#history").inner_text()
    assert "customer.subscription.updated" in history
    assert "staff" in history
    page.screenshot(path="/tmp/tally-subscription-threshold.png", full_page=True)

    page.click("text=Advance test clock to…")
    expect(page.locator(".tally-clock-shortcuts")).to_contain_text("To the period end")
    page.click(".tally-clock-shortcuts >> text=+1 day")
    page.wait_for_url("**/admin/core/testclock/**")
    test_clock.refresh_from_db()
    assert test_clock.frozen_time == datetime(2026, 4, 2, tzinfo=UTC)


def test_read_only_support_sees_an_invoice_without_buttons(
    browser, live_server, django_user_model
):
    customer = CustomerFactory(name="Northwind")
    invoice = invoice_create_with_items(
        customer=customer,
        params={
            "currency": "usd",
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "auto_advance": False,
        },
        items=[
            {
                "unit_amount_decimal": Decimal(5000),
                "quantity": 1,
                "currency": "usd",
                "description": "Setup",
            }
        ],
        now=APR1,
    )
    user = django_user_model.objects.create_user(
        "sam", password="pw-sam-12345", is_staff=True
    )
    user.groups.set([Group.objects.get(name=roles.SUPPORT)])
    page = browser.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "pw-sam-12345")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/billing/invoice/{invoice.pk}/change/")
    expect(page.locator(".tally-actions")).to_contain_text("Print")
    expect(page.locator("text=Finalize invoice")).to_have_count(0)
    sidebar = page.locator("#nav-sidebar").inner_text()
    assert "Periodic tasks" not in sidebar
    assert "Invoices" in sidebar
    page.close()
