"""Staff open an invoice's hosted page from the dashboard and download its PDF and
its credit note's."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from django.contrib.admin.utils import quote
from playwright.sync_api import expect

from billing.services import invoice_create, invoice_finalize, invoice_item_create
from billing.services.credit_notes import credit_note_create
from tests.billing.factories import CustomerFactory, PriceFactory

pytestmark = pytest.mark.browser

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
SCREENSHOTS = os.environ.get("TALLY_SCREENSHOTS")


def test_staff_open_the_hosted_page_and_its_pdf(
    staff_page, live_server, settings, tmp_path
):
    settings.TALLY_DOCUMENTS_DIR = tmp_path / "documents"
    customer = CustomerFactory(name="Zoë Müller", invoice_prefix="ZOE")
    invoice = invoice_create(customer=customer, params={}, now=APR1)
    price = PriceFactory(one_time=True, unit_amount_decimal=4_200)
    invoice_item_create(
        customer=customer, params={"price": price, "invoice": invoice.pk}, now=APR1
    )
    invoice = invoice_finalize(invoice=invoice, now=APR1)
    note = credit_note_create(invoice=invoice, params={"amount": 1_200}, now=APR1)

    page = staff_page
    page.goto(f"{live_server.url}/admin/billing/invoice/{quote(invoice.pk)}/change/")
    page.click("#hosted-invoice")
    page.wait_for_url(f"**/i/{invoice.hosted_token}/")
    expect(page.locator("h1")).to_contain_text("Invoice ZOE-0001")
    expect(page.locator(".invoice-parties")).to_contain_text("Zoë Müller")
    # 42.00 less the credit note's 12.00.
    expect(page.locator(".invoice-amount-due")).to_contain_text("$30.00")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, "hosted_invoice.png"))

    href = page.get_attribute("#invoice-pdf", "href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    with page.expect_download() as download:
        page.click("#invoice-pdf")
    assert download.value.suggested_filename == "Invoice-ZOE-0001.pdf"

    # The hosted page lists the invoice's credit note with its own PDF.
    expect(page.locator(".invoice-credit-notes")).to_contain_text(note.number)
    href = page.get_attribute(".credit-note-pdf", "href")
    assert href == f"/i/cn/{note.hosted_token}/pdf"
    response = page.request.get(f"{live_server.url}{href}?download=1")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    assert (
        f'filename="CreditNote-{note.number}.pdf"'
        in (response.headers["content-disposition"])
    )

    missing = page.request.get(f"{live_server.url}/i/not-a-token/pdf")
    assert missing.status == 404
