"""Dunning emails: a failed payment, with a link to pay on the customer's page."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings

from billing.models import Invoice
from core.money import format_minor
from core.notifications import send_email_on_commit
from core.services.portal import portal_session_create
from payments.models import PaymentAttempt


def pay_link(*, invoice: Invoice, now: datetime) -> str:
    """A new customer-page link to the invoice (valid for the page's lifetime)."""
    session = portal_session_create(
        customer=invoice.customer, now=now, base_url=settings.TALLY_PUBLIC_URL
    )
    return f"{session.url.rstrip('/')}/invoices/{invoice.pk}/pay/"


def payment_failed_email(
    *,
    invoice: Invoice,
    attempt: PaymentAttempt,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    """Tell the customer the charge failed, when it is retried, and where to pay."""
    if not invoice.customer_email or invoice.customer.deleted:
        return
    send_email_on_commit(
        to=[invoice.customer_email],
        template="payments/email/payment_failed",
        context={
            "invoice": invoice,
            "amount": format_minor(invoice.amount_remaining, invoice.currency),
            "reason": attempt.failure_message or "Your card was declined.",
            "needs_action": attempt.status == PaymentAttempt.Status.REQUIRES_ACTION,
            "retry_at": retry_at,
            "pay_url": pay_link(invoice=invoice, now=now),
        },
    )
