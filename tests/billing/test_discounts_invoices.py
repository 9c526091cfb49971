"""Discounts on real invoices, to the cent: every price model × percent/amount
coupons × once/repeating/forever over four invoices; which discount wins
(subscription over customer); one-off invoices and items; previews equal the
invoices they preview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from billing.models import Discount, Invoice
from billing.services import (
    invoice_create,
    invoice_finalize_manual,
    invoice_item_create,
    invoice_preview,
    invoices_finalize_due,
    subscription_create,
    subscription_update,
    subscriptions_close_due,
)
from billing.services.coupons import coupon_create
from billing.services.discounts import customer_discount_set
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    ProductFactory,
    record_usage,
    tiered_price,
)

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUN1 = datetime(2026, 6, 1, tzinfo=UTC)
JUL1 = datetime(2026, 7, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
TIERS = [(5, "700", "0"), (10, "650", "0"), (None, "600", "0")]


def _per_unit():
    return PriceFactory(unit_amount_decimal=Decimal(1000)), 3, 0


def _metered():
    return PriceFactory(metered=True, unit_amount_decimal=Decimal(3)), None, 500


def _package():
    price = PriceFactory(
        metered=True,
        unit_amount_decimal=Decimal(500),
        transform_quantity_divide_by=10,
        transform_quantity_round="up",
    )
    return price, None, 25


def _graduated():
    price = tiered_price(mode="graduated", tiers=TIERS, metered=True)
    return price, None, 6


def _volume():
    price = tiered_price(mode="volume", tiers=TIERS, metered=True)
    return price, None, 6


# (make the price, quantity, monthly usage) and each invoice's amount before
# discounts: the first (licensed in advance, usage lines at zero), then three cycles.
PRICE_MODELS = {
    "per_unit": (_per_unit, [3000, 3000, 3000, 3000]),
    "metered": (_metered, [0, 1500, 1500, 1500]),
    "package": (_package, [0, 1500, 1500, 1500]),  # 25 → 3 packages of 10
    "graduated": (_graduated, [0, 4150, 4150, 4150]),  # 5 × 7.00 + 1 × 6.50
    "volume": (_volume, [0, 3900, 3900, 3900]),  # 6 × 6.50
}
COUPONS = {
    "percent": {"percent_off": Decimal(25)},
    "amount": {"amount_off": 1000, "currency": "usd"},
}
DURATIONS = {
    "once": {"duration": "once"},
    "repeating": {"duration": "repeating", "duration_in_months": 2},
    "forever": {"duration": "forever"},
}


def off(kind: str, amount: int) -> int:
    """What the coupon takes off an invoice of ``amount`` minor units."""
    if kind == "percent":
        return int((Decimal(amount) / 4).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(1000, amount)


def expected_discounts(kind: str, duration: str, amounts: list[int]) -> list[int]:
    """Once: the first invoice it takes something off; repeating 2 months from
    Apr 1: invoices made before Jun 1; forever: all."""
    found, spent = [], False
    for index, amount in enumerate(amounts):
        applies = {
            "once": not spent,
            "repeating": index < 2,
            "forever": True,
        }[duration]
        taken = off(kind, amount) if applies else 0
        spent = spent or taken > 0
        found.append(taken)
    return found


def _run_months(sub, price, usage: int) -> list[Invoice]:
    customer = sub.customer
    for start, end in ((APR1, MAY1), (MAY1, JUN1), (JUN1, JUL1)):
        if usage:
            record_usage(
                meter=price.recurring_meter,
                customer=customer,
                value=usage,
                at=start + timedelta(days=3),
            )
        subscriptions_close_due(now=end)
        invoices_finalize_due(now=end + 2 * HOUR)
    return list(Invoice.objects.filter(subscription=sub).order_by("created", "id"))


@pytest.mark.parametrize("duration", list(DURATIONS))
@pytest.mark.parametrize("kind", list(COUPONS))
@pytest.mark.parametrize("model", list(PRICE_MODELS))
def test_price_models_coupons_and_durations(model, kind, duration):
    make, amounts = PRICE_MODELS[model]
    price, quantity, usage = make()
    coupon = coupon_create(params={**COUPONS[kind], **DURATIONS[duration]}, now=APR1)
    item = {"price": price.pk} | ({"quantity": quantity} if quantity else {})
    sub = subscription_create(
        customer=CustomerFactory(),
        params={"items": [item], "discounts": [{"coupon": coupon.pk}]},
        now=APR1,
    )
    invoices = _run_months(sub, price, usage)
    assert [invoice.subtotal for invoice in invoices] == amounts
    wanted = expected_discounts(kind, duration, amounts)
    taken = [sum(e["amount"] for e in i.total_discount_amounts) for i in invoices]
    assert taken == wanted
    assert [i.total for i in invoices] == [
        a - w for a, w in zip(amounts, wanted, strict=True)
    ]
    (discount,) = Discount.objects.filter(subscription=sub)
    for invoice, amount in zip(invoices, wanted, strict=True):
        if amount:
            assert invoice.total_discount_amounts == [
                {"amount": amount, "discount": discount.pk}
            ]
            assert discount.pk in invoice.discounts
            (line,) = [x for x in invoice.lines.all() if x.amount]
            assert line.discount_amounts == [
                {"amount": amount, "discount": discount.pk}
            ]
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 1


def test_amount_off_larger_than_the_invoice_takes_it_to_zero():
    seats = PriceFactory(unit_amount_decimal=Decimal(700))
    coupon = coupon_create(params={"amount_off": 5000, "currency": "usd"}, now=APR1)
    sub = subscription_create(
        customer=CustomerFactory(),
        params={"items": [{"price": seats.pk}], "discounts": [{"coupon": coupon.pk}]},
        now=APR1,
    )
    invoice = sub.latest_invoice
    assert (invoice.subtotal, invoice.total, invoice.amount_due) == (700, 0, 0)
    assert invoice.status == "paid"


def test_applies_to_products_limits_the_lines():
    product = ProductFactory(name="Pro")
    pro = PriceFactory(product=product, unit_amount_decimal=Decimal(2000))
    other = PriceFactory(unit_amount_decimal=Decimal(1000))
    coupon = coupon_create(
        params={"percent_off": Decimal(50), "applies_to": {"products": [product.pk]}},
        now=APR1,
    )
    sub = subscription_create(
        customer=CustomerFactory(),
        params={
            "items": [{"price": pro.pk}, {"price": other.pk}],
            "discounts": [{"coupon": coupon.pk}],
        },
        now=APR1,
    )
    invoice = sub.latest_invoice
    assert (invoice.subtotal, invoice.total) == (3000, 2000)
    by_price = {line.price_id: line.discount_amounts for line in invoice.lines.all()}
    assert by_price[other.pk] == []
    assert [e["amount"] for e in by_price[pro.pk]] == [1000]


def test_the_subscriptions_discount_wins_over_the_customers():
    customer = CustomerFactory()
    seats = PriceFactory(unit_amount_decimal=Decimal(1000))
    ten = coupon_create(
        params={"percent_off": Decimal(10), "duration": "forever"}, now=APR1
    )
    half = coupon_create(
        params={"percent_off": Decimal(50), "duration": "forever"}, now=APR1
    )
    customer_discount_set(customer=customer, entry={"coupon": ten.pk}, now=APR1)
    sub = subscription_create(
        customer=customer, params={"items": [{"price": seats.pk}]}, now=APR1
    )
    assert sub.latest_invoice.total == 900  # inherits the customer's
    subscription_update(
        subscription=sub, params={"discounts": [{"coupon": half.pk}]}, now=APR1
    )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + 2 * HOUR)
    cycle = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert (cycle.subtotal, cycle.total) == (1000, 500)


def test_one_off_invoice_and_item_discounts():
    customer = CustomerFactory()
    ten_off = coupon_create(params={"amount_off": 1000, "currency": "usd"}, now=APR1)
    quarter = coupon_create(params={"percent_off": Decimal(25)}, now=APR1)
    invoice = invoice_create(
        customer=customer,
        params={"currency": "usd", "discounts": [{"coupon": quarter.pk}]},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={
            "invoice": invoice.pk,
            "amount": 4000,
            "currency": "usd",
            "discounts": [{"coupon": ten_off.pk}],
        },
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={"invoice": invoice.pk, "amount": 2000, "currency": "usd"},
        now=APR1,
    )
    invoice_item_create(
        customer=customer,
        params={
            "invoice": invoice.pk,
            "amount": 2000,
            "currency": "usd",
            "discountable": False,
        },
        now=APR1,
    )
    invoice = invoice_finalize_manual(invoice=invoice, now=APR1, auto_advance=None)
    # Line 1: 40.00 − 10.00 (its own) − 25% of 30.00; line 2: 25% of 20.00.
    assert invoice.subtotal == 8000
    assert sum(e["amount"] for e in invoice.total_discount_amounts) == 1000 + 750 + 500
    assert invoice.total == 8000 - 2250
    lines = list(invoice.lines.order_by("position"))
    assert [sum(e["amount"] for e in x.discount_amounts) for x in lines] == [
        1750,
        500,
        0,
    ]


def test_preview_equals_the_invoice_with_a_coupon():
    customer = CustomerFactory()
    tokens = PriceFactory(metered=True, unit_amount_decimal=Decimal(3))
    seats = PriceFactory(unit_amount_decimal=Decimal(1000))
    coupon = coupon_create(
        params={"amount_off": 777, "currency": "usd", "duration": "forever"}, now=APR1
    )
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": seats.pk}, {"price": tokens.pk}],
            "discounts": [{"coupon": coupon.pk}],
        },
        now=APR1,
    )
    record_usage(
        meter=tokens.recurring_meter, customer=customer, value=333, at=APR1 + HOUR
    )
    preview = invoice_preview(customer=customer, subscription=None, now=MAY1 - HOUR)
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + 2 * HOUR)
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert (preview["subtotal"], preview["total"]) == (invoice.subtotal, invoice.total)
    assert preview["total_discount_amounts"] == invoice.total_discount_amounts
    assert preview["discounts"] == invoice.discounts
    shown = [line["discount_amounts"] for line in preview["lines"]["data"]]
    assert shown == [line.discount_amounts for line in invoice.lines.all()]
    assert invoice.total == 999 + 1000 - 777


def test_preview_with_discounts_param_equals_the_invoice_after_the_update():
    customer = CustomerFactory()
    seats = PriceFactory(unit_amount_decimal=Decimal(1000))
    coupon = coupon_create(
        params={"percent_off": Decimal("12.5"), "duration": "forever"}, now=APR1
    )
    sub = subscription_create(
        customer=customer, params={"items": [{"price": seats.pk}]}, now=APR1
    )
    preview = invoice_preview(
        customer=customer,
        subscription=sub,
        now=APR1 + HOUR,
        discounts=[{"coupon": coupon.pk}],
    )
    assert not Discount.objects.exists()  # the preview wrote nothing
    coupon.refresh_from_db()
    assert coupon.times_redeemed == 0
    subscription_update(
        subscription=sub, params={"discounts": [{"coupon": coupon.pk}]}, now=APR1 + HOUR
    )
    subscriptions_close_due(now=MAY1)
    invoices_finalize_due(now=MAY1 + 2 * HOUR)
    invoice = Invoice.objects.get(subscription=sub, billing_reason="subscription_cycle")
    assert (preview["total"], invoice.total) == (875, 875)
