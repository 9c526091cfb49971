"""``metering.storage``: every write path keeps events unique and rollups exact.

PostgreSQL writes large batches by COPY (falling back to ON CONFLICT when some event
is stored already) and lets concurrent transactions write separate rollup shards;
these tests hold those paths to the brute-force rule of ``test_rollups``.
"""

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
from django.conf import settings
from django.db import connection, transaction

from metering import selectors, services, storage
from metering.models import MeterEvent, MeterUsageRollup
from metering.storage import EventRow, shards
from metering.usage import RawEvent, cells_from_events
from tests.metering.factories import CustomerFactory, MeterFactory
from tests.metering.test_rollups import check_days

T0 = datetime(2026, 4, 20, tzinfo=UTC)
postgres_only = pytest.mark.skipif(
    not settings.IS_POSTGRES, reason="COPY and rollup shards are PostgreSQL's"
)


def rows(meter, customers, count, *, tag="e", minutes=7):
    """``count`` events over a few hours, later ones sometimes earlier in time."""
    return [
        EventRow(
            meter_id=meter.pk,
            customer_id=customers[index % len(customers)].pk,
            event_name=meter.event_name,
            identifier=f"{tag}-{index}",
            value=Decimal(index % 11 - 3),
            timestamp=T0 + timedelta(minutes=(index * minutes) % 600, seconds=index),
            created=T0 + timedelta(days=1),
            livemode=False,
            dimensions={"model": "m1"} if index % 5 == 0 else None,
        )
        for index in range(count)
    ]


def merged_rollups(meter) -> dict:
    """Each (customer, hour) of the rollups, its shard rows merged."""
    merged: dict = {}
    for rollup in MeterUsageRollup.objects.filter(meter=meter):
        key = (rollup.customer_id, rollup.bucket)
        total, count, last, latest = merged.get(key, (Decimal(0), 0, None, None))
        if rollup.last_seq is not None:
            mine = (rollup.last_timestamp, rollup.last_seq, rollup.last_value)
            last = mine if last is None or mine[:2] > last[:2] else last
        if rollup.latest_seq is not None:
            mine = (rollup.latest_seq, rollup.latest_value)
            latest = mine if latest is None or mine[0] > latest[0] else latest
        merged[key] = (
            total + rollup.value_sum,
            count + rollup.event_count,
            last,
            latest,
        )
    return {key: value for key, value in merged.items() if value[1]}


def expected_rollups(meter) -> dict:
    """The same, from the raw events that count (the definition)."""
    by_customer: dict = {}
    for customer_id, seq, timestamp, value in MeterEvent.objects.filter(
        meter=meter, cancellation__isnull=True
    ).values_list("customer_id", "id", "timestamp", "value"):
        by_customer.setdefault(customer_id, []).append(RawEvent(seq, timestamp, value))
    return {
        (customer_id, cell.hour): (cell.total, cell.count, cell.last, cell.latest)
        for customer_id, events in by_customer.items()
        for cell in cells_from_events(events)
    }


