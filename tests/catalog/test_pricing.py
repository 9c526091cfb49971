"""Pricing engine: worked examples, tier boundaries, packages, rounding, currencies."""

from decimal import Decimal
from fractions import Fraction

import pytest

from catalog.pricing import (
    LineAmount,
    PriceSpec,
    Tier,
    TierSlice,
    describe_line,
    describe_price,
    price_amount,
)
from core.money import Money

D = Decimal
# DESIGN.md worked example: 1–5 @ $7.00, 6–10 @ $6.50, 11+ @ $6.00 (in cents).
SEVEN_SIX_FIFTY_SIX = (Tier(5, D(700)), Tier(10, D(650)), Tier(None, D(600)))
# Seed 003 fixed fee + overage: 100,000 tokens included for $200, then 0.1 cent.
INCLUDED = (Tier(100_000, D(0), D(20_000)), Tier(None, D("0.1")))
OVERAGE_ONLY = (Tier(100_000, D(0)), Tier(None, D("0.1")))


def tiered(mode: str, tiers: tuple[Tier, ...], currency: str = "usd") -> PriceSpec:
    return PriceSpec(currency, "tiered", tiers_mode=mode, tiers=tiers)


def per_unit(unit: str | int, currency: str = "usd", **transform) -> PriceSpec:
    return PriceSpec(currency, unit_amount=D(unit), **transform)


def minor(price: PriceSpec, quantity: int | str) -> int:
    return price_amount(price, D(quantity)).amount.minor_units


@pytest.mark.parametrize(
    ("quantity", "volume", "graduated"),
    [
        (0, 0, 0),
        (1, 700, 700),
        (5, 3_500, 3_500),
        (6, 3_900, 4_150),
        (10, 6_500, 6_750),
        (11, 6_600, 7_350),
        (20, 12_000, 12_750),
    ],
)
def test_design_worked_example(quantity, volume, graduated):
    assert minor(tiered("volume", SEVEN_SIX_FIFTY_SIX), quantity) == volume
    assert minor(tiered("graduated", SEVEN_SIX_FIFTY_SIX), quantity) == graduated


@pytest.mark.parametrize(
    ("tiers", "quantity", "cents"),
    [
        (INCLUDED, 150_000, 25_000),
        (INCLUDED, 100_000, 20_000),
        (INCLUDED, 100_001, 20_000),  # 20,000.1 rounds half-up to 20,000
        (INCLUDED, 100_005, 20_001),  # 20,000.5 → 20,001
        (INCLUDED, 0, 20_000),  # the base fee is charged with no usage
        (OVERAGE_ONLY, 150_000, 5_000),
        (OVERAGE_ONLY, 100_000, 0),
        (OVERAGE_ONLY, 0, 0),
    ],
)
def test_fixed_fee_and_overage(tiers, quantity, cents):
    assert minor(tiered("graduated", tiers), quantity) == cents


def test_fixed_fee_as_separate_licensed_price():
    flat = price_amount(per_unit(20_000), 1).amount
    overage = price_amount(tiered("graduated", OVERAGE_ONLY), 150_000).amount
    assert overage == Money(D(5_000), "usd")
    assert flat + overage == Money(D(25_000), "usd")


def test_overage_part_of_included_tiers():
    line = price_amount(tiered("graduated", INCLUDED), 150_000)
    assert [part.amount for part in line.slices] == [D(20_000), D(5_000)]


# Tiers with flat amounts: 1–10 @ 100 + 1,000 flat, 11–20 @ 80 + 500 flat, 21+ @ 50.
FLATS = (Tier(10, D(100), D(1_000)), Tier(20, D(80), D(500)), Tier(None, D(50)))


@pytest.mark.parametrize(
    ("tiers", "quantity", "volume", "graduated"),
    [
        (FLATS, 0, 1_000, 1_000),
        (FLATS, 1, 1_100, 1_100),
        (FLATS, 10, 2_000, 2_000),
        (FLATS, 11, 1_380, 2_580),
        (FLATS, 20, 2_100, 3_300),
        (FLATS, 21, 1_050, 3_350),
        (SEVEN_SIX_FIFTY_SIX, 0, 0, 0),
        (SEVEN_SIX_FIFTY_SIX, 10, 6_500, 6_750),
        ((Tier(None, D(25), D(300)),), 0, 300, 300),
        ((Tier(None, D(25), D(300)),), 4, 400, 400),
        ((Tier(1, D(0), D(999)), Tier(None, D(10))), 1, 999, 999),
        ((Tier(1, D(0), D(999)), Tier(None, D(10))), 2, 20, 1_009),
    ],
)
def test_tier_boundaries(tiers, quantity, volume, graduated):
    assert minor(tiered("volume", tiers), quantity) == volume
    assert minor(tiered("graduated", tiers), quantity) == graduated


