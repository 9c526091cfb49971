"""The formulas beyond Stripe on consecutive invoices, to the cent: distinct users
counted per period (a user active in both periods is billed in both, an event
exactly at the boundary belongs to the later one), and GB-hours from irregular,
out-of-order readings whose value carries over a period boundary. Each invoice
equals the preview taken an hour before its period's end."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.services import subscription_create
from tests.billing.factories import CustomerFactory, ProductFactory
from tests.billing.test_preview_equals_invoice import (
    close_and_finalize,
    issued,
    preview_of,
)
from tests.billing.test_segments import HOUR, make_meter, metered, send

pytestmark = pytest.mark.django_db

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)
JUN1 = datetime(2026, 6, 1, tzinfo=UTC)


def at(month, day, hour=0, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def cycle_line(sub, price, period_start):
    invoice = sub.invoices.get(
        billing_reason="subscription_cycle", period_start=period_start
    )
    return invoice, invoice.lines.get(price=price)


def bill(sub, period_end):
    """(preview an hour before the period's end, the cycle invoice issued)."""
    before = preview_of(sub, period_end - HOUR)
    close_and_finalize(period_end)
    return before


def test_unique_count_bills_each_periods_distinct_users():
    users = make_meter(
        "unique_count",
        event_name="active_users",
        dimension_payload_keys=["user"],
        unique_payload_key="user",
    )
    price = metered(ProductFactory(name="Active users"), users, "250")  # $2.50
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    for moment, user in [
        (APR1, "ann"),  # exactly at the first period's start
        (at(4, 2), "bob"),
        (at(4, 20), "ann"),  # again: still one
        (at(4, 30, 23, 59), "cy"),
        (MAY1, "dee"),  # exactly at the boundary: May's
        (at(5, 3), "ann"),  # active in both periods: billed in both
        (JUN1, "eve"),  # June's
    ]:
        send(users, customer, 1, moment, user=user)
    april_preview = bill(sub, MAY1)
    may_preview = bill(sub, JUN1)
    april, april_line = cycle_line(sub, price, APR1)
    may, may_line = cycle_line(sub, price, MAY1)
    assert (april_preview, may_preview) == (issued(april), issued(may))
    assert (april_line.quantity, april_line.amount) == (Decimal(3), 750)
    assert (may_line.quantity, may_line.amount) == (Decimal(2), 500)


def test_gb_hours_from_irregular_readings_across_a_boundary():
    storage = make_meter(
        "time_weighted_sum", event_name="storage_gb", dimension_payload_keys=["tier"]
    )
    # 0.001 cent per GB-hour: fractions of a cent show the rounding.
    price = metered(ProductFactory(name="Storage"), storage, "0.001")
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer, params={"items": [{"price": price.pk}]}, now=APR1
    )
    # Sent out of order, at irregular moments; two tiers are two gauges.
    send(storage, customer, 40, at(4, 21, 7, 30), tier="hot")
    send(storage, customer, 100, at(4, 1, 9, 15), tier="hot")
    send(storage, customer, 1_000, at(4, 11), tier="cold")
    send(storage, customer, 60, at(5, 4, 12, 45), tier="hot")
    send(storage, customer, 0, at(5, 16), tier="cold")
    april_preview = bill(sub, MAY1)
    may_preview = bill(sub, JUN1)
    april, april_line = cycle_line(sub, price, APR1)
    may, may_line = cycle_line(sub, price, MAY1)
    assert (april_preview, may_preview) == (issued(april), issued(may))
    # April, hot: 100 GB from Apr 1 09:15 to Apr 21 07:30 (478.25 h) = 47,825,
    # then 40 GB to May 1 (232.5 h) = 9,300; cold: 1,000 GB x 480 h = 480,000.
    assert april_line.quantity == Decimal(537_125)
    assert april_line.amount == 537  # 537.125 cents, rounded once
    # May: hot holds 40 GB from the boundary to May 4 12:45 (84.75 h) = 3,390,
    # then 60 GB to Jun 1 (659.25 h) = 39,555; cold 1,000 GB x 360 h = 360,000.
    assert may_line.quantity == Decimal(402_945)
    assert may_line.amount == 403  # 402.945 cents


def package(product, meter, unit, divide_by, rounding):
    price = metered(product, meter, unit)
    price.transform_quantity_divide_by = divide_by
    price.transform_quantity_round = rounding
    price.save()
    return price


def test_packages_of_users_and_of_gb_hours():
    users = make_meter(
        "unique_count",
        event_name="active_users",
        dimension_payload_keys=["user"],
        unique_payload_key="user",
    )
    storage = make_meter("time_weighted_sum", event_name="storage_gb")
    product = ProductFactory(name="Plan")
    # $5.00 per pack of 10 users (rounded up); $1.00 per 100 GB-hours (down).
    packs = package(product, users, "500", 10, "up")
    blocks = package(product, storage, "100", 100, "down")
    customer = CustomerFactory()
    sub = subscription_create(
        customer=customer,
        params={"items": [{"price": packs.pk}, {"price": blocks.pk}]},
        now=APR1,
    )
    for index in range(23):
        send(users, customer, 1, at(4, 2 + index), user=f"user{index % 21}")
    send(storage, customer, 7, APR1)  # 7 GB x 72 h = 504 GB-hours
    send(storage, customer, 0, at(4, 4))
    before = bill(sub, MAY1)
    invoice, users_line = cycle_line(sub, packs, APR1)
    _, storage_line = cycle_line(sub, blocks, APR1)
    assert before == issued(invoice)
    assert (users_line.quantity, users_line.amount) == (Decimal(21), 3 * 500)
    assert (storage_line.quantity, storage_line.amount) == (Decimal(504), 5 * 100)
