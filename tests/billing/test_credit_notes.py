"""Credit notes to the cent: by quantity and by amount on each price model, the
invoice's amounts, the customer balance, void, and every refusal (nothing written)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from billing.models import CreditNote, CreditNoteLineItem, Invoice
from billing.services import invoice_pay, invoice_void
from billing.services.credit_notes import (
    credit_note_create,
    credit_note_preview,
    credit_note_update,
    credit_note_void,
)
from core.errors import InvalidRequest, InvalidState
from core.models import Customer, CustomerBalanceTransaction, Event
from core.services.customers import customer_create
from tests.billing.credit_note_fixtures import (
    APR1,
    graduated,
    licensed_invoice,
    line_of,
    package,
    per_unit,
    usage_invoice,
    volume,
)

pytestmark = pytest.mark.django_db


def by_quantity(line, quantity: int) -> dict:
    return {
        "type": "invoice_line_item",
        "invoice_line_item": line.pk,
        "quantity": quantity,
    }


def by_amount(line, amount: int) -> dict:
    return {"type": "invoice_line_item", "invoice_line_item": line.pk, "amount": amount}


def issue(invoice, *lines, **params) -> CreditNote:
    return credit_note_create(
        invoice=invoice, params={"lines": list(lines), **params}, now=APR1
    )


def fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


# ---- each price model, by quantity and by amount -------------------------------------

# (price, invoice quantity, line amount, quantities credited in turn, their amounts)
QUANTITY_CASES = [
    pytest.param(per_unit, 3, 3000, [1, 2], [1000, 2000], id="per unit"),
    # 25 units in packages of 10 (up): 3 packages; 5 of 25 units is a fifth.
    pytest.param(package, 25, 3000, [5, 20], [600, 2400], id="package"),
    # volume, 6 units all at 6.50: 39.00.
    pytest.param(volume, 6, 3900, [1, 2, 3], [650, 1300, 1950], id="volume"),
    # graduated, 6 units: 5 × 7.00 + 6.50 = 41.50; cumulative rounding makes the
    # shares 691.67 → 692, then 2766.67 − 692 → 2075, then the rest: 1383.
    pytest.param(graduated, 6, 4150, [1, 3, 2], [692, 2075, 1383], id="graduated"),
]


@pytest.mark.parametrize(
    ("make", "quantity", "total", "steps", "amounts"), QUANTITY_CASES
)
def test_credit_by_quantity_to_the_cent(make, quantity, total, steps, amounts):
    invoice = licensed_invoice(make(), quantity)
    line = line_of(invoice)
    assert (invoice.total, line.amount) == (total, total)
    notes = [issue(fresh(invoice), by_quantity(line, step)) for step in steps]
    assert [note.amount for note in notes] == amounts
    assert sum(amounts) == total
    invoice = fresh(invoice)
    assert invoice.pre_payment_credit_notes_amount == total
    assert (invoice.amount_due, invoice.amount_remaining) == (0, 0)
    assert invoice.status == "paid"  # credited down to nothing, as Stripe does
    with pytest.raises(InvalidRequest):
        issue(invoice, by_quantity(line, 1))


@pytest.mark.parametrize(
    ("make", "quantity"), [(per_unit, 3), (package, 25), (volume, 6), (graduated, 6)]
)
def test_credit_by_amount_then_the_rest(make, quantity):
    invoice = licensed_invoice(make(), quantity)
    line = line_of(invoice)
    first = issue(invoice, by_amount(line, 1234), reason="order_change")
    rest = issue(fresh(invoice), by_amount(line, line.amount - 1234))
    assert (first.amount, first.subtotal, first.total) == (1234, 1234, 1234)
    assert first.amount + rest.amount == line.amount
    assert (first.number, rest.number) == (
        f"{invoice.number}-CN-01",
        f"{invoice.number}-CN-02",
    )


def test_a_metered_line_credited_by_usage_quantity():
    invoice = usage_invoice(150_000)
    usage = line_of(invoice, metered=True)
    assert (usage.amount, usage.quantity) == (5000, 150_000)
    note = issue(invoice, by_quantity(usage, 50_000))
    # 5000 × 50,000 / 150,000 = 1666.67 → 1667
    assert note.amount == 1667
    line = note.lines.get()
    assert (line.quantity, line.invoice_line_item_id) == (50_000, usage.pk)
    assert fresh(invoice).amount_due == invoice.amount_due - 1667


def test_a_line_credited_by_quantity_refuses_an_amount_and_vice_versa():
    invoice = licensed_invoice(per_unit(), 3)
    line = line_of(invoice)
    issue(invoice, by_quantity(line, 1))
    with pytest.raises(InvalidRequest) as info:
        issue(fresh(invoice), by_amount(line, 100))
    assert info.value.param == "lines[0][amount]"


# ---- the invoice's amounts and the customer balance ---------------------------------


def test_pre_payment_note_lowers_what_the_open_invoice_asks():
    invoice = licensed_invoice(per_unit(), 3)
    note = issue(invoice, by_quantity(line_of(invoice), 1), memo="One seat unused")
    invoice = fresh(invoice)
    assert (note.type, note.pre_payment_amount, note.post_payment_amount) == (
        "pre_payment",
        1000,
        0,
    )
    assert (invoice.total, invoice.amount_due, invoice.amount_remaining) == (
        3000,
        2000,
        2000,
    )
    assert invoice.pre_payment_credit_notes_amount == 1000
    assert invoice.status == "open"
    types = set(Event.objects.values_list("type", flat=True))
    assert {"credit_note.created", "invoice.updated"} <= types


def test_post_payment_credit_goes_to_the_balance_and_the_next_invoice_takes_it():
    price = per_unit()
    invoice = licensed_invoice(price, 3)
    invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)
    note = issue(fresh(invoice), by_amount(line_of(invoice), 1200), credit_amount=1200)
    assert (note.type, note.post_payment_amount, note.credit_amount) == (
        "post_payment",
        1200,
        1200,
    )
    customer = Customer.objects.get(pk=invoice.customer_id)
    assert (customer.balance, customer.currency) == (-1200, "usd")
    entry = CustomerBalanceTransaction.objects.get(pk=note.customer_balance_transaction)
    assert (entry.type, entry.amount, entry.credit_note, entry.invoice) == (
        "credit_note",
        -1200,
        note.pk,
        invoice.pk,
    )
    assert fresh(invoice).post_payment_credit_notes_amount == 1200
    # The customer's next invoice (one seat, 10.00) takes 10.00 of the 12.00.
    second = licensed_invoice(price, 1, customer=customer, status="paid")
    assert (second.total, second.starting_balance, second.ending_balance) == (
        1000,
        -1200,
        -200,
    )
    assert (second.amount_due, second.status) == (0, "paid")
    assert Customer.objects.get(pk=customer.pk).balance == -200
    applied = CustomerBalanceTransaction.objects.get(invoice=second.pk)
    assert (applied.type, applied.amount, applied.ending_balance) == (
        "applied_to_invoice",
        1000,
        -200,
    )


def test_mixed_note_splits_at_what_the_invoice_still_asks():
    invoice = licensed_invoice(per_unit(), 3)
    line = line_of(invoice)
    issue(invoice, by_amount(line, 2500))  # 5.00 left to pay
    note = issue(fresh(invoice), by_amount(line, 500), credit_amount=0)
    assert (note.type, note.pre_payment_amount) == ("pre_payment", 500)
    invoice = fresh(invoice)
    assert (invoice.status, invoice.amount_due, invoice.amount_remaining) == (
        "paid",
        0,
        0,
    )
    # The balance paid 10.00 of another 30.00 invoice: 20.00 is asked, 30.00 can
    # be credited; a 25.00 note takes the 20.00 off and owes 5.00 back.
    customer = customer_create(params={"name": "M", "balance": -1000})
    other = licensed_invoice(per_unit(), 3, customer=customer)
    assert (other.total, other.amount_due) == (3000, 2000)
    mixed = issue(other, by_amount(line_of(other), 2500), credit_amount=500)
    assert (mixed.type, mixed.pre_payment_amount, mixed.post_payment_amount) == (
        "mixed",
        2000,
        500,
    )
    other = fresh(other)
    assert (other.status, other.amount_due) == ("paid", 0)
    assert (
        other.pre_payment_credit_notes_amount,
        other.post_payment_credit_notes_amount,
    ) == (2000, 500)
    assert Customer.objects.get(pk=customer.pk).balance == -500


def test_void_gives_back_what_the_note_credited():
    invoice = licensed_invoice(per_unit(), 3)
    invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)
    note = issue(fresh(invoice), by_quantity(line_of(invoice), 2), credit_amount=2000)
    assert Customer.objects.get(pk=invoice.customer_id).balance == -2000
    note = credit_note_void(credit_note=note, now=APR1)
    assert (note.status, note.voided_at) == ("void", APR1)
    assert Customer.objects.get(pk=invoice.customer_id).balance == 0
    assert fresh(invoice).post_payment_credit_notes_amount == 0
    rows = list(
        CustomerBalanceTransaction.objects.filter(credit_note=note.pk)
        .order_by("sequence")
        .values_list("type", "amount")
    )
    assert rows == [("credit_note", -2000), ("credit_note", 2000)]
    # The quantity is creditable again.
    assert issue(fresh(invoice), by_quantity(line_of(invoice), 3), credit_amount=3000)
    with pytest.raises(InvalidState):
        credit_note_void(credit_note=note, now=APR1)


def test_void_of_a_pre_payment_note_restores_the_amount_due():
    invoice = licensed_invoice(per_unit(), 3)
    note = issue(invoice, by_quantity(line_of(invoice), 1))
    credit_note_void(credit_note=note, now=APR1)
    invoice = fresh(invoice)
    assert (invoice.amount_due, invoice.amount_remaining) == (3000, 3000)
    assert invoice.pre_payment_credit_notes_amount == 0


def test_a_note_that_paid_the_invoice_cannot_be_voided():
    invoice = licensed_invoice(per_unit(), 1)
    note = issue(invoice, by_quantity(line_of(invoice), 1))
    assert fresh(invoice).status == "paid"
    with pytest.raises(InvalidState):
        credit_note_void(credit_note=note, now=APR1)


def test_update_changes_memo_and_metadata_only():
    invoice = licensed_invoice(per_unit(), 3)
    note = issue(invoice, by_quantity(line_of(invoice), 1))
    note = credit_note_update(
        credit_note=note, params={"memo": "Seat removed", "metadata": {"ticket": "7"}}
    )
    assert (note.memo, note.metadata, note.amount) == (
        "Seat removed",
        {"ticket": "7"},
        1000,
    )
    assert Event.objects.filter(type="credit_note.updated").exists()


def test_custom_line_and_plain_amount():
    invoice = licensed_invoice(per_unit(), 3)
    note = issue(
        invoice,
        {
            "type": "custom_line_item",
            "description": "Goodwill",
            "quantity": 2,
            "unit_amount": 150,
        },
    )
    assert (note.amount, note.lines.get().type) == (300, "custom_line_item")
    plain = credit_note_create(invoice=fresh(invoice), params={"amount": 700}, now=APR1)
    assert plain.amount == 700
    assert fresh(invoice).amount_due == 3000 - 300 - 700


def test_preview_writes_nothing_and_equals_the_note():
    invoice = licensed_invoice(graduated(), 6)
    params = {"lines": [by_quantity(line_of(invoice), 1)]}
    preview = credit_note_preview(invoice=invoice, params=params, now=APR1)
    assert not CreditNote.objects.exists()
    assert not CreditNoteLineItem.objects.exists()
    note = credit_note_create(invoice=invoice, params=params, now=APR1)
    assert (preview.amount, preview.number) == (note.amount, note.number)


# ---- refusals: a 4xx, nothing written ---------------------------------------------


def _nothing_written(invoice: Invoice) -> None:
    assert not CreditNote.objects.filter(invoice=invoice).exists()
    after = fresh(invoice)
    assert (after.amount_due, after.pre_payment_credit_notes_amount) == (
        invoice.amount_due,
        0,
    )


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"amount": 3001}, "amount"),
        ({"amount": 0}, "amount"),
        (
            {
                "lines": [
                    {
                        "type": "invoice_line_item",
                        "invoice_line_item": "il_nope",
                        "quantity": 1,
                    }
                ]
            },
            "lines[0][invoice_line_item]",
        ),
        ({"lines": [{"type": "invoice_line_item"}]}, "lines[0][invoice_line_item]"),
        ({"credit_amount": 100, "amount": 100}, "credit_amount"),
        ({"amount": 100, "refund_amount": 100}, "amount"),
        ({}, "lines"),
    ],
)
def test_bad_input_is_refused(params, param):
    invoice = licensed_invoice(per_unit(), 3)
    with pytest.raises(InvalidRequest) as info:
        credit_note_create(invoice=invoice, params=params, now=APR1)
    assert info.value.param == param
    _nothing_written(invoice)


def test_over_quantity_and_over_amount_are_refused():
    invoice = licensed_invoice(per_unit(), 3)
    line = line_of(invoice)
    with pytest.raises(InvalidRequest):
        issue(invoice, by_quantity(line, 4))
    with pytest.raises(InvalidRequest):
        issue(invoice, by_amount(line, 3001))
    _nothing_written(invoice)


def test_draft_and_void_invoices_take_no_credit_note():
    invoice = licensed_invoice(per_unit(), 3)
    invoice_void(invoice=invoice, now=APR1)
    with pytest.raises(InvalidRequest) as info:
        credit_note_create(invoice=fresh(invoice), params={"amount": 100}, now=APR1)
    assert info.value.param == "invoice"


def test_paid_invoice_needs_the_credit_to_go_somewhere():
    invoice = licensed_invoice(per_unit(), 3)
    invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)
    with pytest.raises(InvalidRequest):
        credit_note_create(invoice=fresh(invoice), params={"amount": 100}, now=APR1)
    # Paid outside Tally: no payment to refund through the processor
    # (tests/payments/test_refunds.py refunds card payments).
    with pytest.raises(InvalidRequest) as info:
        credit_note_create(
            invoice=fresh(invoice),
            params={"amount": 100, "refund_amount": 60, "out_of_band_amount": 40},
            now=APR1,
        )
    assert info.value.param == "refund_amount"
    _nothing_written(invoice)
    note = credit_note_create(
        invoice=fresh(invoice),
        params={"amount": 100, "out_of_band_amount": 100},
        now=APR1,
    )
    assert (note.refund_amount, note.out_of_band_amount, note.refunds) == (0, 100, [])


def test_credit_in_another_currency_than_the_balance_is_refused():
    invoice = licensed_invoice(per_unit(), 3)
    invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)
    Customer.objects.filter(pk=invoice.customer_id).update(currency="eur")
    with pytest.raises(InvalidRequest) as info:
        credit_note_create(
            invoice=fresh(invoice),
            params={"amount": 100, "credit_amount": 100},
            now=APR1,
        )
    assert info.value.param == "credit_amount"
    assert not CreditNote.objects.exists()
    assert not CustomerBalanceTransaction.objects.exists()


def test_the_database_lets_only_credit_notes_move_what_is_due():
    invoice = licensed_invoice(per_unit(), 3)
    rows = Invoice.objects.filter(pk=invoice.pk)
    refused = [
        {"pre_payment_credit_notes_amount": 100},
        {"amount_due": 2900, "pre_payment_credit_notes_amount": 100},
        {"amount_remaining": 2900, "pre_payment_credit_notes_amount": 100},
        {
            "amount_due": -100,
            "amount_remaining": -100,
            "pre_payment_credit_notes_amount": 3100,
        },
        {"post_payment_credit_notes_amount": 3001},
    ]
    for change in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            rows.update(**change)
    rows.update(
        amount_due=2900, amount_remaining=2900, pre_payment_credit_notes_amount=100
    )
    assert fresh(invoice).amount_due == 2900
