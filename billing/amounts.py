"""Line amounts through the pricing engine; pure functions, no ORM, no clock.

Every amount comes from ``catalog.pricing.price_amount``: tier math is never
re-implemented here. A line is computed exactly and rounded once, ROUND_HALF_UP,
to whole minor units.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

from catalog.pricing import PriceSpec, price_amount
from core.money import MAX_UNIT_DECIMAL_PLACES, Money

ZERO = Decimal(0)
ONE = Decimal(1)
_UNIT_PLACES = Decimal(1).scaleb(-MAX_UNIT_DECIMAL_PLACES)


@dataclass(frozen=True)
class Priced:
    """One line's money: the exact amount, rounded once, and its unit amount."""

    exact: Decimal  # minor units, before rounding
    amount: int  # minor units, rounded once (ROUND_HALF_UP)
    unit_amount_decimal: Decimal | None  # minor units per unit, ≤ 12 places


def _round(exact: Decimal, currency: str) -> int:
    return Money(exact, currency).rounded().minor_units


def _unit(exact: Decimal, quantity: Decimal, spec: PriceSpec) -> Decimal | None:
    """The unit amount a line shows: the exact amount per unit billed."""
    if quantity == 0:
        return spec.unit_amount if spec.billing_scheme == "per_unit" else ZERO
    with decimal.localcontext(prec=60):
        return (exact / quantity).quantize(_UNIT_PLACES).normalize()


def licensed_amount(spec: PriceSpec, quantity: int, share: Decimal = ONE) -> Priced:
    """Price ``quantity`` seats for ``share`` of a period (1 = the whole period)."""
    with decimal.localcontext(prec=60):
        exact = price_amount(spec, Decimal(quantity)).exact * share
    return Priced(exact, _round(exact, spec.currency), _unit(exact, quantity, spec))


def usage_amount(spec: PriceSpec, total: Decimal, already: Decimal | None) -> Priced:
    """Price usage ``total`` of a period of which ``already`` is billed elsewhere.

    The line bills price(total) − price(already), so tiers (and a first tier's
    flat fee) continue where the earlier lines stopped (threshold invoices, late
    usage). ``already`` is None when no earlier line billed anything for the
    period (a zero placeholder line does not). Negative usage bills as 0 and a
    line never goes below zero.
    """
    total = max(total, ZERO)
    exact = price_amount(spec, total).exact
    quantity = total
    if already is not None:
        already = max(already, ZERO)
        exact -= price_amount(spec, already).exact
        quantity = max(total - already, ZERO)
    exact = max(exact, ZERO)
    return Priced(exact, _round(exact, spec.currency), _unit(exact, quantity, spec))


def scaled_amount(exact: Decimal, share: Decimal, currency: str) -> tuple[Decimal, int]:
    """Return ``exact × share`` and its rounding (prorations of a priced amount)."""
    with decimal.localcontext(prec=60):
        value = exact * share
    return value, _round(value, currency)


def unit_amount_of(exact: Decimal, quantity: Decimal) -> Decimal | None:
    """The unit amount of a one-off amount over ``quantity`` units."""
    if quantity == 0:
        return None
    with decimal.localcontext(prec=60):
        return (exact / quantity).quantize(_UNIT_PLACES).normalize()
