"""Step 7, customer balance: what the customer owes or is owed, on amount due.

Reads the total before balance (``lines`` less ``discounts`` and ``credits``,
plus ``taxes``) and ``customer_balance`` (negative is credit); writes
``starting_balance`` and ``ending_balance``. A credit balance pays the invoice
up to its total and the rest stays with the customer; a positive balance is
added to what is due. As in Stripe, the balance comes after tax and changes
``amount_due``, never ``total``.
"""

from __future__ import annotations

from dataclasses import replace

from billing.compose.draft import InvoiceDraft


def total_before_balance(draft: InvoiceDraft) -> int:
    """Subtotal less discounts and credits, plus exclusive taxes (minor units)."""
    subtotal = sum(line.amount for line in draft.lines)
    return subtotal - draft.total_discount - draft.total_credit + draft.total_tax


def apply_balance(draft: InvoiceDraft) -> InvoiceDraft:
    """Apply the customer's balance to the invoice."""
    due = total_before_balance(draft) + draft.customer_balance
    return replace(
        draft, starting_balance=draft.customer_balance, ending_balance=min(due, 0)
    )
