"""Seed 002 in the browser: create a usage alert for a customer, then pause it."""

from __future__ import annotations

import os
import re

import pytest
from django.contrib.admin.utils import quote

from alerts.models import Alert
from tests.alerts.factories import CustomerFactory, MeterFactory

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("TALLY_SCREENSHOTS")


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_create_an_alert_from_the_customer_page(staff_page, live_server):
    customer = CustomerFactory(name="Northwind Analytics")
    meter = MeterFactory(display_name="Hypernian API tokens")
    page = staff_page
    page.goto(f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/")
    panel = page.locator(f"[data-alerts='{customer.pk}']")
    assert "No usage alerts watch this customer." in panel.inner_text()
    _shot(page, "alerts_01_customer")
    page.click("[data-create-alert]")

    page.wait_for_url(re.compile(r"/admin/alerts/alert/add/\?customer=cus_"))
    assert page.input_value("#id_customer") == customer.pk
    page.fill("#id_title", "Upsell: 100,000 tokens")
    page.select_option("#id_meter", meter.pk)
    page.fill("#id_gte", "100000")
    _shot(page, "alerts_02_create")
    page.click("input[name='_save']")

    page.wait_for_url(re.compile(r"/admin/alerts/alert/alrt_"))
    alert = Alert.objects.get()
    assert (alert.customer, alert.meter, alert.gte) == (customer, meter, 100_000)
    assert page.inner_text("[data-status]") == "Active"
    assert "Not triggered yet." in page.inner_text("#triggers")
    _shot(page, "alerts_03_alert_page")

    page.click("[data-action='deactivate']")
    page.wait_for_selector("[data-action='activate']")
    assert page.inner_text("[data-status]") == "Inactive"
    alert.refresh_from_db()
    assert alert.status == "inactive"

    page.goto(f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/")
    assert "Upsell: 100,000 tokens" in panel.inner_text()
    _shot(page, "alerts_04_customer_with_alert")
