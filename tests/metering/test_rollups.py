"""Rollups equal a brute-force recomputation from raw events (hypothesis).

Random streams mix customers, negative corrections, late events (timestamps
earlier than ones already received), repeated identifiers and cancellations; they
arrive one by one and in batches. Afterwards every rollup row, and the usage of
random (unaligned) periods, must match what the raw events say.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import InvalidRequest
from metering import selectors, services
from metering.models import MeterEvent, MeterUsageDay, MeterUsageRollup
from metering.services import EventInput
from metering.usage import floor_day, floor_hour
from tests.metering.factories import CustomerFactory, MeterFactory

T0 = datetime(2026, 4, 20, tzinfo=UTC)
NOW = T0 + timedelta(days=4)
SPAN_MINUTES = 3 * 24 * 60

events = st.lists(
    st.tuples(
        st.integers(0, 1),  # customer
        st.integers(0, SPAN_MINUTES - 1),  # minute of the timestamp
        st.integers(-50, 100),  # value
        st.integers(0, 40),  # identifier: repeats are duplicates
        st.booleans(),  # cancel it afterwards
    ),
    max_size=40,
)
periods = st.lists(
    st.tuples(st.integers(0, SPAN_MINUTES), st.integers(0, SPAN_MINUTES)),
    min_size=1,
    max_size=4,
)


def expected_usage(formula, window, rows, start, end):
    """The definition, straight from raw (id, timestamp, value) rows."""
    rows = [row for row in rows if start <= row[1] < end]
    if window:
        chosen = {}
        for row in rows:
            key = row[1].replace(minute=0, second=0, microsecond=0)
            if window == "day":
                key = key.replace(hour=0)
            if key not in chosen or row[0] > chosen[key][0]:
                chosen[key] = row
        if formula == "last":
            return chosen[max(chosen)][2] if chosen else Decimal(0)
        rows = list(chosen.values())
    if formula == "sum":
        return sum((row[2] for row in rows), Decimal(0))
    if formula == "count":
        return Decimal(len(rows))
    return max(rows, key=lambda row: (row[1], row[0]))[2] if rows else Decimal(0)


def ingest(meter, customers, stream, batch_sizes):
    inputs = [
        EventInput(
            event_name=meter.event_name,
            payload={"stripe_customer_id": customers[who].id, "value": str(value)},
            identifier=f"id-{identifier}",
            timestamp=T0 + timedelta(minutes=minute, seconds=identifier % 60),
        )
        for who, minute, value, identifier, _ in stream
    ]
    position, sizes = 0, iter(batch_sizes)
    while position < len(inputs):
        size = next(sizes, 1)
        services.meter_events_ingest_batch(
            events=inputs[position : position + size], now=NOW
        )
        position += size
    for *_, identifier, cancel in stream:
        if cancel:
            try:
                services.meter_event_cancel(
                    event_name=meter.event_name, identifier=f"id-{identifier}", now=NOW
                )
            except InvalidRequest:
                pass  # already cancelled (a repeated identifier)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    stream=events,
    batch_sizes=st.lists(st.integers(1, 15), max_size=10),
    formula=st.sampled_from(["sum", "count", "last"]),
    window=st.sampled_from([None, "hour", "day"]),
    windows=periods,
)
def test_rollups_match_raw_events(stream, batch_sizes, formula, window, windows):
    with transaction.atomic():
        meter = MeterFactory(formula=formula, event_time_window=window)
        customers = [CustomerFactory(), CustomerFactory()]
        ingest(meter, customers, stream, batch_sizes)
        check_rollups(meter)
        check_usage(meter, customers, windows)
        transaction.set_rollback(True)


def counted_rows(meter, customer_id):
    return list(
        MeterEvent.objects.filter(
            meter=meter, customer_id=customer_id, cancellation__isnull=True
        ).values_list("id", "timestamp", "value")
    )


def check_rollups(meter):
    expected = {}
    for customer_id in {
        row.customer_id for row in MeterEvent.objects.filter(meter=meter)
    }:
        for row in counted_rows(meter, customer_id):
            expected.setdefault((customer_id, floor_hour(row[1])), []).append(row)
    check_days(meter)
    rollups = MeterUsageRollup.objects.filter(meter=meter)
    for rollup in rollups:
        rows = expected.pop((rollup.customer_id, rollup.bucket), [])
        assert rollup.event_count == len(rows)
        assert rollup.value_sum == sum((row[2] for row in rows), Decimal(0))
        if rows:
            last = max(rows, key=lambda row: (row[1], row[0]))
            latest = max(rows, key=lambda row: row[0])
            assert (rollup.last_seq, rollup.last_timestamp, rollup.last_value) == last
            assert (rollup.latest_seq, rollup.latest_value) == (latest[0], latest[2])
        else:
            assert rollup.last_seq is None
            assert rollup.latest_seq is None
    assert expected == {}, "hours with events but no rollup"


def check_usage(meter, customers, windows):
    for a, b in windows:
        start = T0 + timedelta(minutes=min(a, b))
        end = T0 + timedelta(minutes=max(a, b))
        by_customer = selectors.meter_usage_by_customer(
            meter=meter, start=start, end=end
        )
        for customer in customers:
            want = expected_usage(
                meter.formula,
                meter.event_time_window,
                counted_rows(meter, customer.id),
                start,
                end,
            )
            got = selectors.meter_usage_for_period(
                meter=meter, customer_id=customer.id, start=start, end=end
            )
            assert got == want, (start, end)
            assert by_customer.get(customer.id, Decimal(0)) == want


def check_days(meter):
    """Each daily rollup is its hours (of its dimension set and shard) added up;
    a day whose hours all went reads as zero."""
    hours = {}
    for rollup in MeterUsageRollup.objects.filter(meter=meter):
        key = (rollup.customer_id, floor_day(rollup.bucket), rollup.dimension_set)
        key += (rollup.shard,)
        total, count = hours.get(key, (0, 0))
        hours[key] = (total + rollup.value_sum, count + rollup.event_count)
    days = {
        (day.customer_id, day.bucket, day.dimension_set, day.shard): (
            day.value_sum,
            day.event_count,
        )
        for day in MeterUsageDay.objects.filter(meter=meter)
    }
    assert {key: sums for key, sums in days.items() if sums != (0, 0)} == {
        key: sums for key, sums in hours.items() if sums != (0, 0)
    }
