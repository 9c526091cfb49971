"""Issue 21's job (d) in the browser: promotional and paid credits, then the
customer's ledger with its running balance, reached from the customer page; the
audit log finds the grants by customer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from credits.models import CreditGrant
from tests.credits.factories import CustomerFactory

pytestmark = pytest.mark.browser


def _grant(page, live_server, customer, *, name: str, amount: str, category: str):
    page.goto(
        f"{live_server.url}/admin/credits/creditgrant/add/?customer={customer.pk}"
    )
    page.fill("#id_name", name)
    page.fill("#id_amount", amount)
    page.select_option("#id_category", category)
    page.click("input[name=_save]")
    page.wait_for_url(lambda url: "/add/" not in url)


def test_credits_and_the_customers_ledger(staff_page, live_server):
    customer = CustomerFactory(name="Jenny Rosen")
    other = CustomerFactory(name="Someone Else")
    page = staff_page
    _grant(
        page, live_server, customer, name="Welcome", amount="10", category="promotional"
    )
    _grant(page, live_server, customer, name="Prepaid", amount="120", category="paid")
    _grant(page, live_server, other, name="Other", amount="7", category="paid")
    assert CreditGrant.objects.filter(customer=customer).count() == 2

    page.goto(f"{live_server.url}/admin/core/customer/{customer.pk}/change/")
    page.click("[data-ledger-link]")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    table = page.locator("#result_list").inner_text()
    assert "Jenny Rosen" in table
    assert "Someone Else" not in table
    assert "$130.00" in table
    assert "$10.00" in table
    page.screenshot(path="/tmp/tally-ledger.png", full_page=True)

    page.goto(f"{live_server.url}/admin/core/auditentry/?q=staff")
    expect(page.locator("#result_list")).to_contain_text("billing.credit_grant.created")
