"""Database invariants of the catalog: constraints and exact decimal storage."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Price, PriceTier, Product
from catalog.services.terms import MAX_AMOUNT
from tests.catalog.factories import MeterFactory, PriceFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0.000000000001"),
        Decimal("123456789012.123456789012"),
        Decimal("999999999999"),
        Decimal("0.1"),
        Decimal(0),
    ],
)
def test_amounts_are_stored_exactly(value):
    price = PriceFactory(unit_amount_decimal=value)
    tier_price = PriceFactory(
        billing_scheme="tiered", unit_amount_decimal=None, tiers_mode="volume"
    )
    PriceTier.objects.create(
        price=tier_price,
        position=0,
        up_to=None,
        unit_amount_decimal=value,
        flat_amount_decimal=value,
    )
    assert Price.objects.get(pk=price.pk).unit_amount_decimal == value
    tier = PriceTier.objects.get(price=tier_price)
    assert tier.unit_amount_decimal == value
    assert tier.flat_amount_decimal == value


def _refused(**fields) -> bool:
    try:
        with transaction.atomic():
            PriceFactory(**fields)
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"unit_amount_decimal": Decimal(-1)}, "negative amount"),
        ({"unit_amount_decimal": None}, "per-unit price without an amount"),
        ({"tiers_mode": "volume"}, "per-unit price with a tiers mode"),
        ({"billing_scheme": "tiered"}, "tiered price with a unit amount"),
        ({"billing_scheme": "tiered", "unit_amount_decimal": None}, "tiered, no mode"),
        (
            {
                "billing_scheme": "tiered",
                "unit_amount_decimal": None,
                "tiers_mode": "volume",
                "transform_quantity_divide_by": 5,
                "transform_quantity_round": "up",
            },
            "tiered package",
        ),
        ({"type": "one_time"}, "one-time price with recurring terms"),
        ({"recurring_interval": None}, "recurring price without an interval"),
        ({"recurring_interval_count": 0}, "zero interval count"),
        ({"recurring_usage_type": "metered"}, "metered price without a meter"),
        ({"transform_quantity_divide_by": 5}, "package without rounding"),
        (
            {"transform_quantity_divide_by": 0, "transform_quantity_round": "up"},
            "package of zero units",
        ),
    ],
)
def test_check_constraints_refuse_inconsistent_prices(fields, reason):
    assert _refused(**fields), reason


def test_licensed_price_cannot_have_a_meter():
    assert _refused(recurring_meter=MeterFactory())


def test_tier_constraints():
    price = PriceFactory(
        billing_scheme="tiered", unit_amount_decimal=None, tiers_mode="graduated"
    )
    PriceTier.objects.create(price=price, position=0, up_to=10)
    for fields in (
        {"position": 0, "up_to": None},
        {"position": 1, "up_to": 0},
        {"position": 1, "unit_amount_decimal": Decimal(-1)},
        {"position": 1, "flat_amount_decimal": Decimal("-0.5")},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            PriceTier.objects.create(price=price, **fields)


def test_lookup_key_unique_among_active_prices_only():
    PriceFactory(lookup_key="pro")
    assert _refused(lookup_key="pro")
    PriceFactory(lookup_key="pro", active=False)
    PriceFactory(lookup_key=None)
    PriceFactory(lookup_key=None)


def test_product_with_prices_and_meter_with_prices_are_protected():
    price = PriceFactory(metered=True)
    with pytest.raises(ProtectedError):
        price.product.delete()
    with pytest.raises(ProtectedError):
        price.recurring_meter.delete()


def test_unit_amount_property():
    assert PriceFactory(unit_amount_decimal=Decimal("1000.000")).unit_amount == 1000
    assert PriceFactory(unit_amount_decimal=Decimal("0.5")).unit_amount is None
    assert str(ProductFactory(name="Hypernian")) == "Hypernian"
    assert Product.objects.count() == 3


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    amount=st.decimals(
        min_value=0,
        max_value=MAX_AMOUNT,
        places=12,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_any_price_amount_round_trips_through_the_api_exactly(api, amount):
    text = format(amount, "f")
    body = api.post(
        "/v1/prices",
        {"currency": "usd", "unit_amount_decimal": text, "product_data": {"name": "P"}},
    ).json()
    assert Decimal(body["unit_amount_decimal"]) == amount
    stored = Price.objects.get(pk=body["id"]).unit_amount_decimal
    assert stored == amount
    whole = amount == amount.to_integral_value()
    assert body["unit_amount"] == (int(amount) if whole else None)
