"""``metering.selectors.meter_usage_received_after``: the read alerts are built on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from core.models import Customer
from metering.models import MeterEvent
from metering.selectors import meter_usage_received_after
from tests.alerts.factories import T0, CustomerFactory, MeterFactory, report

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


def last_id() -> int:
    return MeterEvent.objects.aggregate(last=Max("id"))["last"] or 0


def usage(meter, bounds, customers=None, received_from=None, until=T0 + 60 * MINUTE):
    return meter_usage_received_after(
        meter=meter,
        after_event_ids=bounds,
        customers=customers if customers is not None else Customer.objects.values("pk"),
        received_from=received_from,
        received_until=until,
    )


@pytest.mark.parametrize("formula", ["sum", "count"])
def test_each_boundary_counts_the_events_after_it_in_one_query(formula):
    meter = MeterFactory(formula=formula)
    jenny, ada = CustomerFactory(), CustomerFactory()
    start = last_id()
    report(meter=meter, customer=jenny, value=5)
    middle = last_id()
    report(meter=meter, customer=jenny, value=7)
    report(meter=meter, customer=ada, value=11)
    end = last_id()
    with CaptureQueriesContext(connection) as queries:
        found = usage(meter, [middle, start, end])
    assert len(queries) == 1
    expected = {
        "sum": {
            jenny.pk: {start: 12, middle: 7, end: 0},
            ada.pk: {start: 11, middle: 11, end: 0},
        },
        "count": {
            jenny.pk: {start: 2, middle: 1, end: 0},
            ada.pk: {start: 1, middle: 1, end: 0},
        },
    }[formula]
    assert found == {
        customer: {bound: Decimal(value) for bound, value in values.items()}
        for customer, values in expected.items()
    }


def test_customers_receipt_window_and_other_meters():
    meter, other = MeterFactory(), MeterFactory()
    jenny, ada = CustomerFactory(), CustomerFactory()
    start = last_id()
    report(meter=meter, customer=jenny, value=5, now=T0)
    report(meter=meter, customer=jenny, value=7, now=T0 + 10 * MINUTE)
    report(meter=meter, customer=ada, value=11, now=T0)
    report(meter=other, customer=jenny, value=100, now=T0)
    assert usage(meter, [start], customers=[jenny.pk]) == {jenny.pk: {start: 12}}
    # Received after ``received_until``: not yet.
    assert usage(meter, [start], until=T0 + 5 * MINUTE) == {
        jenny.pk: {start: 5},
        ada.pk: {start: 11},
    }
    assert usage(meter, [start], received_from=T0 + MINUTE) == {jenny.pk: {start: 7}}
    assert usage(meter, []) == {}


def test_last_and_windowed_meters_aggregate_per_boundary():
    last = MeterFactory(formula="last")
    jenny = CustomerFactory()
    start = last_id()
    report(meter=last, customer=jenny, value=5, at=T0 + 2 * MINUTE)
    middle = last_id()
    # Reported later, but happened earlier: the latest by time stays 5.
    report(meter=last, customer=jenny, value=9, at=T0 + MINUTE)
    assert usage(last, [start, middle]) == {jenny.pk: {start: 5, middle: 9}}

    hourly = MeterFactory(formula="sum", event_time_window="hour")
    start = last_id()
    report(meter=hourly, customer=jenny, value=3, at=T0)
    report(meter=hourly, customer=jenny, value=4, at=T0 + MINUTE)
    middle = last_id()
    report(meter=hourly, customer=jenny, value=6, at=T0 - 2 * 60 * MINUTE)
    # Only the event received last in each hour counts.
    assert usage(hourly, [start, middle]) == {jenny.pk: {start: 10, middle: 6}}
