"""Pricing engine invariants, checked with hypothesis on random tier tables."""

import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from catalog.pricing import PriceSpec, Tier, price_amount

# Amounts ≥ 0 in minor units with 0–12 decimal places, e.g. 650, 0.1, 0.000000000001.
amounts = st.builds(
    lambda coefficient, places: Decimal(coefficient).scaleb(-places),
    st.integers(min_value=0, max_value=10**14),
    st.integers(min_value=0, max_value=12),
)
whole_quantities = st.integers(min_value=0, max_value=10**7)
quantities = st.one_of(
    whole_quantities.map(Decimal),
    st.decimals(min_value=0, max_value=10**7, places=3),
)


@st.composite
def tier_tables(draw, max_bound: int = 10**6) -> tuple[Tier, ...]:
    """Draw 1–6 tiers with strictly ascending bounds and a last tier to inf."""
    bounds = draw(
        st.lists(st.integers(min_value=1, max_value=max_bound), max_size=5, unique=True)
    )
    ups = [*sorted(bounds), None]
    return tuple(Tier(up, draw(amounts), draw(amounts)) for up in ups)


def tiered(mode: str, tiers: tuple[Tier, ...]) -> PriceSpec:
    return PriceSpec("usd", "tiered", tiers_mode=mode, tiers=tiers)


def tier_of(tiers: tuple[Tier, ...], quantity: Decimal) -> int:
    """Return the 0-based index of the tier whose range holds ``quantity``."""
    return next(
        i for i, t in enumerate(tiers) if t.up_to is None or quantity <= t.up_to
    )


def exact(amount: Decimal) -> Fraction:
    return Fraction(amount)


@given(tiers=tier_tables(max_bound=60), quantity=st.integers(0, 200))
def test_graduated_matches_unit_by_unit_brute_force(tiers, quantity):
    reached, total = {0}, Fraction(0)
    for unit in range(1, quantity + 1):
        index = tier_of(tiers, Decimal(unit))
        reached.add(index)
        total += exact(tiers[index].unit_amount)
    total += sum(exact(tiers[index].flat_amount) for index in reached)
    line = price_amount(tiered("graduated", tiers), quantity)
    assert exact(line.exact) == total
    assert sum(exact(part.amount) for part in line.slices) == exact(line.exact)


@given(tiers=tier_tables(), quantity=quantities)
def test_graduated_is_the_sum_of_its_slices(tiers, quantity):
    line = price_amount(tiered("graduated", tiers), quantity)
    assert len(line.slices) == len(tiers)
    assert sum(exact(part.amount) for part in line.slices) == exact(line.exact)
    assert sum(part.quantity for part in line.slices) == quantity
    for part in line.slices:
        assert exact(part.amount) == exact(part.quantity) * exact(
            part.unit_amount
        ) + exact(part.flat_amount)


@given(tiers=tier_tables(), data=st.data())
def test_graduated_never_decreases(tiers, data):
    low = data.draw(quantities)
    high = low + data.draw(quantities)
    price = tiered("graduated", tiers)
    assert price_amount(price, low).exact <= price_amount(price, high).exact


@given(tiers=tier_tables(), quantity=whole_quantities)
def test_graduated_steps_by_one_unit_price_plus_new_flat(tiers, quantity):
    price = tiered("graduated", tiers)
    after, here = price_amount(price, quantity + 1), price_amount(price, quantity)
    step = exact(after.exact) - exact(here.exact)
    index = tier_of(tiers, Decimal(quantity + 1))
    entered = quantity > 0 and index != tier_of(tiers, Decimal(quantity))
    flat = tiers[index].flat_amount if entered else Decimal(0)
    assert step == exact(tiers[index].unit_amount) + exact(flat)


@given(tiers=tier_tables(), quantity=quantities)
def test_volume_charges_every_unit_in_the_tier_of_the_total(tiers, quantity):
    tier = tiers[tier_of(tiers, quantity)]
    line = price_amount(tiered("volume", tiers), quantity)
    assert exact(line.exact) == exact(quantity) * exact(tier.unit_amount) + exact(
        tier.flat_amount
    )
    (part,) = line.slices
    assert part.tier == tier_of(tiers, quantity) + 1
    assert part.amount == line.exact


@given(tiers=tier_tables(max_bound=1_000), quantity=st.integers(0, 1_100))
def test_volume_drops_only_when_the_tier_changes(tiers, quantity):
    price = tiered("volume", tiers)
    here = price_amount(price, quantity).exact
    after = price_amount(price, quantity + 1).exact
    if after < here:
        assert tier_of(tiers, Decimal(quantity)) != tier_of(
            tiers, Decimal(quantity + 1)
        )


@given(tiers=tier_tables(), data=st.data())
def test_graduated_and_volume_never_decrease_within_a_tier(tiers, data):
    low = data.draw(quantities)
    # Small steps mostly stay in the tier; large ones cover the last tier.
    high = low + data.draw(st.one_of(st.decimals(0, 1_000, places=3), quantities))
    if tier_of(tiers, low) == tier_of(tiers, high):
        for mode in ("graduated", "volume"):
            price = tiered(mode, tiers)
            assert price_amount(price, low).exact <= price_amount(price, high).exact


@given(
    unit=amounts,
    quantity=quantities,
    divide_by=st.integers(min_value=1, max_value=10_000),
    rounding=st.sampled_from(["up", "down"]),
)
def test_package_bills_whole_packages(unit, quantity, divide_by, rounding):
    price = PriceSpec("usd", unit_amount=unit, divide_by=divide_by, round=rounding)
    share = exact(quantity) / divide_by
    packages = math.ceil(share) if rounding == "up" else math.floor(share)
    line = price_amount(price, quantity)
    assert line.billed_quantity == packages
    assert exact(line.exact) == packages * exact(unit)


@given(
    price=st.one_of(
        amounts.map(lambda unit: PriceSpec("usd", unit_amount=unit)),
        tier_tables().map(lambda tiers: tiered("graduated", tiers)),
        tier_tables().map(lambda tiers: tiered("volume", tiers)),
    ),
    quantity=quantities,
)
def test_rounded_once_half_up(price, quantity):
    line = price_amount(price, quantity)
    assert line.amount.amount == line.exact.quantize(Decimal(1), ROUND_HALF_UP)
    assert line.amount.amount == line.amount.amount.to_integral_value()
    difference = exact(line.amount.amount) - exact(line.exact)
    assert -Fraction(1, 2) < difference <= Fraction(1, 2)