def test_graduated_slices_cover_every_tier():
    line = price_amount(tiered("graduated", SEVEN_SIX_FIFTY_SIX), 6)
    assert line.slices == (
        TierSlice(1, 1, 5, D(5), D(700), D(0), D(3_500)),
        TierSlice(2, 6, 10, D(1), D(650), D(0), D(650)),
        TierSlice(3, 11, None, D(0), D(600), D(0), D(0)),
    )
    assert [part.reached for part in line.slices] == [True, True, False]
    assert line.exact == D(4_150)
    assert line.billed_quantity == line.quantity == D(6)


def test_graduated_slices_with_flat_amounts():
    line = price_amount(tiered("graduated", FLATS), 11)
    assert line.slices == (
        TierSlice(1, 1, 10, D(10), D(100), D(1_000), D(2_000)),
        TierSlice(2, 11, 20, D(1), D(80), D(500), D(580)),
        TierSlice(3, 21, None, D(0), D(50), D(0), D(0)),
    )


def test_graduated_slices_at_zero_charge_the_base_fee_only():
    line = price_amount(tiered("graduated", INCLUDED), 0)
    assert line.slices == (
        TierSlice(1, 1, 100_000, D(0), D(0), D(20_000), D(20_000)),
        TierSlice(2, 100_001, None, D(0), D("0.1"), D(0), D(0)),
    )


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [
        (0, TierSlice(1, 1, 5, D(0), D(700), D(0), D(0))),
        (6, TierSlice(2, 6, 10, D(6), D(650), D(0), D(3_900))),
        (20, TierSlice(3, 11, None, D(20), D(600), D(0), D(12_000))),
    ],
)
def test_volume_has_one_slice_for_the_tier_holding_the_total(quantity, expected):
    line = price_amount(tiered("volume", SEVEN_SIX_FIFTY_SIX), quantity)
    assert line.slices == (expected,)


@pytest.mark.parametrize(
    ("quantity", "divide_by", "rounding", "unit", "packages", "cents"),
    [
        (2_500, 1_000, "up", 500, 3, 1_500),
        (2_500, 1_000, "down", 500, 2, 1_000),
        (3_000, 1_000, "up", 500, 3, 1_500),
        (3_000, 1_000, "down", 500, 3, 1_500),
        (150, 60, "up", 1_000, 3, 3_000),
        (150, 60, "down", 1_000, 2, 2_000),
        (1, 60, "up", 1_000, 1, 1_000),
        (59, 60, "down", 1_000, 0, 0),
        (0, 60, "up", 1_000, 0, 0),
        (0, 60, "down", 1_000, 0, 0),
        ("90.5", 1, "up", 7, 91, 637),
        ("90.5", 1, "down", 7, 90, 630),
    ],
)
def test_package(quantity, divide_by, rounding, unit, packages, cents):
    price = per_unit(unit, divide_by=divide_by, round=rounding)
    line = price_amount(price, D(quantity))
    assert line.quantity == D(quantity)
    assert line.billed_quantity == packages
    assert line.amount.minor_units == cents
    assert line.slices == ()


@pytest.mark.parametrize(
    ("unit", "quantity", "exact", "cents"),
    [
        ("0.1", 1, "0.1", 0),
        ("0.1", 4, "0.4", 0),
        ("0.1", 5, "0.5", 1),
        ("0.1", 15, "1.5", 2),
        ("0.05", 30, "1.5", 2),
        ("0.05", 29, "1.45", 1),
        ("0.000000000001", 499_999_999_999, "0.499999999999", 0),
        ("0.000000000001", 500_000_000_000, "0.5", 1),
        ("3", 150, "450", 450),
        ("3", 0, "0", 0),
        ("3", "2.5", "7.5", 8),
    ],
)
def test_per_unit_rounds_once_half_up(unit, quantity, exact, cents):
    line = price_amount(per_unit(unit), D(quantity))
    assert line.exact == D(exact)
    assert line.amount == Money(D(cents), "usd")
    assert line.billed_quantity == D(quantity)


def test_sub_cent_tiers_stay_exact_until_the_line_is_rounded():
    # Each tier alone would round to 0 cents; the line is 0.4 + 0.4 + 0.2 = 1.0.
    tiers = (Tier(4, D("0.1")), Tier(8, D("0.1")), Tier(None, D("0.05")))
    line = price_amount(tiered("graduated", tiers), 12)
    assert [part.amount for part in line.slices] == [D("0.4"), D("0.4"), D("0.2")]
    assert line.amount.minor_units == 1


