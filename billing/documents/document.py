"""What an invoice document says, as plain values: no ORM, no layout.

One selector (``billing.documents.selectors.invoice_document``) builds an
``InvoiceDocument`` from a finalized invoice; the PDF renderer and the hosted
invoice page both draw it, so they never disagree. A credit note is the same
document with another ``title`` and its own rows. Amounts are integers in minor
units, signed as printed (a discount or a credit is negative).

A credit note's selector (``billing.documents.credit_notes``) fills the same
fields: ``title="Credit note"``, its number, ``dates`` with the date of issue, the
invoice's number and date and the reason, the credited lines, ``subtotal`` /
``discounts`` / ``taxes`` / ``total`` of the note, ``balance`` rows for where the
credit went ("Applied to invoice", "Credited to customer balance", "Refunded",
"Credited outside Tally"; positive, they add up to the total) and
``amount_due_label="Amount credited"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core.money import format_minor


@dataclass(frozen=True)
class Party:
    """The seller or the buyer, as printed."""

    name: str
    address: tuple[str, ...] = ()
    email: str = ""
    tax_ids: tuple[str, ...] = ()  # "EU VAT DE123456789"


@dataclass(frozen=True)
class UsageDetail:
    """The usage behind a metered line: which meter, when, how much, at what tiers."""

    meter: str
    period_start: datetime
    period_end: datetime  # exclusive
    quantity: Decimal  # units this line bills
    unit: str  # "tokens", "units"
    breakdown: tuple[str, ...] = ()  # one row per tier reached, or "N × rate"


@dataclass(frozen=True)
class DocumentLine:
    """One line: what, how many, at what unit price, for how much."""

    description: str
    amount: int  # minor units, rounded once
    quantity: Decimal | None = None
    unit_amount: Decimal | None = None  # minor units, exact (unit_amount_decimal)
    period_start: datetime | None = None
    period_end: datetime | None = None
    usage: UsageDetail | None = None
    # Per-line adjustments, as printed under the line ("Credits applied −$5.00").
    adjustments: tuple[AmountRow, ...] = ()


@dataclass(frozen=True)
class AmountRow:
    """A labelled amount in the totals block or under a line."""

    label: str
    amount: int  # minor units, signed as printed


@dataclass(frozen=True)
class InvoiceDocument:
    """A whole invoice (or credit note) ready to draw.

    The totals block reads, in Stripe's order: subtotal, discounts, applied
    credits, total excluding tax (when taxed), taxes, total, applied balance,
    amount due (``totals_block``).
    """

    title: str  # "Invoice", "Credit note"
    number: str
    reference: str  # the object's id, printed small
    currency: str
    livemode: bool
    seller: Party
    buyer: Party
    dates: tuple[tuple[str, str], ...]  # ("Date of issue", "Apr 1, 2026"), ...
    issued_at: datetime | None  # the PDF's creation date, so renders repeat
    lines: tuple[DocumentLine, ...]
    subtotal: int
    total: int
    amount_due: int
    amount_due_label: str = "Amount due"
    discounts: tuple[AmountRow, ...] = ()
    credits: tuple[AmountRow, ...] = ()
    taxes: tuple[AmountRow, ...] = ()
    total_excluding_tax: int | None = None
    balance: tuple[AmountRow, ...] = ()
    memo: str = ""  # the invoice's description
    footer: str = ""
    payment_instructions: str = ""
    notes: tuple[str, ...] = ()  # "Reverse charge", ...

    def headline(self) -> str:
        """``$240.00 due by May 1, 2026``; ``Amount credited: £20.00``."""
        amount = format_minor(self.amount_due, self.currency)
        if self.amount_due_label.startswith("Amount due"):
            return f"{amount} {self.amount_due_label.removeprefix('Amount ')}"
        return f"{self.amount_due_label}: {amount}"

    def totals_block(self) -> list[tuple[str, int, bool]]:
        """(label, amount, emphasised) rows in Stripe's order."""
        rows = [("Subtotal", self.subtotal, False)]
        rows += [(row.label, row.amount, False) for row in self.discounts]
        rows += [(row.label, row.amount, False) for row in self.credits]
        if self.taxes:
            excluding = self.total_excluding_tax
            if excluding is None:
                excluding = self.total - sum(row.amount for row in self.taxes)
            rows.append(("Total excluding tax", excluding, False))
            rows += [(row.label, row.amount, False) for row in self.taxes]
        rows.append(("Total", self.total, True))
        rows += [(row.label, row.amount, False) for row in self.balance]
        rows.append((self.amount_due_label, self.amount_due, True))
        return rows
