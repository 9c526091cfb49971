"""The pure pricing engine: per unit, package, volume and graduated prices.

Everything here is a frozen dataclass or a function of its arguments: no ORM, no
clock, no Django. Amounts are ``Decimal`` minor units of the price's currency (cents
for USD, yen for JPY, fils for KWD); unit and flat amounts may carry up to 12
decimal places of a minor unit. A line is computed exactly and rounded once, to a
whole minor unit, ``ROUND_HALF_UP`` (DESIGN.md "Money and time").
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from core.money import MAX_UNIT_DECIMAL_PLACES, Money, format_minor, to_decimal

BILLING_SCHEMES = ("per_unit", "tiered")
TIERS_MODES = ("graduated", "volume")
ROUNDINGS = ("up", "down")
# Enough digits that no product of a quantity and a 12-place unit amount is rounded.
_PRECISION = 100


@contextmanager
def _exact() -> Iterator[None]:
    """Compute with ample precision and fail loudly rather than round silently."""
    with decimal.localcontext(prec=_PRECISION) as context:
        context.traps[decimal.Inexact] = True
        yield


def _amount(value: Decimal | int, name: str) -> Decimal:
    """Return ``value`` as a finite, non-negative Decimal with at most 12 places."""
    amount = to_decimal(value)
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{name} must be a finite amount >= 0, got {value}")
    with _exact():
        places = -amount.normalize().as_tuple().exponent
    if places > MAX_UNIT_DECIMAL_PLACES:
        raise ValueError(f"{name} has more than 12 decimal places: {value}")
    return amount


def _quantity(value: Decimal | int) -> Decimal:
    """Return ``value`` as a finite, non-negative Decimal quantity."""
    quantity = to_decimal(value)
    if not quantity.is_finite() or quantity < 0:
        raise ValueError(f"quantity must be a finite number >= 0, got {value}")
    return quantity


@dataclass(frozen=True)
class Tier:
    """One row of a tier table; the tier covers previous ``up_to`` + 1 … ``up_to``."""

    up_to: int | None  # inclusive upper bound in units; None = "inf" (last tier)
    unit_amount: Decimal = Decimal(0)  # minor units per unit
    flat_amount: Decimal = Decimal(0)  # minor units charged once when reached

    def __post_init__(self) -> None:
        up_to = self.up_to
        if up_to is not None and (type(up_to) is not int or up_to < 1):
            raise ValueError(f"tier up_to must be a positive integer or None: {up_to}")
        object.__setattr__(self, "unit_amount", _amount(self.unit_amount, "unit"))
        object.__setattr__(self, "flat_amount", _amount(self.flat_amount, "flat"))


@dataclass(frozen=True)
class PriceSpec:
    """What the engine needs to know about a price (Stripe's price fields)."""

    currency: str  # lowercase ISO 4217
    billing_scheme: str = "per_unit"  # "per_unit" | "tiered"
    unit_amount: Decimal | None = None  # per_unit: minor units per (billed) unit
    tiers_mode: str | None = None  # "graduated" | "volume" (tiered only)
    tiers: tuple[Tier, ...] = ()
    divide_by: int | None = None  # transform_quantity.divide_by (per_unit only)
    round: str | None = None  # transform_quantity.round: "up" | "down"

    def __post_init__(self) -> None:
        currency = self.currency.lower() if isinstance(self.currency, str) else ""
        if len(currency) != 3 or not currency.isalpha():
            raise ValueError(f"currency must be an ISO 4217 code: {self.currency!r}")
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "tiers", tuple(self.tiers))
        if self.unit_amount is not None:
            object.__setattr__(self, "unit_amount", _amount(self.unit_amount, "unit"))
        if self.billing_scheme == "per_unit":
            self._check_per_unit()
        elif self.billing_scheme == "tiered":
            self._check_tiered()
        else:
            raise ValueError(f"billing_scheme must be one of {BILLING_SCHEMES}")

    def _check_per_unit(self) -> None:
        """Validate a per-unit (optionally package) price."""
        if self.unit_amount is None:
            raise ValueError("a per_unit price needs unit_amount")
        if self.tiers or self.tiers_mode is not None:
            raise ValueError("tiers and tiers_mode need billing_scheme=tiered")
        if (self.divide_by is None) != (self.round is None):
            raise ValueError("transform_quantity needs both divide_by and round")
        if self.divide_by is not None:
            if type(self.divide_by) is not int or self.divide_by < 1:
                raise ValueError("transform_quantity.divide_by must be an integer >= 1")
            if self.round not in ROUNDINGS:
                raise ValueError(f"transform_quantity.round must be one of {ROUNDINGS}")

    def _check_tiered(self) -> None:
        """Validate a tiered price: mode, ascending bounds, a last tier to inf."""
        if self.tiers_mode not in TIERS_MODES:
            raise ValueError(f"a tiered price needs tiers_mode in {TIERS_MODES}")
        if not self.tiers:
            raise ValueError("a tiered price needs at least one tier")
        if self.unit_amount is not None:
            raise ValueError("a tiered price takes its amounts from its tiers")
        if self.divide_by is not None or self.round is not None:
            raise ValueError("transform_quantity cannot be combined with tiers")
        if not all(isinstance(tier, Tier) for tier in self.tiers):
            raise ValueError("tiers must be Tier instances")
        bounds = [tier.up_to for tier in self.tiers]
        if bounds[-1] is not None:
            raise ValueError("the last tier must have up_to=inf (None)")
        if None in bounds[:-1]:
            raise ValueError("only the last tier may have up_to=inf (None)")
        if any(
            low >= high for low, high in zip(bounds[:-2], bounds[1:-1], strict=True)
        ):
            raise ValueError("tier up_to values must be strictly ascending")


