"""Reads of the payments app."""

from __future__ import annotations

from django.db.models import QuerySet

from payments.models import InvoicePayment, PaymentMethod


def payment_method_list(
    *,
    customer_id: str | None = None,
    type: str | None = None,
    allow_redisplay: str | None = None,
) -> QuerySet[PaymentMethod]:
    """Payment methods in the active mode, a customer's only if given."""
    rows = PaymentMethod.objects.all()
    if customer_id:
        rows = rows.filter(customer_id=customer_id)
    if type:
        rows = rows.filter(type=type)
    if allow_redisplay:
        rows = rows.filter(allow_redisplay=allow_redisplay)
    return rows


def invoice_payment_list(
    *,
    invoice_id: str | None = None,
    status: str | None = None,
    payment: dict | None = None,
) -> QuerySet[InvoicePayment]:
    """Invoice payments in the active mode, filtered as ``/v1/invoice_payments``."""
    rows = InvoicePayment.objects.all()
    if invoice_id:
        rows = rows.filter(invoice_id=invoice_id)
    if status:
        rows = rows.filter(status=status)
    if payment:
        if payment["type"] == "payment_intent":
            rows = rows.filter(payment_intent__isnull=False)
        else:
            rows = rows.filter(payment_intent__isnull=True)
        if payment.get("payment_intent"):
            rows = rows.filter(payment_intent_id=payment["payment_intent"])
        if payment.get("payment_record"):
            rows = rows.filter(payment_record=payment["payment_record"])
    return rows
