"""The official stripe SDK drives the customer balance ledger and credit notes."""

from __future__ import annotations

import pytest
import requests


def _open_invoice(stripe, customer_id: str, amount: int):
    invoice = stripe.Invoice.create(customer=customer_id, currency="usd")
    stripe.InvoiceItem.create(
        customer=customer_id,
        invoice=invoice.id,
        description="Hypernian Credits",
        amount=amount,
        currency="usd",
    )
    return stripe.Invoice.finalize_invoice(invoice.id)


def test_balance_transactions(stripe_sdk):
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Northwind")
    entry = stripe.Customer.create_balance_transaction(
        customer.id, amount=-500, currency="usd", description="SLA credit"
    )
    assert isinstance(entry, stripe.CustomerBalanceTransaction)
    assert (entry.type, entry.amount, entry.ending_balance) == (
        "adjustment",
        -500,
        -500,
    )
    entry = stripe.Customer.modify_balance_transaction(
        customer.id, entry.id, metadata={"ticket": "42"}
    )
    assert entry.metadata["ticket"] == "42"
    again = stripe.Customer.retrieve_balance_transaction(customer.id, entry.id)
    assert (again.id, again.description) == (entry.id, "SLA credit")
    listed = stripe.Customer.list_balance_transactions(customer.id, limit=5)
    assert [row.id for row in listed.data] == [entry.id]
    assert stripe.Customer.retrieve(customer.id).balance == -500
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.Customer.create_balance_transaction(
            customer.id, amount=100, currency="eur"
        )
    assert info.value.param == "currency"


def test_credit_notes_preview_create_lines_void(stripe_sdk, settings, tmp_path):
    settings.TALLY_DOCUMENTS_DIR = tmp_path / "documents"
    settings.TALLY_PUBLIC_URL = ""
    stripe = stripe_sdk
    customer = stripe.Customer.create(name="Northwind", balance=-500)
    invoice = _open_invoice(stripe, customer.id, 3000)
    assert (invoice.total, invoice.starting_balance, invoice.amount_due) == (
        3000,
        -500,
        2500,
    )
    line = invoice.lines.data[0]
    lines = [
        {"type": "invoice_line_item", "invoice_line_item": line.id, "amount": 1000}
    ]

    preview = stripe.CreditNote.preview(invoice=invoice.id, lines=lines)
    assert (preview.amount, preview.pre_payment_amount) == (1000, 1000)
    preview_lines = stripe.CreditNote.preview_lines(invoice=invoice.id, lines=lines)
    assert [row.amount for row in preview_lines.data] == [1000]
    assert not stripe.CreditNote.list(invoice=invoice.id).data

    note = stripe.CreditNote.create(
        invoice=invoice.id, lines=lines, reason="order_change", memo="Late delivery"
    )
    assert note.number == f"{invoice.number}-CN-01"
    assert (note.status, note.type, note.total) == ("issued", "pre_payment", 1000)
    assert preview.pdf is None
    document = requests.get(note.pdf, timeout=30)  # the public PDF, no key
    assert document.headers["Content-Type"] == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    invoice = stripe.Invoice.retrieve(invoice.id)
    assert (invoice.amount_due, invoice.pre_payment_credit_notes_amount) == (1500, 1000)
    (credited,) = stripe.CreditNote.list_lines(note.id).data
    assert (credited.type, credited.invoice_line_item) == (
        "invoice_line_item",
        line.id,
    )
    assert stripe.CreditNote.list(customer=customer.id).data[0].id == note.id
    note = stripe.CreditNote.modify(note.id, memo="Delivered two days late")
    assert note.memo == "Delivered two days late"

    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.CreditNote.create(invoice=invoice.id, amount=2001)
    assert info.value.param == "amount"

    note = stripe.CreditNote.void_credit_note(note.id)
    assert note.status == "void"
    assert stripe.Invoice.retrieve(invoice.id).amount_due == 2500

    stripe.Invoice.pay(invoice.id, paid_out_of_band=True)
    note = stripe.CreditNote.create(invoice=invoice.id, amount=1200, credit_amount=1200)
    assert (note.type, note.post_payment_amount) == ("post_payment", 1200)
    entry = stripe.Customer.retrieve_balance_transaction(
        customer.id, note.customer_balance_transaction
    )
    assert (entry.type, entry.amount, entry.credit_note) == (
        "credit_note",
        -1200,
        note.id,
    )
    types = [row.type for row in stripe.Customer.list_balance_transactions(customer.id)]
    assert types == ["credit_note", "applied_to_invoice", "initial"]
    assert stripe.Customer.retrieve(customer.id).balance == -1200
