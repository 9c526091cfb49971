"""The customer balance on invoices: finalization takes it, void gives it back;
and the invariants of credit notes on an invoice (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import CreditNote, Invoice
from billing.services import (
    invoice_create_with_items,
    invoice_finalize_manual,
    invoice_pay,
    invoice_void,
)
from billing.services.credit_notes import credit_note_create, credit_note_void
from core.errors import InvalidRequest, InvalidState
from core.models import Customer, CustomerBalanceTransaction
from core.services.customers import customer_create
from tests.billing.credit_note_fixtures import APR1, licensed_invoice, line_of, per_unit

pytestmark = pytest.mark.django_db


def rows(customer) -> list[tuple[str, int]]:
    return list(
        CustomerBalanceTransaction.objects.filter(customer=customer)
        .order_by("sequence")
        .values_list("type", "amount")
    )


@pytest.mark.parametrize(
    ("balance", "due", "ending", "applied"),
    [
        (-1500, 1500, 0, 1500),  # credit pays half
        (-5000, 0, -2000, 3000),  # credit pays all, 20.00 stays
        (700, 3700, 0, -700),  # what the customer owed is added
        (0, 3000, 0, None),
    ],
)
def test_finalization_takes_the_balance(balance, due, ending, applied):
    customer = customer_create(params={"name": "B", "balance": balance})
    status = "open" if due else "paid"
    invoice = licensed_invoice(per_unit(), 3, customer=customer, status=status)
    assert (invoice.total, invoice.starting_balance) == (3000, balance)
    assert (invoice.amount_due, invoice.ending_balance) == (due, ending)
    assert invoice.amount_due == max(invoice.total + invoice.starting_balance, 0)
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.balance == ending
    expected = [("initial", balance)] if balance else []
    if applied is not None:
        expected.append(("applied_to_invoice", applied))
    assert rows(customer) == expected


def test_void_gives_the_balance_back():
    customer = customer_create(params={"name": "B", "balance": -1500})
    invoice = licensed_invoice(per_unit(), 3, customer=customer)
    invoice_void(invoice=invoice, now=APR1)
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.balance == -1500
    assert rows(customer)[-2:] == [
        ("applied_to_invoice", 1500),
        ("unapplied_from_invoice", -1500),
    ]
    entry = CustomerBalanceTransaction.objects.get(type="unapplied_from_invoice")
    assert entry.invoice == invoice.pk


def test_a_negative_invoice_credits_the_balance():
    customer = customer_create(params={"name": "B"})
    draft = invoice_create_with_items(
        customer=customer,
        params={"currency": "usd"},
        items=[{"amount": -2500, "currency": "usd", "description": "Refund"}],
        now=APR1,
    )
    invoice = invoice_finalize_manual(invoice=draft, now=APR1)
    assert (invoice.total, invoice.amount_due, invoice.ending_balance) == (
        -2500,
        0,
        -2500,
    )
    assert rows(customer) == [("applied_to_invoice", -2500)]


# ---- invariants -------------------------------------------------------------------

notes = st.lists(
    st.tuples(
        st.sampled_from(["quantity", "amount", "void"]),
        st.integers(1, 4000),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seats=st.integers(1, 4), steps=notes, paid=st.booleans())
def test_credit_notes_never_exceed_the_invoice(db, seats, steps, paid):
    invoice = licensed_invoice(per_unit(), seats)
    if paid:
        invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)
    line = line_of(invoice)
    for kind, value in steps:
        invoice = Invoice.objects.get(pk=invoice.pk)
        try:
            if kind == "void":
                note = CreditNote.objects.filter(invoice=invoice, status="issued")
                if note.exists():
                    credit_note_void(credit_note=note.first(), now=APR1)
                continue
            entry = {"type": "invoice_line_item", "invoice_line_item": line.pk}
            entry[kind] = value if kind == "amount" else min(value, seats)
            params = {"lines": [entry]}
            if paid:
                params["credit_amount"] = entry.get("amount") or 1000 * entry[kind]
            credit_note_create(invoice=invoice, params=params, now=APR1)
        except (InvalidRequest, InvalidState):
            pass
        invoice = Invoice.objects.get(pk=invoice.pk)
        issued = CreditNote.objects.filter(invoice=invoice, status="issued")
        credited = sum(note.amount for note in issued)
        assert credited <= invoice.total
        assert invoice.amount_due >= 0
        assert invoice.amount_remaining >= 0
        assert invoice.pre_payment_credit_notes_amount == sum(
            note.pre_payment_amount for note in issued
        )
        assert invoice.post_payment_credit_notes_amount == sum(
            note.post_payment_amount for note in issued
        )
        assert invoice.amount_due == 1000 * seats - (
            invoice.pre_payment_credit_notes_amount
        )
        customer = Customer.objects.get(pk=invoice.customer_id)
        assert customer.balance == -sum(note.credit_amount for note in issued)
        assert customer.balance == sum(
            CustomerBalanceTransaction.objects.filter(customer=customer).values_list(
                "amount", flat=True
            )
        )
