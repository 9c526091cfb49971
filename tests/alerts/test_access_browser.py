"""The staff customer page refreshes access and limits live, without a reload."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote

from alerts.services.limits import limits_evaluate
from alerts.services.usage_limits import usage_limit_create
from tests.alerts.factories import CustomerFactory, report
from tests.alerts.limits_helpers import d, make_plan, subscribe

pytestmark = pytest.mark.browser


def test_a_limit_cut_appears_on_the_customer_page_without_reload(
    staff_page, live_server
):
    plan = make_plan()
    customer = CustomerFactory(name="Northwind Analytics", invoice_prefix="LIV")
    subscribe(customer, plan.price)
    limit = usage_limit_create(
        params={
            "limit_type": "usage",
            "customer": customer.pk,
            "feature": "api",
            "usage": {"meter": plan.meter.pk, "gte": 100},
        },
        livemode=False,
        now=d(4, 2),
    )
    page = staff_page
    page.goto(f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/")
    live = page.locator("[data-access-live]")
    assert live.locator("[data-features]").inner_text() == "api"
    assert "≥ 100 cuts api" in live.locator("[data-usage]").inner_text()
    page.evaluate("window.notReloaded = true")

    report(meter=plan.meter, customer=customer, value=120, now=d(4, 3))
    limits_evaluate(now=d(4, 3, 1), customer_ids=[customer.pk])

    page.wait_for_selector(f"[data-cut='{limit.pk}']", timeout=15_000)
    assert live.locator("[data-features]").inner_text() == "none"
    row = live.locator(f"[data-cut='{limit.pk}']").inner_text()
    assert "120 of 100" in row
    assert "Still cut" in row
    assert live.locator("[data-crossed='true']").count() == 1
    assert page.evaluate("window.notReloaded") is True
