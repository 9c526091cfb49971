"""The meter's hourly totals over every customer (kept by triggers on the rollups,
PostgreSQL) give the meter page the chart the rollups give, whatever wrote them:
one event, a few, a bulk batch by COPY, a cancellation merging shards."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from metering import selectors, services, storage, totals
from metering.models import MeterHourTotal, MeterUsageRollup
from tests.metering.factories import CustomerFactory, MeterFactory
from tests.metering.test_storage import T0, _ShardHolder, ingest_one, rows

pytestmark = pytest.mark.skipif(
    not settings.IS_POSTGRES, reason="the totals' triggers are PostgreSQL's"
)
START, END = T0 - timedelta(days=1), T0 + timedelta(days=2)


def _both(meter, window):
    kept = totals.meter_totals_series(
        meter=meter, start=START, end=END, grouping_window=window
    )
    read = selectors.meter_usage_series(
        meter=meter, customer_id=None, start=START, end=END, grouping_window=window
    )
    return kept, read


def _sums(meter):
    rollups = MeterUsageRollup.objects.filter(meter=meter)
    kept = MeterHourTotal.objects.filter(meter=meter)
    return (
        sum((row.value_sum for row in rollups), Decimal(0)),
        sum((row.value_sum for row in kept), Decimal(0)),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("formula", ["sum", "count"])
def test_every_batch_size_lands_in_the_totals(formula):
    meter = MeterFactory(formula=formula)
    customers = [CustomerFactory() for _ in range(4)]
    for tag, size in (("one", 1), ("few", 9), ("bulk", storage.COPY_FROM + 50)):
        storage.events_write(rows(meter, customers, size, tag=tag))
    assert totals.totals_kept_for(meter)
    for window in ("hour", "day"):
        kept, read = _both(meter, window)
        assert kept == read
        assert any(value for _, value in kept)
    rollup_sum, kept_sum = _sums(meter)
    assert rollup_sum == kept_sum


@pytest.mark.django_db(transaction=True)
def test_shards_and_a_cancel_that_merges_them_keep_the_totals():
    meter = MeterFactory(event_name="tokens", formula="sum")
    customer = CustomerFactory()
    now = T0 + timedelta(hours=3)

    ingest_one(customer, "a", 5, 10, now)
    with _ShardHolder():
        ingest_one(customer, "b", 7, 20, now)
    assert MeterHourTotal.objects.filter(meter=meter).count() == 2
    services.meter_event_cancel(event_name="tokens", identifier="b", now=now)
    kept, read = _both(meter, "hour")
    assert kept == read
    assert sum(value for _, value in kept) == Decimal(5)
    assert _sums(meter) == (Decimal(5), Decimal(5))


@pytest.mark.django_db
def test_deleted_rollups_leave_the_totals():
    meter = MeterFactory(formula="sum")
    storage.events_write(rows(meter, [CustomerFactory()], 30))
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM metering_meterusagerollup WHERE meter_id = %s", [meter.pk]
        )
    left = MeterHourTotal.objects.filter(meter=meter)
    assert {(row.value_sum, row.event_count) for row in left} == {(Decimal(0), 0)}


@pytest.mark.django_db
def test_windowed_and_last_meters_read_the_rollups():
    assert not totals.totals_kept_for(MeterFactory(formula="last"))
    assert not totals.totals_kept_for(MeterFactory(formula="max"))
