"""Subscription lifecycles with exact amounts: anchors, trials, backdating,
cancellation, prorations, late usage, catching up missed periods."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceItem
from billing.services import (
    invoices_finalize_due,
    subscription_cancel,
    subscription_create,
    subscription_update,
    subscriptions_close_due,
)
from tests.billing.factories import (
    CustomerFactory,
    PriceFactory,
    hypernian,
    record_usage,
)

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
APR16 = datetime(2026, 4, 16, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)

pytestmark = pytest.mark.django_db


def d(year, month, day, hour=0):
    return datetime(year, month, day, hour, tzinfo=UTC)


def cycle_invoices(sub):
    return list(
        Invoice.objects.filter(subscription=sub, billing_reason="subscription_cycle")
        .order_by("period_start")
        .prefetch_related("lines")
    )


def line_rows(invoice):
    return [
        (line.kind, line.amount, line.period_start, line.period_end)
        for line in invoice.lines.order_by("position")
    ]


def test_anchor_on_the_31st_clamps_and_catches_up_in_order():
    price = PriceFactory()  # 10.00 per month
    sub = subscription_create(
        customer=CustomerFactory(),
        params={"items": [{"price": price.pk, "quantity": 1}]},
        now=d(2026, 1, 31),
    )
    assert subscriptions_close_due(now=d(2026, 4, 30)) == 3
    invoices = cycle_invoices(sub)
    assert [(i.period_start, i.period_end) for i in invoices] == [
        (d(2026, 1, 31), d(2026, 2, 28)),
        (d(2026, 2, 28), d(2026, 3, 31)),
        (d(2026, 3, 31), d(2026, 4, 30)),
    ]
    assert [line_rows(i) for i in invoices] == [
        [("licensed", 1000, d(2026, 2, 28), d(2026, 3, 31))],
        [("licensed", 1000, d(2026, 3, 31), d(2026, 4, 30))],
        [("licensed", 1000, d(2026, 4, 30), d(2026, 5, 31))],
    ]
    sub.refresh_from_db()
    assert (sub.current_period_start, sub.current_period_end) == (
        d(2026, 4, 30),
        d(2026, 5, 31),
    )
    # The drafts of missed periods are all past their grace period.
    assert invoices_finalize_due(now=d(2026, 4, 30, 1)) == 3


def test_anchor_config_day_31_prorates_the_first_partial_period():
    price = PriceFactory()
    sub = subscription_create(
        customer=CustomerFactory(),
        params={
            "items": [{"price": price.pk, "quantity": 1}],
            "billing_cycle_anchor_config": {"day_of_month": 31},
        },
        now=d(2026, 4, 10),
    )
    first = sub.latest_invoice
    # [Apr 10, Apr 30) is 20 of the 30 days of [Mar 31, Apr 30): 666.67 → 667.
    assert line_rows(first) == [("licensed", 667, d(2026, 4, 10), d(2026, 4, 30))]
    subscriptions_close_due(now=d(2026, 6, 1))
    assert [line_rows(i)[0][2:] for i in cycle_invoices(sub)] == [
        (d(2026, 4, 30), d(2026, 5, 31)),
        (d(2026, 5, 31), d(2026, 6, 30)),
    ]


def test_future_anchor_without_proration_makes_the_first_period_free():
    price = PriceFactory()
    sub = subscription_create(
        customer=CustomerFactory(),
        params={
            "items": [{"price": price.pk, "quantity": 2}],
            "billing_cycle_anchor": d(2026, 5, 1),
            "proration_behavior": "none",
        },
        now=d(2026, 4, 20),
    )
    assert sub.latest_invoice.total == 0
    assert sub.latest_invoice.status == "paid"


def test_trial_charges_nothing_then_the_first_paid_period():
    flat, overage = hypernian()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": flat.pk}, {"price": overage.pk}],
            "trial_period_days": 14,
        },
        now=APR1,
    )
    assert sub.status == "trialing"
    first = sub.latest_invoice
    assert (first.status, first.total) == ("paid", 0)
    assert [line.description for line in first.lines.order_by("position")] == [
        "Trial period for Hypernian Pro × 1 (Apr 1 – Apr 15, 2026)",
        "0 tokens · Hypernian Pro (Apr 1 – Apr 15, 2026)",
    ]
    # Usage during the trial is not charged.
    record_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=500_000,
        at=d(2026, 4, 5),
    )
    assert subscriptions_close_due(now=d(2026, 4, 15)) == 1
    sub.refresh_from_db()
    assert sub.status == "active"
    (invoice,) = cycle_invoices(sub)
    assert line_rows(invoice) == [
        ("licensed", 20000, d(2026, 4, 15), d(2026, 5, 15)),
    ]


def test_backdated_start_bills_each_period_up_to_the_current_one():
    price = PriceFactory(metered=True, unit_amount_decimal=Decimal(2))
    seats = PriceFactory(recurring_meter=None)
    customer = CustomerFactory()
    record_usage(
        meter=price.recurring_meter, customer=customer, value=100, at=d(2026, 3, 20)
    )
    sub = subscription_create(
        customer=customer,
        params={
            "items": [{"price": seats.pk}, {"price": price.pk}],
            "backdate_start_date": d(2026, 3, 15),
        },
        now=d(2026, 4, 20),
    )
    assert sub.start_date == d(2026, 3, 15)
    assert sub.created == d(2026, 4, 20)
    assert line_rows(sub.latest_invoice) == [
        ("licensed", 1000, d(2026, 3, 15), d(2026, 4, 15)),
        ("metered", 200, d(2026, 3, 15), d(2026, 4, 15)),
        ("licensed", 1000, d(2026, 4, 15), d(2026, 5, 15)),
        ("metered", 0, d(2026, 4, 15), d(2026, 5, 15)),
    ]
    assert sub.latest_invoice.total == 2200


def test_cancel_at_period_end_bills_the_last_usage_and_no_new_period():
    flat, overage = hypernian()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    subscription_update(
        subscription=sub, params={"cancel_at_period_end": True}, now=d(2026, 4, 10)
    )
    record_usage(
        meter=overage.recurring_meter, customer=customer, value=120_000, at=APR16
    )
    subscriptions_close_due(now=MAY1)
    sub.refresh_from_db()
    assert (sub.status, sub.ended_at, sub.canceled_at) == (
        "canceled",
        MAY1,
        d(2026, 4, 10),
    )
    (invoice,) = cycle_invoices(sub)
    assert line_rows(invoice) == [("metered", 2000, APR1, MAY1)]
    assert subscriptions_close_due(now=d(2026, 7, 1)) == 0


def test_cancel_now_with_invoice_now_bills_usage_and_credits_unused_time():
    flat, overage = hypernian()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    record_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=300_000,
        at=d(2026, 4, 3),
    )
    sub = subscription_cancel(
        subscription=sub, invoice_now=True, prorate=True, now=APR16
    )
    assert (sub.status, sub.canceled_at, sub.ended_at) == ("canceled", APR16, APR16)
    final = sub.latest_invoice
    assert final.billing_reason == "subscription_update"
    rows = [(line.kind, line.amount, line.description) for line in final.lines.all()]
    # Half of April unused: 200.00 / 2 credited; 200,000 tokens over 100,000.
    assert rows == [
        ("invoice_item", -10000, "Unused time on 1 × Hypernian Pro after Apr 16, 2026"),
        ("metered", 20000, "300,000 tokens · Hypernian Pro (Apr 1 – Apr 16, 2026)"),
    ]
    invoices_finalize_due(now=APR16 + HOUR)
    final.refresh_from_db()
    assert (final.status, final.total, final.amount_due) == ("open", 10000, 10000)


def test_cancel_now_without_invoice_keeps_no_invoice():
    price = PriceFactory()
    sub = subscription_create(
        customer=CustomerFactory(), params={"items": [{"price": price.pk}]}, now=APR1
    )
    first = sub.latest_invoice
    sub = subscription_cancel(subscription=sub, now=APR16)
    assert sub.status == "canceled"
    assert sub.latest_invoice_id == first.pk
    assert subscriptions_close_due(now=MAY1) == 0


def test_quantity_change_mid_period_prorates_on_the_next_invoice():
    price = PriceFactory()  # 10.00 per seat per month
    sub = subscription_create(
        customer=CustomerFactory(),
        params={"items": [{"price": price.pk, "quantity": 2}]},
        now=APR1,
    )
    item = sub.items.get()
    subscription_update(
        subscription=sub,
        params={"items": [{"id": item.pk, "quantity": 5}]},
        now=APR16,
    )
    pending = InvoiceItem.objects.filter(subscription=sub, invoice__isnull=True)
    assert sorted((i.amount, i.description) for i in pending) == [
        (
            -1000,
            "Unused time on 2 × Product 0 after Apr 16, 2026".replace(
                "Product 0", price.product.name
            ),
        ),
        (2500, f"Remaining time on 5 × {price.product.name} after Apr 16, 2026"),
    ]
    subscriptions_close_due(now=MAY1)
    (invoice,) = cycle_invoices(sub)
    assert sorted(line.amount for line in invoice.lines.all()) == [-1000, 2500, 5000]
    assert invoice.total == 6500
    assert not InvoiceItem.objects.filter(subscription=sub, invoice__isnull=True)


def test_always_invoice_bills_the_proration_now():
    price = PriceFactory()
    sub = subscription_create(
        customer=CustomerFactory(),
        params={"items": [{"price": price.pk, "quantity": 1}]},
        now=APR1,
    )
    item = sub.items.get()
    sub = subscription_update(
        subscription=sub,
        params={
            "items": [{"id": item.pk, "quantity": 3}],
            "proration_behavior": "always_invoice",
        },
        now=APR16,
    )
    invoice = sub.latest_invoice
    assert invoice.billing_reason == "subscription_update"
    assert invoice.status == "open"
    assert invoice.total == 1000  # -500 + 1500


def test_removing_a_metered_item_bills_its_usage_so_far():
    flat, overage = hypernian()
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    record_usage(
        meter=overage.recurring_meter,
        customer=customer,
        value=150_000,
        at=d(2026, 4, 2),
    )
    metered = sub.items.get(price=overage)
    subscription_update(
        subscription=sub,
        params={"items": [{"id": metered.pk, "deleted": True}]},
        now=APR16,
    )
    (pending,) = InvoiceItem.objects.filter(subscription=sub, invoice__isnull=True)
    assert (pending.amount, pending.quantity) == (5000, 150000)
    subscriptions_close_due(now=MAY1)
    (invoice,) = cycle_invoices(sub)
    assert invoice.total == 25000


def test_late_usage_is_billed_next_cycle_priced_on_top_of_what_was_billed():
    flat, overage = hypernian()
    customer = CustomerFactory()
    meter = overage.recurring_meter
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": flat.pk}, {"price": overage.pk}]},
        now=APR1,
    )
    record_usage(meter=meter, customer=customer, value=90_000, at=d(2026, 4, 10))
    subscriptions_close_due(now=MAY1)
    # Within the grace period: counted on April's invoice.
    record_usage(meter=meter, customer=customer, value=20_000, at=d(2026, 4, 30, 23))
    invoices_finalize_due(now=MAY1 + HOUR)
    april = cycle_invoices(sub)[0]
    april.refresh_from_db()
    assert [(line.kind, line.quantity, line.amount) for line in april.lines.all()] == [
        ("metered", 110000, 1000),
        ("licensed", 1, 20000),
    ]
    # After finalization: on May's invoice, tiers continuing from 110,000.
    record_usage(meter=meter, customer=customer, value=5_000, at=d(2026, 4, 29))
    subscriptions_close_due(now=d(2026, 6, 1))
    may = cycle_invoices(sub)[1]
    rows = [(line.kind, line.quantity, line.amount) for line in may.lines.all()]
    assert rows == [
        ("metered", 0, 0),
        ("late_usage", 5000, 500),
        ("licensed", 1, 20000),
    ]
    late = may.lines.get(kind="late_usage")
    assert late.description == (
        "Usage from previous period (Apr 1 – May 1, 2026): 5,000 tokens · Hypernian Pro"
    )
    # Billed once: the next cycle adds nothing more for April.
    subscriptions_close_due(now=d(2026, 7, 1))
    assert not cycle_invoices(sub)[2].lines.filter(kind="late_usage").exists()
