"""Step 3, discount: coupons and promotion codes reduce discountable lines.

Reads ``lines`` (``discountable``, ``amount``, the price's product) and
``coupons`` (the discounts ``collect`` found for the invoice, in the order they
apply); writes ``discounts`` as (line index, minor units) pairs and
``discount_allocations`` naming the discount of each pair. Stripe applies
discounts before credits and taxes, so credits cover the discounted amount and
tax is computed on it.

The rules, each discount in turn on what earlier ones left of a line:
- a discount applies to the positive, ``discountable`` lines of its products
  (``applies_to.products``; none listed: every line); an invoice item's own
  discount only to that item's line, and before the invoice's discounts;
- ``percent_off``: each line's share rounded once, ROUND_HALF_UP;
- ``amount_off``: at most what the lines have left, spread over them in
  proportion to what each has left; each share is rounded down and the cents
  left over go one by one to the lines with the largest remainders (earlier
  lines first on ties), so the shares add up exactly to the amount taken off.
A coupon in another currency than the invoice takes nothing off.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from billing.compose.draft import DraftLine, InvoiceDraft

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class DiscountCandidate:
    """A discount that may apply to an invoice, as the step sees it."""

    discount_id: str
    percent_off: Decimal | None = None
    amount_off: int | None = None  # minor units of ``currency``
    currency: str | None = None
    products: frozenset[str] = frozenset()  # empty: every product
    invoice_item_id: str | None = None  # an item's own discount


@dataclass(frozen=True)
class DiscountAllocation:
    """Minor units a discount took off one line (by index in ``lines``)."""

    line: int
    discount_id: str
    amount: int


def applies_at(
    *,
    duration: str,
    start: datetime,
    end: datetime | None,
    once_invoice_id: str | None,
    invoice_id: str | None,
    moment: datetime,
) -> bool:
    """Whether a customer's or subscription's discount applies to an invoice made
    at ``moment``: ``forever``; ``repeating`` before its ``end``; ``once`` on the
    first invoice that uses it."""
    if moment < start:
        return False
    if duration == "repeating":
        return end is None or moment < end
    if duration == "once":
        return once_invoice_id is None or once_invoice_id == invoice_id
    return True


def _eligible(line: DraftLine, candidate: DiscountCandidate, currency: str) -> bool:
    if not line.discountable or line.currency != currency:
        return False
    if candidate.invoice_item_id and line.invoice_item_id != candidate.invoice_item_id:
        return False
    if candidate.products:
        product = line.price.product_id if line.price is not None else None
        return product in candidate.products
    return True


def percent_shares(left: dict[int, int], percent: Decimal) -> dict[int, int]:
    """Each line's ``percent`` of what it has left, rounded once per line."""
    return {
        index: int(
            (Decimal(amount) * percent / HUNDRED).quantize(
                Decimal(1), rounding=ROUND_HALF_UP
            )
        )
        for index, amount in left.items()
    }


def amount_shares(left: dict[int, int], amount_off: int) -> dict[int, int]:
    """``amount_off`` (capped at what is left) split in proportion, to the cent."""
    base = sum(left.values())
    taken = min(amount_off, base)
    if taken <= 0:
        return {}
    shares, remainders = {}, []
    for index, amount in left.items():
        share, remainder = divmod(taken * amount, base)
        shares[index] = share
        remainders.append((-remainder, index))
    for _, index in sorted(remainders)[: taken - sum(shares.values())]:
        shares[index] += 1
    return shares


def _shares(
    candidate: DiscountCandidate, left: dict[int, int], currency: str
) -> dict[int, int]:
    if candidate.percent_off is not None:
        return percent_shares(left, candidate.percent_off)
    if candidate.amount_off is None or candidate.currency != currency:
        return {}
    return amount_shares(left, candidate.amount_off)


def ordered(candidates: tuple[DiscountCandidate, ...]) -> list[DiscountCandidate]:
    """Item discounts first, then the invoice's, each group in its own order."""
    return sorted(candidates, key=lambda candidate: candidate.invoice_item_id is None)


def discount(draft: InvoiceDraft) -> InvoiceDraft:
    """Apply the invoice's discounts to its lines (no discounts: unchanged)."""
    if not draft.coupons:
        return draft
    left = {index: line.amount for index, line in enumerate(draft.lines)}
    allocations: list[DiscountAllocation] = []
    for candidate in ordered(draft.coupons):
        eligible = {
            index: left[index]
            for index, line in enumerate(draft.lines)
            if left[index] > 0 and _eligible(line, candidate, draft.currency)
        }
        for index, amount in _shares(candidate, eligible, draft.currency).items():
            if amount > 0:
                left[index] -= amount
                allocations.append(
                    DiscountAllocation(index, candidate.discount_id, amount)
                )
    return replace(
        draft,
        discounts=tuple((a.line, a.amount) for a in allocations),
        discount_allocations=tuple(allocations),
    )
