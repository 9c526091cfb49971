"""Prices as pricing-engine specs, and the amounts the engine computes from them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.models import Price
from catalog.pricing import PriceSpec, Tier, price_amount
from catalog.selectors import (
    price_example_quantity,
    price_get_active,
    price_spec,
    prices_with_tiers,
)
from core.errors import InvalidRequest, ResourceMissing
from core.money import Money
from tests.catalog.factories import PriceFactory, tiered_price

pytestmark = pytest.mark.django_db


def test_licensed_flat_price_is_per_unit():
    price = PriceFactory(unit_amount_decimal=Decimal(20000))
    assert price_spec(price) == PriceSpec(
        currency="usd", billing_scheme="per_unit", unit_amount=Decimal(20000)
    )
    assert price_amount(price_spec(price), 3).amount == Money(Decimal(60000), "usd")


def test_package_price_keeps_its_transform():
    price = PriceFactory(
        unit_amount_decimal=Decimal(1000),
        transform_quantity_divide_by=1000,
        transform_quantity_round="down",
    )
    spec = price_spec(price)
    assert (spec.divide_by, spec.round) == (1000, "down")
    assert price_amount(spec, 2500).amount.amount == Decimal(2000)


def test_tiered_price_unset_amounts_count_as_zero():
    price = tiered_price(
        mode="graduated", tiers=[(100000, "0", "20000"), (None, "0.1", "0")]
    )
    price.tiers.filter(position=1).update(flat_amount_decimal=None)
    price = prices_with_tiers().get(pk=price.pk)
    assert price_spec(price) == PriceSpec(
        currency="usd",
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=(
            Tier(up_to=100000, unit_amount=Decimal(0), flat_amount=Decimal(20000)),
            Tier(up_to=None, unit_amount=Decimal("0.1"), flat_amount=Decimal(0)),
        ),
    )


@pytest.mark.parametrize(
    ("mode", "quantity", "cents"),
    [
        ("volume", 6, 3900),
        ("graduated", 6, 4150),
        ("volume", 20, 12000),
        ("graduated", 20, 12750),
    ],
)
def test_design_worked_examples_through_stored_prices(mode, quantity, cents):
    price = tiered_price(
        mode=mode, tiers=[(5, "700", "0"), (10, "650", "0"), (None, "600", "0")]
    )
    line = price_amount(price_spec(prices_with_tiers().get(pk=price.pk)), quantity)
    assert line.amount == Money(Decimal(cents), "usd")


def test_fixed_fee_and_overage():
    fee = PriceFactory(unit_amount_decimal=Decimal(20000))
    overage = tiered_price(
        mode="graduated", tiers=[(100000, "0", "0"), (None, "0.1", "0")]
    )
    total = (
        price_amount(price_spec(fee), 1).amount
        + price_amount(price_spec(overage), 150_000).amount
    )
    assert total == Money(Decimal(25000), "usd")


def test_prices_with_tiers_loads_tiers_in_one_query(django_assert_num_queries):
    for _ in range(3):
        tiered_price(mode="volume", tiers=[(5, "1", "0"), (None, "2", "0")])
    with django_assert_num_queries(2):
        specs = [price_spec(price) for price in prices_with_tiers()]
    assert [len(spec.tiers) for spec in specs] == [2, 2, 2]


@pytest.mark.parametrize(
    ("make", "quantity"),
    [
        (lambda: PriceFactory(), 1),
        (lambda: PriceFactory(metered=True), 1000),
        (
            lambda: PriceFactory(
                transform_quantity_divide_by=60, transform_quantity_round="up"
            ),
            150,
        ),
        (
            lambda: tiered_price(
                mode="graduated", tiers=[(100000, "0", "0"), (None, "0.1", "0")]
            ),
            150_000,
        ),
        (
            lambda: tiered_price(
                mode="volume", tiers=[(1, "5", "0"), (None, "4", "0")]
            ),
            2,
        ),
        (lambda: tiered_price(mode="volume", tiers=[(None, "5", "0")]), 100),
    ],
)
def test_example_quantity(make, quantity):
    assert price_example_quantity(make()) == quantity


def test_price_get_active_names_the_param():
    price = PriceFactory()
    assert price_get_active(price_id=price.pk) == price
    with pytest.raises(ResourceMissing) as missing:
        price_get_active(price_id="price_missing", param="items[0][price]")
    assert (missing.value.param, missing.value.http_status) == ("items[0][price]", 400)
    Price.objects.filter(pk=price.pk).update(active=False)
    with pytest.raises(InvalidRequest) as inactive:
        price_get_active(price_id=price.pk)
    assert inactive.value.param == "price"
    assert "inactive" in inactive.value.message
