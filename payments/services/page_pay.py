"""Paying from a page (the hosted invoice page): one charge per form shown."""

from __future__ import annotations

from datetime import datetime

from core.errors import TallyError
from payments.models import PaymentAttempt
from payments.services.collection import invoice_pay


def invoice_pay_once(
    *, invoice, payment_method: str, attempts_seen: int, now: datetime
) -> PaymentAttempt | None:
    """Charge ``invoice`` as attempt ``attempts_seen + 1``, unless that one was made.

    The form carries the attempt count it was shown with: submitted again (a
    double click, a reload, the back button) it finds its attempt made and
    charges nothing more. A decline is recorded on the attempt, which is
    returned; a refusal (paid meanwhile, void, unknown method) raises. None: the
    invoice was attempted meanwhile by another (a retry job), not by this form.
    """
    number = attempts_seen + 1
    made = PaymentAttempt.objects.filter(invoice=invoice, number=number).first()
    if made is not None:
        return made
    try:
        invoice_pay(
            invoice=invoice,
            payment_method=payment_method,
            off_session=False,  # the customer is at the page
            now=now,
            number=number,
        )
    except TallyError:
        # Declined, needs authentication, processor unreachable: the attempt
        # records it. Anything refused before an attempt is the caller's to show.
        if not PaymentAttempt.objects.filter(invoice=invoice, number=number).exists():
            raise
    return PaymentAttempt.objects.filter(invoice=invoice, number=number).first()
