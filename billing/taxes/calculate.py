"""The tax arithmetic of manual tax rates: pure values in, rounded minor units out.

Per line and per rate, as Stripe does by default ("line item" rounding): each
line's tax for each rate is computed exactly and rounded once, ROUND_HALF_UP
(half a minor unit away from zero), and every total is a sum of these rounded
terms, so an invoice always adds up on paper.

- Exclusive rates add tax on top: ``tax = taxable × p / 100`` on the amount
  after discounts and pretax credits.
- Inclusive rates are contained in the amount: with inclusive rates p₁…pₙ on a
  line, ``taxᵢ = amount × pᵢ / (100 + Σp)``; the net (the ``taxable_amount``
  Stripe shows for inclusive taxes) is the amount less the rounded taxes, so
  net + taxes = amount exactly and the total does not move.
- A line with both kinds takes its exclusive rates on that net.
- An exempt customer pays none (``customer_exempt``), nor does a reverse-charge
  customer (``reverse_charge``): each rate still shows, with amount 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)

# Stripe's taxability_reason of manually set tax rates.
NOT_AVAILABLE = "not_available"
CUSTOMER_EXEMPT = "customer_exempt"
REVERSE_CHARGE = "reverse_charge"
_NO_TAX = {"exempt": CUSTOMER_EXEMPT, "reverse": REVERSE_CHARGE}


@dataclass(frozen=True)
class RateSpec:
    """What the arithmetic needs of a tax rate."""

    id: str
    percentage: Decimal
    inclusive: bool


@dataclass(frozen=True)
class LineTax:
    """One rate's tax on one line (Stripe's ``taxes[]`` entry); minor units."""

    line: int  # index of the line in the draft
    tax_rate: str
    amount: int
    inclusive: bool
    taxable_amount: int
    taxability_reason: str = NOT_AVAILABLE


def round_half_up(value: Decimal) -> int:
    """Round an exact amount of minor units to an integer, half away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def line_taxes(
    *, line: int, amount: int, rates: Sequence[RateSpec], tax_exempt: str = "none"
) -> list[LineTax]:
    """The taxes of one line of ``amount`` minor units (after discounts, credits)."""
    inclusive = [rate for rate in rates if rate.inclusive]
    exclusive = [rate for rate in rates if not rate.inclusive]
    reason = _NO_TAX.get(tax_exempt)
    taxes: list[LineTax] = []
    net = amount
    if inclusive:
        share = HUNDRED + sum((rate.percentage for rate in inclusive), Decimal(0))
        contained = [
            0 if reason else round_half_up(amount * rate.percentage / share)
            for rate in inclusive
        ]
        net = amount - sum(contained)
        taxes += [
            LineTax(line, rate.id, tax, True, net, reason or NOT_AVAILABLE)
            for rate, tax in zip(inclusive, contained, strict=True)
        ]
    taxes += [
        LineTax(
            line,
            rate.id,
            0 if reason else round_half_up(net * rate.percentage / HUNDRED),
            False,
            net,
            reason or NOT_AVAILABLE,
        )
        for rate in exclusive
    ]
    order = {rate.id: position for position, rate in enumerate(rates)}
    return sorted(taxes, key=lambda tax: order[tax.tax_rate])  # the line's order


def exclusive_total(taxes: Sequence[LineTax]) -> int:
    return sum(tax.amount for tax in taxes if not tax.inclusive)


def inclusive_total(taxes: Sequence[LineTax]) -> int:
    return sum(tax.amount for tax in taxes if tax.inclusive)
