"""Step 8, totals: subtotal, total and amount due from what the steps wrote.

``subtotal`` is the sum of the lines; ``total`` is subtotal − discounts −
credits + exclusive taxes; ``amount_due`` is total + starting balance, never
below zero. Every term is already rounded (each line once in ``rate``, each
discount, credit and tax per line), so the totals are exact sums.
"""

from __future__ import annotations

from dataclasses import replace

from billing.compose.balance import total_before_balance
from billing.compose.draft import InvoiceDraft


def totals(draft: InvoiceDraft) -> InvoiceDraft:
    """Sum the invoice."""
    total = total_before_balance(draft)
    return replace(
        draft,
        subtotal=sum(line.amount for line in draft.lines),
        total=total,
        amount_due=max(total + draft.starting_balance, 0),
    )
