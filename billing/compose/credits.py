"""Step 5, credits: billing credit grants pay metered lines, before tax.

Reads ``lines`` (after ``discounts``), ``grants`` and ``now``; writes
``credits``, the allocations of ``credits.allocation.allocate`` with each line's
index as its id. The allocation is the one finalization posts to the ledger
(``credits_apply_to_invoice`` runs the same ``allocate`` on the same grants,
locked), so a preview shows what the invoice will apply. Stripe applies credit
grants after discounts and before taxes (pretax credit amounts).
"""

from __future__ import annotations

from dataclasses import replace

from billing.compose.draft import InvoiceDraft
from credits.allocation import CreditableLine, allocate


def creditable_lines(draft: InvoiceDraft) -> list[CreditableLine]:
    """The lines as the credits app sees them, after discounts."""
    discounted: dict[int, int] = {}
    for index, amount in draft.discounts:
        discounted[index] = discounted.get(index, 0) + amount
    return [
        CreditableLine(
            line_id=str(index),
            price_id=line.price.pk if line.price is not None else None,
            metered=line.metered,
            currency=line.currency,
            amount=line.amount - discounted.get(index, 0),
        )
        for index, line in enumerate(draft.lines)
    ]


def apply_credits(draft: InvoiceDraft) -> InvoiceDraft:
    """Allocate the collected grants to the lines (no grants: unchanged)."""
    if not draft.grants:
        return draft
    allocations = allocate(
        grants=draft.grants, lines=creditable_lines(draft), now=draft.now
    )
    return replace(draft, credits=tuple(allocations))
