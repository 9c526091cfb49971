"""Step 4, commitment: a true-up line when a period's usage falls short of a
minimum-spend commitment.

Reads ``lines`` and ``discounts`` (the discount step's) and ``commitment``, the
terms ``collect`` found for the invoice's subscription and period (None: the step
does nothing, and nothing was read). Writes ``lines``: the true-up line, appended
after every other line (the discount step's line indexes stay valid), or the
amount of the one already written set afresh.

What counts towards the minimum is the period's usage after discounts: the usage
lines of the subscription whose period lies in the commitment's period, on this
invoice and on the period's threshold invoices (``billed_before``). Orb and
OpenMeter apply minimums after discounts and before credits and taxes; so does
Tally. The true-up is not discountable (a coupon would otherwise take the customer
below the minimum again), credit grants do not pay it (it is no metered usage;
usage paid by credits still counts towards the minimum), and taxes apply to it as
to any charge of the subscription.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from billing.compose.draft import DraftLine, InvoiceDraft

TRUE_UP = "true_up"
USAGE_KINDS = ("metered", "late_usage")


@dataclass(frozen=True)
class CommitmentTerms:
    """A minimum-spend commitment as one invoice's period meets it."""

    commitment_id: str
    subscription_id: str
    minimum: int  # minor units per period
    period_start: datetime
    period_end: datetime
    # The period's usage on the subscription's other invoices, after discounts.
    billed_before: int = 0
    description: str = "Minimum spend true-up"


def counts_towards(line: DraftLine, terms: CommitmentTerms) -> bool:
    """Whether the line is usage of the commitment's subscription and period."""
    return (
        line.kind in USAGE_KINDS
        and line.subscription_id == terms.subscription_id
        and terms.period_start <= line.period_start
        and line.period_end <= terms.period_end
    )


def period_spend(draft: InvoiceDraft, terms: CommitmentTerms) -> int:
    """The period's usage after discounts: this invoice's and the earlier ones'."""
    discounted: dict[int, int] = {}
    for index, amount in draft.discounts:
        discounted[index] = discounted.get(index, 0) + amount
    return terms.billed_before + sum(
        line.amount - discounted.get(index, 0)
        for index, line in enumerate(draft.lines)
        if counts_towards(line, terms)
    )


def true_up_line(terms: CommitmentTerms, amount: int, currency: str) -> DraftLine:
    return DraftLine(
        kind=TRUE_UP,
        amount=amount,
        currency=currency,
        description=terms.description,
        period_start=terms.period_start,
        period_end=terms.period_end,
        subscription_id=terms.subscription_id,
        discountable=False,
        metadata={"commitment": terms.commitment_id},
    )


def apply_commitment(draft: InvoiceDraft) -> InvoiceDraft:
    """Add (or set) the true-up of the period's shortfall; no terms: unchanged."""
    terms = draft.commitment
    if terms is None:
        return draft
    shortfall = max(0, terms.minimum - period_spend(draft, terms))
    lines = list(draft.lines)
    for index, line in enumerate(lines):
        if line.kind == TRUE_UP and line.subscription_id == terms.subscription_id:
            lines[index] = replace(line, amount=shortfall)
            return replace(draft, lines=tuple(lines))
    if shortfall == 0:
        return draft
    lines.append(true_up_line(terms, shortfall, draft.currency))
    return replace(draft, lines=tuple(lines))
