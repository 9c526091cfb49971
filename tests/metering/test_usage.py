"""Usage selectors: formulas, half-open periods, edges, windows, cancels."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from metering import selectors, services
from metering.usage import billable_quantity, split_period
from tests.metering.factories import CustomerFactory, MeterFactory

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
T0 = datetime(2026, 4, 20, 0, 0, tzinfo=UTC)


def record(meter, customer, value, at, identifier=None):
    services.meter_event_create(
        event_name=meter.event_name,
        payload={
            meter.customer_payload_key: customer.id,
            meter.value_payload_key: str(value),
        },
        identifier=identifier,
        timestamp=at,
        now=NOW,
    )


def usage(meter, customer, start, end):
    return selectors.meter_usage_for_period(
        meter=meter, customer_id=customer.id, start=start, end=end
    )


@pytest.mark.parametrize(
    ("formula", "expected"),
    [("sum", Decimal(60)), ("count", Decimal(3)), ("last", Decimal(20))],
)
def test_formulas(db, customer, formula, expected):
    meter = MeterFactory(formula=formula)
    record(meter, customer, 10, T0 + timedelta(hours=1))
    record(meter, customer, 20, T0 + timedelta(hours=5))  # latest by timestamp
    record(meter, customer, 30, T0 + timedelta(hours=3))  # received last, earlier time
    assert usage(meter, customer, T0, T0 + timedelta(days=1)) == expected


@pytest.mark.parametrize("formula", ["sum", "count", "last"])
def test_no_events_is_zero(db, customer, formula):
    meter = MeterFactory(formula=formula)
    assert usage(meter, customer, T0, T0 + timedelta(days=1)) == Decimal(0)


def test_last_ties_on_timestamp_go_to_the_later_received(db, customer):
    meter = MeterFactory(formula="last")
    record(meter, customer, 1, T0 + timedelta(minutes=30))
    record(meter, customer, 2, T0 + timedelta(minutes=30))
    assert usage(meter, customer, T0, T0 + timedelta(hours=2)) == Decimal(2)


def test_periods_are_half_open(db, customer):
    meter = MeterFactory()
    record(meter, customer, 1, T0)
    record(meter, customer, 10, T0 + timedelta(hours=1))
    assert usage(meter, customer, T0, T0 + timedelta(hours=1)) == Decimal(1)
    assert (
        usage(meter, customer, T0 + timedelta(hours=1), T0 + timedelta(hours=2)) == 10
    )


def test_edges_of_unaligned_periods_count_exactly(db, customer):
    meter = MeterFactory()
    start = T0 + timedelta(hours=1, minutes=17, seconds=3)
    end = T0 + timedelta(hours=5, minutes=2, seconds=59)
    record(meter, customer, 1, start - timedelta(seconds=1))  # before
    record(meter, customer, 2, start)  # first moment inside
    record(meter, customer, 4, T0 + timedelta(hours=1, minutes=59))  # start edge hour
    record(meter, customer, 8, T0 + timedelta(hours=3))  # whole hour
    record(meter, customer, 16, end - timedelta(microseconds=1))  # end edge, inside
    record(meter, customer, 32, end)  # excluded
    assert usage(meter, customer, start, end) == Decimal(30)
    # A period inside a single hour is answered from raw events alone.
    inside = T0 + timedelta(hours=1, minutes=30)
    assert usage(meter, customer, start, inside) == Decimal(2)


def test_split_period():
    start = T0 + timedelta(minutes=30)
    assert split_period(start, start) == (None, [])
    assert split_period(start, start + timedelta(minutes=10)) == (
        None,
        [(start, start + timedelta(minutes=10))],
    )
    assert split_period(T0, T0 + timedelta(hours=2)) == (
        (T0, T0 + timedelta(hours=2)),
        [],
    )
    assert split_period(start, T0 + timedelta(hours=1, minutes=15)) == (
        None,
        [
            (start, T0 + timedelta(hours=1)),
            (T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=15)),
        ],
    )


def test_negative_net_usage_is_raw_here_and_bills_as_zero(db, customer):
    meter = MeterFactory()
    record(meter, customer, 5, T0 + timedelta(hours=1))
    record(meter, customer, -12, T0 + timedelta(hours=2))
    raw = usage(meter, customer, T0, T0 + timedelta(days=1))
    assert raw == Decimal(-7)
    assert billable_quantity(raw) == Decimal(0)
    assert billable_quantity(Decimal(3)) == Decimal(3)


@pytest.mark.parametrize(
    ("window", "formula", "expected"),
    [
        # hour: 10:xx keeps the 10:40 event (received last), 11:xx keeps its only one.
        ("hour", "sum", Decimal(7 + 100)),
        ("hour", "count", Decimal(2)),
        ("hour", "last", Decimal(100)),
        # day: only the event received last that day counts.
        ("day", "sum", Decimal(100)),
        ("day", "count", Decimal(1)),
        ("day", "last", Decimal(100)),
    ],
)
def test_event_time_window(db, customer, window, formula, expected):
    meter = MeterFactory(formula=formula, event_time_window=window)
    record(meter, customer, 5, T0 + timedelta(hours=10, minutes=50))
    record(meter, customer, 7, T0 + timedelta(hours=10, minutes=40))
    record(meter, customer, 100, T0 + timedelta(hours=11, minutes=5))
    assert usage(meter, customer, T0, T0 + timedelta(days=1)) == expected


def test_event_time_window_counts_per_window(db, customer):
    meter = MeterFactory(formula="sum", event_time_window="day")
    for day in range(3):
        record(meter, customer, 1, T0 + timedelta(days=day, hours=1))
        record(meter, customer, 10 * (day + 1), T0 + timedelta(days=day, hours=2))
    assert usage(meter, customer, T0, T0 + timedelta(days=3)) == Decimal(60)


def test_cancelled_events_do_not_count(db, customer):
    meter = MeterFactory()
    record(meter, customer, 10, T0 + timedelta(hours=1), identifier="a")
    record(meter, customer, 20, T0 + timedelta(hours=1), identifier="b")
    services.meter_event_cancel(event_name=meter.event_name, identifier="b", now=NOW)
    assert usage(meter, customer, T0, T0 + timedelta(days=1)) == Decimal(10)
    # Edges read raw events; cancelled ones are excluded there too.
    assert (
        usage(meter, customer, T0 + timedelta(minutes=30), T0 + timedelta(hours=2))
        == 10
    )


def test_usage_by_customer(db):
    meter = MeterFactory(formula="last")
    first, second, idle = CustomerFactory(), CustomerFactory(), CustomerFactory()
    record(meter, first, 3, T0 + timedelta(hours=1))
    record(meter, first, 4, T0 + timedelta(hours=2))
    record(meter, second, 9, T0 + timedelta(minutes=5))
    by_customer = selectors.meter_usage_by_customer(
        meter=meter, start=T0, end=T0 + timedelta(days=1)
    )
    assert by_customer == {first.id: Decimal(4), second.id: Decimal(9)}
    assert idle.id not in by_customer


def test_other_meters_do_not_leak(db, customer):
    meter, other = MeterFactory(), MeterFactory()
    record(meter, customer, 1, T0 + timedelta(hours=1))
    record(other, customer, 100, T0 + timedelta(hours=1))
    assert usage(meter, customer, T0, T0 + timedelta(days=1)) == Decimal(1)


@pytest.mark.parametrize(
    ("formula", "window", "per_day"),
    [
        ("sum", None, [Decimal(3), Decimal(0), Decimal(30)]),
        ("count", None, [Decimal(2), Decimal(0), Decimal(2)]),
        ("last", None, [Decimal(2), Decimal(0), Decimal(20)]),
        ("sum", "hour", [Decimal(3), Decimal(0), Decimal(30)]),
        ("sum", "day", [Decimal(2), Decimal(0), Decimal(20)]),
        ("count", "day", [Decimal(1), Decimal(0), Decimal(1)]),
        ("last", "day", [Decimal(2), Decimal(0), Decimal(20)]),
    ],
)
def test_series_per_day(db, customer, formula, window, per_day):
    meter = MeterFactory(formula=formula, event_time_window=window)
    record(meter, customer, 1, T0 + timedelta(hours=1))
    record(meter, customer, 2, T0 + timedelta(hours=5))
    record(meter, customer, 10, T0 + timedelta(days=2, hours=3))
    record(meter, customer, 20, T0 + timedelta(days=2, hours=9))
    series = selectors.meter_usage_series(
        meter=meter,
        customer_id=customer.id,
        start=T0,
        end=T0 + timedelta(days=3),
        grouping_window="day",
    )
    assert [moment for moment, _ in series] == [
        T0 + timedelta(days=d) for d in range(3)
    ]
    assert [value for _, value in series] == per_day


@pytest.mark.parametrize("formula", ["sum", "last"])
def test_series_of_all_customers_adds_each_customers_usage(db, formula):
    meter = MeterFactory(formula=formula)
    first, second = CustomerFactory(), CustomerFactory()
    record(meter, first, 5, T0 + timedelta(hours=1))
    record(meter, first, 7, T0 + timedelta(hours=2))
    record(meter, second, 100, T0 + timedelta(hours=1, minutes=30))
    series = selectors.meter_usage_series(
        meter=meter,
        customer_id=None,
        start=T0,
        end=T0 + timedelta(hours=3),
        grouping_window="hour",
    )
    values = [value for _, value in series]
    assert values == ([0, 105, 7] if formula == "sum" else [0, 105, 7])
    daily = selectors.meter_usage_series(
        meter=meter,
        customer_id=None,
        start=T0,
        end=T0 + timedelta(days=1),
        grouping_window="day",
    )
    assert daily[0][1] == (Decimal(112) if formula == "sum" else Decimal(107))


def test_latest_events(db, customer):
    meter = MeterFactory()
    other = CustomerFactory()
    record(meter, customer, 1, T0 + timedelta(hours=1), identifier="old")
    record(meter, other, 2, T0 + timedelta(hours=5), identifier="newest")
    record(meter, customer, 3, T0 + timedelta(hours=3), identifier="middle")
    services.meter_event_cancel(
        event_name=meter.event_name, identifier="middle", now=NOW
    )
    latest = selectors.meter_events_latest(meter=meter, limit=2)
    assert [event.identifier for event in latest] == ["newest", "middle"]
    assert [event.cancelled for event in latest] == [False, True]
    mine = selectors.meter_events_latest(meter=meter, customer_id=customer.id)
    assert [event.identifier for event in mine] == ["middle", "old"]
    assert selectors.meter_events_latest(meter=MeterFactory()) == []
