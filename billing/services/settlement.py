"""Money received on a finalized invoice: the one place its paid amounts move.

Callers hold the invoice's row lock (``invoice_lock``) and run inside its
transaction: out-of-band payments (``invoice_pay``), charges and partial payments
recorded by the payments app. A payment that covers what remains pays the
invoice: ``invoice.paid``, and its subscription comes back from past due.
"""

from __future__ import annotations

from datetime import datetime

from billing.models import Invoice, Subscription
from billing.services.events import before, emit, emit_updated
from billing.signals import invoice_paid
from core.errors import InvalidRequest, InvalidState

_PAYABLE = (Invoice.Status.OPEN, Invoice.Status.UNCOLLECTIBLE)


def invoice_lock(invoice_id: str) -> Invoice:
    """Lock an invoice, after its subscription (billing's locking order)."""
    subscription_id = (
        Invoice.objects.filter(pk=invoice_id)
        .values_list("subscription_id", flat=True)
        .first()
    )
    if subscription_id is not None:
        Subscription.objects.select_for_update().filter(pk=subscription_id).first()
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("customer", "subscription")
        .get(pk=invoice_id)
    )


def invoice_check_payable(invoice: Invoice) -> None:
    """Refuse a payment on a draft, paid or void invoice."""
    if invoice.status == Invoice.Status.PAID:
        raise InvalidState("Invoice is already paid.", code="invoice_already_paid")
    if invoice.status not in _PAYABLE:
        raise InvalidState(
            f"You can only pay an invoice that is open or uncollectible; this one "
            f"is {invoice.status}.",
            code="invoice_not_open"
            if invoice.status != "draft"
            else "invoice_not_editable",
        )


def invoice_payment_apply(
    *, invoice: Invoice, amount: int, now: datetime, out_of_band: bool = False
) -> Invoice:
    """Add ``amount`` (minor units, ≤ what remains) to a locked invoice's payments."""
    invoice_check_payable(invoice)
    if amount <= 0 or amount > invoice.amount_remaining:
        raise InvalidRequest(
            f"The amount must be between 1 and {invoice.amount_remaining}, what "
            "remains due on the invoice.",
            param="amount",
            code="amount_too_large" if amount > 0 else "parameter_invalid",
        )
    invoice.amount_paid += amount
    invoice.amount_remaining -= amount
    fields = ["amount_paid", "amount_remaining"]
    if invoice.amount_remaining == 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_at = now
        invoice.paid_out_of_band = out_of_band
        invoice.auto_advance = False
        invoice.next_payment_attempt = None
        fields += [
            "status",
            "paid_at",
            "paid_out_of_band",
            "auto_advance",
            "next_payment_attempt",
        ]
    invoice.save(update_fields=fields)
    if invoice.status == Invoice.Status.PAID:
        emit("invoice.paid", invoice)
        subscription_settle_paid(invoice)
        invoice_paid.send(sender=Invoice, invoice=invoice, now=now)
    else:
        emit("invoice.updated", invoice)
    return invoice


def subscription_settle_paid(invoice: Invoice) -> None:
    """A paid invoice brings its subscription back from incomplete or past due."""
    if invoice.subscription_id is None:
        return
    sub = Subscription.objects.select_for_update().get(pk=invoice.subscription_id)
    settles = (
        Subscription.Status.INCOMPLETE,
        Subscription.Status.PAST_DUE,
        Subscription.Status.UNPAID,
    )
    if sub.status not in settles:
        return
    overdue = Invoice.objects.filter(
        subscription=sub, status=Invoice.Status.OPEN, due_date__isnull=False
    ).exclude(pk=invoice.pk)
    if (
        sub.status != Subscription.Status.INCOMPLETE
        and overdue.filter(due_date__lte=invoice.paid_at).exists()
    ):
        return
    was = before(sub)
    sub.status = Subscription.Status.ACTIVE
    sub.incomplete_expires_at = None
    sub.save(update_fields=["status", "incomplete_expires_at"])
    emit_updated("customer.subscription.updated", sub, was)