@dataclass(frozen=True)
class TierSlice:
    """The share of a line charged in one tier."""

    tier: int  # 1-based tier number
    first_unit: int  # first unit the tier covers (previous up_to + 1)
    last_unit: int | None  # the tier's up_to (None = inf)
    quantity: Decimal  # units charged in this tier
    unit_amount: Decimal
    flat_amount: Decimal  # flat amount charged for this tier (0 if not reached)
    amount: Decimal  # exact: quantity × unit_amount + flat_amount

    @property
    def reached(self) -> bool:
        """Return whether the quantity reaches this tier (tier 1 always is)."""
        return self.tier == 1 or self.quantity > 0


@dataclass(frozen=True)
class LineAmount:
    """The priced line: the exact amount, the rounded Money and its breakdown."""

    quantity: Decimal  # usage as given
    billed_quantity: Decimal  # after transform_quantity (packages), else = quantity
    exact: Decimal  # exact minor units before rounding
    amount: Money  # rounded once to a whole minor unit, ROUND_HALF_UP
    slices: tuple[TierSlice, ...]  # per-tier breakdown (empty for per_unit)


def _packages(quantity: Decimal, divide_by: int, rounding: str) -> Decimal:
    """Return how many packages of ``divide_by`` units bill ``quantity``."""
    whole, remainder = divmod(quantity, Decimal(divide_by))
    return whole + 1 if rounding == "up" and remainder else whole


def _graduated(tiers: tuple[Tier, ...], quantity: Decimal) -> tuple[TierSlice, ...]:
    """Split ``quantity`` across every tier; unreached tiers get an empty slice."""
    slices, previous = [], 0
    for number, tier in enumerate(tiers, start=1):
        reached = number == 1 or quantity > previous
        top = quantity if tier.up_to is None else min(quantity, Decimal(tier.up_to))
        units = top - previous if reached else Decimal(0)
        flat = tier.flat_amount if reached else Decimal(0)
        amount = units * tier.unit_amount + flat
        slices.append(
            TierSlice(
                number, previous + 1, tier.up_to, units, tier.unit_amount, flat, amount
            )
        )
        previous = tier.up_to or 0
    return tuple(slices)


def _volume(tiers: tuple[Tier, ...], quantity: Decimal) -> tuple[TierSlice, ...]:
    """Charge all of ``quantity`` in the one tier that contains it."""
    previous = 0
    for number, tier in enumerate(tiers, start=1):
        if tier.up_to is None or quantity <= tier.up_to:
            amount = quantity * tier.unit_amount + tier.flat_amount
            unit, flat = tier.unit_amount, tier.flat_amount
            return (
                TierSlice(
                    number, previous + 1, tier.up_to, quantity, unit, flat, amount
                ),
            )
        previous = tier.up_to
    raise AssertionError("validated tier tables end with up_to=None")


