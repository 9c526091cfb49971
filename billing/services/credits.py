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
from dataclasses import replace
from datetime import datetime

from billing.compose.credits import creditable_lines
from billing.compose.draft import InvoiceDraft
from billing.models import Invoice, InvoiceLineItem
from billing.services.discount_step import invoice_discount_step
from billing.services.persist import invoice_draft_of
from billing.taxes.invoices import TaxContext
from credits.allocation import Allocation
from credits.selectors import customers_with_grant_candidates
from credits.services import (
    credits_apply_to_invoice,
    credits_preview_for_invoice,
    credits_reinstate_for_invoice,
)


def customers_with_credits(*, customer_ids: Iterable[str], now: datetime) -> set[str]:
    """Those of ``customer_ids`` whose invoices may meet credits at ``now``.

    One query for a batch: the other customers' invoices skip the credits step.
    """
    return customers_with_grant_candidates(customer_ids=customer_ids, now=now)


def invoice_credits_step(
    *,
    invoice: Invoice,
    lines: Sequence[InvoiceLineItem],
    draft: InvoiceDraft,
    preview: bool = False,
    has_grants: bool = True,
) -> InvoiceDraft:
    """The pipeline's credits step on a written invoice: allocate, and post.

    The allocation is ``billing.compose.credits``'s (after discounts, in grant
    order); on finalization the ledger debits and the frozen amounts commit
    together or not at all. ``preview`` computes the same allocation without
    writing. ``has_grants=False`` (from ``customers_with_credits``) skips the
    reads.
    """
    applications = []
    if has_grants:
        eligible = [
            replace(line, line_id=lines[int(line.line_id)].pk)
            for line in creditable_lines(draft)
        ]
        # Most invoices meet no grant: the preview (one read) says so, no locks.
        applications = credits_preview_for_invoice(
            customer_id=invoice.customer_id, lines=eligible, now=draft.now
        )
    if applications and not preview:
        applications = credits_apply_to_invoice(
            customer_id=invoice.customer_id,
            invoice_id=invoice.pk,
            lines=eligible,
            now=draft.now,
        )
    _record(invoice, lines, applications)
    index = {line.pk: str(position) for position, line in enumerate(lines)}
    return replace(
        draft,
        credits=tuple(
            Allocation(index[a.line_id], a.credit_grant_id, a.amount)
            for a in applications
        ),
    )


def _record(invoice, lines, applications) -> None:
    """Each line's ``pretax_credit_amounts`` and the invoice's total of them."""
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


def invoice_pretax_amount(
    *,
    invoice: Invoice,
    lines: Sequence[InvoiceLineItem],
    now: datetime,
    has_grants: bool = True,
) -> int:
    """Subtotal less discounts and credits, no tax: what billing thresholds
    compare (seed 002); computed as a preview, nothing written."""
    draft = _up_to_credits(invoice, lines, now, True, has_grants)
    subtotal = sum(line.amount for line in draft.lines)
    return subtotal - draft.total_discount - draft.total_credit


def _up_to_credits(invoice, lines, now, preview, has_grants) -> InvoiceDraft:
    # The steps before tax: no rate is read (``TaxContext()`` holds none).
    draft = invoice_draft_of(invoice, lines, now=now, taxes=TaxContext())
    draft = invoice_discount_step(invoice=invoice, lines=lines, draft=draft)
    return invoice_credits_step(
        invoice=invoice,
        lines=lines,
        draft=draft,
        preview=preview,
        has_grants=has_grants,
    )


def invoice_credits_reinstate(*, invoice: Invoice, now: datetime) -> None:
    """Give back the credits a voided invoice used (one ledger credit per debit)."""
    if invoice.total_pretax_credit_amounts:
        credits_reinstate_for_invoice(invoice_id=invoice.pk, now=now)
