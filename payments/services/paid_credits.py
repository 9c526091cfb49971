"""Paid credits: a prepayment invoice, once paid, grants its credits (seed 003).

An invoice is a prepayment when its metadata says what it buys:
``tally_credit_grant_amount`` (minor units; "total" for the invoice's total) and
optionally ``tally_credit_grant_months`` (expiry, months after payment) and
``tally_credit_grant_name``. The grant is ``category: paid``, linked to the
invoice both ways (``PaidCredit`` unique per invoice; the grant's metadata names
the invoice), and made in the paying transaction: a rerun grants nothing more.
"""

from __future__ import annotations

import logging
from datetime import datetime

from billing.models import Invoice
from billing.periods import add_months
from credits.models import CreditGrant
from credits.services import credit_grant_create
from payments.models import PaidCredit

logger = logging.getLogger(__name__)

AMOUNT_KEY = "tally_credit_grant_amount"
MONTHS_KEY = "tally_credit_grant_months"
NAME_KEY = "tally_credit_grant_name"


def prepayment_terms(invoice: Invoice) -> tuple[int, int | None] | None:
    """(credit amount, months until expiry) the invoice buys, or None."""
    metadata = invoice.metadata or {}
    if AMOUNT_KEY not in metadata:
        return None
    raw = str(metadata[AMOUNT_KEY]).strip()
    try:
        amount = invoice.total if raw == "total" else int(raw)
        months = int(metadata[MONTHS_KEY]) if metadata.get(MONTHS_KEY) else None
    except ValueError:
        logger.warning(
            "invoice %s: unreadable prepayment terms %r", invoice.pk, metadata
        )
        return None
    if amount <= 0 or (months is not None and months <= 0):
        return None
    return amount, months


def invoice_paid_credits_grant(
    *, invoice: Invoice, now: datetime
) -> CreditGrant | None:
    """Grant a paid prepayment invoice's credits, once (inside its transaction)."""
    terms = prepayment_terms(invoice)
    if terms is None or PaidCredit.objects.filter(invoice=invoice).exists():
        return None
    amount, months = terms
    grant = credit_grant_create(
        customer=invoice.customer,
        value=amount,
        currency=invoice.currency,
        category=CreditGrant.Category.PAID,
        expires_at=add_months(now, months, now.day) if months else None,
        name=(invoice.metadata or {}).get(NAME_KEY) or f"Prepaid {invoice.number}",
        metadata={"invoice": invoice.pk},
        now=now,
    )
    PaidCredit.objects.create(invoice=invoice, credit_grant=grant, created=now)
    return grant


def on_invoice_paid(sender, invoice: Invoice, now: datetime, **kwargs) -> None:
    invoice_paid_credits_grant(invoice=invoice, now=now)
