"""Issue 21's jobs (a), (c), (e), (f) and (g) in Chromium, as a new staff member
does them, with a screenshot of each step; (b) is in
tests/billing/test_dashboard_jobs_browser.py, (d) in
tests/credits/test_ledger_browser.py.

Screenshots go to ``$TALLY_SCREENSHOTS`` when set (README's tour), else to the
test's temporary directory. Every test shares pytest-django's one live server.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from playwright.sync_api import expect

from billing.models import Invoice
from billing.services import subscription_create
from catalog.models import Price, Product
from core import clock
from metering.models import Meter
from tests.billing.factories import (
    CustomerFactory,
    MeterFactory,
    TestClockFactory,
    hypernian,
)
from tests.catalog.factories import PriceFactory, ProductFactory

pytestmark = pytest.mark.browser
APR1 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def shot(tmp_path):
    """``shot(page, name)`` saves a full-page screenshot of the step."""
    folder = os.environ.get("TALLY_SCREENSHOTS") or str(tmp_path)

    def take(page, name: str) -> None:
        page.screenshot(path=os.path.join(folder, f"job_{name}.png"), full_page=True)

    return take


def _figure(text: str) -> Decimal:
    """A usage figure as shown ("12,000 images")."""
    return Decimal(text.split()[0].replace(",", ""))


def _image_plan(meter: Meter) -> tuple[Price, Price]:
    """5 USD a month plus 0.4 cents per image (a sub-cent unit amount)."""
    product = ProductFactory(name="Image API", unit_label="images")
    flat = PriceFactory(product=product, unit_amount_decimal=Decimal(500))
    per_image = PriceFactory(
        product=product,
        unit_amount_decimal=Decimal("0.4"),
        recurring_usage_type="metered",
        recurring_meter=meter,
        nickname="Per image",
    )
    return flat, per_image


def _send(stripe_sdk, meter: Meter, customer, value: int) -> None:
    """Usage as a customer's backend sends it: the API, no timestamp ("now")."""
    stripe_sdk.billing.MeterEvent.create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.pk, "value": str(value)},
    )


def test_a_product_with_sub_cent_and_graduated_prices_and_a_meter(
    staff_page, live_server, shot
):
    page = staff_page
    page.goto(f"{live_server.url}/admin/metering/meter/add/")
    page.get_by_label("Display name").fill("Images generated")
    page.get_by_label("Event name").fill("images_generated")
    page.get_by_label("Aggregation").select_option("sum")
    shot(page, "a1_meter")
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(r"/admin/metering/meter/mtr_"))
    meter = Meter.objects.get(event_name="images_generated")

    page.goto(f"{live_server.url}/admin/catalog/product/add/")
    page.fill("#id_name", "Image API")
    page.fill("#id_unit_label", "images")
    page.click("label[for='id_price-pricing_model_1']")  # Per unit
    page.fill("#id_price-amount", "0.004")
    page.check("input[name='price-usage_type'][value='metered']")
    page.select_option("#id_price-meter", meter.pk)
    page.fill("#id_price-nickname", "Per image")
    shot(page, "a2_product_per_unit")
    page.click("input[name='_addprice']")

    page.wait_for_url(re.compile(r"/admin/catalog/price/add/\?product=prod_"))
    page.click("label[for='id_price-pricing_model_3']")  # Graduated
    page.get_by_label("Last unit of the tier").first.fill("10000")
    unit_amounts = page.get_by_label("Per unit price of the tier")
    unit_amounts.nth(0).fill("0.005")
    unit_amounts.nth(1).fill("0.0025")
    page.check("input[name='price-usage_type'][value='metered']")
    page.select_option("#id_price-meter", meter.pk)
    page.fill("#id_price-nickname", "Volume")
    shot(page, "a3_graduated")
    page.click("input[name='_save']")

    page.wait_for_url(re.compile(r"/admin/catalog/product/prod_\w+/change/"))
    prices = page.inner_text("#prices")
    assert "$0.004 per unit / month · metered" in prices
    assert "Graduated, 2 tiers / month · metered" in prices
    shot(page, "a4_product")
    product = Product.objects.get(name="Image API")
    per_unit = Price.objects.get(product=product, billing_scheme="per_unit")
    graduated = Price.objects.get(product=product, billing_scheme="tiered")
    assert per_unit.unit_amount_decimal == Decimal("0.4")  # cents
    assert (per_unit.recurring_meter, graduated.recurring_meter) == (meter, meter)
    assert [
        (tier.up_to, tier.unit_amount_decimal) for tier in graduated.tiers.all()
    ] == [(10000, Decimal("0.5")), (None, Decimal("0.25"))]

    # The worked example of each price, at 12,000 images.
    for price, charge in ((per_unit, "$48.00"), (graduated, "$55.00")):
        page.goto(f"{live_server.url}/admin/catalog/price/{quote(price.pk)}/change/")
        page.fill("#id_quantity", "12000")
        page.click("text=Calculate")
        expect(page.locator("[data-example]")).to_contain_text(charge)
    shot(page, "a5_price_example")