@pytest.mark.parametrize(
    ("price", "quantity", "minor_units"),
    [
        (per_unit(500, "jpy"), 3, 1_500),
        (per_unit("0.5", "jpy"), 3, 2),  # ¥1.5 → ¥2
        (per_unit("0.4", "jpy"), 3, 1),  # ¥1.2 → ¥1
        (per_unit("12.5", "jpy"), 1, 13),
        (tiered("volume", (Tier(10, D(100)), Tier(None, D(80))), "jpy"), 11, 880),
        (per_unit(1_250, "kwd"), 3, 3_750),  # 1.250 KWD × 3 = 3.750 KWD
        (per_unit("0.5", "kwd"), 7, 4),  # 3.5 fils → 4 fils
        (
            tiered("graduated", (Tier(100, D(0), D(5_000)), Tier(None, D(25))), "kwd"),
            140,
            6_000,
        ),
    ],
)
def test_other_currency_exponents(price, quantity, minor_units):
    line = price_amount(price, quantity)
    assert line.amount == Money(D(minor_units), price.currency)


def test_exact_beyond_default_decimal_precision():
    quantity, unit = 123_456_789_012_345, D("987654.321098765432")
    line = price_amount(per_unit(unit), quantity)
    assert Fraction(line.exact) == quantity * Fraction(unit)
    assert line.amount.minor_units == 121_932_631_137_021_124_693


def test_int_quantities_and_amounts_become_decimals():
    line = price_amount(PriceSpec("USD", unit_amount=3), 150)
    assert isinstance(line.quantity, Decimal)
    assert line.amount == Money(D(450), "usd")
    assert Tier(None, 7, 2) == Tier(None, D(7), D(2))


@pytest.mark.parametrize(
    ("price", "text"),
    [
        (per_unit(3), "Per unit: $0.03 per unit"),
        (per_unit("0.05"), "Per unit: $0.0005 per unit"),
        (per_unit(500, "jpy"), "Per unit: ¥500 per unit"),
        (per_unit(1_250, "kwd"), "Per unit: 1.250 KWD per unit"),
        (
            per_unit(1_000, divide_by=60, round="up"),
            "Package: $10.00 per 60 units, rounded up",
        ),
        (
            per_unit(500, divide_by=1_000, round="down"),
            "Package: $5.00 per 1,000 units, rounded down",
        ),
        (per_unit(9, divide_by=1, round="up"), "Package: $0.09 per unit, rounded up"),
        (
            tiered("graduated", INCLUDED),
            "Graduated: first 100,000 units at $0.00 (+ $200.00 flat), "
            "then $0.001 per unit",
        ),
        (
            tiered("graduated", SEVEN_SIX_FIFTY_SIX),
            "Graduated: first 5 units at $7.00, 6–10 at $6.50, then $6.00 per unit",
        ),
        (tiered("graduated", (Tier(None, D(25)),)), "Graduated: $0.25 per unit"),
        (
            tiered("volume", SEVEN_SIX_FIFTY_SIX),
            "Volume: 1–5 at $7.00, 6–10 at $6.50, 11 and up at $6.00 per unit",
        ),
        (
            tiered("volume", FLATS),
            "Volume: 1–10 at $1.00 (+ $10.00 flat), 11–20 at $0.80 (+ $5.00 flat), "
            "21 and up at $0.50 per unit",
        ),
        (
            tiered("volume", (Tier(1, D(0), D(999)), Tier(None, D(10)))),
            "Volume: 1 at $0.00 (+ $9.99 flat), 2 and up at $0.10 per unit",
        ),
    ],
)
def test_describe_price(price, text):
    assert describe_price(price) == text


@pytest.mark.parametrize(
    ("price", "quantity", "lines"),
    [
        (
            tiered("graduated", INCLUDED),
            150_000,
            ["Tier 1: 100,000 × $0.00 + $200.00", "Tier 2: 50,000 × $0.001 = $50.00"],
        ),
        (tiered("graduated", INCLUDED), 0, ["Tier 1: 0 × $0.00 + $200.00"]),
        (
            tiered("graduated", OVERAGE_ONLY),
            150_000,
            ["Tier 1: 100,000 × $0.00", "Tier 2: 50,000 × $0.001 = $50.00"],
        ),
        (
            tiered("graduated", SEVEN_SIX_FIFTY_SIX),
            20,
            [
                "Tier 1: 5 × $7.00 = $35.00",
                "Tier 2: 5 × $6.50 = $32.50",
                "Tier 3: 10 × $6.00 = $60.00",
            ],
        ),
        (
            tiered("graduated", SEVEN_SIX_FIFTY_SIX),
            6,
            ["Tier 1: 5 × $7.00 = $35.00", "Tier 2: 1 × $6.50 = $6.50"],
        ),
        (tiered("volume", SEVEN_SIX_FIFTY_SIX), 6, ["Tier 2: 6 × $6.50 = $39.00"]),
        (
            tiered("volume", FLATS),
            11,
            ["Tier 2: 11 × $0.80 + $5.00 = $13.80"],
        ),
        (per_unit(3), 150, ["150 × $0.03"]),
        (per_unit("0.1"), 5, ["5 × $0.001"]),
        (
            per_unit(1_000, divide_by=60, round="up"),
            150,
            ["3 × $10.00 (150 units ÷ 60, rounded up)"],
        ),
        (
            per_unit(500, divide_by=1_000, round="down"),
            2_500,
            ["2 × $5.00 (2,500 units ÷ 1,000, rounded down)"],
        ),
        (per_unit(500, "jpy"), 3, ["3 × ¥500"]),
    ],
)
def test_describe_line(price, quantity, lines):
    assert describe_line(price_amount(price, quantity), price) == lines


