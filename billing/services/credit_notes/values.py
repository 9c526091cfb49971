"""The values a credit note's computation reads and returns (``amounts``).

``LineView`` and ``InvoiceView``: the invoice as it stands, read under its lock;
``LineDraft`` and ``CreditNoteDraft``: what a credit note would credit. Amounts
are integers in minor units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class LineView:
    """An invoice line and what issued credit notes already took from it."""

    id: str
    amount: int
    quantity: Decimal | None
    description: str | None
    discount_amounts: tuple[dict, ...] = ()  # [{"amount", "discount"}]
    pretax_credit_amounts: tuple[dict, ...] = ()
    taxes: tuple[dict, ...] = ()  # Stripe's line ``taxes`` entries
    credited_amount: int = 0  # gross
    credited_quantity: int = 0
    credited_by: str | None = None  # QUANTITY or AMOUNT, once credited


@dataclass(frozen=True)
class InvoiceView:
    """The invoice a credit note is computed against."""

    id: str
    status: str
    currency: str
    total: int
    amount_paid: int
    amount_remaining: int
    credited: int  # the amounts of its issued credit notes
    refunded: int  # their refund amounts
    lines: Mapping[str, LineView]


@dataclass(frozen=True)
class LineDraft:
    type: str
    amount: int  # gross: before discounts, excluding tax
    description: str | None = None
    invoice_line_item: str | None = None
    discount_amounts: tuple[dict, ...] = ()
    pretax_credit_amounts: tuple[dict, ...] = ()
    taxes: tuple[dict, ...] = ()
    quantity: int | None = None
    unit_amount: int | None = None
    unit_amount_decimal: Decimal | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def discount_amount(self) -> int:
        return sum(entry["amount"] for entry in self.discount_amounts)

    @property
    def pretax_credit(self) -> int:
        return sum(entry["amount"] for entry in self.pretax_credit_amounts)

    def tax(self, behavior: str) -> int:
        return sum(t["amount"] for t in self.taxes if t["tax_behavior"] == behavior)

    @property
    def total(self) -> int:
        return (
            self.amount
            - self.discount_amount
            - self.pretax_credit
            + self.tax("exclusive")
        )


@dataclass(frozen=True)
class CreditNoteDraft:
    lines: tuple[LineDraft, ...]
    subtotal: int
    subtotal_excluding_tax: int
    total: int
    total_excluding_tax: int
    discount_amount: int
    discount_amounts: tuple[dict, ...]
    pretax_credit_amounts: tuple[dict, ...]
    total_taxes: tuple[dict, ...]
    pre_payment_amount: int
    post_payment_amount: int
    credit_amount: int
    refund_amount: int
    out_of_band_amount: int | None

    @property
    def type(self) -> str:
        if not self.post_payment_amount:
            return "pre_payment"
        return "mixed" if self.pre_payment_amount else "post_payment"