def test_c_usage_sent_by_api_shows_one_figure_everywhere(
    staff_page, live_server, stripe_sdk, shot
):
    customer = CustomerFactory(
        name="Pixel Labs", test_clock=TestClockFactory(frozen_time=APR1)
    )
    meter = MeterFactory(display_name="Images generated", event_name="images")
    flat, per_image = _image_plan(meter)
    subscription = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": per_image.pk}]},
        now=APR1,
    )
    _send(stripe_sdk, meter, customer, 12_000)

    page = staff_page
    page.goto(f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/")
    row = page.locator(f"[data-usage-panel] tr[data-meter='{meter.pk}']")
    on_customer = _figure(row.locator("[data-usage]").inner_text())
    expect(row).to_contain_text("Apr 1 – May 1, 2026")
    shot(page, "c1_customer")

    row.get_by_role("link", name="Images generated").click()
    page.wait_for_url(re.compile(r"/admin/metering/meter/mtr_.*customer="))
    on_meter = _figure(page.inner_text("[data-period-usage] [data-usage]"))
    expect(page.locator("[data-total]")).to_contain_text("12,000")
    shot(page, "c2_meter")

    page.go_back()
    row.get_by_role("link", name="Image API").click()
    page.wait_for_url(re.compile(r"/admin/billing/subscription/sub_"))
    on_subscription = _figure(page.inner_text("#usage [data-usage]"))
    expect(page.locator("#upcoming")).to_contain_text("12,000")
    expect(page.locator("#upcoming")).to_contain_text("$48.00")
    shot(page, "c3_subscription")

    preview = stripe_sdk.Invoice.create_preview(subscription=subscription.pk)
    [previewed] = [
        Decimal(line.quantity) for line in preview.lines.data if line.amount == 4800
    ]
    assert on_customer == on_meter == on_subscription == previewed == 12_000


def test_e_an_alert_and_a_threshold_crossing(staff_page, live_server, stripe_sdk, shot):
    customer = CustomerFactory(name="Northwind Analytics")
    meter = MeterFactory(
        display_name="Hypernian API tokens", event_name="hypernian_api_tokens"
    )
    flat, overage = hypernian(meter=meter)
    subscription = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=clock.now(),
    )
    page = staff_page
    customer_url = f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/"
    page.goto(customer_url)
    page.click("[data-create-alert]")
    page.get_by_label("Title", exact=True).fill("Upsell: 250,000 tokens")
    page.get_by_label("Meter", exact=True).select_option(meter.pk)
    page.get_by_label("Threshold", exact=True).fill("250000")
    shot(page, "e1_alert")
    page.click("input[name='_save']")
    page.wait_for_url(re.compile(r"/admin/alerts/alert/alrt_"))

    page.goto(
        f"{live_server.url}/admin/billing/subscription/{quote(subscription.pk)}/change/"
    )
    page.get_by_label("Invoice when usage reaches (USD)").fill("275")
    page.click("text=Set threshold")
    expect(page.locator("[data-threshold-progress]")).to_contain_text(
        "$0.00 of $275.00 after credits"
    )

    # 400,000 tokens: 100,000 included, then 300,000 at $0.001 = $300.00 ≥ $275.
    _send(stripe_sdk, meter, customer, 400_000)
    page.goto(customer_url)
    alert_row = page.locator(f"[data-alerts='{customer.pk}'] tr[data-alert]")
    expect(alert_row).to_contain_text("at 400,000")
    threshold_row = page.locator("tr[data-threshold-invoice]")
    expect(threshold_row).to_have_count(1)
    expect(threshold_row).to_contain_text("$300.00")
    shot(page, "e2_customer_after_crossing")

    threshold_row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/admin/billing/invoice/in_"))
    invoice = Invoice.objects.get(billing_reason="subscription_threshold")
    expect(page.locator(".invoice-head .tally-badge")).to_have_text(invoice.status)
    assert invoice.status == "open"
    assert invoice.total == 30000
    shot(page, "e3_threshold_invoice")


