"""The tax arithmetic, to the cent: exclusive and inclusive rates, one and two on
a line, exempt and reverse-charge customers, half cents, negative lines."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.taxes.calculate import (
    CUSTOMER_EXEMPT,
    NOT_AVAILABLE,
    REVERSE_CHARGE,
    RateSpec,
    exclusive_total,
    inclusive_total,
    line_taxes,
    round_half_up,
)

VAT = RateSpec("txr_vat", Decimal(19), False)
VAT_IN = RateSpec("txr_vat_in", Decimal(19), True)
CITY = RateSpec("txr_city", Decimal("7.25"), False)
CITY_IN = RateSpec("txr_city_in", Decimal("7.25"), True)


def amounts(taxes):
    return [(tax.tax_rate, tax.amount, tax.taxable_amount) for tax in taxes]


@pytest.mark.parametrize(
    ("amount", "rates", "expected"),
    [
        # Stripe's documented examples: 799 at 19% → 152; 2500 incl. 22% → 451.
        (799, [VAT], [("txr_vat", 152, 799)]),
        (2500, [RateSpec("r", Decimal(22), True)], [("r", 451, 2049)]),
        # Exclusive: on the amount, each rate rounded on its own.
        (3000, [VAT], [("txr_vat", 570, 3000)]),
        (3000, [VAT, CITY], [("txr_vat", 570, 3000), ("txr_city", 218, 3000)]),
        (4150, [VAT, CITY], [("txr_vat", 789, 4150), ("txr_city", 301, 4150)]),
        # Inclusive: amount × p / (100 + Σp); net = amount − taxes.
        (3000, [VAT_IN], [("txr_vat_in", 479, 2521)]),
        (
            3000,
            [VAT_IN, CITY_IN],
            [("txr_vat_in", 451, 2377), ("txr_city_in", 172, 2377)],
        ),
        # Both kinds: exclusive rates on the net of the inclusive ones.
        (3000, [VAT_IN, CITY], [("txr_vat_in", 479, 2521), ("txr_city", 183, 2521)]),
        # Zero and negative lines (a proration credit takes negative tax).
        (0, [VAT], [("txr_vat", 0, 0)]),
        (-1000, [VAT], [("txr_vat", -190, -1000)]),
        (-4150, [VAT], [("txr_vat", -789, -4150)]),
        (-3000, [VAT_IN], [("txr_vat_in", -479, -2521)]),
    ],
)
def test_line_taxes(amount, rates, expected):
    assert amounts(line_taxes(line=0, amount=amount, rates=rates)) == expected


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [
        (Decimal("788.5"), 789),  # half a cent rounds up
        (Decimal("788.4999"), 788),
        (Decimal("217.5"), 218),
        (Decimal("0.5"), 1),
        (Decimal("0.4999999"), 0),
        (Decimal("-788.5"), -789),  # and away from zero below it
        (Decimal("-0.5"), -1),
    ],
)
def test_round_half_up(exact, rounded):
    assert round_half_up(exact) == rounded


def test_half_cent_per_line_not_per_invoice():
    # Two lines of 50 at 1%: each 0.5 → 1, so the invoice's tax is 2 (line item
    # rounding), where rounding the invoice's 1.0 once would give 1.
    rate = RateSpec("r", Decimal(1), False)
    taxes = [*line_taxes(line=0, amount=50, rates=[rate])]
    taxes += line_taxes(line=1, amount=50, rates=[rate])
    assert exclusive_total(taxes) == 2


@pytest.mark.parametrize(
    ("status", "reason"), [("exempt", CUSTOMER_EXEMPT), ("reverse", REVERSE_CHARGE)]
)
@pytest.mark.parametrize("rates", [[VAT], [VAT, CITY], [VAT_IN], [VAT_IN, CITY_IN]])
def test_exempt_and_reverse_charge_pay_no_tax(status, reason, rates):
    taxes = line_taxes(line=0, amount=4150, rates=rates, tax_exempt=status)
    assert [tax.amount for tax in taxes] == [0] * len(rates)
    assert {tax.taxability_reason for tax in taxes} == {reason}
    assert {tax.taxable_amount for tax in taxes} == {4150}


def test_taxability_reason_of_manual_rates():
    (tax,) = line_taxes(line=3, amount=100, rates=[VAT])
    assert (tax.line, tax.taxability_reason, tax.inclusive) == (3, NOT_AVAILABLE, False)


percentages = st.decimals(
    min_value=0, max_value=100, places=4, allow_nan=False, allow_infinity=False
)
line_amounts = st.integers(min_value=-(10**11), max_value=10**11)


@given(amount=line_amounts, shares=st.lists(percentages, min_size=1, max_size=4))
def test_inclusive_taxes_are_contained_in_the_amount(amount, shares):
    rates = [RateSpec(f"r{i}", p, True) for i, p in enumerate(shares)]
    taxes = line_taxes(line=0, amount=amount, rates=rates)
    # The net and the taxes add up to the amount exactly: the total never moves.
    assert taxes[0].taxable_amount + inclusive_total(taxes) == amount
    assert exclusive_total(taxes) == 0


@given(amount=line_amounts, shares=st.lists(percentages, min_size=1, max_size=4))
def test_each_exclusive_tax_is_within_half_a_unit_of_exact(amount, shares):
    rates = [RateSpec(f"r{i}", p, False) for i, p in enumerate(shares)]
    taxes = line_taxes(line=0, amount=amount, rates=rates)
    for tax, rate in zip(taxes, rates, strict=True):
        exact = Decimal(amount) * rate.percentage / 100
        assert abs(tax.amount - exact) <= Decimal("0.5")
        assert tax.taxable_amount == amount