@pytest.mark.parametrize(
    "build",
    [
        lambda: tiered("graduated", (Tier(10, D(1)), Tier(5, D(1)), Tier(None, D(1)))),
        lambda: tiered("volume", (Tier(5, D(1)), Tier(5, D(1)), Tier(None, D(1)))),
        lambda: tiered("graduated", (Tier(5, D(1)), Tier(10, D(1)))),
        lambda: tiered("graduated", (Tier(None, D(1)), Tier(None, D(1)))),
        lambda: tiered("graduated", (Tier(None, D(1)), Tier(10, D(1)))),
        lambda: tiered("graduated", ()),
        lambda: PriceSpec("usd", "tiered", tiers=(Tier(None, D(1)),)),
        lambda: PriceSpec("usd", "tiered", tiers_mode="stairs", tiers=(Tier(None),)),
        lambda: PriceSpec("usd", "tiered", D(1), "volume", (Tier(None, D(1)),)),
        lambda: PriceSpec(
            "usd", "tiered", tiers_mode="volume", tiers=({"up_to": None},)
        ),
        lambda: PriceSpec("usd"),
        lambda: PriceSpec("usd", "per_unit", D(1), "volume"),
        lambda: PriceSpec("usd", "per_unit", D(1), tiers=(Tier(None, D(1)),)),
        lambda: PriceSpec("usd", "flat", D(1)),
        lambda: PriceSpec("dollars", unit_amount=D(1)),
        lambda: PriceSpec("usd", unit_amount=D(-1)),
        lambda: PriceSpec("usd", unit_amount=D("0.0000000000001")),
        lambda: PriceSpec("usd", unit_amount=D("NaN")),
        lambda: PriceSpec("usd", unit_amount=D(1), divide_by=0, round="up"),
        lambda: PriceSpec("usd", unit_amount=D(1), divide_by=-5, round="up"),
        lambda: PriceSpec("usd", unit_amount=D(1), divide_by=D("2.5"), round="up"),
        lambda: PriceSpec("usd", unit_amount=D(1), divide_by=10, round="nearest"),
        lambda: PriceSpec("usd", unit_amount=D(1), divide_by=10),
        lambda: PriceSpec("usd", unit_amount=D(1), round="up"),
        lambda: PriceSpec(
            "usd", "tiered", tiers_mode="graduated", tiers=(Tier(None),), divide_by=10
        ),
        lambda: PriceSpec(
            "usd", "tiered", tiers_mode="volume", tiers=(Tier(None),), round="up"
        ),
        lambda: Tier(0, D(1)),
        lambda: Tier(-3, D(1)),
        lambda: Tier(True, D(1)),
        lambda: Tier("inf", D(1)),
        lambda: Tier(None, D(-1)),
        lambda: Tier(None, D(1), D(-1)),
        lambda: Tier(None, D("Infinity")),
        lambda: Tier(None, D(0), D("1.0000000000001")),
    ],
)
def test_invalid_specs_raise(build):
    with pytest.raises(ValueError):
        build()


def test_twelve_decimal_places_are_allowed():
    assert Tier(None, D("0.000000000001"), D("1.100000000000000")).flat_amount
    assert PriceSpec("usd", unit_amount=D("0.123456789012")).unit_amount


@pytest.mark.parametrize(
    "price",
    [
        per_unit(3),
        per_unit(3, divide_by=10, round="up"),
        tiered("volume", SEVEN_SIX_FIFTY_SIX),
        tiered("graduated", SEVEN_SIX_FIFTY_SIX),
    ],
)
@pytest.mark.parametrize("quantity", [-1, D("-0.5"), D("NaN"), D("-Infinity")])
def test_negative_or_non_finite_quantity_raises(price, quantity):
    with pytest.raises(ValueError):
        price_amount(price, quantity)


def test_float_quantity_is_refused():
    with pytest.raises(TypeError):
        price_amount(per_unit(3), 1.5)


def test_results_are_frozen():
    line = price_amount(per_unit(3), 1)
    assert isinstance(line, LineAmount)
    with pytest.raises(AttributeError):
        line.exact = D(0)