def test_f_a_period_closed_by_the_clock_and_its_invoice(
    staff_page, live_server, stripe_sdk, shot
):
    test_clock = TestClockFactory(frozen_time=APR1, name="April")
    customer = CustomerFactory(name="Clocked Co", test_clock=test_clock)
    meter = MeterFactory(event_name="hypernian_api_tokens")
    flat, overage = hypernian(meter=meter)
    subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    _send(stripe_sdk, meter, customer, 150_000)  # 50,000 over: $50.00

    page = staff_page
    page.goto(f"{live_server.url}/admin/core/testclock/{quote(test_clock.pk)}/change/")
    page.click("text=Advance time…")
    shortcuts = page.locator(".tally-clock-shortcuts")
    expect(shortcuts).to_contain_text("To the period end")
    shot(page, "f1_shortcuts")
    shortcuts.get_by_role("button", name=re.compile("To the period end")).click()
    page.wait_for_url(re.compile(r"/admin/core/testclock/clock_\w+/change/"))
    expect(page.locator(".tally-panel .tally-badge").first).to_have_text("Ready")
    test_clock.refresh_from_db()
    assert test_clock.frozen_time == datetime(2026, 5, 1, tzinfo=UTC)

    # A day later the period's draft is finalized.
    page.click("text=Advance time…")
    page.locator(".tally-clock-shortcuts").get_by_role(
        "button", name=re.compile(r"\+1 day")
    ).click()
    page.wait_for_url(re.compile(r"/admin/core/testclock/clock_\w+/change/"))
    page.get_by_role("link", name="Clocked Co").click()
    invoices = page.locator("table.billing-invoices tbody tr")
    cycle = invoices.filter(has_text="Subscription Cycle")
    expect(cycle).to_have_count(1)
    expect(cycle).to_contain_text("$250.00")
    shot(page, "f2_customer_invoices")

    cycle.locator("a").first.click()
    page.wait_for_url(re.compile(r"/admin/billing/invoice/in_"))
    expect(page.locator(".invoice-head .tally-badge")).to_have_text("open")
    sheet = page.inner_text("#content-main")
    assert "150,000" in sheet
    assert "$50.00" in sheet
    invoice = Invoice.objects.get(billing_reason="subscription_cycle")
    assert (invoice.status, invoice.total) == ("open", 25000)
    shot(page, "f3_invoice")


def test_g_the_customer_page_on_a_phone(staff_page, live_server, stripe_sdk, shot):
    customer = CustomerFactory(
        name="Pixel Labs",
        email="ap@pixel.example",
        test_clock=TestClockFactory(frozen_time=APR1),
    )
    meter = MeterFactory(display_name="Images generated", event_name="images")
    flat, per_image = _image_plan(meter)
    subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": per_image.pk}]},
        now=APR1,
    )
    _send(stripe_sdk, meter, customer, 12_000)

    page = staff_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/admin/core/customer/{quote(customer.pk)}/change/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pixel Labs")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_be_visible()
    usage = page.locator(f"[data-usage-panel] tr[data-meter='{meter.pk}'] [data-usage]")
    expect(usage).to_have_text("12,000 images")
    overflow = page.evaluate("document.scrollingElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    # A table wider than the phone scrolls inside its panel rather than being cut.
    clipped = page.evaluate(
        """[...document.querySelectorAll('.tally-panel > .body')]
             .filter(b => b.scrollWidth > b.clientWidth + 1
                          && getComputedStyle(b).overflowX !== 'auto')
             .map(b => b.parentElement.querySelector('h2').textContent)"""
    )
    assert clipped == []
    shot(page, "g1_customer_phone")

    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_label("Email")).to_have_value("ap@pixel.example")
    overflow = page.evaluate("document.scrollingElement.scrollWidth - innerWidth")
    assert overflow <= 0
    shot(page, "g2_customer_edit_phone")
