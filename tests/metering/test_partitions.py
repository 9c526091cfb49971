"""Meter events partitioned by month (``metering.storage.partitions``), PostgreSQL.

The table is converted inside each test's transaction (PostgreSQL DDL is
transactional), so the rollback puts the one table back. With
``TALLY_METER_EVENT_PARTITIONS=true`` the whole test database starts
partitioned, and the other metering and alerts tests run on that layout too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from metering.models import MeterEvent, MeterEventKey
from metering.storage import EventRow, events_write, partitions, postgres
from tests.metering.factories import CustomerFactory, MeterFactory
from tests.metering.test_storage import merged_rollups

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="partitions are PostgreSQL's"),
]

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
MONTHS = [datetime(2026, month, 14, 9, tzinfo=UTC) for month in (8, 10, 11, 12)]


def _forget_layout() -> None:
    postgres.partitioned.cache_clear()


@pytest.fixture
def partitioned():
    """Events partitioned by month for this test (undone by its rollback)."""
    partitions.convert(now=NOW)
    _forget_layout()
    yield
    _forget_layout()


@pytest.fixture
def meter():
    return MeterFactory()


@pytest.fixture
def customer():
    return CustomerFactory()


def _row(meter, customer, identifier, at, value=1, livemode=False) -> EventRow:
    return EventRow(
        meter_id=meter.pk,
        customer_id=customer.pk,
        event_name=meter.event_name,
        identifier=identifier,
        value=Decimal(value),
        timestamp=at,
        created=at + timedelta(minutes=1),
        livemode=livemode,
        dimensions=None,
    )


def _where(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM metering_meterevent WHERE id = %s",
            [event_id],
        )
        return cursor.fetchone()[0]


def _months(count: int, start: datetime) -> list[datetime]:
    found, month = [], partitions.month_start(start)
    for _ in range(count):
        found.append(month)
        month = partitions.next_month(month)
    return found


def test_converting_a_populated_table_keeps_every_event_id_and_key(meter, customer):
    _forget_layout()
    if partitions.is_partitioned():
        partitions.revert()
    stored = events_write(
        [_row(meter, customer, f"e-{n}", at) for n, at in enumerate(MONTHS)]
    )
    before = sorted(MeterEvent.objects.values_list("id", "identifier", "timestamp"))

    assert partitions.convert(now=NOW) is True
    _forget_layout()

    assert partitions.is_partitioned()
    assert partitions.convert(now=NOW) is False
    assert sorted(MeterEvent.objects.values_list("id", "identifier", "timestamp")) == (
        before
    )
    starts = [partition.start for partition in partitions.partitions()]
    expected = {partitions.month_start(at) for at in MONTHS} | set(
        _months(5, NOW - timedelta(days=35))
    )
    assert starts == sorted(expected)
    assert MeterEventKey.objects.count() == len(MONTHS)
    for (_, identifier), event_id in stored.items():
        at = MONTHS[int(identifier.split("-")[1])]
        assert _where(event_id) == partitions.partition_name(partitions.month_start(at))
    # The sequence carries on past the copied ids.
    later = events_write([_row(meter, customer, "after", NOW)])
    assert later[(meter.event_name, "after")] > max(stored.values())


@pytest.mark.usefixtures("partitioned")
def test_events_land_in_their_month_and_beyond_every_month_in_the_default(
    meter, customer
):
    at = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    far = datetime(2029, 3, 2, tzinfo=UTC)
    stored = events_write(
        [_row(meter, customer, "dec", at), _row(meter, customer, "far", far)]
    )
    assert _where(stored[(meter.event_name, "dec")]) == "metering_meterevent_p2026_12"
    assert _where(stored[(meter.event_name, "far")]) == partitions.default_partition()

    # The month made later takes its rows out of the default partition.
    made = partitions.partitions_ensure(now=far, ahead=0)
    assert made == [
        "metering_meterevent_p2029_01",
        "metering_meterevent_p2029_02",
        "metering_meterevent_p2029_03",
    ]
    assert _where(stored[(meter.event_name, "far")]) == "metering_meterevent_p2029_03"


@pytest.mark.usefixtures("partitioned")
def test_beat_makes_the_months_ahead_once():
    later = datetime(2027, 2, 10, tzinfo=UTC)
    made = partitions.partitions_ensure(now=later)
    assert made == [
        "metering_meterevent_p2027_04",
        "metering_meterevent_p2027_05",
    ]
    assert partitions.partitions_ensure(now=later) == []
    starts = {partition.start for partition in partitions.partitions()}
    assert set(_months(4, later)) <= starts


def test_the_months_of_late_events_are_made_too():
    from metering.services.validation import MAX_PAST

    assert partitions.LATE_ARRIVALS == MAX_PAST


def test_ensure_does_nothing_while_events_are_one_table():
    _forget_layout()
    if partitions.is_partitioned():
        partitions.revert()
    assert partitions.partitions_ensure(now=NOW) == []


@pytest.mark.usefixtures("partitioned")
@pytest.mark.parametrize("size", [1, 3, 1500])
def test_an_identifier_is_stored_once_whatever_its_timestamp(meter, customer, size):
    """Dedupe across months, on the one-event, few-event and COPY paths."""
    first = [
        _row(meter, customer, f"id-{n}", MONTHS[-1] + timedelta(seconds=n))
        for n in range(size)
    ]
    assert len(events_write(first)) == size
    rollups = merged_rollups(meter)

    # The same identifiers again, months earlier, with other values.
    again = [row._replace(timestamp=MONTHS[0], value=Decimal(7)) for row in first]
    assert events_write(again) == {}
    with transaction.atomic():
        assert events_write(again) == {}

    assert MeterEvent.objects.filter(meter=meter).count() == size
    assert MeterEventKey.objects.filter(event_name=meter.event_name).count() == size
    assert merged_rollups(meter) == rollups


@pytest.mark.usefixtures("partitioned")
def test_a_batch_with_some_stored_events_stores_only_the_new_ones(meter, customer):
    stored = events_write([_row(meter, customer, "old-5", MONTHS[1])])
    batch = [_row(meter, customer, f"old-{n}", MONTHS[2]) for n in range(1200)]

    written = events_write(batch, sync_commit=False)

    assert len(written) == 1199
    assert (meter.event_name, "old-5") not in written
    assert MeterEvent.objects.get(identifier="old-5").id in stored.values()
    assert MeterEvent.objects.filter(meter=meter).count() == 1200


@pytest.mark.usefixtures("partitioned")
def test_each_mode_keeps_its_own_identifiers(meter, customer):
    row = _row(meter, customer, "same", MONTHS[-1])
    assert len(events_write([row])) == 1
    assert len(events_write([row._replace(livemode=True)])) == 1
    assert events_write([row._replace(livemode=True)]) == {}


@pytest.mark.usefixtures("partitioned")
def test_the_v2_path_refuses_a_stored_key_without_storing_the_batch(meter, customer):
    """Outside a transaction, a stored key fails the cheap insert; it goes again."""
    events_write([_row(meter, customer, "k-1", MONTHS[-1])])
    batch = [_row(meter, customer, f"k-{n}", MONTHS[-1]) for n in range(4)]
    assert sorted(events_write(batch)) == [
        (meter.event_name, f"k-{n}") for n in (0, 2, 3)
    ]


@pytest.mark.usefixtures("partitioned")
def test_cancelling_an_event_still_works_without_the_foreign_key(meter, customer):
    from metering.services import meter_event_cancel

    at = NOW - timedelta(days=1)
    events_write([_row(meter, customer, "to-cancel", at)])
    meter_event_cancel(event_name=meter.event_name, identifier="to-cancel", now=NOW)
    assert MeterEvent.objects.get(identifier="to-cancel").cancellation


@pytest.mark.usefixtures("partitioned")
def test_revert_brings_back_the_one_table_and_its_unique_key(meter, customer):
    stored = events_write(
        [_row(meter, customer, f"r-{n}", at) for n, at in enumerate(MONTHS)]
    )

    assert partitions.revert() is True
    _forget_layout()

    assert not partitions.is_partitioned()
    assert MeterEventKey.objects.count() == 0
    assert set(MeterEvent.objects.values_list("id", flat=True)) == set(stored.values())
    assert events_write([_row(meter, customer, "r-0", NOW)]) == {}
    with pytest.raises(IntegrityError), transaction.atomic():
        MeterEvent.objects.create(
            meter=meter,
            customer=customer,
            event_name=meter.event_name,
            identifier="r-1",
            value=1,
            timestamp=NOW,
            created=NOW,
        )


@pytest.mark.usefixtures("partitioned")
def test_the_command_lists_and_ensures(capsys):
    call_command("meter_event_partitions", "list")
    listed = capsys.readouterr().out
    assert "metering_meterevent_p2026_12\t2026-12-01\t2027-01-01" in listed
    call_command("meter_event_partitions", "ensure", "--ahead", "5")
    assert "metering_meterevent_p2027_05" in capsys.readouterr().out


@pytest.mark.skipif(
    not settings.TALLY_METER_EVENT_PARTITIONS,
    reason="TALLY_METER_EVENT_PARTITIONS=true runs the suite on partitioned events",
)
def test_the_setting_partitions_the_events_at_migrate():
    _forget_layout()
    assert partitions.is_partitioned()
    assert partitions.default_partition() in {
        name
        for (name,) in connection.cursor()
        .execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits"
            " WHERE inhparent = 'metering_meterevent'::regclass"
        )
        .fetchall()
    }


@pytest.mark.usefixtures("partitioned")
def test_the_beat_task_makes_the_months_from_the_real_clock(monkeypatch):
    from core import clock
    from metering.tasks import meter_event_partitions_ensure_task

    monkeypatch.setattr(clock, "now", lambda: datetime(2027, 8, 3, tzinfo=UTC))
    made = meter_event_partitions_ensure_task()
    assert made[0] == "metering_meterevent_p2027_06"
    assert made[-1] == "metering_meterevent_p2027_11"


@pytest.fixture
def stale_layout():
    """This process read "one table", then the table was partitioned (as by
    another process): the cached layout is out of date."""
    _forget_layout()
    if partitions.is_partitioned():
        partitions.revert()
    _forget_layout()
    assert postgres.partitioned() is False
    partitions.convert(now=NOW)
    yield
    _forget_layout()


@pytest.mark.usefixtures("stale_layout")
def test_a_large_batch_after_a_conversion_elsewhere_still_writes_the_keys(
    meter, customer
):
    batch = [_row(meter, customer, f"s-{n}", MONTHS[-1]) for n in range(1200)]
    assert len(events_write(batch)) == 1200
    assert postgres.partitioned() is True
    assert MeterEventKey.objects.filter(event_name=meter.event_name).count() == 1200
    assert events_write(batch) == {}


@pytest.mark.usefixtures("stale_layout")
def test_one_event_in_a_transaction_after_a_conversion_elsewhere_fails_not_doubles(
    meter, customer
):
    with pytest.raises(Exception, match="ON CONFLICT"), transaction.atomic():
        events_write([_row(meter, customer, "one", MONTHS[-1])])
    assert not MeterEvent.objects.filter(meter=meter).exists()
    assert postgres.partitioned() is True
    assert len(events_write([_row(meter, customer, "one", MONTHS[-1])])) == 1
    assert events_write([_row(meter, customer, "one", MONTHS[0])]) == {}


@pytest.mark.usefixtures("stale_layout")
def test_the_plain_fast_statement_refuses_a_partitioned_table(meter, customer):
    """The v2 fast path (autocommit, no conflict target) is guarded in SQL."""
    document = postgres._events_document([_row(meter, customer, "f", MONTHS[-1])])
    with pytest.raises(Exception, match="division by zero"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                postgres._few_events_sql(False, False).replace("%s", "%s"), [document]
            )
    assert not MeterEvent.objects.filter(meter=meter).exists()