def price_amount(price: PriceSpec, quantity: Decimal | int) -> LineAmount:
    """Price ``quantity`` units: exact amount, one ROUND_HALF_UP rounding, slices."""
    quantity = _quantity(quantity)
    billed, slices = quantity, ()
    with _exact():
        if price.billing_scheme == "tiered":
            split = _graduated if price.tiers_mode == "graduated" else _volume
            slices = split(price.tiers, quantity)
            exact = sum((part.amount for part in slices), Decimal(0))
        else:
            if price.divide_by is not None:
                billed = _packages(quantity, price.divide_by, price.round)
            exact = billed * price.unit_amount
    return LineAmount(
        quantity, billed, exact, Money(exact, price.currency).rounded(), slices
    )


def _units(quantity: Decimal | int) -> str:
    """Format a unit count with thousands separators: ``100,000``, ``2.5``."""
    value = to_decimal(quantity)
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def _flat_note(tier: Tier, currency: str) -> str:
    """Return `` (+ $200.00 flat)`` for a tier with a flat amount, else nothing."""
    return (
        f" (+ {format_minor(tier.flat_amount, currency)} flat)"
        if tier.flat_amount
        else ""
    )


def _describe_graduated(price: PriceSpec) -> str:
    """Describe graduated tiers: first N units at X, A–B at Y, then Z per unit."""
    parts, previous, money = [], 0, price.currency
    for number, tier in enumerate(price.tiers, start=1):
        rate = format_minor(tier.unit_amount, money)
        if tier.up_to is None:
            lead = "then " if number > 1 else ""
            parts.append(f"{lead}{rate} per unit{_flat_note(tier, money)}")
        elif number == 1:
            parts.append(
                f"first {_units(tier.up_to)} units at {rate}{_flat_note(tier, money)}"
            )
        else:
            span = _span(previous + 1, tier.up_to)
            parts.append(f"{span} at {rate}{_flat_note(tier, money)}")
        previous = tier.up_to or 0
    return "Graduated: " + ", ".join(parts)


def _span(first: int, last: int | None) -> str:
    """Format a tier's unit range: ``6–10``, ``7`` or ``11 and up``."""
    if last is None:
        return f"{_units(first)} and up"
    if first == last:
        return _units(first)
    return f"{_units(first)}–{_units(last)}"


def _describe_volume(price: PriceSpec) -> str:
    """Describe volume tiers: 1–5 at X, 6–10 at Y, 11 and up at Z per unit."""
    parts, previous, money = [], 0, price.currency
    for tier in price.tiers:
        rate = format_minor(tier.unit_amount, money)
        parts.append(
            f"{_span(previous + 1, tier.up_to)} at {rate}{_flat_note(tier, money)}"
        )
        previous = tier.up_to or 0
    return "Volume: " + ", ".join(parts) + " per unit"


def describe_price(price: PriceSpec) -> str:
    """Describe the pricing model in words, for pages and invoices."""
    if price.billing_scheme == "tiered":
        if price.tiers_mode == "graduated":
            return _describe_graduated(price)
        return _describe_volume(price)
    rate = format_minor(price.unit_amount, price.currency)
    if price.divide_by is not None:
        size = "unit" if price.divide_by == 1 else f"{_units(price.divide_by)} units"
        return f"Package: {rate} per {size}, rounded {price.round}"
    return f"Per unit: {rate} per unit"


def _describe_slice(part: TierSlice, currency: str) -> str:
    """Describe one tier slice: ``Tier 2: 50,000 × $0.001 = $50.00``."""
    text = f"Tier {part.tier}: {_units(part.quantity)} × "
    text += format_minor(part.unit_amount, currency)
    if part.flat_amount:
        text += f" + {format_minor(part.flat_amount, currency)}"
    # The total adds nothing when it is just the flat amount.
    if part.quantity * part.unit_amount:
        text += f" = {format_minor(part.amount, currency)}"
    return text


def describe_line(line: LineAmount, price: PriceSpec) -> list[str]:
    """Describe how a line's amount was computed, one string per invoice row."""
    currency = price.currency
    if line.slices:
        return [_describe_slice(part, currency) for part in line.slices if part.reached]
    rate = format_minor(price.unit_amount, currency)
    text = f"{_units(line.billed_quantity)} × {rate}"
    if price.divide_by is not None:
        text += (
            f" ({_units(line.quantity)} units ÷ {_units(price.divide_by)},"
            f" rounded {price.round})"
        )
    return [text]
