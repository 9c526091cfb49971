"""``send_invoice`` invoices: due dates, reminders, partial payments recorded by
staff, and bank-statement reconciliation with unmatched lines kept for staff."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import InvalidRequest
from core.models import OutboundEmail
from payments.models import (
    BankStatement,
    InvoicePayment,
    InvoiceReminder,
    StatementLine,
)
from payments.services.receivables import (
    invoice_payment_record,
    invoice_reminders_send_due,
)
from payments.services.statements import bank_statement_import, statement_line_assign
from tests.billing.factories import CustomerFactory
from tests.payments.factories import T0, open_invoice

pytestmark = pytest.mark.django_db


def _send_invoice(amount: int = 100_000, **kwargs):
    return open_invoice(
        CustomerFactory(email="ap@example.com", **kwargs),
        amount=amount,
        collection_method="send_invoice",
        days_until_due=30,
    )


def test_the_due_date_follows_the_terms_and_nothing_is_charged():
    invoice = _send_invoice()
    assert invoice.due_date == T0 + timedelta(days=30)
    assert invoice.next_payment_attempt is None


def test_staff_record_a_partial_payment_then_the_rest():
    invoice = _send_invoice(100_000)
    invoice_payment_record(invoice=invoice, amount=40_000, now=T0, reference="wire 1")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_remaining) == (
        "open",
        40_000,
        60_000,
    )
    with pytest.raises(InvalidRequest):
        invoice_payment_record(invoice=invoice, amount=60_001, now=T0)
    assert InvoicePayment.objects.count() == 1
    invoice_payment_record(invoice=invoice, amount=60_000, now=T0)
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    recorded = InvoicePayment.objects.filter(invoice=invoice)
    assert sorted(recorded.values_list("amount_paid", flat=True)) == [40_000, 60_000]
    assert all(payment.payment_record for payment in recorded)


def test_reminders_before_on_and_after_the_due_date_once_each():
    invoice = _send_invoice()
    due = invoice.due_date
    assert invoice_reminders_send_due(now=due - timedelta(days=4)) == 0
    assert invoice_reminders_send_due(now=due - timedelta(days=3)) == 1
    assert invoice_reminders_send_due(now=due - timedelta(days=2)) == 0
    assert invoice_reminders_send_due(now=due) == 1
    assert invoice_reminders_send_due(now=due) == 0
    assert invoice_reminders_send_due(now=due + timedelta(days=7)) == 1
    assert sorted(InvoiceReminder.objects.values_list("offset_days", flat=True)) == [
        -3,
        0,
        7,
    ]
    subjects = list(OutboundEmail.objects.values_list("subject", flat=True))
    assert sum(subject.startswith("Reminder:") for subject in subjects) == 2
    assert sum(subject.startswith("Overdue:") for subject in subjects) == 1


def test_a_paid_invoice_gets_no_reminder():
    invoice = _send_invoice()
    invoice_payment_record(invoice=invoice, amount=100_000, now=T0)
    assert invoice_reminders_send_due(now=invoice.due_date) == 0


def test_bank_statement_reconciliation():
    full = _send_invoice(100_000)
    part = _send_invoice(50_000)
    small = _send_invoice(1_000)
    csv_text = (
        "Date,Amount,Currency,Reference\n"
        f"2026-05-02,1000.00,USD,{full.number}\n"
        f"2026-05-02,200.00,USD,Payment {part.number} thanks\n"
        f"2026-05-03,25.00,USD,{small.number}\n"
        "2026-05-03,75.00,USD,no idea what this is\n"
    )
    statement = bank_statement_import(
        name="May", csv_text=csv_text, now=T0, livemode=False
    )
    lines = list(statement.lines.order_by("row"))
    assert [line.status for line in lines] == [
        "matched",
        "matched",
        "unmatched",
        "unmatched",
    ]
    full.refresh_from_db()
    part.refresh_from_db()
    assert full.status == "paid"
    assert (part.status, part.amount_paid, part.amount_remaining) == (
        "open",
        20_000,
        30_000,
    )
    assert lines[2].invoice == small
    assert "remains due" in lines[2].note
    assert lines[3].note == "no invoice with this number"
    # Staff assign the unknown 75.00 to the partly paid invoice.
    assert statement_line_assign(line=lines[3], invoice=part, now=T0)
    lines[3].refresh_from_db()
    part.refresh_from_db()
    assert lines[3].status == "assigned"
    assert part.amount_paid == 27_500
    assert StatementLine.objects.filter(status="unmatched").count() == 1


@pytest.mark.parametrize(
    "csv_text",
    [
        "Date,Amount,Reference\nyesterday,10.00,INV-1\n",
        "Date,Amount,Reference\n2026-05-02,ten,INV-1\n",
        "Date,Amount,Reference\n2026-05-02,10.001,INV-1\n",
    ],
)
def test_a_malformed_statement_is_refused_with_nothing_written(csv_text):
    with pytest.raises(InvalidRequest):
        bank_statement_import(name="bad", csv_text=csv_text, now=T0, livemode=False)
    assert not BankStatement.objects.exists()
