"""Billing credits on invoices: the one step of finalization that applies them.

Credits reduce an invoice before tax, line by line. The credits app decides which
grants pay which lines (only positive lines of metered prices, in the grant's
currency, see ``credits.allocation``) and writes one ledger debit per (grant, line)
inside the finalization transaction; billing records each application in the
line's ``pretax_credit_amounts`` (``[{amount, type: "credit_balance_transaction",
credit_balance_transaction}]``) and sums them into the invoice's
``total_pretax_credit_amounts``, so ``total`` and ``amount_due`` fall by the
credits used. A customer without grants gets two empty lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from billing.models import Invoice, InvoiceLineItem
from credits.selectors import customers_with_grant_candidates
from credits.services import (
    CreditableLine,
    credits_apply_to_invoice,
    credits_preview_for_invoice,
    credits_reinstate_for_invoice,
)


def creditable(
    invoice: Invoice, lines: Sequence[InvoiceLineItem]
) -> list[CreditableLine]:
    """The lines as the credits app sees them (rounded amounts, minor units)."""
    return [
        CreditableLine(
            line_id=line.pk,
            price_id=line.price_id,
            metered=bool(line.price_id and line.price.is_metered),
            currency=line.currency,
            amount=line.amount,
        )
        for line in lines
    ]


def customers_with_credits(*, customer_ids: Iterable[str], now: datetime) -> set[str]:
    """Those of ``customer_ids`` whose invoices may meet credits at ``now``.

    One query for a batch: the other customers' invoices skip the credits step.
    """
    return customers_with_grant_candidates(customer_ids=customer_ids, now=now)


def invoice_credits_apply(
    *,
    invoice: Invoice,
    lines: Sequence[InvoiceLineItem],
    now: datetime,
    preview: bool = False,
    has_grants: bool = True,
) -> int:
    """Apply credits to the invoice's lines; returns the total applied.

    On finalization the ledger debits and the frozen amounts commit together or
    not at all. ``preview`` computes the same allocation without writing.
    ``has_grants=False`` (from ``customers_with_credits``) skips the reads.
    """
    applications = []
    if has_grants:
        eligible = creditable(invoice, lines)
        # Most invoices meet no grant: the preview (one read) says so, no locks.
        applications = credits_preview_for_invoice(
            customer_id=invoice.customer_id, lines=eligible, now=now
        )
    if applications and not preview:
        applications = credits_apply_to_invoice(
            customer_id=invoice.customer_id,
            invoice_id=invoice.pk,
            lines=eligible,
            now=now,
        )
    by_line: dict[str, list[dict]] = {}
    for application in applications:
        by_line.setdefault(application.line_id, []).append(
            {
                "amount": application.amount,
                "type": "credit_balance_transaction",
                "credit_balance_transaction": (
                    application.credit_balance_transaction_id
                ),
                "discount": None,
            }
        )
    for line in lines:
        line.pretax_credit_amounts = by_line.get(line.pk, [])
    invoice.total_pretax_credit_amounts = [
        entry for line in lines for entry in line.pretax_credit_amounts
    ]
    return sum(application.amount for application in applications)


def invoice_credits_reinstate(*, invoice: Invoice, now: datetime) -> None:
    """Give back the credits a voided invoice used (one ledger credit per debit)."""
    if invoice.total_pretax_credit_amounts:
        credits_reinstate_for_invoice(invoice_id=invoice.pk, now=now)
