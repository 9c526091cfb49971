"""Factories for credits tests: customers, metered and licensed prices, grants.

Grants are made through ``credit_grant_create`` so their ledger rows exist, as in
production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import factory

from core.models import Customer
from credits.allocation import CreditableLine
from credits.models import CreditGrant
from credits.services import credit_grant_create
from tests.catalog import factories as catalog_factories
from tests.catalog.factories import MeterFactory as MeterFactory
from tests.catalog.factories import ProductFactory as ProductFactory
from tests.core import factories as core_factories
from tests.core.factories import CustomerFactory as CustomerFactory

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class TestClockFactory(core_factories.TestClockFactory):
    __test__ = False

    frozen_time = T0
    deletes_after = datetime(2026, 12, 1, tzinfo=UTC)


class PriceFactory(catalog_factories.PriceFactory):
    """A metered monthly price of 3 cents per token in USD."""

    unit_amount_decimal = Decimal(3)
    recurring_usage_type = "metered"
    recurring_meter = factory.SubFactory(MeterFactory)

    class Params:
        licensed = factory.Trait(recurring_usage_type="licensed", recurring_meter=None)
        one_time = factory.Trait(
            type="one_time",
            recurring_interval=None,
            recurring_interval_count=None,
            recurring_usage_type=None,
            recurring_meter=None,
        )


def make_grant(
    customer: Customer, value: int = 1000, *, now: datetime = T0, **kwargs
) -> CreditGrant:
    """A USD grant covering every metered price, effective at ``now``."""
    kwargs.setdefault("currency", "usd")
    return credit_grant_create(customer=customer, value=value, now=now, **kwargs)


def line(
    line_id: str,
    amount: int,
    *,
    price: str | None = "price_a",
    metered: bool = True,
    currency: str = "usd",
) -> CreditableLine:
    return CreditableLine(
        line_id=line_id,
        price_id=price,
        metered=metered,
        currency=currency,
        amount=amount,
    )


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def grant_params(customer: Customer, **overrides) -> dict:
    """The API parameters of a 10.00 USD grant on every metered price."""
    params = {
        "customer": customer.pk,
        "name": "Hypernian credits",
        "amount": {"type": "monetary", "monetary": {"currency": "usd", "value": 1000}},
        "applicability_config": {"scope": {"price_type": "metered"}},
    }
    params.update(overrides)
    return params
