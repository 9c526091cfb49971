"""Step 4, commitment: a true-up line when a period's usage falls short of a
minimum-spend commitment.

Reads ``lines`` and ``discounts`` (the discount step's) and ``commitment``, the
terms ``collect`` found for the invoice's subscription and period (None: the step
does nothing, and nothing was read). Writes ``lines``: the true-up line, appended
after every other line (the discount step's line indexes stay valid), or the
amount of the one already written set afresh.

What counts towards the minimum is the period's spend after discounts: the lines
of the subscription whose period lies in the billing period, on this invoice and on
the period's other invoices (``billed_before``). With ``spend_scope`` ``usage``
that is usage (metered lines, late usage, usage of removed items); with
``all_charges`` also licensed fees and their prorations (one-off invoice items
never count). The minimum itself is already prorated (``prorated_minimum``) when
the term or a cancellation cuts the period short. Orb and
OpenMeter apply minimums after discounts and before credits and taxes; so does
Tally. The true-up is not discountable (a coupon would otherwise take the customer
below the minimum again), credit grants do not pay it (it is no metered usage;
usage paid by credits still counts towards the minimum), and taxes apply to it as
to any charge of the subscription.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from billing.compose.draft import DraftLine, InvoiceDraft
from billing.periods import fraction

TRUE_UP = "true_up"
USAGE_KINDS = ("metered", "late_usage")
LICENSED = "licensed"
INVOICE_ITEM = "invoice_item"
# ``proration`` values that prorate a period cut short at its start / its end.
PRORATE_FIRST = ("first_and_last", "first")
PRORATE_LAST = ("first_and_last", "last")


@dataclass(frozen=True)
class CommitmentTerms:
    """A minimum-spend commitment as one invoice's period meets it."""

    commitment_id: str
    subscription_id: str
    minimum: int  # minor units owed for this invoice's period, prorated
    # The billing period whose spend counts (a whole period, even when a
    # cancellation ends the subscription inside it).
    period_start: datetime
    period_end: datetime
    # The period's spend on the subscription's other invoices, after discounts.
    billed_before: int = 0
    description: str = "Minimum spend true-up"
    spend_scope: str = "usage"
    # The true-up line's own period, when it is shorter (prorated): else the above.
    line_start: datetime | None = None
    line_end: datetime | None = None
    prorated: bool = False


def is_usage(line: DraftLine) -> bool:
    """Usage lines, including the usage of a removed metered item."""
    return line.kind in USAGE_KINDS or (line.kind == INVOICE_ITEM and line.metered)


def counts_as_spend(line: DraftLine, scope: str) -> bool:
    """Whether a line's kind counts towards a minimum of ``scope``."""
    if is_usage(line):
        return True
    if scope != "all_charges":
        return False
    return line.kind == LICENSED or (line.kind == INVOICE_ITEM and line.proration)


def counts_towards(line: DraftLine, terms: CommitmentTerms) -> bool:
    """Whether the line is spend of the commitment's subscription and period."""
    return (
        counts_as_spend(line, terms.spend_scope)
        and line.subscription_id == terms.subscription_id
        and terms.period_start <= line.period_start
        and line.period_end <= terms.period_end
    )


def prorated_minimum(
    *,
    amount: int,
    proration: str,
    full_start: datetime,
    full_end: datetime,
    start: datetime,
    end: datetime,
) -> tuple[int, bool]:
    """The minimum a part ``[start, end)`` of the full period ``[full_start,
    full_end)`` owes, and whether it was prorated.

    A part that starts late (a term or a subscription starting mid-cycle) is
    prorated when ``proration`` names the first period; one that ends early (a
    term ending, a cancellation) when it names the last; otherwise the part owes
    the whole minimum, as Metronome's ``proration`` does. The share is an exact
    ratio of seconds, as for licensed prorations, rounded once, half up.
    """
    if start > full_start and proration not in PRORATE_FIRST:
        start = full_start
    if end < full_end and proration not in PRORATE_LAST:
        end = full_end
    share = fraction(start, end, full_start, full_end)
    if share >= 1:
        return amount, False
    owed = (Decimal(amount) * share).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(owed), True


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
        period_start=terms.line_start or terms.period_start,
        period_end=terms.line_end or terms.period_end,
        subscription_id=terms.subscription_id,
        proration=terms.prorated,
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
