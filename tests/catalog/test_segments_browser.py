"""A dimensional price set up in the browser: a meter with a ``model`` dimension,
then two per-unit prices of one product, one per model, chosen by segment."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from catalog.models import Price
from metering.models import Meter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_sets_up_a_price_per_model(staff_page, live_server):
    page = staff_page
    page.goto(f"{live_server.url}/admin/metering/meter/add/")
    page.fill("#id_display_name", "LLM tokens")
    page.fill("#id_event_name", "llm_tokens")
    page.fill("#id_dimension_payload_keys", "model, region")
    page.click("input[name='_save']")
    page.wait_for_selector("code[data-dimension]")
    assert page.locator("code[data-dimension]").all_inner_texts() == [
        "model",
        "region",
    ]
    meter = Meter.objects.get()

    page.goto(f"{live_server.url}/admin/catalog/product/add/")
    page.fill("#id_name", "Tokens")
    page.check("input[name='price-pricing_model'][value='flat_rate']")
    page.fill("#id_price-amount", "20")
    page.select_option("#id_price-billing_period", "month")
    page.click("input[name='_addprice']")
    for model, amount in [("large", "0.02"), ("small", "0.005")]:
        page.wait_for_url(re.compile(r"/admin/catalog/price/add/\?product=prod_"))
        page.click("label[for='id_price-pricing_model_1']")  # Per unit
        page.fill("#id_price-amount", amount)
        page.check("input[name='price-usage_type'][value='metered']")
        page.select_option("#id_price-meter", meter.pk)
        page.fill("#id_price-segment", f"model={model}")
        page.click(
            "input[name='_addanother']" if model == "large" else "input[name='_save']"
        )
    page.wait_for_url(re.compile(r"/admin/catalog/product/prod_\w+/change/"))
    text = page.inner_text("#prices")
    assert "· metered · model=large" in text
    assert "· metered · model=small" in text
    segments = {
        price.recurring_meter_segment_conditions[0]["value"]: price.unit_amount_decimal
        for price in Price.objects.filter(recurring_meter=meter)
    }
    assert segments == {"large": Decimal(2), "small": Decimal("0.5")}
