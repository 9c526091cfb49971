"""Factories and helpers for billing tests: customers, prices, usage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from catalog.models import Price, PriceTier
from core.models import Customer
from metering.models import Meter
from metering.services import meter_event_create
from tests.catalog.factories import MeterFactory as MeterFactory
from tests.catalog.factories import PriceFactory as PriceFactory
from tests.catalog.factories import ProductFactory as ProductFactory
from tests.core import factories as core_factories
from tests.core.factories import CustomerFactory as CustomerFactory


class TestClockFactory(core_factories.TestClockFactory):
    __test__ = False

    frozen_time = datetime(2026, 4, 1, tzinfo=UTC)


def tiered_price(*, mode: str, tiers: list[tuple[int | None, str, str]], **kwargs):
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


def hypernian(*, meter: Meter | None = None) -> tuple[Price, Price]:
    """Seed 003's Hypernian Pro: 200 USD/month flat + graduated token overage."""
    product = ProductFactory(name="Hypernian Pro", unit_label="tokens")
    flat = PriceFactory(product=product, unit_amount_decimal=Decimal(20000))
    overage = tiered_price(
        mode="graduated",
        tiers=[(100_000, "0", "0"), (None, "0.1", "0")],
        product=product,
        recurring_usage_type="metered",
        recurring_meter=meter or MeterFactory(event_name="hypernian_api_tokens"),
    )
    return flat, overage


def report_usage(
    *, meter: Meter, customer: Customer, value: int, at: datetime, now: datetime
) -> None:
    """Record one meter event of ``value`` at ``at`` (received at ``now``)."""
    meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.pk, "value": str(value)},
        timestamp=at,
        now=now,
    )


def record_usage(*, meter: Meter, customer: Customer, value: int, at: datetime) -> None:
    """Store an event as if it had been reported at ``at`` (bypasses the 35-day
    window, for tests that prepare months of usage before moving a clock)."""
    import uuid

    from metering.storage import EventRow, events_write

    events_write(
        [
            EventRow(
                meter_id=meter.pk,
                customer_id=customer.pk,
                event_name=meter.event_name,
                identifier=uuid.uuid4().hex,
                value=Decimal(value),
                timestamp=at,
                created=at,
                livemode=False,
                dimensions=None,
            )
        ]
    )
