"""Credit note PDFs: the invoice's layout with the note's rows, behind the note's
own token (Stripe's credit note ``pdf``), linked from staff and customer pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.utils import quote
from django.test import Client

from billing.documents.credit_notes import credit_note_document
from billing.documents.files import (
    credit_note_pdf_bytes,
    credit_note_pdf_file,
    credit_note_pdf_render,
    invoice_pdf_bytes,
)
from billing.models import CreditNote, Invoice
from billing.services import (
    invoice_create,
    invoice_finalize_manual,
    invoice_item_create,
    invoice_pay,
)
from billing.services.coupons import coupon_create
from billing.services.credit_notes import credit_note_create, credit_note_void
from billing.taxes.rates import tax_rate_create
from core import clock
from core.services.portal import portal_session_create
from tests.billing.factories import CustomerFactory, PriceFactory, ProductFactory
from tests.billing.test_documents import SELLER, pdf_text

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
APR2 = APR1 + timedelta(days=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _documents(settings, tmp_path):
    settings.TALLY_SELLER = SELLER
    settings.TALLY_DOCUMENTS_DIR = tmp_path / "documents"
    settings.TALLY_PUBLIC_URL = ""


def discounted_taxed_invoice() -> Invoice:
    """4 seats × 25.00 + 50.00 setup, "Launch" 20 % off, VAT 19 % on top.

    Seats 100.00 − 20.00 = 80.00 taxed 15.20; setup 50.00 − 10.00 = 40.00 taxed
    7.60; total 150.00 − 30.00 + 22.80 = 142.80.
    """
    customer = CustomerFactory(name="Zoë Müller GmbH", invoice_prefix="ZOE")
    vat = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(19), "inclusive": False},
        now=APR1,
    )
    launch = coupon_create(
        params={"name": "Launch", "percent_off": Decimal(20)}, now=APR1
    )
    invoice = invoice_create(
        customer=customer,
        params={
            "currency": "usd",
            "default_tax_rates": [vat.pk],
            "discounts": [{"coupon": launch.pk}],
        },
        now=APR1,
    )
    seats = PriceFactory(
        product=ProductFactory(name="Seats"),
        one_time=True,
        unit_amount_decimal=Decimal(2_500),
    )
    invoice_item_create(
        customer=customer,
        params={"invoice": invoice.pk, "price": seats, "quantity": 4},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={
            "invoice": invoice.pk,
            "amount": 5_000,
            "currency": "usd",
            "description": "Setup",
        },
        now=APR1,
    )
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1)
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (
        15_000,
        14_280,
        14_280,
    )
    return invoice


def seat_credit(invoice: Invoice, **extra) -> CreditNote:
    """One seat of four back: 25.00 gross, 5.00 of its discount, 3.80 of its VAT."""
    seats = invoice.lines.order_by("position").first()
    return credit_note_create(
        invoice=invoice,
        params={
            "lines": [
                {
                    "type": "invoice_line_item",
                    "invoice_line_item": seats.pk,
                    "quantity": 1,
                }
            ],
            "reason": "product_unsatisfactory",
            "memo": "One seat was never used.",
            **extra,
        },
        now=APR2,
    )


def test_the_credit_note_pdf_prints_number_amounts_and_tax_lines():
    invoice = discounted_taxed_invoice()
    note = seat_credit(invoice)
    assert (note.subtotal, note.discount_amount, note.total) == (2_500, 500, 2_380)
    assert note.total_excluding_tax == 2_000
    text = pdf_text(credit_note_pdf_render(note=note))
    for snippet in (
        "Credit note",
        f"Credit note number {invoice.number}-CN-01",
        f"Invoice {invoice.number}",
        "Invoice date Apr 1, 2026",
        "Date of issue Apr 2, 2026",
        "Reason Product unsatisfactory",
        "Amount credited: $23.80",
        "One seat was never used.",
        # Seller and the customer as billed.
        "Sørensen Cloud ApS",
        "Zoë Müller GmbH",
        # The line: one seat at 25.00, with its share of discount and tax.
        "Seats 1 $25.00 $25.00",
        "Launch (20% off) -$5.00",
        "VAT 19% (excl.) on $20.00 $3.80",
        # The totals, in Stripe's order, then where the credit went.
        "Subtotal $25.00",
        "Total excluding tax $20.00",
        "Total $23.80",
        "Applied to invoice $23.80",
        "Amount credited $23.80",
        note.pk,
    ):
        assert snippet in text, snippet
    # Under the line and in the totals.
    assert text.count("Launch (20% off) -$5.00") == 2
    assert text.count("VAT 19% (excl.) on $20.00 $3.80") == 2


def test_the_document_rows_add_up_to_the_note():
    note = seat_credit(discounted_taxed_invoice())
    document = credit_note_document(note=note)
    assert document.title == "Credit note"
    assert document.amount_due == document.total == note.total
    assert [(row.label, row.amount) for row in document.discounts] == [
        ("Launch (20% off)", -500)
    ]
    assert sum(row.amount for row in document.taxes) == 380
    assert (
        document.subtotal
        + sum(row.amount for row in document.discounts)
        + sum(row.amount for row in document.credits)
        + sum(row.amount for row in document.taxes)
        == document.total
    )
    assert sum(row.amount for row in document.balance) == note.total


def test_a_paid_invoice_credit_prints_where_the_money_went():
    invoice = discounted_taxed_invoice()
    invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)
    note = seat_credit(invoice, credit_amount=1_380, out_of_band_amount=1_000)
    text = pdf_text(credit_note_pdf_render(note=note))
    assert "Credited to customer balance $13.80" in text
    assert "Credited outside Tally $10.00" in text
    assert "Applied to invoice" not in text


def test_the_pdf_link_serves_the_pdf_and_a_void_note_renders_again():
    note = seat_credit(discounted_taxed_invoice())
    assert len(note.hosted_token) >= 43  # 32 random bytes
    client = Client()
    url = f"/i/cn/{note.hosted_token}/pdf"
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("inline")
    issued = response.content
    assert issued == credit_note_pdf_bytes(note=note)
    assert credit_note_pdf_file(note).read_bytes() == issued
    saved = client.get(url, {"download": 1})
    assert saved["Content-Disposition"] == (
        f'attachment; filename="CreditNote-{note.number}.pdf"'
    )

    note = credit_note_void(credit_note=note, now=APR2 + timedelta(hours=1))
    voided = client.get(url).content
    assert voided != issued
    assert "Void: this credit note was voided on Apr 2, 2026" in pdf_text(voided)

    for token in ("not-a-token", "x" * 43, "a/b"):
        assert client.get(f"/i/cn/{token}/pdf").status_code == 404
    # An invoice's token is no credit note's.
    assert client.get(f"/i/cn/{note.invoice.hosted_token}/pdf").status_code == 404


@pytest.mark.parametrize(("days", "status"), [(0, 200), (30, 404), (36_500, 200)])
def test_links_expire_after_the_hosted_invoice_days(settings, days, status):
    settings.TALLY_HOSTED_INVOICE_DAYS = days
    note = seat_credit(discounted_taxed_invoice())  # issued Apr 2, 2026: long ago
    assert Client().get(f"/i/cn/{note.hosted_token}/pdf").status_code == status


def test_the_api_pdf_is_the_link(api):
    invoice = discounted_taxed_invoice()
    seats = invoice.lines.order_by("position").first()
    body = api.post(
        "/v1/credit_notes",
        {
            "invoice": invoice.pk,
            "lines": [
                {
                    "type": "invoice_line_item",
                    "invoice_line_item": seats.pk,
                    "quantity": 1,
                }
            ],
        },
    ).json()
    token = CreditNote.objects.get(pk=body["id"]).hosted_token
    assert body["pdf"] == f"http://testserver/i/cn/{token}/pdf"
    preview = api.get(
        "/v1/credit_notes/preview", {"invoice": invoice.pk, "amount": 100}
    ).json()
    assert preview["pdf"] is None


def test_staff_and_customer_pages_link_the_credit_note_pdf(admin_client):
    invoice = discounted_taxed_invoice()
    note = seat_credit(invoice)
    link = f'href="/i/cn/{note.hosted_token}/pdf"'
    staff_note = admin_client.get(
        f"/admin/billing/creditnote/{quote(note.pk)}/change/"
    ).content.decode()
    assert link in staff_note
    staff_invoice = admin_client.get(
        f"/admin/billing/invoice/{quote(invoice.pk)}/change/"
    ).content.decode()
    assert link in staff_invoice

    url = portal_session_create(customer=invoice.customer, now=clock.now()).url
    portal = Client().get(f"{url}invoices/{invoice.pk}/").content.decode()
    assert note.number in portal
    assert link in portal
    hosted = Client().get(f"/i/{invoice.hosted_token}/").content.decode()
    assert note.number in hosted
    assert link in hosted


def test_the_invoice_pdf_shows_the_credit_notes_that_lowered_its_amount_due():
    invoice = discounted_taxed_invoice()
    before = pdf_text(invoice_pdf_bytes(invoice=invoice))
    assert "Amount due $142.80" in before
    seat_credit(invoice)
    invoice.refresh_from_db()
    assert invoice.amount_due == 14_280 - 2_380
    after = pdf_text(invoice_pdf_bytes(invoice=invoice))  # not the kept file
    for snippet in ("Total $142.80", "Credit notes -$23.80", "Amount due $119.00"):
        assert snippet in after, snippet
    assert "Applied balance" not in after
