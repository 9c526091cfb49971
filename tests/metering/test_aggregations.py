"""The formulas beyond Stripe: max, unique_count, time_weighted_sum, at period and
window boundaries (event exactly at start or end, none, one, out of order,
cancelled), in usage reads and event summaries."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from metering import selectors, services
from metering.usage import RawEvent, time_weighted_sum
from tests.metering.factories import CustomerFactory

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
D = datetime(2026, 5, 10, tzinfo=UTC)  # a day well inside the accepted window
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer(db):
    return CustomerFactory()


def make_meter(formula, **extra):
    return services.meter_create(
        display_name=formula,
        event_name=formula,
        formula=formula,
        now=NOW,
        livemode=False,
        **extra,
    )


def send(meter, customer, value, at, identifier=None, **dimensions):
    return services.meter_event_create(
        event_name=meter.event_name,
        payload={"stripe_customer_id": customer.id, "value": str(value), **dimensions},
        identifier=identifier,
        timestamp=at,
        now=NOW,
    )


def cancel(meter, identifier):
    services.meter_event_cancel(
        event_name=meter.event_name, identifier=identifier, now=NOW
    )


def usage(meter, customer, start, end, segment=None):
    return selectors.meter_usage_for_period(
        meter=meter, customer_id=customer.id, start=start, end=end, segment=segment
    )


# ---- max ---------------------------------------------------------------------------


def test_max_without_events_is_zero(customer):
    meter = make_meter("max")
    assert usage(meter, customer, D, D + 24 * H) == 0


def test_max_one_event_and_boundaries(customer):
    meter = make_meter("max")
    send(meter, customer, 7, D)  # exactly at the start: counts
    send(meter, customer, 50, D + 24 * H)  # exactly at the end: does not
    assert usage(meter, customer, D, D + 24 * H) == 7
    assert usage(meter, customer, D + 24 * H, D + 48 * H) == 50


def test_max_over_hours_and_edges(customer):
    meter = make_meter("max")
    send(meter, customer, 3, D + 10 * M)
    send(meter, customer, 9, D + 2 * H + 30 * M)
    send(meter, customer, 4, D + 5 * H)
    assert usage(meter, customer, D, D + 6 * H) == 9
    # Edges that are not whole hours come from raw events.
    assert usage(meter, customer, D + 20 * M, D + 2 * H + 29 * M) == 0
    assert usage(meter, customer, D + 5 * M, D + 2 * H + 31 * M) == 9
    assert usage(meter, customer, D + 2 * H + 31 * M, D + 6 * H) == 4


def test_max_out_of_order_and_cancelled(customer):
    meter = make_meter("max")
    send(meter, customer, 20, D + 3 * H, identifier="late-time")
    send(meter, customer, 30, D + H, identifier="early-time")  # arrives second
    send(meter, customer, 10, D + H + 5 * M, identifier="small")
    assert usage(meter, customer, D, D + 24 * H) == 30
    cancel(meter, "early-time")  # the hour's max is recomputed from its events
    assert usage(meter, customer, D, D + 24 * H) == 20
    assert usage(meter, customer, D + H, D + 2 * H) == 10


def test_max_hourly_summaries(customer):
    meter = make_meter("max")
    send(meter, customer, 5, D + 10 * M)
    send(meter, customer, 8, D + 50 * M)
    send(meter, customer, 2, D + H)
    summaries = selectors.meter_event_summaries(
        meter=meter,
        customer_id=customer.id,
        start=D,
        end=D + 3 * H,
        grouping_window="hour",
    )
    assert [s.value for s in reversed(summaries)] == [8, 2, 0]


# ---- unique_count -----------------------------------------------------------------


@pytest.fixture
def users(db):
    return make_meter(
        "unique_count",
        dimension_payload_keys=["user"],
        unique_payload_key="user",
    )


def test_unique_count_across_period_boundaries(users, customer):
    may9, may10, may11 = D - 24 * H, D, D + 24 * H
    send(users, customer, 1, may9 + 5 * H, user="ann")
    send(users, customer, 1, may9 + 6 * H, user="bob")
    send(users, customer, 1, may9 + 7 * H, user="ann")
    send(users, customer, 1, may10, user="bob")  # exactly at the boundary
    send(users, customer, 1, may10 + 3 * H, user="cy")
    send(users, customer, 1, may11, user="dee")  # exactly at the end
    assert usage(users, customer, may9, may10) == 2  # ann, bob
    assert usage(users, customer, may10, may11) == 2  # bob, cy
    assert usage(users, customer, may9, may11) == 3  # ann, bob, cy
    assert usage(users, customer, may9, may11 + H) == 4


def test_unique_count_none_one_cancelled_and_keyless(users, customer):
    assert usage(users, customer, D, D + 24 * H) == 0
    send(users, customer, 1, D + H, identifier="a1", user="ann")
    assert usage(users, customer, D, D + 24 * H) == 1
    send(users, customer, 1, D + 2 * H, identifier="b1", user="bob")
    send(users, customer, 1, D + 2 * H)  # no user: counts for no one
    assert usage(users, customer, D, D + 24 * H) == 2
    cancel(users, "b1")
    assert usage(users, customer, D, D + 24 * H) == 1
    # Edge hours read raw events: the partial hour still counts ann once.
    assert usage(users, customer, D + 30 * M, D + 2 * H + 30 * M) == 1


# ---- time_weighted_sum ------------------------------------------------------------


def reading(seq, at, value):
    return RawEvent(seq, at, Decimal(value))


def test_time_weighted_pure_rules():
    start, end = D, D + 4 * H
    readings = [
        reading(3, D + 2 * H + 15 * M, 5),
        reading(1, D, 10),
        reading(2, D + 30 * M, 20),
        reading(4, end, 99),  # exactly at the end: ignored
    ]
    # 10 GB x 0.5 h + 20 GB x 1.75 h + 5 GB x 1.75 h
    assert time_weighted_sum(
        start=start, end=end, initial=None, readings=readings
    ) == Decimal("48.75")
    assert time_weighted_sum(start=start, end=end, initial=None, readings=[]) == 0
    assert time_weighted_sum(
        start=start, end=end, initial=Decimal(2), readings=[]
    ) == Decimal(8)
    # Two readings at the same moment: the one received later holds.
    same = [reading(2, D + H, 7), reading(1, D + H, 100)]
    assert time_weighted_sum(
        start=start, end=end, initial=Decimal(0), readings=same
    ) == Decimal(21)
    # One second of 1 GB, rounded once to 12 places of a GB-hour.
    assert time_weighted_sum(
        start=start, end=start + timedelta(seconds=1), initial=Decimal(1), readings=[]
    ) == Decimal("0.000277777778")


@pytest.fixture
def storage(db):
    return make_meter("time_weighted_sum", dimension_payload_keys=["region"])


def test_gb_hours_from_irregular_readings(storage, customer):
    # Sent out of order: the value held is decided by timestamps.
    send(storage, customer, 5, D + 2 * H + 15 * M, identifier="r3")
    send(storage, customer, 10, D, identifier="r1")
    send(storage, customer, 20, D + 30 * M, identifier="r2")
    assert usage(storage, customer, D, D + 4 * H) == Decimal("48.75")
    # The value held at a period's start is the last reading before it.
    assert usage(storage, customer, D + 3 * H, D + 5 * H) == Decimal(10)
    assert (
        usage(storage, customer, D + 10 * M, D + 40 * M)
        == Decimal("6.666666666667")  # 10 GB x 20 min + 20 GB x 10 min, rounded
    )
    cancel(storage, "r2")
    assert usage(storage, customer, D, D + 4 * H) == Decimal("31.25")


def test_gb_hours_start_value_from_days_before(storage, customer):
    send(storage, customer, 8, D - 30 * H)
    assert usage(storage, customer, D, D + H) == Decimal(8)
    assert usage(storage, customer, D - 40 * H, D - 30 * H) == 0


def test_gb_hours_each_region_is_a_gauge(storage, customer):
    send(storage, customer, 10, D, region="eu")
    send(storage, customer, 5, D + 30 * M, region="us")
    send(storage, customer, 0, D + H, region="eu")
    # eu: 10 x 1 h; us: 5 x 1.5 h
    assert usage(storage, customer, D, D + 2 * H) == Decimal("17.5")
    assert usage(
        storage, customer, D, D + 2 * H, segment=(("region", "us"),)
    ) == Decimal("7.5")
    summaries = selectors.meter_event_summaries(
        meter=storage,
        customer_id=customer.id,
        start=D,
        end=D + 2 * H,
        grouping_window=None,
        group_by=["region"],
    )
    assert {s.dimensions["region"]: s.value for s in summaries} == {
        "eu": Decimal(10),
        "us": Decimal("7.5"),
    }


# ---- the new formulas in windowed summaries ---------------------------------------


def windows(meter, customer, start, end, window):
    summaries = selectors.meter_event_summaries(
        meter=meter,
        customer_id=customer.id,
        start=start,
        end=end,
        grouping_window=window,
    )
    return [(s.start, s.value) for s in reversed(summaries)]


def test_unique_count_per_day_window(users, customer):
    send(users, customer, 1, D + 23 * H, user="ann")
    send(users, customer, 1, D + 24 * H, user="ann")  # exactly at the next day
    send(users, customer, 1, D + 30 * H, user="bob")
    send(users, customer, 1, D + 47 * H + 59 * M, user="ann")
    assert windows(users, customer, D, D + 72 * H, "day") == [
        (D, 1),
        (D + 24 * H, 2),  # ann once, bob
        (D + 48 * H, 0),
    ]
    # The whole range counts each user once, not the sum of the windows.
    assert windows(users, customer, D, D + 72 * H, None) == [(D, 2)]


def test_gb_hours_per_hour_window(storage, customer):
    send(storage, customer, 6, D - 2 * H)  # held into the range
    send(storage, customer, 12, D + 30 * M)
    send(storage, customer, 3, D + 2 * H)  # exactly at a window's start
    assert windows(storage, customer, D, D + 3 * H, "hour") == [
        (D, Decimal(9)),  # 6 GB x 0.5 h + 12 GB x 0.5 h
        (D + H, Decimal(12)),
        (D + 2 * H, Decimal(3)),
    ]
    # The windows add up to the whole range.
    assert windows(storage, customer, D, D + 3 * H, None) == [(D, Decimal(24))]
