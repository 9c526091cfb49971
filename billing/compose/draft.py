"""The values the composition pipeline passes from step to step.

A ``DraftLine`` is one invoice line before it is written; an ``InvoiceDraft`` is
the whole invoice: its lines, what the later steps read (credit grants, the
customer's balance) and what each step writes (credit allocations, totals).
Both are frozen: a step returns a new draft (``dataclasses.replace``), so a
preview and a finalization that start from the same draft cannot diverge.
Amounts are integers in minor units, each line rounded once by ``rate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from billing.taxes.calculate import LineTax, RateSpec, exclusive_total
from billing.taxes.provider import TaxCustomer

if TYPE_CHECKING:
    from billing.compose.commitment import CommitmentTerms
    from billing.compose.discount import DiscountAllocation, DiscountCandidate
    from catalog.models import Price
    from credits.allocation import Allocation, GrantCandidate


@dataclass(frozen=True)
class DraftLine:
    """An invoice line before it is written; ``amount`` in minor units."""

    kind: str
    amount: int  # minor units, rounded once
    currency: str
    description: str
    period_start: datetime
    period_end: datetime
    price: Price | None = None  # a loaded row, read only
    quantity: Decimal | None = None
    unit_amount_decimal: Decimal | None = None
    subscription_id: str | None = None
    subscription_item_id: str | None = None
    invoice_item_id: str | None = None
    proration: bool = False
    proration_details: dict | None = None
    discountable: bool = True
    metadata: dict = field(default_factory=dict)
    tax_rates: tuple[str, ...] = ()  # the line's own; else the invoice's defaults

    @property
    def metered(self) -> bool:
        return bool(self.price is not None and self.price.is_metered)


@dataclass(frozen=True)
class InvoiceDraft:
    """An invoice between ``rate`` and ``persist``; each step fills its part.

    Read by the steps (set by ``collect``): ``lines``, ``coupons``, ``grants``,
    ``commitment``, ``customer_balance``, ``now``, the tax inputs. Written, in
    pipeline order: ``discounts`` (discount), a true-up line (commitment),
    ``credits`` (credits), ``taxes`` (tax),
    ``starting_balance`` / ``ending_balance`` (customer balance), ``subtotal`` /
    ``total`` / ``amount_due`` (totals).
    """

    customer_id: str
    currency: str
    lines: tuple[DraftLine, ...]
    now: datetime
    grants: tuple[GrantCandidate, ...] = ()  # live grants; () skips the step
    customer_balance: int = 0  # minor units; negative is credit the customer has
    coupons: tuple[DiscountCandidate, ...] = ()  # in the order they apply
    # Per line, by position in ``lines``: (line index, amount) in minor units.
    discounts: tuple[tuple[int, int], ...] = ()
    discount_allocations: tuple[DiscountAllocation, ...] = ()  # ``discounts`` named
    # A minimum-spend commitment the invoice's period meets; None skips the step.
    commitment: CommitmentTerms | None = None
    credits: tuple[Allocation, ...] = ()  # ``line_id`` is the line's index
    # Read by ``tax`` (set by ``collect``): rate ids for lines without their own,
    # the rates named, the customer's tax status.
    default_tax_rates: tuple[str, ...] = ()
    tax_rate_specs: tuple[RateSpec, ...] = ()
    tax_customer: TaxCustomer = field(default_factory=TaxCustomer)
    # Per line and rate, inclusive and exclusive (``LineTax.line`` is the index).
    taxes: tuple[LineTax, ...] = ()
    subtotal: int = 0
    total: int = 0
    starting_balance: int = 0
    ending_balance: int = 0
    amount_due: int = 0

    @property
    def total_discount(self) -> int:
        return sum(amount for _, amount in self.discounts)

    @property
    def total_credit(self) -> int:
        return sum(allocation.amount for allocation in self.credits)

    @property
    def total_tax(self) -> int:
        """Exclusive taxes: what tax adds to the total (inclusive ones add nothing)."""
        return exclusive_total(self.taxes)

    def credits_of(self, index: int) -> list[Allocation]:
        """The credit allocations of the line at ``index``, in grant order."""
        return [a for a in self.credits if a.line_id == str(index)]
