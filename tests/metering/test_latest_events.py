"""The meter page's latest events: the newest by timestamp over every customer,
cancelled ones included, read from at most ``limit`` customers' rollups."""

from __future__ import annotations

from datetime import timedelta

import pytest

from metering import selectors, services, storage
from metering.models import MeterEvent
from tests.metering.factories import CustomerFactory, MeterFactory
from tests.metering.test_storage import T0, rows

pytestmark = pytest.mark.django_db


def _by_definition(meter, limit):
    return list(
        MeterEvent.objects.filter(meter=meter)
        .order_by("-timestamp", "-id")
        .values_list("identifier", flat=True)[:limit]
    )


@pytest.mark.parametrize("limit", [1, 5, 25])
def test_the_latest_events_of_many_customers_in_one_hour(limit):
    meter = MeterFactory(formula="sum")
    customers = [CustomerFactory() for _ in range(40)]
    storage.events_write(rows(meter, customers, 300, minutes=1))
    # The newest event of all, cancelled: rollups no longer count it.
    newest = max(MeterEvent.objects.filter(meter=meter), key=lambda e: e.timestamp)
    services.meter_event_cancel(
        event_name=meter.event_name,
        identifier=newest.identifier,
        now=T0 + timedelta(days=2),
    )
    latest = selectors.meter_events_latest(meter=meter, limit=limit)
    assert [event.identifier for event in latest] == _by_definition(meter, limit)
    assert latest[0].cancelled
