"""Dashboard: issue a credit note from the invoice page (live preview), its page
and void button, the credit notes list; the customer's balance panel and the
"Adjust balance" page."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.urls import reverse

from billing.models import CreditNote
from billing.services import invoice_pay
from core.models import Customer, CustomerBalanceTransaction
from tests.billing.credit_note_fixtures import APR1, licensed_invoice, line_of, per_unit

pytestmark = pytest.mark.django_db


def test_issue_a_credit_note_from_the_invoice_page(admin_client):
    invoice = licensed_invoice(per_unit(), 3)
    invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)
    line = line_of(invoice)
    page = admin_client.get(
        reverse("admin:billing_invoice_change", args=[quote(invoice.pk)])
    ).content.decode()
    assert "Issue credit note" in page
    add = f"{reverse('admin:billing_creditnote_add')}?invoice={invoice.pk}"
    form = admin_client.get(add)
    assert form.status_code == 200
    assert f"qty_{line.pk}" in form.content.decode()
    fields = {
        "invoice": invoice.pk,
        f"qty_{line.pk}": "1",
        "reason": "product_unsatisfactory",
        "memo": "One seat never used",
        "destination": "credit_amount",
    }
    preview = admin_client.get(reverse("admin:billing_creditnote_preview"), fields)
    assert preview.json()["ok"] is True
    assert preview.json()["total"] == "$10.00"
    assert preview.json()["post_payment"] == "$10.00"
    assert not CreditNote.objects.exists()
    response = admin_client.post(add, fields)
    note = CreditNote.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:billing_creditnote_change", args=[quote(note.pk)]
    )
    assert (note.amount, note.credit_amount, note.reason) == (
        1000,
        1000,
        "product_unsatisfactory",
    )
    detail = admin_client.get(response["Location"]).content.decode()
    assert note.number in detail
    assert "Void credit note" in detail
    invoice_page = admin_client.get(
        reverse("admin:billing_invoice_change", args=[quote(invoice.pk)])
    ).content.decode()
    assert note.number in invoice_page
    listing = admin_client.get(reverse("admin:billing_creditnote_changelist"))
    assert note.number in listing.content.decode()
    admin_client.post(
        reverse("admin:billing_creditnote_action", args=[quote(note.pk), "void"])
    )
    assert CreditNote.objects.get().status == "void"
    assert Customer.objects.get(pk=invoice.customer_id).balance == 0


def test_preview_explains_what_is_wrong(admin_client):
    invoice = licensed_invoice(per_unit(), 3)
    line = line_of(invoice)
    answer = admin_client.get(
        reverse("admin:billing_creditnote_preview"),
        {"invoice": invoice.pk, f"qty_{line.pk}": "4"},
    ).json()
    assert answer["ok"] is False
    assert "at most 3" in answer["error"]
    response = admin_client.post(
        f"{reverse('admin:billing_creditnote_add')}?invoice={invoice.pk}",
        {"invoice": invoice.pk, f"qty_{line.pk}": "4"},
    )
    assert response.status_code == 200
    assert "at most 3" in response.content.decode()
    assert not CreditNote.objects.exists()


def test_customer_page_shows_the_ledger_and_adjusts_the_balance(admin_client):
    invoice = licensed_invoice(per_unit(), 3)
    customer = Customer.objects.get(pk=invoice.customer_id)
    change = reverse("admin:core_customer_change", args=[quote(customer.pk)])
    adjust = reverse("admin:core_customer_balance_adjust", args=[quote(customer.pk)])
    assert "Adjust balance" in admin_client.get(change).content.decode()
    assert admin_client.get(adjust).status_code == 200
    response = admin_client.post(
        adjust,
        {
            "direction": "credit",
            "amount": "25.50",
            "currency": "usd",
            "description": "Outage credit",
        },
    )
    assert response.status_code == 302
    entry = CustomerBalanceTransaction.objects.get(customer=customer)
    assert (entry.type, entry.amount, entry.description) == (
        "adjustment",
        -2550,
        "Outage credit",
    )
    page = admin_client.get(change).content.decode()
    assert "Outage credit" in page
    assert "-$25.50" in page or "−$25.50" in page
    bad = admin_client.post(
        adjust, {"direction": "debit", "amount": "1.234", "currency": "usd"}
    )
    assert bad.status_code == 200
    assert CustomerBalanceTransaction.objects.count() == 1
