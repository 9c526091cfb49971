"""Seed 003 in the browser: grant Northwind 120,000 USD expiring in 12 months."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote
from playwright.sync_api import expect

from core import clock
from credits.models import CreditGrant
from tests.credits.factories import CustomerFactory, PriceFactory

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("TALLY_SCREENSHOTS")


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_grant_credits_from_the_customer_page(staff_page, live_server):
    customer = CustomerFactory(name="Northwind Analytics")
    PriceFactory(nickname="Hypernian tokens")
    page = staff_page
    page.goto(f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/")
    assert page.inner_text("[data-credit-balance='']").strip().endswith("No credits")
    _shot(page, "credits_01_customer")
    page.click("text=+ Grant credits")

    page.wait_for_url(re.compile(r"/admin/credits/creditgrant/add/\?customer=cus_"))
    # The date and the price list appear only when chosen.
    expect(page.locator("#id_expires_on")).to_be_hidden()
    expect(page.locator(".field-prices")).to_be_hidden()
    page.fill("#id_name", "Hypernian Credits")
    page.fill("#id_amount", "120000")
    page.check("input[name='expiry'][value='date']")
    expiry = (clock.now() + timedelta(days=365)).date()
    page.fill("#id_expires_on", expiry.isoformat())
    page.check("input[name='scope'][value='prices']")
    expect(page.locator(".field-prices")).to_be_visible()
    page.check("input[name='scope'][value='metered']")
    _shot(page, "credits_02_new_grant")
    page.click("input[name='_save']")

    page.wait_for_url(re.compile(r"/admin/credits/creditgrant/credgr_"))
    grant = CreditGrant.objects.get(customer=customer)
    assert grant.amount == 12_000_000
    assert "$120,000.00" in page.inner_text("[data-remaining]")
    assert page.locator("[data-kind='credits_granted']").count() == 1
    _shot(page, "credits_03_grant_page")

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("[data-action='void']")
    page.wait_for_selector("[data-kind='credits_voided']")
    assert page.inner_text("[data-status]") == "Voided"
    grant.refresh_from_db()
    assert (grant.status, grant.balance) == ("voided", 0)

    page.goto(f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/")
    assert "$0.00" in page.inner_text("[data-credit-balance='usd']")
    _shot(page, "credits_04_customer_after_void")
