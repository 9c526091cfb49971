"""The composition pipeline, in the order Stripe applies the steps.

collect → rate → discount → commitment → credits → tax → customer balance →
totals, then
persist (``billing.services.persist``) and, separately, finalize
(``billing.services.finalize``). ``collect`` reads in bulk and ``rate`` prices
the lines; ``compose`` runs the pure steps after them on an ``InvoiceDraft``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from billing.compose.balance import apply_balance
from billing.compose.collect import UsageReader, usage_so_far_collect
from billing.compose.commitment import apply_commitment
from billing.compose.credits import apply_credits
from billing.compose.discount import discount
from billing.compose.draft import DraftLine, InvoiceDraft
from billing.compose.rate import usage_so_far_lines
from billing.compose.tax import tax
from billing.compose.totals import totals
from billing.models import SubscriptionItem

Step = Callable[[InvoiceDraft], InvoiceDraft]

# The steps after ``rate``, in order (collect and rate come before, in bulk).
STEPS: tuple[Step, ...] = (
    discount,
    apply_commitment,
    apply_credits,
    tax,
    apply_balance,
    totals,
)


def compose(draft: InvoiceDraft, steps: Sequence[Step] = STEPS) -> InvoiceDraft:
    """Run the steps after ``rate`` on a rated draft, in order."""
    for step in steps:
        draft = step(draft)
    return draft


def usage_so_far_drafts(
    *,
    customer_id: str,
    items: Sequence[SubscriptionItem],
    end: datetime,
    usage: UsageReader,
) -> list[DraftLine]:
    """Collect and rate the metered items' usage from their period start to ``end``.

    Each line bills what threshold invoices of the same period have not billed
    yet. Thresholds, cancellations, removed items and the usage pages use it.
    """
    values, billed = usage_so_far_collect(
        customer_id=customer_id, items=items, end=end, usage=usage
    )
    return usage_so_far_lines(items=items, end=end, usage=values, billed=billed)
