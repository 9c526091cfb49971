"""The official stripe SDK against Tally: every price shape, archiving, errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.catalog.factories import MeterFactory
from tests.catalog.shapes import (
    INVALID_PRICES,
    PRICE_SHAPES,
    expected_fields,
    invalid_price,
    shape,
)


def _plain(value):
    """The SDK decodes ``*_decimal`` strings to Decimal; compare them as text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def test_every_price_shape_round_trips(stripe_sdk):
    meter = MeterFactory()
    product = stripe_sdk.Product.create(name="Hypernian", unit_label="token")
    assert product.object == "product"
    for name in PRICE_SHAPES:
        params = shape(name, meter_id=meter.pk, product_id=product.id)
        created = stripe_sdk.Price.create(**params, expand=["tiers"])
        expected = expected_fields(params)
        got = _plain(created.to_dict())
        assert {key: got[key] for key in expected} == expected, name
        again = stripe_sdk.Price.retrieve(created.id, expand=["tiers"])
        assert _plain(again.to_dict()) == got, name
    listed = stripe_sdk.Price.list(product=product.id, limit=100)
    assert len(listed.data) == len(PRICE_SHAPES)
    assert all("tiers" not in price for price in listed.data)


def test_archive_a_price(stripe_sdk):
    price = stripe_sdk.Price.create(
        currency="usd",
        unit_amount=20000,
        recurring={"interval": "month"},
        product_data={"name": "Hypernian"},
    )
    archived = stripe_sdk.Price.modify(price.id, active=False)
    assert archived.active is False
    assert stripe_sdk.Price.retrieve(price.id).active is False
    assert [p.id for p in stripe_sdk.Price.list(active=False).data] == [price.id]
    assert stripe_sdk.Price.list().data == []


def test_fixed_fee_and_overage_through_the_sdk(stripe_sdk):
    meter = MeterFactory(event_name="hypernian_api_tokens")
    product = stripe_sdk.Product.create(
        name="Hypernian",
        default_price_data={
            "currency": "usd",
            "unit_amount": 20000,
            "recurring": {"interval": "month"},
        },
        expand=["default_price"],
    )
    assert product.default_price.unit_amount == 20000
    overage = stripe_sdk.Price.create(
        currency="usd",
        product=product.id,
        billing_scheme="tiered",
        tiers_mode="graduated",
        tiers=[
            {"up_to": 100000, "unit_amount": 0},
            {"up_to": "inf", "unit_amount_decimal": "0.1"},
        ],
        recurring={"interval": "month", "usage_type": "metered", "meter": meter.pk},
        lookup_key="hypernian_overage",
        expand=["tiers", "product"],
    )
    assert overage.product.id == product.id
    assert [tier.up_to for tier in overage.tiers] == [100000, None]
    assert overage.tiers[1].unit_amount_decimal == Decimal("0.1")
    found = stripe_sdk.Price.list(lookup_keys=["hypernian_overage"]).data
    assert [price.id for price in found] == [overage.id]


@pytest.mark.parametrize(
    ("change", "param"),
    [pytest.param(change, param, id=name) for name, change, param in INVALID_PRICES],
)
def test_errors_carry_the_param(stripe_sdk, change, param):
    import stripe

    product = stripe_sdk.Product.create(name="Hypernian")
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_sdk.Price.create(**invalid_price(change, product_id=product.id))
    assert raised.value.param == param
    assert raised.value.http_status == 400


def test_amounts_cannot_change(stripe_sdk):
    import stripe

    price = stripe_sdk.Price.create(
        currency="usd", unit_amount=100, product_data={"name": "Seat"}
    )
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_sdk.Price.modify(price.id, unit_amount=200)
    assert raised.value.code == "parameter_unknown"
    assert raised.value.param == "unit_amount"


def test_delete_product(stripe_sdk):
    import stripe

    empty = stripe_sdk.Product.create(name="Empty")
    assert stripe_sdk.Product.delete(empty.id).deleted is True
    priced = stripe_sdk.Product.create(
        name="Priced", default_price_data={"currency": "usd", "unit_amount": 5}
    )
    with pytest.raises(stripe.InvalidRequestError):
        stripe_sdk.Product.delete(priced.id)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        stripe_sdk.Product.retrieve(empty.id)
    assert raised.value.http_status == 404
