"""Issue a credit note in the browser: the invoice's "Issue credit note", a
quantity typed in, the live preview, then the note's page and the invoice's."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse
from playwright.sync_api import expect

from billing.models import CreditNote
from tests.billing.credit_note_fixtures import licensed_invoice, line_of, per_unit

pytestmark = pytest.mark.browser


def test_issue_a_credit_note_with_a_live_preview(staff_page, live_server):
    invoice = licensed_invoice(per_unit(), 3)
    line = line_of(invoice)
    page = staff_page
    url = reverse("admin:billing_invoice_change", args=[quote(invoice.pk)])
    page.goto(f"{live_server.url}{url}")
    page.click("text=Issue credit note")
    page.fill(f"input[name=qty_{line.pk}]", "2")
    preview = page.locator("[data-credit-note-preview]")
    expect(preview).to_contain_text("total $20.00")
    expect(preview).to_contain_text("Lowers what the invoice asks by $20.00")
    page.fill(f"input[name=qty_{line.pk}]", "4")
    expect(preview).to_contain_text("at most 3")
    page.fill(f"input[name=qty_{line.pk}]", "1")
    expect(preview).to_contain_text("total $10.00")
    page.select_option("#id_reason", "order_change")
    page.click("input[type=submit]")
    page.wait_for_selector("text=Void credit note")
    note = CreditNote.objects.get()
    assert (note.amount, note.reason) == (1000, "order_change")
    assert note.number in page.content()
    page.click(f'a:text-is("{invoice.number}")')
    expect(page.locator(".invoice-credit-notes")).to_contain_text(note.number)
