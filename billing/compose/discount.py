"""Step 3, discount: coupons and promotion codes reduce discountable lines.

Reads ``lines`` (``discountable``, ``amount``); writes ``discounts`` as
(line index, minor units) pairs, each line's discount rounded once. Stripe
applies discounts before credits and taxes, so credits cover the discounted
amount and tax is computed on it. Tally has no coupons yet: the step returns the
draft unchanged, and holds the place so the order stays fixed.
"""

from __future__ import annotations

from billing.compose.draft import InvoiceDraft


def discount(draft: InvoiceDraft) -> InvoiceDraft:
    """Apply the invoice's discounts (none are defined yet)."""
    return draft
