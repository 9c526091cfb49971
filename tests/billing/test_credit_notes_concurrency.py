"""Credit notes racing on one invoice never credit more than it; balance moves
racing on one customer never lose one (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from billing.models import CreditNote, Invoice
from billing.services import invoice_pay
from billing.services.credit_notes import credit_note_create
from core.errors import InvalidRequest
from core.models import Customer, CustomerBalanceTransaction
from core.services.balance import BalanceMove, balance_move
from tests.billing.credit_note_fixtures import APR1, licensed_invoice, per_unit

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks need PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def _race(count: int, work) -> tuple[list, list]:
    """Run ``work()`` in ``count`` threads released together; (results, errors)."""
    results, errors = [], []
    barrier = threading.Barrier(count)

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # noqa: BLE001 - asserted by the caller
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_racing_credit_notes_never_exceed_the_invoice():
    invoice = licensed_invoice(per_unit(), 3)  # 30.00
    invoice = invoice_pay(invoice=invoice, paid_out_of_band=True, now=APR1)

    def credit():
        return credit_note_create(
            invoice=Invoice.objects.get(pk=invoice.pk),
            params={"amount": 1200, "credit_amount": 1200},
            now=APR1,
        )

    notes, errors = _race(4, credit)
    assert len(notes) == 2  # 12.00 + 12.00; 6.00 left refuses the others
    assert len(errors) == 2
    assert all(isinstance(error, InvalidRequest) for error in errors), errors
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.post_payment_credit_notes_amount == 2400
    assert sorted(note.number[-5:] for note in CreditNote.objects.all()) == [
        "CN-01",
        "CN-02",
    ]
    customer = Customer.objects.get(pk=invoice.customer_id)
    assert customer.balance == -2400
    assert list(
        CustomerBalanceTransaction.objects.filter(customer=customer)
        .order_by("sequence")
        .values_list("sequence", "ending_balance")
    ) == [(1, -1200), (2, -2400)]


def test_racing_pre_payment_notes_pay_the_invoice_once():
    invoice = licensed_invoice(per_unit(), 2)  # 20.00 open

    def credit():
        return credit_note_create(
            invoice=Invoice.objects.get(pk=invoice.pk),
            params={"amount": 1500},
            now=APR1,
        )

    notes, errors = _race(3, credit)
    assert len(notes) == 1
    assert len(errors) == 2
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert (invoice.amount_due, invoice.amount_remaining, invoice.status) == (
        500,
        500,
        "open",
    )


def test_racing_balance_moves_are_all_kept():
    customer = Customer.objects.create(name="Racer", invoice_prefix="RACE01")

    def move():
        return balance_move(
            customer_id=customer.pk,
            move=BalanceMove(type="adjustment", amount=-100, currency="usd"),
            now=APR1,
        )

    entries, errors = _race(6, move)
    assert not errors, errors
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.balance == -600
    assert sorted(entry.sequence for entry in entries) == [1, 2, 3, 4, 5, 6]
    assert sorted(entry.ending_balance for entry in entries) == [
        -600,
        -500,
        -400,
        -300,
        -200,
        -100,
    ]
