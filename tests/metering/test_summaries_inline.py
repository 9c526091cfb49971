"""The ingest statements add their hours to the daily rollups and the hourly
totals themselves (``metering.storage.summaries``, PostgreSQL): both stay the
rollups' sums under concurrent writers committing out of order, events of past
days, and other writers (the triggers) in the same transaction."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from metering import storage
from metering.models import MeterHourTotal, MeterUsageRollup
from tests.metering.factories import CustomerFactory, MeterFactory
from tests.metering.test_rollups import check_days
from tests.metering.test_storage import T0, rows

pytestmark = pytest.mark.skipif(
    not settings.IS_POSTGRES, reason="the inline summaries are PostgreSQL's"
)
# One event (v1), a few (v2), a bulk batch (COPY).
SIZES = (1, 9, storage.COPY_FROM + 20)


def check_totals(meter) -> None:
    """Each hourly total is its shard's rollups of that hour added up."""
    hours: dict = {}
    for rollup in MeterUsageRollup.objects.filter(meter=meter):
        key = (rollup.bucket, rollup.shard)
        total, count = hours.get(key, (Decimal(0), 0))
        hours[key] = (total + rollup.value_sum, count + rollup.event_count)
    kept = {
        (row.bucket, row.shard): (row.value_sum, row.event_count)
        for row in MeterHourTotal.objects.filter(meter=meter)
    }
    assert {key: sums for key, sums in kept.items() if sums != (0, 0)} == {
        key: sums for key, sums in hours.items() if sums != (0, 0)
    }


def _shifted(batch, delta: timedelta):
    return [row._replace(timestamp=row.timestamp + delta) for row in batch]


@pytest.mark.django_db(transaction=True)
def test_writers_committing_out_of_order_keep_days_and_totals_exact():
    """A first writer holds its transaction open over every batch size while a
    second writes the same hours and commits first; the first commits last."""
    meter = MeterFactory(formula="sum")
    customers = [CustomerFactory() for _ in range(3)]
    written, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def first_writer():
        try:
            with transaction.atomic():
                for size in SIZES:
                    storage.events_write(rows(meter, customers, size, tag=f"a{size}"))
                written.set()
                assert release.wait(30)
        except BaseException as error:  # reported by the main thread
            failures.append(error)
            written.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_writer)
    thread.start()
    assert written.wait(30)
    for size in SIZES:
        storage.events_write(rows(meter, customers, size, tag=f"b{size}"))
    release.set()
    thread.join(30)
    assert not failures
    assert (
        MeterUsageRollup.objects.filter(meter=meter).values("shard").distinct().count()
        == 2
    )
    check_days(meter)
    check_totals(meter)


@pytest.mark.django_db
def test_events_of_past_days_reach_their_days_and_hours():
    meter = MeterFactory(formula="sum")
    customers = [CustomerFactory() for _ in range(2)]
    for size in SIZES:
        storage.events_write(rows(meter, customers, size, tag=f"now{size}"))
    for size in SIZES:
        late = rows(meter, customers, size, tag=f"late{size}")
        storage.events_write(_shifted(late, -timedelta(days=40, hours=5)))
    buckets = set(
        MeterHourTotal.objects.filter(meter=meter).values_list("bucket", flat=True)
    )
    assert min(buckets) < T0 - timedelta(days=39)
    check_days(meter)
    check_totals(meter)


@pytest.mark.django_db
def test_another_writer_after_an_ingest_in_one_transaction_still_counts():
    """The mark names the ingest statement alone: a later statement of the same
    transaction goes through the triggers."""
    meter = MeterFactory(formula="sum")
    customer = CustomerFactory()
    with transaction.atomic():
        storage.events_write(rows(meter, [customer], 9))
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE metering_meterusagerollup SET value_sum = value_sum + 5,"
                " event_count = event_count + 1 WHERE meter_id = %s",
                [meter.pk],
            )
    hours = MeterUsageRollup.objects.filter(meter=meter).count()
    kept = sum(
        MeterHourTotal.objects.filter(meter=meter).values_list("value_sum", flat=True)
    )
    assert (
        kept
        == sum(Decimal(row.value) for row in rows(meter, [customer], 9)) + 5 * hours
    )
    check_days(meter)
    check_totals(meter)


@pytest.mark.django_db
def test_rollup_pages_keep_room_for_their_rows_updates():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class"
            " WHERE oid = 'metering_meterusagerollup'::regclass"
        )
        assert cursor.fetchone()[0] == ["fillfactor=70"]
