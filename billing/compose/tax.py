"""Step 5, tax: tax rates on what is left after discounts and credits.

Reads ``lines`` less ``discounts`` and ``credits`` per line (Stripe taxes the
amount after discounts and pretax credits); writes ``taxes`` as (line index,
minor units) pairs of exclusive taxes, rounded per line. Inclusive taxes change
no total. Tally has no tax rates yet: the step returns the draft unchanged.
"""

from __future__ import annotations

from billing.compose.draft import InvoiceDraft


def taxable_amount(draft: InvoiceDraft, index: int) -> int:
    """What the line at ``index`` is taxed on: after discounts and credits."""
    line = draft.lines[index]
    discounted = sum(amount for at, amount in draft.discounts if at == index)
    credited = sum(a.amount for a in draft.credits_of(index))
    return line.amount - discounted - credited


def tax(draft: InvoiceDraft) -> InvoiceDraft:
    """Compute the invoice's taxes (no tax rates are defined yet)."""
    return draft
