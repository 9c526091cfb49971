"""The customer's own page refreshes access, usage against limits and credits
live, without a reload (as the staff customer page does)."""

from __future__ import annotations

import pytest

from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create
from core import clock
from core.services.portal import portal_session_create
from credits.services import credit_grant_create
from tests.alerts.factories import CustomerFactory, report
from tests.alerts.limits_helpers import d, make_plan, subscribe

pytestmark = pytest.mark.browser


def test_usage_a_cut_and_credits_appear_without_reload(browser, live_server):
    plan = make_plan()
    customer = CustomerFactory(name="Northwind Analytics", invoice_prefix="OWN")
    subscribe(customer, plan.price)
    usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": plan.meter.pk, "gte": 100},
        },
        livemode=False,
        now=d(4, 2),
    )
    limits_evaluate(now=d(4, 2, 1), customer_ids=[customer.pk])
    link = portal_session_create(customer=customer, now=clock.now()).url
    page = browser.new_page()
    page.goto(f"{live_server.url}{link}")
    live = page.locator("[data-access-live]")
    assert live.locator("[data-features]").inner_text() == "api"
    assert live.locator("[data-credits]").inner_text() == "none"
    assert live.locator("[data-cuts]").count() == 0  # staff only
    page.evaluate("window.notReloaded = true")

    report(meter=plan.meter, customer=customer, value=120, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1), customer_ids=[customer.pk])
    page.wait_for_selector("[data-access-live] [data-crossed='true']", timeout=15_000)
    assert live.locator("[data-features]").inner_text() == "none"
    row = live.locator("[data-crossed='true']").inner_text()
    assert "120" in row
    assert "(reached)" in row

    credit_grant_create(customer=customer, value=500, currency="usd", now=d(4, 4))
    page.wait_for_function(
        "document.querySelector('[data-access-live] [data-credits]')"
        ".textContent.includes('$5.00')",
        timeout=15_000,
    )
    assert page.evaluate("window.notReloaded") is True
    page.close()
