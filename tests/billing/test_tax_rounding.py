"""Tax rounding per line item (the default) or per invoice (``TALLY_TAX_ROUNDING``),
to the cent on invoices where the two differ; hypothesis for the invoice rounding's
invariants (lines add up to the rounded exact sum, each within a unit of exact)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.models import Invoice
from billing.services import (
    invoice_create,
    invoice_finalize_manual,
    invoice_item_create,
)
from billing.taxes.calculate import (
    INVOICE,
    LINE_ITEM,
    RateSpec,
    TaxedLine,
    allocate_rounded,
    invoice_taxes,
)
from billing.taxes.provider import (
    ManualTaxRates,
    TaxableLine,
    TaxCustomer,
    TaxRequest,
)
from billing.taxes.rates import tax_rate_create
from tests.billing.factories import CustomerFactory

APR1 = datetime(2026, 4, 1, tzinfo=UTC)

VAT10 = RateSpec("txr_vat", Decimal(10), False)
VAT19 = RateSpec("txr_19", Decimal(19), False)
STATE = RateSpec("txr_state", Decimal("7.25"), False)
GST7 = RateSpec("txr_gst", Decimal(7), True)

# (line amounts, rates on each line) → per rounding: each line's taxes, in line
# then rate order, as (amount, taxable_amount).
CASES = {
    # 10.5 cents of tax on each 1.05: 11 + 11 + 11 per line; 31.5 → 32 per invoice.
    "exclusive": (
        [105, 105, 105],
        [VAT10],
        {
            LINE_ITEM: [(11, 105), (11, 105), (11, 105)],
            INVOICE: [(11, 105), (11, 105), (10, 105)],
        },
    ),
    # 100 × 7/107 = 6.54 contained in each: 7 × 3 = 21 per line; 19.63 → 20.
    "inclusive": (
        [100, 100, 100],
        [GST7],
        {
            LINE_ITEM: [(7, 93), (7, 93), (7, 93)],
            INVOICE: [(7, 93), (7, 93), (6, 94)],
        },
    ),
    # 19 %: 199.5 each, 600 per line vs 598.5 → 599; 7.25 %: 76.125 each, 228 both.
    "two exclusive rates": (
        [1050, 1050, 1050],
        [VAT19, STATE],
        {
            LINE_ITEM: [(200, 1050), (76, 1050)] * 3,
            INVOICE: [(200, 1050), (76, 1050), (200, 1050), (76, 1050)]
            + [(199, 1050), (76, 1050)],
        },
    ),
    # 65.42 contained in each 10.00 (195 vs 196.26 → 196), then 10 % on the net:
    # 93.5 on 935 rounds up per line (282) but 280.4 → 280 per invoice.
    "inclusive then exclusive": (
        [1000, 1000, 1000],
        [GST7, VAT10],
        {
            LINE_ITEM: [(65, 935), (94, 935)] * 3,
            INVOICE: [(66, 934), (93, 934), (65, 935), (94, 935)]
            + [(65, 935), (93, 935)],
        },
    ),
    # A credit line: −10.5 + 10.5 + 10.5 = 10.5 → 11 either way, spread apart.
    "negative line": (
        [-105, 105, 105],
        [VAT10],
        {
            LINE_ITEM: [(-11, -105), (11, 105), (11, 105)],
            INVOICE: [(-10, -105), (11, 105), (10, 105)],
        },
    ),
}


def request_of(amounts, rates, tax_exempt="none") -> TaxRequest:
    return TaxRequest(
        currency="usd",
        lines=tuple(
            TaxableLine(index, amount, tuple(rate.id for rate in rates))
            for index, amount in enumerate(amounts)
        ),
        customer=TaxCustomer(tax_exempt=tax_exempt),
        rates={rate.id: rate for rate in rates},
    )


@pytest.mark.parametrize("rounding", [LINE_ITEM, INVOICE])
@pytest.mark.parametrize("case", list(CASES))
def test_line_item_and_invoice_rounding(case, rounding):
    amounts, rates, expected = CASES[case]
    taxes = ManualTaxRates(rounding).calculate(request_of(amounts, rates))
    assert [(tax.amount, tax.taxable_amount) for tax in taxes] == expected[rounding]
    assert [tax.line for tax in taxes] == [
        index for index in range(len(amounts)) for _ in rates
    ]
    assert [tax.tax_rate for tax in taxes] == [rate.id for rate in rates] * len(amounts)
    for tax in taxes:
        if tax.inclusive:  # the net and the contained taxes make the line
            contained = sum(
                t.amount for t in taxes if t.line == tax.line and t.inclusive
            )
            assert tax.taxable_amount + contained == amounts[tax.line]


@pytest.mark.parametrize("status", ["exempt", "reverse"])
def test_invoice_rounding_of_exempt_customers_is_zero(status):
    taxes = ManualTaxRates(INVOICE).calculate(
        request_of([105, 1000], [GST7, VAT10], tax_exempt=status)
    )
    assert {tax.amount for tax in taxes} == {0}
    assert {tax.taxability_reason for tax in taxes} == {
        "customer_exempt" if status == "exempt" else "reverse_charge"
    }
    assert [tax.taxable_amount for tax in taxes] == [105, 105, 1000, 1000]


@pytest.mark.parametrize(
    ("exact", "shares"),
    [
        ({0: Decimal("10.5"), 1: Decimal("10.5"), 2: Decimal("10.5")}, [11, 11, 10]),
        ({0: Decimal("0.4"), 1: Decimal("0.6"), 2: Decimal("0.3")}, [0, 1, 0]),
        ({0: Decimal("2.49"), 1: Decimal("0.01")}, [3, 0]),  # 2.50 → 3
        ({0: Decimal("-0.5"), 1: Decimal("-0.5")}, [0, -1]),  # −1.0 → −1
        ({0: Decimal(0)}, [0]),
        ({}, []),
    ],
)
def test_allocate_rounded(exact, shares):
    assert list(allocate_rounded(exact).values()) == shares


exact_amounts = st.decimals(
    min_value=-(10**9), max_value=10**9, places=6, allow_nan=False
)


@given(st.lists(exact_amounts, max_size=8))
def test_allocation_adds_up_and_stays_within_a_unit(values):
    exact = dict(enumerate(values))
    shares = allocate_rounded(exact)
    total = sum(values, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert sum(shares.values()) == total
    for line, value in exact.items():
        assert abs(shares[line] - value) < 1


percentages = st.decimals(min_value=0, max_value=100, places=4)


@given(
    amounts=st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=6),
    specs=st.lists(st.tuples(percentages, st.booleans()), min_size=1, max_size=3),
)
def test_invoice_rounding_rounds_each_rate_once_over_the_invoice(amounts, specs):
    rates = tuple(
        RateSpec(f"txr_{index}", percentage, inclusive)
        for index, (percentage, inclusive) in enumerate(specs)
    )
    taxes = invoice_taxes(
        lines=[TaxedLine(index, amount, rates) for index, amount in enumerate(amounts)]
    )
    share = Decimal(100) + sum((r.percentage for r in rates if r.inclusive), 0)
    for rate in rates:
        of_rate = [tax for tax in taxes if tax.tax_rate == rate.id]
        exact = [
            (
                amounts[tax.line] * rate.percentage / share
                if rate.inclusive
                else tax.taxable_amount * rate.percentage / 100
            )
            for tax in of_rate
        ]
        rounded = sum(exact, Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert sum(tax.amount for tax in of_rate) == rounded
        for tax, value in zip(of_rate, exact, strict=True):
            assert abs(tax.amount - value) < 1
    for index, amount in enumerate(amounts):
        line = [tax for tax in taxes if tax.line == index]
        contained = sum(tax.amount for tax in line if tax.inclusive)
        assert {tax.taxable_amount for tax in line} == {amount - contained}


def _three_items_at_ten_percent() -> Invoice:
    customer = CustomerFactory()
    vat = tax_rate_create(
        params={"display_name": "VAT", "percentage": Decimal(10), "inclusive": False},
        now=APR1,
    )
    invoice = invoice_create(
        customer=customer,
        params={"currency": "usd", "default_tax_rates": [vat.pk]},
        now=APR1,
    )
    for _ in range(3):
        invoice_item_create(
            customer=customer,
            params={"invoice": invoice.pk, "amount": 105, "currency": "usd"},
            now=APR1,
        )
    return invoice


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rounding", "line_taxes", "total"),
    [(LINE_ITEM, [11, 11, 11], 348), (INVOICE, [11, 11, 10], 347)],
)
def test_the_setting_rounds_real_invoices(settings, rounding, line_taxes, total):
    settings.TALLY_TAX_ROUNDING = rounding
    invoice = invoice_finalize_manual(invoice=_three_items_at_ten_percent(), now=APR1)
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (315, total, total)
    lines = list(invoice.lines.order_by("position"))
    assert [sum(e["amount"] for e in line.taxes) for line in lines] == line_taxes
    assert [e["amount"] for e in invoice.total_taxes] == [total - 315]


def test_the_default_is_line_item_rounding(settings):
    assert settings.TALLY_TAX_ROUNDING == LINE_ITEM
    assert ManualTaxRates().rounding == LINE_ITEM
