"""Seed 003 in the browser: create Hypernian with a flat price and an overage price."""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from playwright.sync_api import expect

from catalog.models import Price, Product
from tests.catalog.factories import MeterFactory

pytestmark = pytest.mark.browser
SCREENSHOTS = os.environ.get("TALLY_SCREENSHOTS")


def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_create_hypernian_fixed_fee_and_overage(staff_page, live_server):
    meter = MeterFactory(
        display_name="Hypernian API tokens", event_name="hypernian_api_tokens"
    )
    page = staff_page
    page.goto(f"{live_server.url}/admin/catalog/product/")
    _shot(page, "01_catalog_empty")
    page.click("text=Create product")

    page.fill("#id_name", "Hypernian")
    page.fill("#id_description", "Advanced model: 100,000 tokens included each month.")
    page.check("input[name='price-pricing_model'][value='flat_rate']")
    # Flat rate needs no tier table and no meter: those sections are hidden.
    expect(page.locator("[data-tier-editor]")).to_be_hidden()
    expect(page.locator("#id_price-meter")).to_be_hidden()
    page.fill("#id_price-amount", "200")
    page.select_option("#id_price-billing_period", "month")
    _shot(page, "02_create_product")
    page.click("input[name='_addprice']")

    page.wait_for_url(re.compile(r"/admin/catalog/price/add/\?product=prod_"))
    page.click("label[for='id_price-pricing_model_3']")  # Graduated
    expect(page.locator("[data-tier-editor]")).to_be_visible()
    expect(page.locator("#id_price-amount")).to_be_hidden()
    page.fill("#id_price-tiers-0-up_to", "100000")
    page.fill("#id_price-tiers-0-unit_amount", "0")
    page.fill("#id_price-tiers-0-flat_amount", "0")
    page.fill("#id_price-tiers-1-unit_amount", "0.001")
    page.fill("#id_price-tiers-1-flat_amount", "0")
    # The second tier starts one unit after the first ends; the last runs to ∞.
    first_units = page.locator("[data-tier-rows] [data-first-unit]").all_inner_texts()
    assert first_units == ["0", "100,001"]
    page.check("input[name='price-usage_type'][value='metered']")
    page.select_option("#id_price-meter", meter.pk)
    page.fill("#id_price-nickname", "Overage")
    _shot(page, "03_add_price")
    page.click("input[name='_save']")

    page.wait_for_url(re.compile(r"/admin/catalog/product/prod_\w+/change/"))
    _shot(page, "04_product_page")
    prices = page.locator("table.catalog-prices tbody tr")
    assert prices.count() == 2
    text = page.inner_text("#prices")
    assert "$200.00 / month" in text
    assert "Graduated, 2 tiers / month · metered" in text
    assert "Overage" in text

    product = Product.objects.get(name="Hypernian")
    flat = Price.objects.get(product=product, billing_scheme="per_unit")
    overage = Price.objects.get(product=product, billing_scheme="tiered")
    assert product.default_price_id == flat.pk
    assert flat.unit_amount_decimal == Decimal(20000)
    assert flat.recurring_usage_type == "licensed"
    assert overage.recurring_meter_id == meter.pk
    assert [
        (tier.up_to, tier.unit_amount_decimal, tier.flat_amount_decimal)
        for tier in overage.tiers.all()
    ] == [(100000, Decimal(0), Decimal(0)), (None, Decimal("0.1"), Decimal(0))]

    page.click(f"a[href$='/admin/catalog/price/{quote(overage.pk)}/change/']")
    example = page.inner_text("[data-example]")
    assert example == "At 150,000 units this price charges $50.00 per month."
    assert page.inner_text("[data-price-description]") == (
        "Graduated: first 100,000 units at $0.00, then $0.001 per unit"
    )
    page.fill("#id_quantity", "100001")
    page.click("text=Calculate")
    assert "charges $0.00" in page.inner_text("[data-example]")
    _shot(page, "05_price_page")
