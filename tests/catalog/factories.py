"""Factories for catalog tests: products, prices of every shape, meters."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.apps import apps

from catalog.models import Price, PriceTier, Product


class MeterFactory(factory.django.DjangoModelFactory):
    """An active ``metering.Meter`` (looked up by name: catalog never imports it)."""

    class Meta:
        model = apps.get_model("metering", "Meter")

    display_name = factory.Sequence(lambda n: f"Tokens {n}")
    event_name = factory.Sequence(lambda n: f"tokens_{n}")
    formula = "sum"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")


class PriceFactory(factory.django.DjangoModelFactory):
    """A licensed monthly per-unit price of 10.00 USD."""

    class Meta:
        model = Price

    product = factory.SubFactory(ProductFactory)
    currency = "usd"
    type = "recurring"
    billing_scheme = "per_unit"
    unit_amount_decimal = Decimal(1000)
    recurring_interval = "month"
    recurring_interval_count = 1
    recurring_usage_type = "licensed"

    class Params:
        one_time = factory.Trait(
            type="one_time",
            recurring_interval=None,
            recurring_interval_count=None,
            recurring_usage_type=None,
        )
        metered = factory.Trait(
            recurring_usage_type="metered",
            recurring_meter=factory.SubFactory(MeterFactory),
        )


def tiered_price(
    *, mode: str, tiers: list[tuple[int | None, str, str]], **kwargs
) -> Price:
    """A tiered price from (up_to, unit minor units, flat minor units) rows."""
    price = PriceFactory(
        billing_scheme="tiered", unit_amount_decimal=None, tiers_mode=mode, **kwargs
    )
    for position, (up_to, unit, flat) in enumerate(tiers):
        PriceTier.objects.create(
            price=price,
            position=position,
            up_to=up_to,
            unit_amount_decimal=Decimal(unit),
            flat_amount_decimal=Decimal(flat),
        )
    return price
