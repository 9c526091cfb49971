"""Which payment method an invoice is charged to."""

from __future__ import annotations

from billing.models import Invoice
from payments.models import PaymentMethod


def payment_method_candidates(invoice: Invoice) -> list[str]:
    """The ``pm_`` ids to try, in order: the invoice's, its subscription's, its
    customer's invoice default."""
    candidates = [invoice.default_payment_method]
    if invoice.subscription_id is not None:
        candidates.append(invoice.subscription.default_payment_method)
    settings = invoice.customer.invoice_settings or {}
    candidates.append(settings.get("default_payment_method"))
    return [candidate for candidate in candidates if candidate]


def invoice_payment_method(invoice: Invoice) -> PaymentMethod | None:
    """The first candidate still attached to the invoice's customer."""
    for payment_method_id in payment_method_candidates(invoice):
        method = PaymentMethod.objects.filter(
            pk=payment_method_id, customer_id=invoice.customer_id
        ).first()
        if method is not None:
            return method
    return None
