"""The whole pipeline on real invoices, to the cent: every price model × percent /
amount coupons × exclusive / inclusive taxes × with / without credits × with /
without a customer balance (discount → credits → tax → balance → totals).

Each case is a metered subscription with April's usage, closed and finalized on
May 1. The expected amounts are worked by hand from the design's rules (each step
rounds once per line, half up) and written out below.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice
from billing.services import (
    invoices_finalize_due,
    subscription_create,
    subscriptions_close_due,
)
from billing.services.coupons import coupon_create
from billing.taxes.rates import tax_rate_create
from credits.services import credit_grant_create
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    record_usage,
    tiered_price,
)

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
TIERS = [(5, "700", "0"), (10, "650", "0"), (None, "600", "0")]

# (make the metered price, April usage, the line's amount)
PRICE_MODELS = {
    # 500 × 0.03
    "per_unit": (lambda: PriceFactory(metered=True, unit_amount_decimal=3), 500, 1500),
    # 31 units in packages of 10, rounded up: 4 × 5.00
    "package": (
        lambda: PriceFactory(
            metered=True,
            unit_amount_decimal=Decimal(500),
            transform_quantity_divide_by=10,
            transform_quantity_round="up",
        ),
        31,
        2000,
    ),
    # 5 × 7.00 + 1 × 6.50
    "graduated": (
        lambda: tiered_price(mode="graduated", tiers=TIERS, metered=True),
        6,
        4150,
    ),
    # 6 × 6.50
    "volume": (
        lambda: tiered_price(mode="volume", tiers=TIERS, metered=True),
        6,
        3900,
    ),
}
COUPONS = {
    "percent": {"percent_off": Decimal(25)},  # 25 %, rounded half up per line
    "amount": {"amount_off": 1000, "currency": "usd"},  # 10.00
}
CREDIT = 500  # a 5.00 grant: it pays metered lines after discounts, before tax
BALANCES = {"no balance": 0, "credit balance": -300}

# (model, coupon) → discount taken off the line.
DISCOUNTS = {
    ("per_unit", "percent"): 375,
    ("per_unit", "amount"): 1000,
    ("package", "percent"): 500,
    ("package", "amount"): 1000,
    ("graduated", "percent"): 1038,  # 1037.5 rounds up
    ("graduated", "amount"): 1000,
    ("volume", "percent"): 975,
    ("volume", "amount"): 1000,
}

# (model, coupon, credits?) → (exclusive 19 % tax, inclusive 19 % tax contained),
# each on the line after its discount and credit: round(taxable × 19 / 100) and
# round(taxable × 19 / 119).
TAXES = {
    ("per_unit", "percent", True): (119, 100),  # on 6.25: 118.75; 99.79
    ("per_unit", "amount", True): (0, 0),  # on 0.00
    ("package", "percent", True): (190, 160),  # on 10.00: 190; 159.66
    ("package", "amount", True): (95, 80),  # on 5.00: 95; 79.83
    ("graduated", "percent", True): (496, 417),  # on 26.12: 496.28; 417.04
    ("graduated", "amount", True): (504, 423),  # on 26.50: 503.5; 423.11
    ("volume", "percent", True): (461, 387),  # on 24.25: 460.75; 387.18
    ("volume", "amount", True): (456, 383),  # on 24.00: 456; 383.19
    ("per_unit", "percent", False): (214, 180),  # on 11.25: 213.75; 179.62
    ("per_unit", "amount", False): (95, 80),  # on 5.00
    ("package", "percent", False): (285, 239),  # on 15.00: 285; 239.50 (239.496)
    ("package", "amount", False): (190, 160),  # on 10.00
    ("graduated", "percent", False): (591, 497),  # on 31.12: 591.28; 496.87
    ("graduated", "amount", False): (599, 503),  # on 31.50: 598.5; 502.94
    ("volume", "percent", False): (556, 467),  # on 29.25: 555.75; 467.02
    ("volume", "amount", False): (551, 463),  # on 29.00: 551; 463.03
}


def cycle_invoice(model, coupon_kind, inclusive, credits, balance) -> Invoice:
    make_price, usage, _amount = PRICE_MODELS[model]
    price = make_price()
    customer = CustomerFactory(balance=balance)
    if credits:
        credit_grant_create(customer=customer, value=CREDIT, currency="usd", now=APR1)
    coupon = coupon_create(
        params={**COUPONS[coupon_kind], "duration": "forever"}, now=APR1
    )
    vat = tax_rate_create(
        params={
            "display_name": "VAT",
            "percentage": Decimal(19),
            "inclusive": inclusive,
        },
        now=APR1,
    )
    subscription_create(
        customer=customer,
        params={
            "items": [{"price": price.pk}],
            "discounts": [{"coupon": coupon.pk}],
            "default_tax_rates": [vat.pk],
        },
        now=APR1,
    )
    record_usage(
        meter=price.recurring_meter,
        customer=customer,
        value=usage,
        at=APR1 + timedelta(days=3),
    )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + timedelta(hours=2))
    return Invoice.objects.get(customer=customer, billing_reason="subscription_cycle")


@pytest.mark.parametrize("balance", list(BALANCES))
@pytest.mark.parametrize("credits", [True, False], ids=["credits", "no credits"])
@pytest.mark.parametrize("tax", ["exclusive", "inclusive"])
@pytest.mark.parametrize("coupon", list(COUPONS))
@pytest.mark.parametrize("model", list(PRICE_MODELS))
def test_every_step_to_the_cent(model, coupon, tax, credits, balance):
    inclusive = tax == "inclusive"
    starting = BALANCES[balance]
    invoice = cycle_invoice(model, coupon, inclusive, credits, starting)
    amount = PRICE_MODELS[model][2]
    discount = DISCOUNTS[model, coupon]
    credit = CREDIT if credits else 0
    taxed = TAXES[model, coupon, credits][inclusive]
    total = amount - discount - credit + (0 if inclusive else taxed)
    due = max(total + starting, 0)

    (line,) = invoice.lines.all()
    assert line.amount == amount
    assert sum(e["amount"] for e in line.discount_amounts) == discount
    assert sum(e["amount"] for e in line.pretax_credit_amounts) == credit
    assert [e["amount"] for e in line.taxes] == [taxed]
    assert [e["taxable_amount"] for e in line.taxes] == [
        amount - discount - credit - (taxed if inclusive else 0)
    ]
    assert sum(e["amount"] for e in invoice.total_discount_amounts) == discount
    assert sum(e["amount"] for e in invoice.total_pretax_credit_amounts) == credit
    assert [(e["amount"], e["tax_behavior"]) for e in invoice.total_taxes] == [
        (taxed, tax)
    ]
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (
        amount,
        total,
        due,
    )
    # The balance applied is what separates the amount due from the total.
    assert invoice.starting_balance == starting
    assert invoice.ending_balance == min(total + starting, 0)
    applied = invoice.starting_balance - invoice.ending_balance
    assert invoice.amount_due == invoice.total + applied
    invoice.customer.refresh_from_db()
    assert invoice.customer.balance == invoice.ending_balance
