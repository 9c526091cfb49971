"""The discount step on its own (no database): percent per line rounded once,
amount_off spread to the cent, applies_to, discountable, item discounts first;
hypothesis checks its invariants through the whole pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.compose.discount import (
    DiscountCandidate,
    amount_shares,
    applies_at,
    discount,
    percent_shares,
)
from billing.compose.draft import DraftLine, InvoiceDraft
from billing.compose.pipeline import compose

T0 = datetime(2026, 4, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Price:
    """What the step reads of a price: its product (and whether it is metered)."""

    product_id: str
    is_metered: bool = False


def line(
    amount: int, *, product="prod_a", discountable=True, item=None, currency="usd"
):
    return DraftLine(
        kind="invoice_item" if item else "licensed",
        amount=amount,
        currency=currency,
        description="",
        period_start=T0,
        period_end=T0,
        price=_Price(product) if product else None,
        discountable=discountable,
        invoice_item_id=item,
    )


def draft(lines, *coupons) -> InvoiceDraft:
    return InvoiceDraft(
        customer_id="cus_1",
        currency="usd",
        lines=tuple(lines),
        now=T0,
        coupons=tuple(coupons),
    )


def percent(value: str, **kwargs) -> DiscountCandidate:
    return DiscountCandidate(discount_id="di_p", percent_off=Decimal(value), **kwargs)


def amount(value: int, currency="usd", **kwargs) -> DiscountCandidate:
    return DiscountCandidate(
        discount_id="di_a", amount_off=value, currency=currency, **kwargs
    )


def per_line(result: InvoiceDraft) -> list[int]:
    found = [0] * len(result.lines)
    for index, value in result.discounts:
        found[index] += value
    return found


@pytest.mark.parametrize(
    ("amounts", "percent_off", "expected"),
    [
        ([1000], "25", [250]),
        ([999], "50", [500]),  # 499.5 rounds half up, once per line
        ([333, 333, 334], "33.33", [111, 111, 111]),
        ([1], "50", [1]),
        ([1], "49.99", [0]),
        ([12345], "100", [12345]),
        ([0, 700], "10", [0, 70]),
    ],
)
def test_percent_off_rounds_each_line_once(amounts, percent_off, expected):
    result = discount(draft([line(a) for a in amounts], percent(percent_off)))
    assert per_line(result) == expected


@pytest.mark.parametrize(
    ("amounts", "amount_off", "expected"),
    [
        ([3000], 1000, [1000]),
        ([1000, 1000, 1000], 1000, [334, 333, 333]),  # leftover cent to the first
        ([1, 1, 1], 2, [1, 1, 0]),
        ([700, 300], 1000, [700, 300]),
        ([700, 300], 5000, [700, 300]),  # never more than the lines
        ([2500, 7500], 999, [250, 749]),  # 249.75 / 749.25: largest remainder
        ([100, 0, 200], 150, [50, 0, 100]),
    ],
)
def test_amount_off_is_spread_to_the_cent(amounts, amount_off, expected):
    result = discount(draft([line(a) for a in amounts], amount(amount_off)))
    assert per_line(result) == expected
    assert sum(per_line(result)) == min(amount_off, sum(amounts))


def test_applies_to_products_discountable_and_negative_lines():
    lines = [
        line(1000, product="prod_a"),
        line(1000, product="prod_b"),
        line(1000, product="prod_a", discountable=False),
        line(-500, product="prod_a"),
        line(1000, product=None),
    ]
    only_a = percent("50", products=frozenset({"prod_a"}))
    assert per_line(discount(draft(lines, only_a))) == [500, 0, 0, 0, 0]
    assert per_line(discount(draft(lines, percent("10")))) == [100, 100, 0, 0, 100]


def test_item_discounts_come_first_and_discounts_stack_on_what_is_left():
    lines = [line(1000, item="ii_1"), line(1000)]
    item_amount = DiscountCandidate(
        discount_id="di_item", amount_off=400, currency="usd", invoice_item_id="ii_1"
    )
    result = discount(draft(lines, percent("50"), item_amount))
    assert [(a.line, a.discount_id, a.amount) for a in result.discount_allocations] == [
        (0, "di_item", 400),
        (0, "di_p", 300),
        (1, "di_p", 500),
    ]


def test_a_coupon_in_another_currency_takes_nothing_off():
    result = discount(draft([line(1000)], amount(500, currency="eur")))
    assert result.discounts == ()


def test_no_coupons_leave_the_draft_as_it_was():
    before = draft([line(1000)])
    assert discount(before) is before


@pytest.mark.parametrize(
    ("duration", "end", "once_invoice", "moment", "applies"),
    [
        ("forever", None, None, datetime(2030, 1, 1, tzinfo=UTC), True),
        ("repeating", datetime(2026, 6, 1, tzinfo=UTC), None, T0, True),
        (
            "repeating",
            datetime(2026, 6, 1, tzinfo=UTC),
            None,
            datetime(2026, 6, 1, tzinfo=UTC),
            False,
        ),
        ("once", None, None, T0, True),
        ("once", None, "in_this", T0, True),
        ("once", None, "in_other", T0, False),
        ("forever", None, None, datetime(2026, 3, 31, tzinfo=UTC), False),
    ],
)
def test_durations(duration, end, once_invoice, moment, applies):
    assert (
        applies_at(
            duration=duration,
            start=T0,
            end=end,
            once_invoice_id=once_invoice,
            invoice_id="in_this",
            moment=moment,
        )
        is applies
    )


# ---- invariants -------------------------------------------------------------------

amounts_strategy = st.lists(st.integers(-5_000, 1_000_000), min_size=1, max_size=8)
candidate_strategy = st.one_of(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2).map(
        lambda p: DiscountCandidate(discount_id="di_p", percent_off=p)
    ),
    st.integers(1, 2_000_000).map(
        lambda a: DiscountCandidate(discount_id="di_a", amount_off=a, currency="usd")
    ),
)


@given(
    amounts=amounts_strategy,
    flags=st.lists(st.booleans(), min_size=8, max_size=8),
    coupons=st.lists(candidate_strategy, max_size=3),
)
def test_discounts_never_exceed_what_they_discount(amounts, flags, coupons):
    lines = [
        line(a, discountable=flag) for a, flag in zip(amounts, flags, strict=False)
    ]
    result = compose(draft(lines, *coupons))
    discounted = per_line(result)
    discountable = sum(max(x.amount, 0) for x in lines if x.discountable)
    assert sum(discounted) <= discountable
    for item, taken in zip(lines, discounted, strict=True):
        assert 0 <= taken <= max(item.amount, 0)
        assert taken == 0 or item.discountable
    subtotal = sum(x.amount for x in lines)
    assert result.subtotal == subtotal
    assert result.total == subtotal - sum(discounted) - result.total_credit + (
        result.total_tax
    )


@given(
    amounts=st.lists(st.integers(0, 10**9), min_size=1, max_size=10),
    amount_off=st.integers(1, 10**10),
)
def test_amount_shares_add_up_exactly(amounts, amount_off):
    left = dict(enumerate(amounts))
    shares = amount_shares(left, amount_off)
    assert sum(shares.values()) == min(amount_off, sum(amounts))
    assert all(0 <= shares[i] <= left[i] for i in shares)


@given(
    amounts=st.lists(st.integers(0, 10**9), min_size=1, max_size=10),
    value=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
)
def test_percent_shares_stay_within_each_line(amounts, value):
    left = dict(enumerate(amounts))
    for index, share in percent_shares(left, value).items():
        assert 0 <= share <= left[index]
