"""The dashboard home in the browser: the revenue chart's bars are links, and a
month's bar opens the invoices behind it; the bulk finalize from the list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from billing.home import month_start
from billing.models import Invoice
from tests.billing.test_home import _invoice
from tests.core.factories import CustomerFactory

pytestmark = pytest.mark.browser


def test_a_month_bar_opens_its_invoices_and_drafts_finalize_in_bulk(
    staff_page, live_server
):
    now = datetime.now(UTC)
    this_month, last_month = month_start(now), month_start(now, back=1)
    ada = CustomerFactory(name="Ada Lovelace")
    counted = _invoice(
        ada, status="paid", total=12_000, finalized=this_month, paid=this_month
    )
    _invoice(ada, status="paid", total=8_000, finalized=last_month, paid=last_month)
    drafts = [
        _invoice(ada, status="draft", total=500, lines=[("invoice_item", None, 500)])
        for _ in range(2)
    ]
    page = staff_page
    cache.clear()  # the login's redirect drew the home before these invoices
    page.goto(f"{live_server.url}/admin/")
    chart = page.locator("svg.tally-chart")
    expect(chart).to_be_visible()
    expect(page.locator("[data-figure=drafts]")).to_have_text("2")
    page.screenshot(path="/tmp/tally-home.png", full_page=True)

    # The last group's first bar: this month, invoiced.
    chart.locator("a").nth(-2).click()
    page.wait_for_url(lambda url: "finalized_at__gte" in url)
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(Invoice.objects.get(pk=counted.pk).number)

    page.goto(f"{live_server.url}/admin/billing/invoice/?status__exact=draft")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "finalize_selected")
    page.click("button[name=index]")
    expect(page.locator(".messagelist")).to_contain_text("Finalized 2 invoices.")
    assert {
        invoice.status
        for invoice in Invoice.objects.filter(pk__in=[d.pk for d in drafts])
    } == {"open"}
