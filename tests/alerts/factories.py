"""Factories and helpers for alerts tests: meters, customers, alerts, usage.

Alerts are made through ``alert_create`` so they remember the receipt order at
creation, as in production; usage goes through metering's ingestion.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alerts.models import Alert
from alerts.services import alert_create
from core.models import Customer
from metering.models import Meter
from metering.services import meter_event_create
from tests.catalog.factories import MeterFactory as MeterFactory
from tests.catalog.factories import PriceFactory as PriceFactory
from tests.catalog.factories import ProductFactory as ProductFactory
from tests.catalog.factories import tiered_price as tiered_price
from tests.core import factories as core_factories
from tests.core.factories import CustomerFactory as CustomerFactory

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


class TestClockFactory(core_factories.TestClockFactory):
    __test__ = False

    frozen_time = T0


def make_alert(
    *,
    meter: Meter,
    gte: int = 100,
    customer: Customer | None = None,
    title: str = "Usage alert",
    now: datetime = T0,
) -> Alert:
    return alert_create(
        title=title, meter_id=meter.pk, gte=gte, customer=customer, now=now
    )


def report(
    *,
    meter: Meter,
    customer: Customer,
    value: int,
    now: datetime = T0,
    at: datetime | None = None,
) -> None:
    """Report one meter event of ``value`` received at ``now`` (happened at ``at``)."""
    meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.pk, "value": str(value)},
        identifier=uuid.uuid4().hex,
        timestamp=at or now,
        now=now,
    )
