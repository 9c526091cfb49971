"""The tax arithmetic of manual tax rates: pure values in, rounded minor units out.

Two roundings, as Stripe's invoice setting offers (``TALLY_TAX_ROUNDING``):

- ``line_item`` (the default, Stripe's too): each line's tax for each rate is
  computed exactly and rounded once, ROUND_HALF_UP (half a minor unit away from
  zero); the invoice's tax for a rate is the sum of these rounded terms.
- ``invoice``: each line's tax for each rate is computed exactly, unrounded; the
  invoice's tax for a rate is their sum rounded once, ROUND_HALF_UP. The lines
  still carry whole minor units: each gets its exact tax rounded down, and the
  units the rounded sum has left go one each to the lines with the largest
  remainders (earlier lines first on ties), so the lines add up to the invoice's
  tax exactly and each is within one unit of its exact tax.

Either way every total is a sum of rounded terms, so an invoice adds up on paper.

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)

# Where taxes are rounded (``TALLY_TAX_ROUNDING``).
LINE_ITEM = "line_item"
INVOICE = "invoice"
ROUNDINGS = (LINE_ITEM, INVOICE)

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


@dataclass(frozen=True)
class TaxedLine:
    """One line as the invoice-level rounding reads it."""

    line: int  # index of the line in the draft
    amount: int  # minor units, after discounts and pretax credits
    rates: tuple[RateSpec, ...]


def allocate_rounded(exact: Mapping[int, Decimal]) -> dict[int, int]:
    """Round the sum of ``exact`` (line → exact minor units) once, half up, and
    share it out: each line its exact amount rounded down, then one unit each to
    the largest remainders, earlier lines first on ties."""
    total = round_half_up(sum(exact.values(), Decimal(0)))
    shares = {
        line: int(value.to_integral_value(rounding=ROUND_FLOOR))
        for line, value in exact.items()
    }
    # floor(sum) ≥ sum of floors and round(sum) ≤ sum of ceilings: 0 ≤ left ≤ n.
    left = total - sum(shares.values())
    by_remainder = sorted(
        enumerate(exact), key=lambda item: (shares[item[1]] - exact[item[1]], item[0])
    )
    for _, line in by_remainder[:left]:
        shares[line] += 1
    return shares


def _rounded_per_rate(
    exact: Sequence[tuple[int, str, Decimal]],
) -> dict[tuple[int, str], int]:
    """(line, rate, exact) terms → (line, rate) → minor units, rounded per rate."""
    by_rate: dict[str, dict[int, Decimal]] = {}
    for line, rate, value in exact:
        by_rate.setdefault(rate, {})[line] = value
    return {
        (line, rate): amount
        for rate, values in by_rate.items()
        for line, amount in allocate_rounded(values).items()
    }


def invoice_taxes(
    *, lines: Sequence[TaxedLine], tax_exempt: str = "none"
) -> list[LineTax]:
    """The taxes of an invoice's lines with the tax rounded once per rate over
    the invoice (``invoice`` rounding); the lines' inclusive taxes first, as
    ``line_taxes``, then the exclusive ones on what they leave."""
    reason = _NO_TAX.get(tax_exempt)
    inclusive_exact = []
    for line in lines:
        inclusive = [rate for rate in line.rates if rate.inclusive]
        share = HUNDRED + sum((rate.percentage for rate in inclusive), Decimal(0))
        inclusive_exact += [
            (
                line.line,
                rate.id,
                Decimal(0) if reason else line.amount * rate.percentage / share,
            )
            for rate in inclusive
        ]
    contained = _rounded_per_rate(inclusive_exact)
    net = {
        line.line: line.amount
        - sum(contained[line.line, r.id] for r in line.rates if r.inclusive)
        for line in lines
    }
    exclusive = _rounded_per_rate(
        [
            (
                line.line,
                rate.id,
                Decimal(0) if reason else net[line.line] * rate.percentage / HUNDRED,
            )
            for line in lines
            for rate in line.rates
            if not rate.inclusive
        ]
    )
    return [
        LineTax(
            line.line,
            rate.id,
            (contained if rate.inclusive else exclusive)[line.line, rate.id],
            rate.inclusive,
            net[line.line],
            reason or NOT_AVAILABLE,
        )
        for line in lines
        for rate in line.rates
    ]