@pytest.mark.django_db
def test_large_batch_is_stored_once_with_exact_rollups():
    meter = MeterFactory(formula="last")
    customers = [CustomerFactory() for _ in range(3)]
    batch = rows(meter, customers, storage.COPY_FROM + 200)
    stored = storage.events_write(batch)
    assert len(stored) == len(batch) == MeterEvent.objects.count()
    assert merged_rollups(meter) == expected_rollups(meter)
    check_days(meter)
    event = MeterEvent.objects.get(identifier="e-5")
    assert (event.dimensions, event.value, event.id) == (
        {"model": "m1"},
        Decimal(2),
        stored[(meter.event_name, "e-5")],
    )
    # Written again with new events among them: only those are stored and counted.
    again = batch[: len(batch) // 2] + rows(meter, customers, 1300, tag="new")
    stored = storage.events_write(again, sync_commit=False)
    assert set(stored) == {(meter.event_name, f"new-{index}") for index in range(1300)}
    assert MeterEvent.objects.count() == len(batch) + 1300
    assert merged_rollups(meter) == expected_rollups(meter)
    check_days(meter)


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 7, storage.COPY_FROM])
def test_each_batch_size_takes_ids_in_key_order(size):
    meter = MeterFactory()
    customer = CustomerFactory()
    batch = list(reversed(rows(meter, [customer], size)))
    stored = storage.events_write(batch)
    by_key = [seq for _, seq in sorted(stored.items())]
    assert len(by_key) == size
    assert by_key == sorted(by_key)
    assert merged_rollups(meter) == expected_rollups(meter)
    check_days(meter)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_large_batches_count_each_event_once():
    meter = MeterFactory(event_name="tokens")
    customers = [CustomerFactory() for _ in range(3)]
    every = rows(meter, customers, 2 * storage.COPY_FROM)
    barrier = threading.Barrier(3)
    failures = []

    def write(batch):
        barrier.wait()
        try:
            storage.events_write(batch)
        except Exception as error:  # a deadlock would surface here
            failures.append(error)
        finally:
            connection.close()

    half = storage.COPY_FROM
    batches = (every, list(reversed(every)), every[half:] + every[:half])
    threads = [threading.Thread(target=write, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert MeterEvent.objects.count() == len(every)
    assert merged_rollups(meter) == expected_rollups(meter)
    check_days(meter)


def ingest_one(customer, identifier: str, value: int, minute: int, now) -> None:
    """One ``tokens`` event of ``customer`` at ``T0`` + ``minute``, its own batch."""
    services.meter_events_ingest_batch(
        events=[
            services.EventInput(
                "tokens",
                {"stripe_customer_id": customer.pk, "value": str(value)},
                identifier,
                T0 + timedelta(minutes=minute),
            )
        ],
        now=now,
    )


class _ShardHolder:
    """Another session in a transaction holding rollup shard 0, as a concurrent
    writer would."""

    def __enter__(self):
        params = connection.settings_dict
        self.session = psycopg.connect(
            dbname=params["NAME"],
            user=params["USER"],
            host=params["HOST"],
            port=params["PORT"] or None,
        )
        self.session.execute(
            "SELECT pg_advisory_xact_lock(%s, 0)", [shards.SHARD_LOCKS]
        )
        return self

    def __exit__(self, *exc):
        self.session.rollback()
        self.session.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_use_their_own_shard_and_a_cancel_merges_them():
    meter = MeterFactory(event_name="tokens", formula="last")
    customer = CustomerFactory()
    now = T0 + timedelta(hours=3)

    ingest_one(customer, "a", 5, 10, now)
    with _ShardHolder():
        ingest_one(customer, "b", 7, 20, now)
        ingest_one(customer, "c", 9, 5, now)
    assert sorted(MeterUsageRollup.objects.values_list("shard", "event_count")) == [
        (0, 1),
        (1, 2),
    ]
    assert merged_rollups(meter) == expected_rollups(meter)
    check_days(meter)

    def usage():
        return selectors.meter_usage_for_period(
            meter=meter, customer_id=customer.pk, start=T0, end=T0 + timedelta(hours=1)
        )

    assert usage() == Decimal(7)  # the latest by time, wherever its row
    services.meter_event_cancel(event_name="tokens", identifier="b", now=now)
    rollup = MeterUsageRollup.objects.get()
    assert (rollup.event_count, rollup.value_sum, rollup.last_value) == (2, 14, 5)
    assert merged_rollups(meter) == expected_rollups(meter)
    check_days(meter)
    assert usage() == Decimal(5)


@pytest.mark.django_db
def test_a_transaction_keeps_its_shard():
    meter = MeterFactory()
    customer = CustomerFactory()
    with transaction.atomic():
        for _ in range(3):
            storage.events_write(rows(meter, [customer], 1, tag=str(uuid.uuid4())))
    assert MeterUsageRollup.objects.count() == 1
    assert MeterUsageRollup.objects.get().event_count == 3
