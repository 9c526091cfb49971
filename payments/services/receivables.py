"""``send_invoice`` invoices: payments staff record, due-date reminders.

A payment recorded by staff (a transfer, a cheque) may be part of what is due:
the invoice stays open with ``amount_paid`` grown until the rest arrives. Each is
an ``InvoicePayment`` of type ``payment_record``, written with the invoice locked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from billing.models import Invoice
from billing.services.settlement import invoice_lock, invoice_payment_apply
from core.ids import new_id
from core.money import format_minor
from core.notifications import send_email_on_commit
from payments.models import InvoicePayment, InvoiceReminder
from payments.services.emails import pay_link


def invoice_payment_record(
    *, invoice: Invoice, amount: int, now: datetime, reference: str = ""
) -> InvoicePayment:
    """Record ``amount`` (minor units, ≤ what is due) received outside Tally."""
    with transaction.atomic():
        invoice = invoice_lock(invoice.pk)
        invoice_payment_apply(invoice=invoice, amount=amount, now=now)
        return InvoicePayment.objects.create(
            invoice=invoice,
            payment_record=new_id("prec"),
            amount_requested=amount,
            amount_paid=amount,
            currency=invoice.currency,
            status=InvoicePayment.Status.PAID,
            paid_at=now,
            metadata={"reference": reference[:500]} if reference else {},
            created=now,
            livemode=invoice.livemode,
        )


def _due_offsets(invoice: Invoice, now: datetime) -> list[int]:
    """Reminder offsets (days from the due date) whose moment has come."""
    return [
        offset
        for offset in sorted(settings.TALLY_INVOICE_REMINDER_DAYS)
        if invoice.due_date + timedelta(days=offset) <= now
    ]


def invoice_reminders_send_due(*, now: datetime, test_clock=None) -> int:
    """Remind customers of open ``send_invoice`` invoices around their due date.

    One row per (invoice, offset): a rerun or a second worker sends nothing
    more. An invoice whose several moments passed at once gets the latest only.
    """
    first = min(settings.TALLY_INVOICE_REMINDER_DAYS, default=0)
    invoices = Invoice.objects.filter(
        status=Invoice.Status.OPEN,
        collection_method=Invoice.CollectionMethod.SEND_INVOICE,
        due_date__lte=now - timedelta(days=first),
        amount_remaining__gt=0,
        test_clock=test_clock,
    ).select_related("customer")
    sent = 0
    for invoice in invoices.order_by("id"):
        offsets = _due_offsets(invoice, now)
        done = set(
            InvoiceReminder.objects.filter(invoice=invoice).values_list(
                "offset_days", flat=True
            )
        )
        if not offsets or offsets[-1] in done:
            continue
        if _remind(invoice, offsets[-1], now):
            sent += 1
    return sent


def _remind(invoice: Invoice, offset: int, now: datetime) -> bool:
    try:
        with transaction.atomic():
            InvoiceReminder.objects.create(
                invoice=invoice,
                offset_days=offset,
                sent_at=now,
                livemode=invoice.livemode,
            )
            if invoice.customer_email:
                send_email_on_commit(
                    to=[invoice.customer_email],
                    template="payments/email/invoice_reminder",
                    context={
                        "invoice": invoice,
                        "amount": format_minor(
                            invoice.amount_remaining, invoice.currency
                        ),
                        "overdue": offset > 0,
                        "pay_url": pay_link(invoice=invoice, now=now),
                    },
                )
    except IntegrityError:
        return False  # another worker sent it
    return True
