"""Invariants of the whole composition pipeline (hypothesis): random lines, coupons,
credit grants, tax rates, customer balances and both tax roundings through
discount → credits → tax → balance → totals.

- total = subtotal − discounts − credits + exclusive taxes;
- amount due = total − the customer balance applied (starting − ending), never
  negative;
- no step takes more off a line than the line has left, and a credit balance
  pays at most the total.

Credit notes never exceeding the invoice is ``test_customer_balance_invoices``'s
hypothesis test, on real invoices and notes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.compose import tax as tax_step
from billing.compose.discount import DiscountCandidate
from billing.compose.draft import DraftLine, InvoiceDraft
from billing.compose.pipeline import STEPS, compose
from billing.taxes.calculate import INVOICE, LINE_ITEM, RateSpec
from billing.taxes.provider import ManualTaxRates, TaxCustomer
from credits.allocation import GrantCandidate

NOW = datetime(2026, 5, 1, tzinfo=UTC)
RATES = ("txr_a", "txr_b")
PRODUCTS = ("prod_a", "prod_b")


def _price(product: str, metered: bool):
    return SimpleNamespace(
        pk=f"price_{product}_{metered}",
        product_id=product,
        is_metered=metered,
        tax_behavior=None,
    )


@st.composite
def lines(draw):
    metered = draw(st.booleans())
    return DraftLine(
        kind="metered" if metered else "licensed",
        amount=draw(st.integers(-(10**6), 10**8)),
        currency="usd",
        description="",
        period_start=NOW,
        period_end=NOW,
        price=_price(draw(st.sampled_from(PRODUCTS)), metered),
        discountable=draw(st.booleans()),
        tax_rates=tuple(draw(st.lists(st.sampled_from(RATES), unique=True))),
    )


@st.composite
def coupons(draw, index: int):
    products = frozenset(draw(st.lists(st.sampled_from(PRODUCTS), unique=True)))
    if draw(st.booleans()):
        return DiscountCandidate(
            f"di_{index}",
            percent_off=draw(
                st.decimals(min_value=Decimal("0.01"), max_value=100, places=2)
            ),
            products=products,
        )
    return DiscountCandidate(
        f"di_{index}",
        amount_off=draw(st.integers(1, 10**7)),
        currency=draw(st.sampled_from(["usd", "usd", "eur"])),
        products=products,
    )


@st.composite
def drafts(draw):
    count = draw(st.integers(0, 3))
    grants = tuple(
        GrantCandidate(
            id=f"credgr_{index}",
            currency="usd",
            balance=draw(st.integers(0, 10**7)),
            priority=draw(st.integers(0, 100)),
            category=draw(st.sampled_from(["paid", "promotional"])),
            effective_at=NOW,
            expires_at=None,
            created=NOW,
        )
        for index in range(draw(st.integers(0, 2)))
    )
    return InvoiceDraft(
        customer_id="cus_x",
        currency="usd",
        lines=tuple(draw(st.lists(lines(), min_size=1, max_size=6))),
        now=NOW,
        grants=grants,
        customer_balance=draw(st.integers(-(10**8), 10**7)),
        coupons=tuple(draw(coupons(index)) for index in range(count)),
        default_tax_rates=tuple(draw(st.lists(st.sampled_from(RATES), unique=True))),
        tax_rate_specs=tuple(
            RateSpec(
                rate,
                draw(st.decimals(min_value=0, max_value=30, places=3)),
                draw(st.booleans()),
            )
            for rate in RATES
        ),
        tax_customer=TaxCustomer(
            tax_exempt=draw(st.sampled_from(["none", "none", "exempt", "reverse"]))
        ),
    )


def composed(draft: InvoiceDraft, rounding: str) -> InvoiceDraft:
    """Every step after ``rate``, with the tax rounding ``rounding``."""
    provider = ManualTaxRates(rounding)
    with mock.patch.object(tax_step, "tax_provider", return_value=provider):
        return compose(draft, STEPS)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draft=drafts(), rounding=st.sampled_from([LINE_ITEM, INVOICE]))
def test_pipeline_invariants(draft, rounding):
    done = composed(draft, rounding)
    exclusive = sum(t.amount for t in done.taxes if not t.inclusive)
    assert done.subtotal == sum(line.amount for line in draft.lines)
    assert done.total == (
        done.subtotal - done.total_discount - done.total_credit + exclusive
    )
    applied = done.starting_balance - done.ending_balance
    assert done.amount_due == done.total + applied
    assert done.amount_due >= 0
    assert done.starting_balance == draft.customer_balance
    # A credit balance pays at most the total; the rest stays credit.
    assert done.ending_balance <= 0
    if draft.customer_balance <= 0 and done.total >= 0:
        assert applied <= 0
        assert -applied <= done.total
    for index, line in enumerate(draft.lines):
        off = sum(a for i, a in done.discounts if i == index)
        credited = sum(c.amount for c in done.credits_of(index))
        assert off >= 0
        assert credited >= 0
        if line.amount >= 0:
            assert off + credited <= line.amount
        else:
            assert off == credited == 0
    if all(line.amount >= 0 for line in draft.lines):
        assert done.total >= 0
